package repogen

import (
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestSignOnlineBadRefused(t *testing.T) {
	for _, kind := range []string{BadSigUnknownKey, BadSigOtherRoleKey, BadSigNone} {
		t.Run(kind, func(t *testing.T) {
			f := newServedRepo(t, Options{})
			target := f.aTarget(t)
			bin := f.r.BinFor(target)
			if err := f.r.SignOnlineBad(bin, kind); err != nil {
				t.Fatal(err)
			}
			up := f.mustRefresh(t)
			_, err := up.GetTargetInfo(target)
			wantErr[*metadata.ErrUnsignedMetadata](t, err, "bin signed by "+kind)
			for _, role := range []string{RoleTimestamp, RoleSnapshot} {
				if err := f.r.SignOnlineBad(role, kind); err != nil {
					t.Fatal(err)
				}
			}
			_, err = f.c.refresh(t)
			wantErr[*metadata.ErrUnsignedMetadata](t, err, "timestamp signed by "+kind)
			if err := f.r.Heal(); err != nil {
				t.Fatal(err)
			}
			up = f.mustRefresh(t)
			if _, err := up.GetTargetInfo(target); err != nil {
				t.Fatalf("after Heal: %v", err)
			}
		})
	}
	f := newServedRepo(t, Options{})
	if err := f.r.SignOnlineBad(RoleTimestamp, "nonsense"); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := f.r.SignOnlineBad(RoleRoot, BadSigNone); err == nil {
		t.Error("root accepted as an online role")
	}
}

func TestTamperPageKeepLength(t *testing.T) {
	f := newServedRepo(t, Options{})
	hashedURL := servedURLOfPage(f.r, f.base, "app")
	_, before := httpGet(t, hashedURL)
	name, err := f.r.TamperPageKeepLength("app")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "app-1.0") {
		t.Errorf("tampered the link of %s", name)
	}
	for _, u := range []string{hashedURL, f.base + "/simple/app/", f.base + "/simple/app/index.json"} {
		_, body := httpGet(t, u)
		if u == hashedURL && (len(body) != len(before) || string(body) == string(before)) {
			t.Errorf("%s: %d bytes, was %d; changed: %v", u, len(body), len(before), string(body) != string(before))
		}
	}
	if err := f.r.Heal(); err != nil {
		t.Fatal(err)
	}
	if _, body := httpGet(t, hashedURL); string(body) != string(before) {
		t.Error("Heal did not restore the page")
	}
}

func TestRotateOnlineKeyRestartFollowed(t *testing.T) {
	f := newServedRepo(t, Options{})
	for range 3 {
		if err := f.r.ResignOnline(RoleSnapshot); err != nil {
			t.Fatal(err)
		}
	}
	up := f.mustRefresh(t)
	if v := up.GetTrustedMetadataSet().Timestamp.Signed.Version; v != 4 {
		t.Fatalf("timestamp v%d before the restart", v)
	}
	if err := f.r.RotateOnlineKeyRestart(); err != nil {
		t.Fatal(err)
	}
	if v := f.r.RoleVersion(RoleTimestamp); v != 1 {
		t.Fatalf("timestamp restarted at v%d", v)
	}
	up = f.mustRefresh(t)
	set := up.GetTrustedMetadataSet()
	if set.Root.Signed.Version != 2 || set.Timestamp.Signed.Version != 1 || set.Snapshot.Signed.Version != 1 {
		t.Fatalf("after the restart: root v%d, timestamp v%d, snapshot v%d", set.Root.Signed.Version, set.Timestamp.Signed.Version, set.Snapshot.Signed.Version)
	}
	if _, err := up.GetTargetInfo(f.aTarget(t)); err != nil {
		t.Fatal(err)
	}
}
