package index

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/integration/testenv"
)

// fixtureDir is the python-tuf-made repository in the shared fixtures,
// which sits beside the main checkout (locally and in CI).
const fixtureDir = "../../shared/fixtures/pep458-python-tuf"

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
			p, err := simple.ParseHTML(f, mustURL(t, pageURL), 0)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != project || p.Meta != "1.1" || len(p.Files) != 2 || p.Versions != nil {
				t.Fatalf("%s: page = %+v", rel, p)
			}
			for i, file := range p.Files {
				want := []string{"1.0.0", "1.1.0"}[i]
				d, err := packaging.ParseFilename(file.Filename)
				if err != nil || d.Project != project || d.Version != want || d.Kind != packaging.KindWheel {
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

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
