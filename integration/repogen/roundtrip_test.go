package repogen

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// servedURLOfPage is where a client fetches a page target under each index
// layout (DESIGN.md §1 table).
func servedURLOfPage(r *Repo, base, project string) string {
	switch r.st.Settings.IndexLayout {
	case IndexLayoutPEP458:
		return base + "/simple/" + project + "/" + r.hashedPageName(r.st.Projects[project])
	case IndexLayoutIndexOnly:
		return base + "/simple/" + project + "/"
	case IndexLayoutSimplePath:
		return base + "/simple/" + project + "/index.html"
	}
	return ""
}

func TestRoundTripWithGoTUF(t *testing.T) {
	cases := []struct {
		name string
		opts Options
	}{
		{"b4-ed25519-pep458", Options{BitLength: 4}},
		{"b8-ecdsa-index-only", Options{BitLength: 8, KeyType: KeyTypeECDSA, IndexLayout: IndexLayoutIndexOnly}},
		{"b8-rsa-simple-path", Options{BitLength: 8, KeyType: KeyTypeRSA, IndexLayout: IndexLayoutSimplePath}},
		{"b1-ed25519-dists-only-all-hashes", Options{BitLength: 1, IndexLayout: IndexLayoutDistsOnly, Hashes: []string{HashBlake2b256, HashSHA256, HashSHA512}}},
		{"b6-ed25519-root-2of3", Options{BitLength: 6, RootKeys: 3, RootThreshold: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustGenerate(t, tc.opts, append(SyntheticProjects(3), demoSpecs()...))
			base := serve(t, r.Dir())
			checkLayoutOnDisk(t, r)

			c := newClient(t, base, r.TrustedRoot())
			up, err := c.refresh(t)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			targets := r.Targets()
			if len(targets) == 0 {
				t.Fatal("no targets")
			}
			for p, want := range targets {
				got, err := up.GetTargetInfo(p)
				if err != nil {
					t.Fatalf("GetTargetInfo(%q): %v", p, err)
				}
				if got.Length != want.Length {
					t.Errorf("%s: length %d, want %d", p, got.Length, want.Length)
				}
				if len(got.Hashes) != len(want.Hashes) {
					t.Errorf("%s: hashes %v, want %v", p, got.Hashes, want.Hashes)
				}
				for alg, h := range want.Hashes {
					if hex.EncodeToString(got.Hashes[alg]) != h {
						t.Errorf("%s: %s %x, want %s", p, alg, got.Hashes[alg], h)
					}
				}
			}
			if _, err := up.GetTargetInfo("no/such/target.whl"); err == nil {
				t.Error("GetTargetInfo of an unknown target succeeded")
			}

			// Bytes served match the signed info.
			layout := r.st.Settings.IndexLayout
			for _, f := range r.Files() {
				code, body := httpGet(t, base+"/packages/"+f.Path)
				if code != 200 || b2hex(body) != f.Hashes[HashBlake2b256] || int64(len(body)) != f.Length {
					t.Errorf("%s: served %d, %d bytes, blake2b %s; want %s", f.Path, code, len(body), b2hex(body), f.Hashes[HashBlake2b256])
				}
				if want, ok := targets[f.Path]; ok && want.Hashes[HashBlake2b256] != b2hex(body) {
					t.Errorf("%s: served bytes do not match the signed blake2b", f.Path)
				}
				if _, ok := targets[f.Path]; ok != distsAreTargets(layout) {
					t.Errorf("%s: is a target = %v under layout %s", f.Path, ok, layout)
				}
				if f.MetadataPath != "" {
					code, meta := httpGet(t, base+"/packages/"+f.MetadataPath)
					if code != 200 || !bytes.HasPrefix(meta, []byte("Metadata-Version: 2.1\n")) {
						t.Errorf("%s: %d %q", f.MetadataPath, code, meta)
					}
					if want, ok := targets[f.MetadataPath]; ok && want.Hashes[HashBlake2b256] != b2hex(meta) {
						t.Errorf("%s: served bytes do not match the signed blake2b", f.MetadataPath)
					}
				}
			}
			for name := range r.st.Projects {
				tp := r.PageTarget(name)
				if layout == IndexLayoutDistsOnly {
					if tp != "" {
						t.Errorf("dists-only has page target %q", tp)
					}
					continue
				}
				want, ok := targets[tp]
				if !ok {
					t.Fatalf("page target %q of %s missing", tp, name)
				}
				code, body := httpGet(t, servedURLOfPage(r, base, name))
				if code != 200 || b2hex(body) != want.Hashes[HashBlake2b256] || int64(len(body)) != want.Length {
					t.Errorf("page %s: served %d, blake2b %s, want %s", tp, code, b2hex(body), want.Hashes[HashBlake2b256])
				}
			}
		})
	}
}

