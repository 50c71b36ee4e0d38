package index

import (
	"errors"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
)

const reqHashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const reqHashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestWarehouseTarget(t *testing.T) {
	b2 := "4b7747b4fd31" + strings.Repeat("0", 52)
	if got := WarehouseTarget(strings.ToUpper(b2), "pkg-1.0-py3-none-any.whl"); got != "4b/77/47b4fd31"+strings.Repeat("0", 52)+"/pkg-1.0-py3-none-any.whl" {
		t.Errorf("got %q", got)
	}
	for _, bad := range [][2]string{{"abc", "x.whl"}, {b2, "../x.whl"}, {b2, ""}, {strings.Repeat("z", 64), "x.whl"}} {
		if got := WarehouseTarget(bad[0], bad[1]); got != "" {
			t.Errorf("WarehouseTarget(%q, %q) = %q", bad[0], bad[1], got)
		}
	}
}

// page builds a verified page from filenames; a "!" suffix marks a file
// yanked, and requires maps filenames to Requires-Python.
func page(name string, requires map[string]string, files ...string) *VerifiedPage {
	vp := &VerifiedPage{Name: name, PageTarget: &updater.TargetInfo{}}
	for _, fn := range files {
		yanked := strings.HasSuffix(fn, "!")
		fn = strings.TrimSuffix(fn, "!")
		vp.Files = append(vp.Files, VerifiedFile{
			File:   simple.File{Filename: fn, URL: "https://files.example/" + fn, Hashes: map[string]string{}, RequiresPython: requires[fn], Yanked: yanked, YankedReason: map[bool]string{true: "broken"}[yanked]},
			Target: updater.TargetInfo{Path: fn, Length: 1, Hashes: map[string]string{"blake2b-256": reqHashA}},
		})
	}
	return vp
}

func TestSelectHashHints(t *testing.T) {
	env := packaging.Environment{PythonVersion: "3.11", Tags: mustTags(t, "3.11")}
	vp := page("demo", nil, "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz")
	vp.Files[0].Hashes = map[string]string{"sha256": reqHashA}
	vp.Files[1].Hashes = map[string]string{"sha256": reqHashB}
	req := mustReq(t, "demo==1.0")
	req.Hashes = map[string][]string{"sha256": {reqHashB}}
	sel, err := vp.Select(req, packaging.SelectOptions{Env: env})
	if err != nil || len(sel.Files) != 1 || sel.Files[0].Filename != "demo-1.0.tar.gz" {
		t.Fatalf("hash filter: %+v, %v", sel, err)
	}
	// Unverified page hashes (dists-only) steer the choice, but are not
	// signed digests.
	vp.PageTarget = nil
	sel, _ = vp.Select(req, packaging.SelectOptions{Env: env})
	if sel.Files[0].Filename != "demo-1.0.tar.gz" {
		t.Errorf("unverified page hashes not used as hints: %v", sel.Files[0].Filename)
	}
	if d := vp.SignedDigests(vp.Files[1]); d["sha256"] != "" {
		t.Errorf("unverified page hash counted as signed: %v", d)
	}
}

// Select chooses among verified files only; what was left out only
// explains a failure.
func TestSelectOmitted(t *testing.T) {
	env := packaging.Environment{PythonVersion: "3.11", Tags: mustTags(t, "3.11")}
	vp := page("demo", nil, "demo-1.0-py3-none-any.whl")
	vp.Omitted = []Omission{
		{Filename: "demo-2.0-py3-none-any.whl", Reason: "not signed by the repository"},
		{Filename: "demo-3.0-py3-none-any.whl", Reason: "belongs to project other, not demo", Owner: "other", Foreign: true},
	}
	sel, err := vp.Select(mustReq(t, "demo"), packaging.SelectOptions{Env: env})
	if err != nil || sel.Version != "1.0" || len(sel.Files) != 1 || sel.Files[0].Filename != "demo-1.0-py3-none-any.whl" {
		t.Fatalf("latest: %+v, %v", sel, err)
	}
	for req, want := range map[string]string{
		"demo==2.0": "demo==2.0: the repository lists matching files but has not signed them (2.0: demo-2.0-py3-none-any.whl: not signed by the repository)",
		"demo==3.0": "demo==3.0: the index lists matching files, but they are not this project's (3.0: demo-3.0-py3-none-any.whl: belongs to project other, not demo)",
	} {
		_, err := vp.Select(mustReq(t, req), packaging.SelectOptions{Env: env})
		var nm *packaging.NoMatchError
		if !errors.As(err, &nm) || err.Error() != want {
			t.Errorf("%s: %v, want %q", req, err, want)
		}
	}
	files, omitted := vp.ReleaseFiles(mustReq(t, "demo>=2"))
	if len(files) != 0 || len(omitted) != 2 {
		t.Errorf("ReleaseFiles(demo>=2) = %v, %v", files, omitted)
	}
	files, omitted = vp.ReleaseFiles(mustReq(t, "demo==1.0.0"))
	if len(files) != 1 || len(omitted) != 0 {
		t.Errorf("ReleaseFiles(demo==1.0.0) = %v, %v", files, omitted)
	}
}

func mustTags(t *testing.T, py string) []packaging.Tag {
	tags, err := packaging.CompatibleTags(py, []string{"linux_x86_64"}, "cp")
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

func mustReq(t *testing.T, s string) packaging.Requirement {
	r, err := packaging.ParseRequirement(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
