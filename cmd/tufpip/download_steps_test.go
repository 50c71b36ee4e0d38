package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
)

func TestCheckDownloadArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offline bool
		o       downloadOptions
		args    []string
		want    string // "" for no error
	}{
		{"nothing", false, downloadOptions{jobs: 4}, nil, "nothing to download"},
		{"a requirement", false, downloadOptions{jobs: 4}, []string{"a==1"}, ""},
		{"a file", false, downloadOptions{jobs: 4, reqFiles: []string{"r.txt"}}, nil, ""},
		{"no jobs", false, downloadOptions{jobs: 0}, []string{"a"}, "invalid --jobs 0"},
		{"offline", true, downloadOptions{jobs: 1}, []string{"a"}, "download needs the network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDownloadArgs(&globals{offline: tc.offline}, &tc.o, tc.args)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			msg, _, code := describe(err)
			if code != exitUsage || msg[:min(len(msg), len(tc.want))] != tc.want {
				t.Errorf("describe = %q, %d; want %q..., %d", msg, code, tc.want, exitUsage)
			}
		})
	}
}

func TestRequirementsFor(t *testing.T) {
	linux := map[string]string{"sys_platform": "linux", "python_version": "3.12"}
	parse := func(ss ...string) []packaging.Requirement {
		var out []packaging.Requirement
		for _, s := range ss {
			r, err := packaging.ParseRequirement(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	names := func(rs []packaging.Requirement) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Project)
		}
		return out
	}
	for _, tc := range []struct {
		name            string
		reqs            []string
		active, skipped []string
		err             bool
	}{
		{"no markers", []string{"a==1", "b"}, []string{"a", "b"}, nil, false},
		{"marker holds", []string{"a==1; sys_platform == 'linux'"}, []string{"a"}, nil, false},
		{"marker does not hold", []string{"a==1; sys_platform == 'win32'", "b"}, []string{"b"}, []string{"a"}, false},
		{"version marker", []string{"a; python_version < '3.8'", "b; python_version >= '3.8'"}, []string{"b"}, []string{"a"}, false},
		{"undefined comparison stops after the skipped", []string{"a; sys_platform == 'win32'", "b; python_version ~= 'x'"}, nil, []string{"a"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			active, skipped, err := requirementsFor(parse(tc.reqs...), linux)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !slices.Equal(names(active), tc.active) || !slices.Equal(names(skipped), tc.skipped) {
				t.Errorf("active %q skipped %q; want %q and %q", names(active), names(skipped), tc.active, tc.skipped)
			}
		})
	}
}

func targetOf(path string, content []byte) updater.TargetInfo {
	sum := sha256.Sum256(content)
	return updater.TargetInfo{Path: path, Length: int64(len(content)), Hashes: map[string]string{updater.HashSHA256: hex.EncodeToString(sum[:])}}
}

func TestPlanDownloads(t *testing.T) {
	dir := t.TempDir()
	good := []byte("the signed bytes")
	writeFile(t, filepath.Join(dir, "present.whl"), string(good))
	writeFile(t, filepath.Join(dir, "changed.whl"), "other bytes")
	rf, err := packaging.ParseRequirements(strings.NewReader("a==1 --hash=sha256:"+fmt.Sprintf("%064x", 0)+"\n"), 0)
	if err != nil || len(rf.Requirements) != 1 {
		t.Fatal(rf, err)
	}
	pinned := rf.Requirements[0]
	plain, _ := packaging.ParseRequirement("a==1")
	item := func(name string, req packaging.Requirement, content []byte) *dlItem {
		vf := index.VerifiedFile{Target: targetOf("x/"+name, content)}
		vf.Filename = name
		return &dlItem{req: req, vp: &index.VerifiedPage{}, file: vf, dest: filepath.Join(dir, name)}
	}
	for _, tc := range []struct {
		name           string
		it             *dlItem
		fetch, present bool
		failed         bool
	}{
		{"already in DIR with the signed bytes", item("present.whl", plain, good), false, true, false},
		{"in DIR with other bytes: fetched", item("changed.whl", plain, good), true, false, false},
		{"missing: fetched", item("missing.whl", plain, good), true, false, false},
		{"present but not a listed --hash", item("present.whl", pinned, good), false, true, true},
		{"already failed: left alone", func() *dlItem { it := item("missing.whl", plain, good); it.err = errors.New("x"); return it }(), false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			toFetch, total := planDownloads([]*dlItem{tc.it})
			if fetched := len(toFetch) == 1; fetched != tc.fetch {
				t.Errorf("fetched = %v, want %v", fetched, tc.fetch)
			}
			if tc.fetch && total != int64(len(good)) {
				t.Errorf("total = %d, want %d", total, len(good))
			}
			if tc.it.present != tc.present || (tc.it.err != nil) != tc.failed {
				t.Errorf("present %v err %v; want present %v, failed %v", tc.it.present, tc.it.err, tc.present, tc.failed)
			}
		})
	}
}

// openerFunc is a verifiedOpener.
type openerFunc func(ctx context.Context, f index.VerifiedFile) (*cache.Entry, error)

func (o openerFunc) Open(ctx context.Context, f index.VerifiedFile) (*cache.Entry, error) {
	return o(ctx, f)
}

func TestFetchDownloadsErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		returned bool // the whole download stops
	}{
		{"a file's mismatch stays with the file", &updater.MismatchError{Path: "p", Check: "length"}, false},
		{"not signed stays with the file", updater.ErrNotSigned, false},
		{"the repository's metadata stops everything", &updater.MetadataError{Role: "snapshot", Err: errors.New("bad")}, true},
		{"a network error stops everything", &updater.NetworkError{URL: "http://x/", Err: errors.New("down")}, true},
		{"an interruption stops everything", context.Canceled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := &dlItem{}
			it.file.Filename = "a-1-py3-none-any.whl"
			open := openerFunc(func(context.Context, index.VerifiedFile) (*cache.Entry, error) { return nil, tc.err })
			err := fetchDownloads(context.Background(), open, []*dlItem{it}, 2, &byteProgress{})
			if tc.returned {
				if !errors.Is(err, tc.err) && !errors.As(err, new(*updater.MetadataError)) && !errors.As(err, new(*updater.NetworkError)) {
					t.Errorf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || it.err == nil {
				t.Errorf("returned %v, item err %v; want nil and the item's error", err, it.err)
			}
		})
	}
}

func TestWriteHintOnlyWhenGiven(t *testing.T) {
	var b bytes.Buffer
	writeHint(&b, "")
	writeHint(&b, "do this")
	if b.String() != "hint: do this\n" {
		t.Errorf("got %q", b.String())
	}
}