// checkLayoutOnDisk pins the RSTUF-style published layout: flat metadata/
// with consistent snapshots, every bin, no unversioned root, snapshot and
// timestamp meta by version only.
func checkLayoutOnDisk(t *testing.T, r *Repo) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(r.Dir(), "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"timestamp.json", "1.root.json", "1.snapshot.json", "1.targets.json"}
	for _, b := range r.Bins() {
		want = append(want, "1."+b+".json")
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("metadata/ has %d files, want %d (first got %v)", len(got), len(want), got[:min(5, len(got))])
	}
	root, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, r.TrustedRoot()) {
		t.Error("trusted-root.json differs from 1.root.json")
	}
	var rootMD metadata.Metadata[metadata.RootType]
	if _, err := rootMD.FromBytes(root); err != nil {
		t.Fatal(err)
	}
	if !rootMD.Signed.ConsistentSnapshot {
		t.Error("consistent_snapshot is off")
	}
	if n := len(rootMD.Signed.Roles[RoleRoot].KeyIDs); n != len(r.root) {
		t.Errorf("root lists %d root keys, want %d", n, len(r.root))
	}
	for _, f := range []string{"1.snapshot.json", "timestamp.json"} {
		data, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", f))
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Signed struct {
				Meta map[string]map[string]any `json:"meta"`
			} `json:"signed"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		for name, m := range raw.Signed.Meta {
			if keys := slices.Collect(maps.Keys(m)); len(keys) != 1 || keys[0] != "version" {
				t.Errorf("%s: meta %s has %v, want version only", f, name, keys)
			}
		}
		if f == "1.snapshot.json" && len(raw.Signed.Meta) != len(r.Bins())+1 {
			t.Errorf("snapshot lists %d roles, want %d", len(raw.Signed.Meta), len(r.Bins())+1)
		}
	}
	var targets struct {
		Signed struct {
			Delegations struct {
				Succinct struct {
					BitLength  int    `json:"bit_length"`
					NamePrefix string `json:"name_prefix"`
				} `json:"succinct_roles"`
			} `json:"delegations"`
		} `json:"signed"`
	}
	data, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", "1.targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &targets); err != nil {
		t.Fatal(err)
	}
	if s := targets.Signed.Delegations.Succinct; s.BitLength != r.st.Settings.BitLength || s.NamePrefix != "bins" {
		t.Errorf("succinct_roles = %+v", s)
	}
}

func TestPagesAndServer(t *testing.T) {
	r := mustGenerate(t, Options{BitLength: 2}, demoSpecs())
	base := serve(t, r.Dir())

	code, page := httpGet(t, base+"/simple/lib-name-two/")
	if code != 200 {
		t.Fatalf("GET simple/lib-name-two/: %d", code)
	}
	for _, want := range []string{
		`<meta name="pypi:repository-version" content="1.1">`,
		`<title>Links for lib-name-two</title>`,
		`data-yanked="broken &lt;build&gt;" data-core-metadata="sha256=`,
		`data-yanked="" data-core-metadata="sha256=`,
		`>lib_name_two-1.1.tar.gz</a><br />`,
		`href="../../packages/`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	_, app := httpGet(t, base+"/simple/app/index.html")
	if !strings.Contains(string(app), `data-requires-python="&gt;=3.8"`) {
		t.Errorf("app page lacks requires-python:\n%s", app)
	}
	// The hashed page is byte-identical to index.html.
	_, hashed := httpGet(t, base+"/simple/app/"+r.hashedPageName(r.st.Projects["app"]))
	if !bytes.Equal(hashed, app) {
		t.Error("hashed page differs from index.html")
	}
	// Each href's sha256 is the served file's.
	for _, f := range r.Files() {
		if !strings.Contains(string(page)+string(app), fmt.Sprintf("%s#sha256=%s", f.Path, f.Hashes[HashSHA256])) && f.Project != "lib" {
			t.Errorf("no link with sha256 for %s", f.Filename)
		}
	}

	_, js := httpGet(t, base+"/simple/app/index.json")
	var pj struct {
		Meta     map[string]string `json:"meta"`
		Name     string
		Versions []string
		Files    []map[string]any
	}
	if err := json.Unmarshal(js, &pj); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if pj.Meta["api-version"] != "1.1" || pj.Name != "app" || !slices.Equal(pj.Versions, []string{"1.0"}) || len(pj.Files) != 2 {
		t.Errorf("index.json = %s", js)
	}
	for _, f := range pj.Files {
		if f["requires-python"] != ">=3.8" || f["size"] == nil || f["upload-time"] == nil {
			t.Errorf("index.json file entry %v", f)
		}
	}
	_, js = httpGet(t, base+"/simple/lib-name-two/index.json")
	if !strings.Contains(string(js), `"yanked":"broken <build>"`) || !strings.Contains(string(js), `"yanked":true`) {
		t.Errorf("yanked in index.json: %s", js)
	}

	_, list := httpGet(t, base+"/simple/")
	if !strings.Contains(string(list), `<a href="lib-name-two/">lib-name-two</a>`) {
		t.Errorf("project list: %s", list)
	}

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/.repogen/keys.json", 404},
		{"/.repogen/state.json", 404},
		{"/simple/../.repogen/keys.json", 404},
		{"/%2e%72epogen/keys.json", 404},
		{"/simple/app", 301},
		{"/metadata/", 404},
		{"/metadata/timestamp.json", 200},
		{"/metadata/nope.json", 404},
		{"/trusted-root.json", 200},
	} {
		if code, body := httpGet(t, base+tc.path); code != tc.code {
			t.Errorf("GET %s: %d, want %d (%.80s)", tc.path, code, tc.code, body)
		}
	}
}

