package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// confusionRepos: corp has corp-auth 1.2; public publishes corp-auth
// 99.0 (validly signed by its own keys) and pubtool; corp-* is mapped,
// terminating, to corp, everything else to public.
func confusionRepos(t *testing.T) (corp, public *countedRepo, home, mapPath string) {
	t.Helper()
	corp = newCountedRepo(t, "corp", []repogen.ProjectSpec{release("corp-auth", "1.2")})
	public = newCountedRepo(t, "public", []repogen.ProjectSpec{release("corp-auth", "99.0"), release("corp-billing", "99.0"), release("pubtool", "3.0")})
	home = t.TempDir()
	register(t, home, corp, public)
	mapPath = writeMap(t, mapOf([]string{"corp", "public"},
		mapping{Paths: []string{"corp-*"}, Repositories: []string{"corp"}, Threshold: 1, Terminating: true},
		mapping{Paths: []string{"*"}, Repositories: []string{"public"}, Threshold: 1}))
	return corp, public, home, mapPath
}

// TestMultiRepoDownloadConfusion: "tufpip download --map" takes corp's
// corp-auth 1.2, never public's 99.0, and public's server never gets a
// request naming corp-auth; pubtool still comes from public.
func TestMultiRepoDownloadConfusion(t *testing.T) {
	corp, public, home, m := confusionRepos(t)
	dir := t.TempDir()
	res := mustTufpip(t, "--home", home, "download", "--map", m, "corp-auth", "pubtool", "-d", dir)
	t.Logf("tufpip download --map:\n%s", res)
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	got := strings.Join(names, " ")
	if !strings.Contains(got, "corp_auth-1.2") || strings.Contains(got, "99.0") || !strings.Contains(got, "pubtool-3.0") {
		t.Fatalf("downloaded %q, want corp's corp_auth-1.2 and public's pubtool-3.0, nothing of 99.0", got)
	}
	if asked := public.asked("corp-auth", "corp_auth"); len(asked) > 0 {
		t.Fatalf("public was asked about corp-auth: %v", asked)
	}
	if asked := corp.asked("pubtool"); len(asked) > 0 {
		t.Errorf("corp was asked about pubtool, which no mapping routes there: %v", asked)
	}
	// A corp-* name corp lacks is refused, never taken from public
	// (terminating), and nothing is written.
	dir2 := t.TempDir()
	res = runTufpip(t, nil, "--home", home, "download", "--map", m, "corp-billing", "-d", dir2)
	t.Logf("tufpip download --map corp-billing:\n%s", res)
	if res.Code == 0 || !strings.Contains(res.Stderr, "mapping 1 is terminating, so no other repository is asked") {
		t.Fatalf("download corp-billing: %s; want a refusal saying the terminating mapping stopped the search", res)
	}
	if entries, _ := os.ReadDir(dir2); len(entries) > 0 {
		t.Errorf("%d files written for corp-billing", len(entries))
	}
	if asked := public.asked("corp-billing", "corp_billing"); len(asked) > 0 {
		t.Fatalf("public was asked about corp-billing: %v", asked)
	}
	// Single-repository flags beside --map are refused.
	res = runTufpip(t, nil, "--home", home, "--repository", "corp", "download", "--map", m, "corp-auth", "-d", t.TempDir())
	if res.Code != 2 || !strings.Contains(res.Stderr, "--repository cannot be combined with --map") {
		t.Errorf("--repository with --map: %s", res)
	}
}

// disagreeRepos: threshold 2 of {corp-mirror, public}, terminating;
// shared 1.0 is identical in both, shared 2.0 differs (the mirror's has
// a dependency), shared 3.0 only public has.
func disagreeRepos(t *testing.T) (mirror, public *countedRepo, home, mapPath string) {
	t.Helper()
	mirror = newCountedRepo(t, "corp-mirror", []repogen.ProjectSpec{{Name: "shared", Releases: []repogen.ReleaseSpec{
		{Version: "1.0"}, {Version: "2.0", Dependencies: []string{"evil>=1"}}}}})
	public = newCountedRepo(t, "public", []repogen.ProjectSpec{release("shared", "1.0", "2.0", "3.0")})
	home = t.TempDir()
	register(t, home, mirror, public)
	mapPath = writeMap(t, mapOf([]string{"corp-mirror", "public"},
		mapping{Paths: []string{"*"}, Repositories: []string{"corp-mirror", "public"}, Threshold: 2, Terminating: true}))
	return mirror, public, home, mapPath
}

