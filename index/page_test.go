package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files in ../testdata/index/golden")

const goldenDir = "../testdata/index/golden"

// fixtureDir is the python-tuf-made repository in the shared fixtures,
// which sits beside the main checkout (locally and in CI).
const fixtureDir = "../../shared/fixtures/pep458-python-tuf"

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const (
	hashA = "2ce33bb316fafdb8d0a8c3991b186743138c37beb3f16c03870a255141942108"
	hashB = "6e81c5fc22386957cb9c2b98c36c3f12672498bbf8369ec7002f0986a44d55be"
	hashC = "053f24d446bbdc47fa608f7d8e3a4418fdde7aaacd218748078d7852c6065896"
)

// fullPage uses every field the Simple API carries.
func fullPage() *Page {
	return &Page{
		Name: "example-pkg",
		Meta: "1.1",
		Files: []File{
			{
				Filename:       "example_pkg-1.0.tar.gz",
				URL:            "https://files.example.org/packages/ab/cd/ef01/example_pkg-1.0.tar.gz",
				Hashes:         map[string]string{"sha256": hashA},
				RequiresPython: ">=3.8, <4",
				Size:           1234,
				UploadTime:     "2024-01-02T03:04:05.678901Z",
			},
			{
				Filename:       "example_pkg-1.0-py3-none-any.whl",
				URL:            "https://files.example.org/packages/12/34/5678/example_pkg-1.0-py3-none-any.whl",
				Hashes:         map[string]string{"sha256": hashB},
				RequiresPython: "<4,>=3.8",
				Yanked:         true,
				YankedReason:   `broken "build" & <bad> metadata`,
				CoreMetadata:   map[string]string{"sha256": hashC},
				Size:           0,
				UploadTime:     "2024-01-02T03:04:06Z",
			},
			{
				Filename:     "example_pkg-1.1rc1+local.7-py3-none-any.whl",
				URL:          "https://files.example.org/packages/9a/bc/def0/example_pkg-1.1rc1+local.7-py3-none-any.whl",
				Hashes:       map[string]string{"sha256": hashC},
				Yanked:       true,
				CoreMetadata: map[string]string{},
				Size:         987654321,
			},
			{
				Filename: "example_pkg-0.9.zip",
				URL:      "http://mirror.example.net:8080/legacy/example_pkg-0.9.zip",
				Hashes:   map[string]string{},
				Size:     -1,
			},
		},
		Versions: []string{"0.9", "1.0", "1.1rc1+local.7"},
	}
}

