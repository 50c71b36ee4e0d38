package simple

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The page fuzzers do a lot per input (parse, render twice, parse twice),
// so minimizing every new interesting input for the default 60 s stalls
// them; run them with a short -fuzzminimizetime, e.g.
//
//	go test ./index/simple/ -run '^$' -fuzz '^FuzzParseHTML$' -fuzztime 30s -fuzzminimizetime 2s

// fuzzPageURL is where fuzzed pages claim to come from.
const fuzzPageURL = "https://idx.example/simple/demo/"

// addPageSeeds adds the golden pages, the fixture's real pages and some
// hostile snippets.
func addPageSeeds(f *testing.F, ext string) {
	if b, err := os.ReadFile(filepath.Join(goldenDir, "page"+ext)); err == nil {
		f.Add(b)
	}
	if ext == ".html" {
		matches, _ := filepath.Glob(filepath.Join(fixtureDir, "simple", "*", "*.html"))
		for _, m := range matches {
			if b, err := os.ReadFile(m); err == nil {
				f.Add(b)
			}
		}
		for _, s := range []string{
			`<a href="d.whl#sha256=` + h64 + `" data-yanked="" data-core-metadata="true">d</a>`,
			`<base href="//cdn/x/"><a href="a%2Fb.whl"><a href="../x.whl" href="y.whl" data-requires-python="&lt;3">`,
			`<meta name="pypi:repository-version" content="1.0"><a href="javascript:x"><a href="%00">`,
			`<a href="http://[::1]:80/%2e%2e/x.whl"><a href="http://h/a b.whl?q#md5=00">`,
		} {
			f.Add([]byte(s))
		}
	} else {
		for _, s := range []string{
			`{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"d.whl","url":"d.whl","hashes":{"sha256":"` + h64 + `"},"yanked":"r","size":1,"core-metadata":true}],"versions":["1"]}`,
			`{"meta":{"api-version":"1.0"},"name":"Demo","files":[{"filename":"..","url":"x"},{"filename":"d.whl","url":"javascript:x"}]}`,
			`{"meta":{"api-version":"1.0"},"name":"demo","files":[{"filename":"d.whl","url":"//h/d.whl","dist-info-metadata":{"sha256":"x"}}]}`,
		} {
			f.Add([]byte(s))
		}
	}
}

// checkParsedPage asserts what every successfully parsed page guarantees.
func checkParsedPage(t *testing.T, p *Page) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("parsed page does not validate: %v\n%+v", err, p)
	}
	for _, f := range p.Files {
		u, err := url.Parse(f.URL)
		if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(f.URL, "#") {
			t.Fatalf("file URL %q is not an absolute http(s) URL without fragment", f.URL)
		}
		if f.Hashes == nil {
			t.Fatalf("nil Hashes for %q", f.Filename)
		}
		for alg, hex := range f.Hashes {
			if a, h, ok := normalizeHash(alg, hex); !ok || a != alg || h != hex {
				t.Fatalf("hash %s=%s kept unnormalized", alg, hex)
			}
		}
		for alg, hex := range f.CoreMetadata {
			if a, h, ok := normalizeHash(alg, hex); !ok || a != alg || h != hex {
				t.Fatalf("core metadata hash %s=%s kept unnormalized", alg, hex)
			}
		}
	}
}

func FuzzParseHTML(f *testing.F) {
	addPageSeeds(f, ".html")
	pageURL, _ := url.Parse(fuzzPageURL)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseHTML(bytes.NewReader(data), pageURL, 1<<20)
		if err != nil {
			return
		}
		if p.Name != "demo" {
			t.Fatalf("Name = %q", p.Name)
		}
		checkParsedPage(t, p)

		// HTML rendering and parsing is a fixed point.
		var b bytes.Buffer
		if err := p.RenderHTML(&b); err != nil {
			t.Fatalf("RenderHTML: %v", err)
		}
		p2, err := ParseHTML(&b, pageURL, 0)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b.String())
		}
		want := *p
		want.Meta = APIVersion
		if !reflect.DeepEqual(p2, &want) {
			t.Fatalf("HTML round trip changed the page:\n got %+v\nwant %+v\npage:\n%s", p2, &want, b.String())
		}

		// So is converting to JSON, as the proxy does.
		b.Reset()
		if err := p.RenderJSON(&b); err != nil {
			t.Fatalf("RenderJSON: %v", err)
		}
		p3, err := ParseJSON(&b, pageURL, 0)
		if err != nil {
			t.Fatalf("ParseJSON(RenderJSON): %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(p3.Files, p.Files) || p3.Name != p.Name {
			t.Fatalf("JSON conversion changed the files:\n got %+v\nwant %+v", p3.Files, p.Files)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	addPageSeeds(f, ".json")
	pageURL, _ := url.Parse(fuzzPageURL)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseJSON(bytes.NewReader(data), pageURL, 1<<20)
		if err != nil {
			return
		}
		checkParsedPage(t, p)
		var b bytes.Buffer
		if err := p.RenderJSON(&b); err != nil {
			t.Fatalf("RenderJSON: %v", err)
		}
		p2, err := ParseJSON(&b, pageURL, 0)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b.String())
		}
		want := *p
		want.Meta = APIVersion
		if want.Versions == nil {
			want.Versions = versionsFromFiles(p.Files)
		}
		if !reflect.DeepEqual(p2, &want) {
			t.Fatalf("JSON round trip changed the page:\n got %+v\nwant %+v", p2, &want)
		}
		// The HTML rendering keeps everything HTML can carry.
		b.Reset()
		if err := p.RenderHTML(&b); err != nil {
			t.Fatalf("RenderHTML: %v", err)
		}
		// Parse it where it would be served, since HTML pages take the
		// project name from their URL.
		p3, err := ParseHTML(&b, pageURL.JoinPath("..", p.Name), 0)
		if err != nil {
			t.Fatalf("ParseHTML(RenderHTML): %v", err)
		}
		want.Meta, want.Versions = APIVersion, nil
		want.Files = []File{}
		for _, f := range p.Files {
			want.Files = append(want.Files, htmlView(f))
		}
		if !reflect.DeepEqual(p3, &want) {
			t.Fatalf("HTML rendering lost data:\n got %+v\nwant %+v", p3, &want)
		}
	})
}

// htmlView is what an HTML page can say about f: one hash, one core
// metadata hash, no size or upload time.
func htmlView(f File) File {
	one := func(h map[string]string) map[string]string {
		if h == nil {
			return nil
		}
		out := map[string]string{}
		if alg, hex := preferredHash(h); alg != "" {
			out[alg] = hex
		}
		return out
	}
	f.Hashes, f.CoreMetadata = one(f.Hashes), one(f.CoreMetadata)
	f.Size, f.UploadTime = -1, ""
	return f
}
