package updater_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
)

// TestTrustedTargetNeverRefreshes: TrustedTarget answers from the epoch
// already trusted, with its snapshot version, while the repository has
// moved on (a release deleted) and is gone.
func TestTrustedTargetNeverRefreshes(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 2}, repogen.SyntheticProjects(2))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	defer srv.Close()
	ctx := context.Background()
	u := newUpdater(t, srv.URL+"/", r.TrustedRoot(), t.TempDir())
	w := firstWheel(t, r)
	if _, _, err := u.TrustedTarget(ctx, w.Path); err == nil {
		t.Fatal("TrustedTarget answered before any metadata was trusted")
	}
	if err := u.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	snap := r.RoleVersion(repogen.RoleSnapshot)
	ti, s, err := u.TrustedTarget(ctx, w.Path)
	if err != nil || s != snap || ti.Length != w.Length || ti.Hashes["blake2b-256"] != w.Hashes["blake2b-256"] {
		t.Fatalf("TrustedTarget = %+v, %d, %v; want %s's signed info under snapshot %d", ti, s, err, w.Filename, snap)
	}
	if err := r.RemoveRelease(w.Project, w.Version); err != nil {
		t.Fatal(err)
	}
	srv.Close() // the repository is gone: nothing may be fetched
	if ti2, s2, err := u.TrustedTarget(ctx, w.Path); err != nil || s2 != snap || ti2.Hashes["blake2b-256"] != ti.Hashes["blake2b-256"] {
		t.Fatalf("TrustedTarget after the repository moved on = %+v, %d, %v; want the trusted answer", ti2, s2, err)
	}
	if _, s, err := u.TrustedTarget(ctx, "no/such/target.whl"); !errors.Is(err, updater.ErrNotSigned) || s != snap {
		t.Fatalf("unsigned path: %d, %v; want ErrNotSigned under snapshot %d", s, err, snap)
	}
}