func TestBinNamingMatchesFixture(t *testing.T) {
	fx := fixturePath(t)
	var expected struct {
		BitLength  int    `json:"bit_length"`
		NamePrefix string `json:"name_prefix"`
		Targets    []struct {
			Target string            `json:"target"`
			Bin    string            `json:"bin"`
			Length int64             `json:"length"`
			Hashes map[string]string `json:"hashes"`
		} `json:"targets"`
	}
	if err := readJSON(filepath.Join(fx, "expected.json"), &expected); err != nil {
		t.Fatal(err)
	}
	if expected.BitLength != 4 || len(expected.Targets) == 0 {
		t.Fatalf("unexpected fixture: %+v", expected)
	}
	// Built from the fixture's own wheels, the repository must reach the
	// fixture's answers: same Warehouse paths, pages, hashes and bins.
	r := mustGenerate(t, Options{BitLength: 4}, nil, filepath.Join(fx, "packages"))
	targets := r.Targets()
	for _, e := range expected.Targets {
		if got := r.BinFor(e.Target); got != e.Bin {
			t.Errorf("BinFor(%q) = %s, want %s", e.Target, got, e.Bin)
		}
		got, ok := targets[e.Target]
		if !ok {
			t.Errorf("target %s missing", e.Target)
			continue
		}
		if got.Length != e.Length || !maps.Equal(got.Hashes, e.Hashes) || got.Bin != e.Bin {
			t.Errorf("target %s = %+v, want length %d hashes %v bin %s", e.Target, got, e.Length, e.Hashes, e.Bin)
		}
	}
	for _, p := range []string{"fixture-pkg-0", "fixture-pkg-1", "fixture-pkg-2"} {
		want, err := os.ReadFile(filepath.Join(fx, "simple", p, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(r.Dir(), "simple", p, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("page %s differs from the fixture's:\n%s\nwant:\n%s", p, got, want)
		}
	}
	for _, f := range r.Files() {
		want, err := os.ReadFile(filepath.Join(fx, "packages", f.MetadataPath))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(r.Dir(), "packages", f.MetadataPath))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the fixture's (%v)", f.MetadataPath, err)
		}
	}
}
