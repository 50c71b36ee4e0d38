package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// A known repository's root ships inside tufpip: init needs no --root and
// the first refresh trusts nothing fetched.
func TestEmbeddedRootBootstrap(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 2}, repogen.SyntheticProjects(1))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repogen.NewHandler(r.Dir()))
	defer srv.Close()
	embeddedRoots["known"] = r.TrustedRoot()
	defer delete(embeddedRoots, "known")

	home := t.TempDir()
	run := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := Main(context.Background(), append([]string{"--home", home}, args...), strings.NewReader(""), &out, &out)
		return out.String(), code
	}
	out, code := run("init", "known", "--metadata-url", srv.URL+"/metadata/", "--index-url", srv.URL+"/simple/", "--files-url", srv.URL+"/packages/")
	if code != 0 {
		t.Fatalf("init without --root for an embedded repository: exit %d\n%s", code, out)
	}
	out, code = run("refresh")
	if code != 0 || !strings.Contains(out, "known: root v1") {
		t.Fatalf("refresh: exit %d\n%s", code, out)
	}
	// Another repository still needs a root.
	out, code = run("init", "unknown", "--metadata-url", srv.URL+"/metadata/", "--index-url", srv.URL+"/simple/", "--files-url", srv.URL+"/packages/")
	if code != exitUsage || !strings.Contains(out, "init needs a root of trust") {
		t.Fatalf("init of an unknown repository without --root: exit %d\n%s", code, out)
	}
}