func writeReqs(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMultiRepoVerifyConsensus: "tufpip verify --map -r" passes the pin
// both repositories sign identically, fails (exit 1) the one whose
// hashes differ naming both repositories, and the one only public has;
// verify FILE checks files on disk against the consensus the same way.
func TestMultiRepoVerifyConsensus(t *testing.T) {
	_, public, home, m := disagreeRepos(t)
	res := runTufpip(t, nil, "--home", home, "verify", "--map", m, "-r", writeReqs(t, "shared==1.0"))
	if res.Code != 0 || !strings.Contains(res.Stdout, "ok      shared==1.0") {
		t.Fatalf("verify --map -r shared==1.0: %s", res)
	}
	res = runTufpip(t, nil, "--home", home, "verify", "--map", m, "-r", writeReqs(t, "shared==2.0"))
	t.Logf("verify --map -r shared==2.0:\n%s", res)
	if res.Code != 1 || !strings.Contains(res.Stdout, "FAILED  shared==2.0") || !strings.Contains(res.Stdout, "disagree") ||
		!strings.Contains(res.Stdout, "corp-mirror (") || !strings.Contains(res.Stdout, "public (") {
		t.Fatalf("verify --map -r shared==2.0: %s; want exit 1 naming corp-mirror and public", res)
	}
	res = runTufpip(t, nil, "--home", home, "verify", "--map", m, "-r", writeReqs(t, "shared==3.0"))
	if res.Code != 1 || !strings.Contains(res.Stdout, "only public vouch") {
		t.Fatalf("verify --map -r shared==3.0: %s; want exit 1, only public vouches", res)
	}

	// Files on disk: public's copy of the disputed 2.0 wheel and the
	// agreed 1.0 wheel.
	dir := t.TempDir()
	for _, f := range public.Files() {
		if f.Version == "1.0" || f.Version == "2.0" {
			data, err := os.ReadFile(filepath.Join(public.Dir(), "packages", filepath.FromSlash(f.Path)))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f.Filename), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	res = runTufpip(t, nil, "--home", home, "verify", "--map", m, dir)
	t.Logf("verify --map DIR:\n%s", res)
	if res.Code != 1 || !strings.Contains(res.Stdout, "ok      shared-1.0") || !strings.Contains(res.Stdout, "FAILED  shared-2.0") ||
		!strings.Contains(res.Stdout, "refused by the map file") || !strings.Contains(res.Stdout, "corp-mirror") {
		t.Fatalf("verify --map DIR: %s", res)
	}
	if res := runTufpip(t, nil, "--home", home, "--offline", "verify", "--map", m, dir); res.Code != 2 || !strings.Contains(res.Stderr, "verify --map needs the network") {
		t.Errorf("--offline verify --map: %s", res)
	}
}

// TestMultiRepoGet: "tufpip get --map" matches the map's patterns
// against target paths: corp's page of corp-auth is fetched from corp
// and public is never asked; a page the two consensus repositories sign
// differently is refused naming both, and no file is written.
func TestMultiRepoGet(t *testing.T) {
	corp, public, home, _ := confusionRepos(t)
	m := writeMap(t, mapOf([]string{"corp", "public"},
		mapping{Paths: []string{"corp-*/*"}, Repositories: []string{"corp"}, Threshold: 1, Terminating: true},
		mapping{Paths: []string{"*/*"}, Repositories: []string{"public"}, Threshold: 1}))
	out := filepath.Join(t.TempDir(), "page.html")
	res := mustTufpip(t, "--home", home, "get", "--map", m, corp.PageTarget("corp-auth"), "-o", out)
	t.Logf("tufpip get --map:\n%s", res)
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "1.2") || strings.Contains(string(page), "99.0") {
		t.Fatalf("got page:\n%s\nwant corp's corp-auth 1.2", page)
	}
	if !strings.Contains(res.Stderr, "corp agreed (mapping 1 (corp-*/*), threshold 1), fetched from corp") {
		t.Errorf("get does not say who agreed: %s", res)
	}
	if asked := public.asked("corp-auth", "corp_auth"); len(asked) > 0 {
		t.Fatalf("public was asked about corp-auth: %v", asked)
	}
	res = runTufpip(t, nil, "--home", home, "get", "--map", m, public.PageTarget("corp-billing"), "-o", out+".b")
	if res.Code != 1 || !strings.Contains(res.Stderr, "none of corp signed it") || !strings.Contains(res.Stderr, "mapping 1 is terminating") {
		t.Errorf("get of a corp-* page only public signs: %s", res)
	}
	if asked := public.asked("corp-billing", "corp_billing"); len(asked) > 0 {
		t.Fatalf("public was asked about corp-billing: %v", asked)
	}
	if _, err := os.Stat(out + ".b"); !os.IsNotExist(err) {
		t.Errorf("output written for a refused target (%v)", err)
	}
	if res := runTufpip(t, nil, "--home", home, "get", "--map", m, "a/b/c/d.whl", "-o", out+".x"); res.Code != 2 || !strings.Contains(res.Stderr, "no mapping of the map file matches it") {
		t.Errorf("unmapped target: %s", res)
	}

	_, pub2, home2, _ := disagreeRepos(t)
	m2 := writeMap(t, mapOf([]string{"corp-mirror", "public"},
		mapping{Paths: []string{"*/*"}, Repositories: []string{"corp-mirror", "public"}, Threshold: 2, Terminating: true}))
	out2 := filepath.Join(t.TempDir(), "shared.html")
	res = runTufpip(t, nil, "--home", home2, "get", "--map", m2, pub2.PageTarget("shared"), "-o", out2)
	t.Logf("tufpip get --map (disagreement):\n%s", res)
	if res.Code != 1 || !strings.Contains(res.Stderr, "disagree") || !strings.Contains(res.Stderr, "corp-mirror (") || !strings.Contains(res.Stderr, "public (") {
		t.Fatalf("get of a page the repositories sign differently: %s; want exit 1 naming both", res)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("%s was written (%v)", out2, err)
	}
}
