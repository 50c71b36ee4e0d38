package packaging

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// listing builds a listing from filenames; a "!" suffix marks a file
// yanked, and requires maps filenames to Requires-Python.
func listing(name string, requires map[string]string, files ...string) Listing {
	l := Listing{Project: name}
	for _, fn := range files {
		yanked := strings.HasSuffix(fn, "!")
		fn = strings.TrimSuffix(fn, "!")
		l.Files = append(l.Files, Candidate{Filename: fn, RequiresPython: requires[fn], Yanked: yanked,
			YankedReason: map[bool]string{true: "broken"}[yanked], Digests: map[string]string{"blake2b-256": reqHashA}})
	}
	return l
}

func selectedNames(l Listing, sel *Selection) []string {
	var got []string
	for _, i := range sel.Files {
		got = append(got, l.Files[i].Filename)
	}
	return got
}

func TestSelectRelease(t *testing.T) {
	linux, err := CompatibleTags("3.11", ManylinuxPlatforms("x86_64", 2, 35), "cp")
	if err != nil {
		t.Fatal(err)
	}
	env := Environment{PythonVersion: "3.11.4", Tags: linux}
	l := listing("demo", map[string]string{"demo-3.0-py3-none-any.whl": ">=3.12", "demo-3.0.tar.gz": ">=3.12"},
		"demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz",
		"demo-2.0-py3-none-any.whl", "demo-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"demo-2.0-cp311-cp311-win_amd64.whl", "demo-2.0.tar.gz",
		"demo-2.1-py3-none-any.whl!", "demo-2.1.tar.gz!",
		"demo-3.0-py3-none-any.whl", "demo-3.0.tar.gz",
		"demo-4.0rc1-py3-none-any.whl",
		"demo-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl",
		"other-9.0-py3-none-any.whl",
	)
	tests := []struct {
		name string
		req  string
		opts SelectOptions
		want []string
	}{
		{"latest skips yanked, too-new Python and pre-releases", "demo", SelectOptions{Env: env}, []string{"demo-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl"}},
		{"pinned", "demo==1.0", SelectOptions{Env: env}, []string{"demo-1.0-py3-none-any.whl"}},
		{"pinned yanked is allowed", "demo==2.1", SelectOptions{Env: env}, []string{"demo-2.1-py3-none-any.whl"}},
		{"wildcard is not an exact pin", "demo==2.*", SelectOptions{Env: env}, []string{"demo-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl"}},
		{"range", "demo<2", SelectOptions{Env: env}, []string{"demo-1.0-py3-none-any.whl"}},
		{"no-binary takes the sdist", "demo", SelectOptions{Env: env, NoBinary: true}, []string{"demo-2.0.tar.gz"}},
		{"pre", "demo", SelectOptions{Env: env, Pre: true}, []string{"demo-4.0rc1-py3-none-any.whl"}},
		{"specifier naming a pre-release", "demo>=4.0rc1", SelectOptions{Env: env}, []string{"demo-4.0rc1-py3-none-any.whl"}},
		{"all files", "demo==2.0", SelectOptions{Env: env, AllFiles: true}, []string{
			"demo-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl",
			"demo-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
			"demo-2.0-cp311-cp311-win_amd64.whl", "demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"}},
		{"newer Python reaches 3.0", "demo", SelectOptions{Env: Environment{PythonVersion: "3.12", Tags: mustTags(t, "3.12")}}, []string{"demo-3.0-py3-none-any.whl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := SelectRelease(l, mustReq(t, tt.req), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := selectedNames(l, sel); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	sel, _ := SelectRelease(l, mustReq(t, "demo==2.1"), SelectOptions{Env: env})
	if !sel.Yanked || sel.YankedReason != "broken" || sel.Version != "2.1" {
		t.Errorf("pinned yanked: %+v", sel)
	}
}

func mustTags(t *testing.T, py string) []Tag {
	tags, err := CompatibleTags(py, []string{"linux_x86_64"}, "cp")
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

func mustReq(t *testing.T, s string) Requirement {
	r, err := ParseRequirement(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSelectReleaseNoMatch(t *testing.T) {
	env := Environment{PythonVersion: "3.8", Tags: mustTags(t, "3.8")}
	l := listing("demo", map[string]string{"demo-2.0-py3-none-any.whl": ">=3.9"}, "demo-1.0-cp312-cp312-win_amd64.whl", "demo-2.0-py3-none-any.whl")
	l.Withheld = []Withheld{
		{Filename: "demo-5.0-py3-none-any.whl", Reason: "not signed by the repository"},
		{Filename: "demo-6.0-py3-none-any.whl", Reason: "belongs to project other", Foreign: true},
		{Filename: "demo-8.0-py3-none-any.whl", Reason: "the repositories disagree on its length and hashes: mirror (…) vs public (…)", Consensus: true},
	}
	tests := []struct {
		req               string
		unsigned, foreign bool
		want              string
	}{
		{"demo==2.0", false, false, "no verified file matches demo==2.0 (2.0: requires Python >=3.9, target is 3.8)"},
		{"demo<6", true, false, "demo<6: the repository lists matching files but has not signed them (1.0: no wheel for the target platform and Python; 2.0: requires Python >=3.9, target is 3.8; 5.0: demo-5.0-py3-none-any.whl: not signed by the repository)"},
		{"demo==5.0", true, false, "not signed"},
		{"demo==6.0", false, true, "demo==6.0: the index lists matching files, but they are not this project's (6.0: demo-6.0-py3-none-any.whl: belongs to project other)"},
		{"demo==7.0", false, false, "no verified file matches demo==7.0 (no release matches the version constraint)"},
		{"demo==8.0", false, false, "demo==8.0: the map file's repositories list matching files but not enough of them agree on them (8.0: demo-8.0-py3-none-any.whl: the repositories disagree"},
	}
	for _, tt := range tests {
		_, err := SelectRelease(l, mustReq(t, tt.req), SelectOptions{Env: env})
		var nm *NoMatchError
		if !errors.As(err, &nm) || nm.Unsigned != tt.unsigned || nm.Foreign != tt.foreign || nm.Consensus != (tt.req == "demo==8.0") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v (unsigned %v, foreign %v), want %q", tt.req, err, nm != nil && nm.Unsigned, nm != nil && nm.Foreign, tt.want)
		}
	}
	if _, err := SelectRelease(Listing{Project: "demo"}, mustReq(t, "demo"), SelectOptions{Env: env}); err == nil || err.Error() != "no verified file matches demo" {
		t.Errorf("empty listing: %v", err)
	}
}

// Each step of SelectRelease that decides something, on its own.

func TestAdmit(t *testing.T) {
	env := Environment{PythonVersion: "3.11", Tags: mustTags(t, "3.11")}
	wheel := must(ParseFilename("demo-1.0-py3-none-any.whl"))
	foreign := must(ParseFilename("demo-1.0-cp311-cp311-win_amd64.whl"))
	sdist := must(ParseFilename("demo-1.0.tar.gz"))
	tests := []struct {
		name     string
		f        Candidate
		d        Dist
		exact    bool
		opts     SelectOptions
		wantRank int
		wantWhy  string
	}{
		{"compatible wheel", Candidate{}, wheel, false, SelectOptions{Env: env}, indexOfTag(env.Tags, "py3-none-any"), ""},
		{"sdist ranks after every wheel", Candidate{}, sdist, false, SelectOptions{Env: env}, len(env.Tags), ""},
		{"yanked", Candidate{Yanked: true}, wheel, false, SelectOptions{Env: env}, 0, "yanked"},
		{"yanked but pinned exactly", Candidate{Yanked: true}, wheel, true, SelectOptions{Env: env}, indexOfTag(env.Tags, "py3-none-any"), ""},
		{"only-binary", Candidate{}, sdist, false, SelectOptions{Env: env, OnlyBinary: true}, 0, "sdist refused by --only-binary"},
		{"no-binary", Candidate{}, wheel, false, SelectOptions{Env: env, NoBinary: true}, 0, "wheel refused by --no-binary"},
		{"requires-python", Candidate{RequiresPython: ">=3.12"}, wheel, false, SelectOptions{Env: env}, 0, "requires Python >=3.12, target is 3.11"},
		{"unparseable requires-python is no restriction", Candidate{RequiresPython: "three"}, wheel, false, SelectOptions{Env: env}, indexOfTag(env.Tags, "py3-none-any"), ""},
		{"other platform", Candidate{}, foreign, false, SelectOptions{Env: env}, 0, "no wheel for the target platform and Python"},
		{"yanked is said before the platform", Candidate{Yanked: true}, foreign, false, SelectOptions{Env: env}, 0, "yanked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rank, why := admit(tt.f, tt.d, tt.exact, tt.opts)
			if rank != tt.wantRank || why != tt.wantWhy {
				t.Errorf("admit = %d, %q; want %d, %q", rank, why, tt.wantRank, tt.wantWhy)
			}
		})
	}
}

func indexOfTag(tags []Tag, s string) int {
	for i, tg := range tags {
		if tg.String() == s {
			return i
		}
	}
	return -1
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAllowsPrereleases(t *testing.T) {
	tests := []struct {
		req  string
		pre  bool
		want bool
	}{
		{"demo", false, false},
		{"demo", true, true},
		{"demo>=1.0", false, false},
		{"demo>=1.0rc1", false, true},
		{"demo>=1.0,<2.0.dev0", false, true},
		{"demo===1.0rc1", false, false}, // arbitrary equality names text, not a version
	}
	for _, tt := range tests {
		if got := allowsPrereleases(mustReq(t, tt.req), SelectOptions{Pre: tt.pre}); got != tt.want {
			t.Errorf("allowsPrereleases(%s, pre %v) = %v, want %v", tt.req, tt.pre, got, tt.want)
		}
	}
}

func candidates(versions ...string) []candidate {
	var out []candidate
	for i, v := range versions {
		out = append(out, candidate{index: i, version: MustParseVersion(v)})
	}
	return out
}

func TestNewestRelease(t *testing.T) {
	tests := []struct {
		name            string
		versions        []string
		exact, allowPre bool
		want            string // "" for none
	}{
		{"newest final", []string{"1.0", "2.0", "1.5"}, false, false, "2.0"},
		{"finals beat a newer pre-release", []string{"1.0", "2.0rc1"}, false, false, "1.0"},
		{"dev releases are pre-releases", []string{"1.0", "1.1.dev1"}, false, false, "1.0"},
		{"only pre-releases: take them", []string{"2.0rc1", "2.0b1"}, false, false, "2.0rc1"},
		{"pre allowed", []string{"1.0", "2.0rc1"}, false, true, "2.0rc1"},
		{"exact pin of a pre-release", []string{"2.0rc1"}, true, false, "2.0rc1"},
		{"post release is final", []string{"1.0", "1.0.post1"}, false, false, "1.0.post1"},
		{"first of equal versions", []string{"1.0", "1.0.0"}, false, false, "1.0"},
		{"nothing", nil, false, false, ""},
		{"nothing, exact", nil, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := newestRelease(candidates(tt.versions...), tt.exact, tt.allowPre)
			got := ""
			if ok {
				got = v.String()
			}
			if got != tt.want {
				t.Errorf("newestRelease = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPreferListedHashes(t *testing.T) {
	l := Listing{Project: "demo", Files: []Candidate{
		{Filename: "a", Digests: map[string]string{"sha256": reqHashA}},
		{Filename: "b", Digests: map[string]string{"sha256": reqHashB}},
		{Filename: "c", Digests: map[string]string{"blake2b-256": reqHashA}},
	}}
	all := candidates("1.0", "1.0", "1.0")
	names := func(cs []candidate) string {
		var s []string
		for _, c := range cs {
			s = append(s, l.Files[c.index].Filename)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name   string
		hashes map[string][]string
		want   string
	}{
		{"no --hash: unchanged", nil, "a,b,c"},
		{"matching first, contradicting dropped, unknown kept", map[string][]string{"sha256": {reqHashB}}, "b,c"},
		{"nothing matches: unchanged", map[string][]string{"sha256": {strings.Repeat("0", 64)}}, "a,b,c"},
		{"several match", map[string][]string{"sha256": {reqHashA, reqHashB}}, "a,b,c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Requirement{Name: "demo", Project: "demo", Hashes: tt.hashes}
			if got := names(preferListedHashes(l, req, all)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBestFile(t *testing.T) {
	c := func(i, rank int, build string) candidate {
		return candidate{index: i, rank: rank, dist: Dist{BuildTag: build}}
	}
	tests := []struct {
		name  string
		files []candidate
		want  int
	}{
		{"best rank", []candidate{c(0, 5, ""), c(1, 2, ""), c(2, 3, "")}, 1},
		{"higher build tag breaks a tie", []candidate{c(0, 2, ""), c(1, 2, "1"), c(2, 2, "10"), c(3, 2, "9")}, 2},
		{"build tag number before its rest", []candidate{c(0, 2, "2a"), c(1, 2, "2b"), c(2, 2, "1z")}, 1},
		{"rank beats build tag", []candidate{c(0, 1, ""), c(1, 2, "99")}, 0},
		{"first among equals", []candidate{c(0, 2, "1"), c(1, 2, "01")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bestFile(tt.files).index; got != tt.want {
				t.Errorf("bestFile = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPassedOver(t *testing.T) {
	var p passedOver
	p.note("2.0", "yanked")
	p.note("1.0", "no wheel for the target platform and Python")
	p.note("2.0", "yanked")
	p.note("2.0", "sdist refused by --only-binary")
	want := []string{"2.0: yanked, sdist refused by --only-binary", "1.0: no wheel for the target platform and Python"}
	if got := p.reasons(); !reflect.DeepEqual(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
}

func TestRequirementMatchesFile(t *testing.T) {
	tests := []struct {
		req, project, filename string
		want                   bool
	}{
		{"demo==1.0", "demo", "demo-1.0-py3-none-any.whl", true},
		{"demo==1.0", "demo", "demo-1.0.0.tar.gz", true},
		{"demo==1.0", "demo", "demo-1.1.tar.gz", false},
		{"demo", "demo", "other-1.0.tar.gz", false},
		{"demo", "demo", "demo.egg", false},
		{"pkg-0===9.post9", "pkg-0", "pkg-0-9-9.tar.gz", true},
	}
	for _, tt := range tests {
		if got := mustReq(t, tt.req).MatchesFile(tt.project, tt.filename); got != tt.want {
			t.Errorf("%s.MatchesFile(%s, %s) = %v, want %v", tt.req, tt.project, tt.filename, got, tt.want)
		}
	}
}