// htmlOnly drops what an HTML page cannot carry.
func htmlOnly(p *Page) *Page {
	q := *p
	q.Versions = nil
	q.Files = nil
	for _, f := range p.Files {
		f.Size, f.UploadTime = -1, ""
		q.Files = append(q.Files, f)
	}
	return &q
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./index/ -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (rerun with -update if intended):\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	p := fullPage()
	var h, j bytes.Buffer
	if err := p.RenderHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := p.RenderJSON(&j); err != nil {
		t.Fatal(err)
	}
	golden(t, "page.html", h.Bytes())
	golden(t, "page.json", j.Bytes())

	pl := &ProjectList{Projects: []string{"Example_Pkg", "fixture-pkg-0", "zope.interface"}}
	h.Reset()
	j.Reset()
	if err := pl.RenderHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := pl.RenderJSON(&j); err != nil {
		t.Fatal(err)
	}
	golden(t, "projects.html", h.Bytes())
	golden(t, "projects.json", j.Bytes())

	// Spot checks that do not depend on the golden files being right.
	html := string(must(os.ReadFile(filepath.Join(goldenDir, "page.html"))))
	for _, want := range []string{
		`<meta name="pypi:repository-version" content="1.1">`,
		`data-requires-python="&gt;=3.8, &lt;4"`,
		`data-yanked="broken &#34;build&#34; &amp; &lt;bad&gt; metadata"`,
		`data-core-metadata="sha256=` + hashC + `" data-dist-info-metadata="sha256=` + hashC + `"`,
		`data-yanked="" data-core-metadata="true" data-dist-info-metadata="true"`,
		`href="https://files.example.org/packages/ab/cd/ef01/example_pkg-1.0.tar.gz#sha256=` + hashA + `"`,
		`href="http://mirror.example.net:8080/legacy/example_pkg-0.9.zip">example_pkg-0.9.zip</a>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page.html lacks %s", want)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join(goldenDir, "page.json"))), &doc); err != nil {
		t.Fatal(err)
	}
	files := doc["files"].([]any)
	f1 := files[1].(map[string]any)
	if f1["yanked"] != `broken "build" & <bad> metadata` || f1["size"] != 0.0 || f1["requires-python"] != "<4,>=3.8" {
		t.Errorf("file 1 = %v", f1)
	}
	f2 := files[2].(map[string]any)
	if _, legacy := f2["dist-info-metadata"]; f2["yanked"] != true || f2["core-metadata"] != true || legacy {
		t.Errorf("file 2 = %v", f2)
	}
	f3 := files[3].(map[string]any)
	if _, ok := f3["size"]; ok || f3["yanked"] != false {
		t.Errorf("file 3 = %v", f3)
	}
	if doc["meta"].(map[string]any)["api-version"] != "1.1" {
		t.Errorf("meta = %v", doc["meta"])
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRoundTripHTML(t *testing.T) {
	p := fullPage()
	var b bytes.Buffer
	if err := p.RenderHTML(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ParseHTML(&b, mustURL(t, "https://pypi.example.org/simple/example-pkg/"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := htmlOnly(p); !reflect.DeepEqual(got, want) {
		t.Errorf("HTML round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestRoundTripJSON(t *testing.T) {
	p := fullPage()
	var b bytes.Buffer
	if err := p.RenderJSON(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ParseJSON(&b, mustURL(t, "https://pypi.example.org/simple/example-pkg/"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", got, p)
	}
}

// TestHTMLToJSON is what the proxy does: the verified HTML page becomes the
// PEP 691 answer.
func TestHTMLToJSON(t *testing.T) {
	p := htmlOnly(fullPage())
	var b bytes.Buffer
	if err := p.RenderJSON(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ParseJSON(&b, mustURL(t, "https://pypi.example.org/simple/example-pkg/"), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := *p
	want.Versions = []string{"0.9", "1.0", "1.1rc1+local.7"} // derived from the filenames
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("got %+v\nwant %+v", got, &want)
	}
}

func TestProjectListRoundTrip(t *testing.T) {
	pl := &ProjectList{Projects: []string{"Example_Pkg", "fixture-pkg-0", "zope.interface"}}
	var h, j bytes.Buffer
	if err := pl.RenderHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := pl.RenderJSON(&j); err != nil {
		t.Fatal(err)
	}
	fromHTML, err := ParseProjectListHTML(&h, 0)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ParseProjectListJSON(&j, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromHTML, pl) || !reflect.DeepEqual(fromJSON, pl) {
		t.Errorf("got %v and %v, want %v", fromHTML, fromJSON, pl)
	}
	if err := (&ProjectList{Projects: []string{"../evil"}}).RenderHTML(&h); err == nil {
		t.Error("rendered an invalid project name")
	}
}

func TestParseProjectListHostile(t *testing.T) {
	page := `<html><body>
<a href="/simple/a/">A</a>
<a href="/simple/a/">a</a>
<a href="x">../etc</a>
<a href="y"> spaced-name </a>
<a href="z">bad name</a>
<script><a href="s">scripted</a></script>
<a href="u">Ünï</a>
</body></html>`
	pl, err := ParseProjectListHTML(strings.NewReader(page), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A", "spaced-name"}; !reflect.DeepEqual(pl.Projects, want) {
		t.Errorf("Projects = %q, want %q", pl.Projects, want)
	}
	if _, err := ParseProjectListHTML(strings.NewReader(page), 10); !errors.Is(err, ErrPageTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	if _, err := ParseProjectListJSON(strings.NewReader(`{"meta":{"api-version":"2.0"},"projects":[]}`), 0); !errors.Is(err, ErrUnsupportedAPIVersion) {
		t.Errorf("v2: %v", err)
	}
	pl, err = ParseProjectListJSON(strings.NewReader(`{"meta":{"api-version":"1.0"},"projects":[{"name":"ok"},{"name":"../x"},{},{"name":"OK"}]}`), 0)
	if err != nil || !reflect.DeepEqual(pl.Projects, []string{"ok"}) {
		t.Errorf("JSON list = %v, %v", pl, err)
	}
}

// expectedTargets is the fixture's expected.json.
type expectedTargets struct {
	Targets []struct {
		Target string            `json:"target"`
		Bin    string            `json:"bin"`
		Length int64             `json:"length"`
		Hashes map[string]string `json:"hashes"`
	} `json:"targets"`
}

// TestFixturePages parses the pages python-tuf's repository serves and
// checks every field against the files they point at and expected.json.
func TestFixturePages(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		testenv.MissingPrerequisite(t, "shared fixtures not beside the checkout: %v", err)
	}
	var exp expectedTargets
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join(fixtureDir, "expected.json"))), &exp); err != nil {
		t.Fatal(err)
	}
	signed := map[string]string{} // target path -> blake2b-256
	for _, tg := range exp.Targets {
		signed[tg.Target] = tg.Hashes["blake2b-256"]
	}
	site := Site{Layout: LayoutPEP458, IndexURL: mustURL(t, "http://127.0.0.1:8458/simple/"), FilesURL: mustURL(t, "http://127.0.0.1:8458/packages/")}

	for _, project := range []string{"fixture-pkg-0", "fixture-pkg-1", "fixture-pkg-2"} {
		target, ok := site.PageTarget(project)
		b2, found := signed[target]
		if !ok || !found {
			t.Fatalf("%s: page target %q not in expected.json", project, target)
		}
		hashed := site.PageURL(project, b2)
		for _, pageURL := range []string{hashed, site.IndexURL.String() + project + "/index.html"} {
			rel := strings.TrimPrefix(pageURL, "http://127.0.0.1:8458/")
			f, err := os.Open(filepath.Join(fixtureDir, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatalf("%s: PageURL points at a file the fixture lacks: %v", project, err)
			}
			p, err := ParseHTML(f, mustURL(t, pageURL), 0)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != project || p.Meta != "1.1" || len(p.Files) != 2 || p.Versions != nil {
				t.Fatalf("%s: page = %+v", rel, p)
			}
			for i, file := range p.Files {
				want := []string{"1.0.0", "1.1.0"}[i]
				d, err := ParseFilename(file.Filename)
				if err != nil || d.Project != project || d.Version != want || d.Kind != KindWheel {
					t.Errorf("%s: file %q parses as %+v, %v", rel, file.Filename, d, err)
				}
				if !strings.HasPrefix(file.URL, "http://127.0.0.1:8458/packages/") || !strings.HasSuffix(file.URL, "/"+file.Filename) {
					t.Errorf("%s: URL %q", rel, file.URL)
				}
				ft, err := site.FileTarget(file.URL)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := signed[ft]; !ok {
					t.Errorf("%s: file target %q not in expected.json", rel, ft)
				}
				if site.FileURL(ft) != file.URL {
					t.Errorf("FileURL(%q) = %q, want %q", ft, site.FileURL(ft), file.URL)
				}
				// The page's hashes are the files' real hashes.
				body := must(os.ReadFile(filepath.Join(fixtureDir, "packages", filepath.FromSlash(ft))))
				meta := must(os.ReadFile(filepath.Join(fixtureDir, "packages", filepath.FromSlash(ft)+".metadata")))
				if sum := sha256.Sum256(body); len(file.Hashes) != 1 || file.Hashes["sha256"] != hex.EncodeToString(sum[:]) {
					t.Errorf("%s: hashes %v, file's sha256 %x", rel, file.Hashes, sum)
				}
				if sum := sha256.Sum256(meta); len(file.CoreMetadata) != 1 || file.CoreMetadata["sha256"] != hex.EncodeToString(sum[:]) {
					t.Errorf("%s: core metadata %v, .metadata sha256 %x", rel, file.CoreMetadata, sum)
				}
				if file.RequiresPython != "" || file.Yanked || file.YankedReason != "" || file.Size != -1 || file.UploadTime != "" {
					t.Errorf("%s: unexpected fields in %+v", rel, file)
				}
			}
		}
	}
}
