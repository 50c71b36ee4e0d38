package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/integration/repogen"
)

// The demo itself runs real pip (.ci/run runs it); these test the steps
// that decide something.

func TestDemoWorkDir(t *testing.T) {
	given := t.TempDir()
	for _, tc := range []struct {
		name      string
		o         demoOptions
		wantDir   string // "" for a new temporary directory
		removedBy bool   // cleanup removes it
	}{
		{"--dir with --keep", demoOptions{dir: given, keep: true}, given, false},
		{"--dir is kept even without --keep", demoOptions{dir: given, keep: false}, given, false},
		{"temporary, removed", demoOptions{}, "", true},
		{"temporary, --keep", demoOptions{keep: true}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cleanup, err := demoWorkDir(&tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantDir != "" && dir != tc.wantDir {
				t.Errorf("dir = %s, want %s", dir, tc.wantDir)
			}
			if tc.wantDir == "" {
				t.Cleanup(func() { os.RemoveAll(dir) })
				if !strings.HasPrefix(filepath.Base(dir), "tufpip-demo-") {
					t.Errorf("dir = %s, want a new tufpip-demo-* directory", dir)
				}
			}
			cleanup()
			_, err = os.Stat(dir)
			if removed := errors.Is(err, os.ErrNotExist); removed != tc.removedBy {
				t.Errorf("after cleanup: removed %v, want %v", removed, tc.removedBy)
			}
		})
	}
}

func TestDemoGlobalsArePrivate(t *testing.T) {
	user := &globals{home: "/home/u/.tufpip", repo: "corp", metadataURL: "https://corp/metadata/", indexURL: "https://corp/simple/",
		filesURL: "https://corp/packages/", layout: "index-only", rootFile: "/etc/corp-root.json", cacheDir: "/var/cache/tufpip", quiet: true}
	dg := demoGlobals(user, "/tmp/demo")
	want := globals{home: "/tmp/demo/home", repo: "demo", quiet: true}
	if dg.home != want.home || dg.repo != want.repo || dg.metadataURL != "" || dg.indexURL != "" || dg.filesURL != "" ||
		dg.layout != "" || dg.rootFile != "" || dg.cacheDir != "" || dg.quiet != want.quiet {
		t.Errorf("demoGlobals = %+v; want the user's flags gone and home %s", dg, want.home)
	}
	if user.home != "/home/u/.tufpip" || user.repo != "corp" {
		t.Error("demoGlobals changed the user's globals")
	}
}

func TestDemoWheels(t *testing.T) {
	wheel := func(project, version string) repogen.FileInfo {
		return repogen.FileInfo{Project: project, Version: version, Kind: "wheel", Path: project + "-" + version + ".whl"}
	}
	sdist := repogen.FileInfo{Project: "tufpip-demo-lib", Version: "1.1.0", Kind: "sdist", Path: "lib-1.1.0.tar.gz"}
	for _, tc := range []struct {
		name          string
		files         []repogen.FileInfo
		lib, old, err string
	}{
		{"both", []repogen.FileInfo{wheel("tufpip-demo-app", "1.0.0"), sdist, wheel("tufpip-demo-lib", "1.0.0"), wheel("tufpip-demo-lib", "1.1.0")},
			"tufpip-demo-lib-1.1.0.whl", "tufpip-demo-lib-1.0.0.whl", ""},
		{"only sdists of 1.1.0", []repogen.FileInfo{sdist, wheel("tufpip-demo-lib", "1.0.0")}, "", "tufpip-demo-lib-1.0.0.whl", "lacks"},
		{"the app's are not lib's", []repogen.FileInfo{wheel("tufpip-demo-app", "1.1.0"), wheel("tufpip-demo-app", "1.0.0")}, "", "", "lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, old, err := demoWheels(tc.files)
			if lib.Path != tc.lib || old.Path != tc.old || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("demoWheels = %q, %q, %v; want %q, %q, %q", lib.Path, old.Path, err, tc.lib, tc.old, tc.err)
			}
		})
	}
}

func TestPythonForPip(t *testing.T) {
	lookPath := func(name string) (string, error) {
		if name == "python3" {
			return "/usr/bin/python3", nil
		}
		return "", errors.New("not found")
	}
	if py, err := pythonForPip("python3", lookPath); py != "/usr/bin/python3" || err != nil {
		t.Errorf("found: %q, %v", py, err)
	}
	_, err := pythonForPip("python9", lookPath)
	msg, hint, code := describe(err)
	if msg != "no python9 on PATH for the pip steps" || hint != "pass --python /path/to/python3, or --no-pip" || code != exitUsage {
		t.Errorf("missing: %q, %q, %d", msg, hint, code)
	}
}

func TestAwaitProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		url     string // sent on urlc
		err     error  // sent on errc
		timeout bool
		want    string
		wantErr string
	}{
		{name: "ready", url: "http://127.0.0.1:1234/simple/", want: "http://127.0.0.1:1234/simple/"},
		{name: "ended first", err: errors.New("address in use"), wantErr: "starting the proxy: address in use"},
		{name: "too slow", timeout: true, wantErr: "the proxy did not start within 30s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			urlc, errc, timeout := make(chan string, 1), make(chan error, 1), make(chan time.Time, 1)
			switch {
			case tc.url != "":
				urlc <- tc.url
			case tc.err != nil:
				errc <- tc.err
			case tc.timeout:
				timeout <- time.Time{}
			}
			got, err := awaitProxy(urlc, errc, timeout)
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && err.Error() != tc.wantErr {
				t.Errorf("awaitProxy = %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestJudgeAttack(t *testing.T) {
	clean := cache.AuditResult{Checked: 3, Bad: map[string]string{}}
	bad := cache.AuditResult{Checked: 3, Bad: map[string]string{"sha256/ab": "does not match"}}
	for _, tc := range []struct {
		name string
		ev   attackOutcome
		want string // "" when the demo passes
	}{
		{"nothing left behind", attackOutcome{audit: clean}, ""},
		{"files installed", attackOutcome{installed: 2, audit: clean}, "2 files reached the install directory after a refused download"},
		{"cache fails its audit", attackOutcome{audit: bad}, "the artifact cache holds 1 files that fail their content address"},
		{"tampered wheel cached", attackOutcome{audit: clean, tamperedCached: true}, "the tampered wheel is in the cache: this must never happen"},
		{"the install directory is said first", attackOutcome{installed: 1, audit: bad, tamperedCached: true}, "1 files reached the install directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := judgeAttack(tc.ev)
			if (err == nil) != (tc.want == "") || err != nil && !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("judgeAttack = %v, want %q", err, tc.want)
			}
		})
	}
}
