package simple

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const h64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func parseHTMLString(t *testing.T, page string) *Page {
	t.Helper()
	p, err := ParseHTML(strings.NewReader(page), mustURL(t, "https://idx.example/simple/demo/"), 0)
	if err != nil {
		t.Fatalf("ParseHTML: %v", err)
	}
	return p
}

func TestParseHTMLLinks(t *testing.T) {
	tests := []struct {
		name   string
		anchor string
		want   []File // nil: the link is skipped
	}{
		{"relative", `<a href="../../packages/x/demo-1.0.tar.gz#sha256=` + h64 + `">demo-1.0.tar.gz</a>`,
			[]File{{Filename: "demo-1.0.tar.gz", URL: "https://idx.example/packages/x/demo-1.0.tar.gz", Hashes: map[string]string{"sha256": h64}, Size: -1}}},
		{"absolute other host", `<a href="https://files.example/p/demo-1.0.tar.gz">x</a>`,
			[]File{{Filename: "demo-1.0.tar.gz", URL: "https://files.example/p/demo-1.0.tar.gz", Hashes: map[string]string{}, Size: -1}}},
		{"root-relative", `<a href="/f/demo-1.0.tar.gz">`,
			[]File{{Filename: "demo-1.0.tar.gz", URL: "https://idx.example/f/demo-1.0.tar.gz", Hashes: map[string]string{}, Size: -1}}},
		{"protocol-relative", `<a href="//cdn.example/demo-1.0.tar.gz">`,
			[]File{{Filename: "demo-1.0.tar.gz", URL: "https://cdn.example/demo-1.0.tar.gz", Hashes: map[string]string{}, Size: -1}}},
		{"anchor text is not the filename", `<a href="demo-1.0.tar.gz">evil-9.9.tar.gz</a>`,
			[]File{{Filename: "demo-1.0.tar.gz", URL: "https://idx.example/simple/demo/demo-1.0.tar.gz", Hashes: map[string]string{}, Size: -1}}},
		{"percent-decoded filename", `<a href="demo-1.0%2Blocal.tar.gz">`,
			[]File{{Filename: "demo-1.0+local.tar.gz", URL: "https://idx.example/simple/demo/demo-1.0%2Blocal.tar.gz", Hashes: map[string]string{}, Size: -1}}},
		{"upper-case hex lowered", `<a href="d.whl#SHA256=` + strings.ToUpper(h64) + `">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{"sha256": h64}, Size: -1}}},
		{"md5 kept", `<a href="d.whl#md5=0123456789abcdef0123456789abcdef">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef"}, Size: -1}}},
		{"egg fragment then hash", `<a href="d.whl#egg=foo&sha256=` + h64 + `">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{"sha256": h64}, Size: -1}}},
		{"query kept in URL", `<a href="d.whl?x=1">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl?x=1", Hashes: map[string]string{}, Size: -1}}},
		{"entities in attributes", `<a href="d.whl" data-requires-python="&gt;=3.8,&lt;4" data-yanked="a &amp; b">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, RequiresPython: ">=3.8,<4", Yanked: true, YankedReason: "a & b", Size: -1}}},
		{"yanked without value", `<a href="d.whl" data-yanked>`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Yanked: true, Size: -1}}},
		{"core metadata true", `<a href="d.whl" data-core-metadata="true">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, CoreMetadata: map[string]string{}, Size: -1}}},
		{"legacy dist-info metadata", `<a href="d.whl" data-dist-info-metadata="sha256=` + h64 + `">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, CoreMetadata: map[string]string{"sha256": h64}, Size: -1}}},
		{"core metadata wins over legacy", `<a href="d.whl" data-dist-info-metadata="true" data-core-metadata="sha256=` + h64 + `">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, CoreMetadata: map[string]string{"sha256": h64}, Size: -1}}},
		{"bad core metadata hash means none", `<a href="d.whl" data-core-metadata="sha256=xyz">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"core metadata false means none", `<a href="d.whl" data-core-metadata="false">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"duplicate attributes keep the first", `<a href="first.whl" href="second.whl" data-yanked="one" data-yanked="two">`,
			[]File{{Filename: "first.whl", URL: "https://idx.example/simple/demo/first.whl", Hashes: map[string]string{}, Yanked: true, YankedReason: "one", Size: -1}}},
		{"attribute names are case-insensitive", `<A HREF="d.whl" DATA-YANKED="x">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Yanked: true, YankedReason: "x", Size: -1}}},
		{"non-hex hash dropped", `<a href="d.whl#sha256=` + strings.Repeat("z", 64) + `">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"short hash dropped", `<a href="d.whl#sha256=abcd">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"unknown algorithm dropped", `<a href="d.whl#crc32=abcdabcd">`,
			[]File{{Filename: "d.whl", URL: "https://idx.example/simple/demo/d.whl", Hashes: map[string]string{}, Size: -1}}},
		{"no href", `<a name="x">x</a>`, nil},
		{"empty href is the page itself", `<a href="">x</a>`, nil},
		{"directory", `<a href="../">up</a>`, nil},
		{"dot dot", `<a href="..">up</a>`, nil},
		{"javascript", `<a href="javascript:alert(1)//d.whl">`, nil},
		{"file scheme", `<a href="file:///etc/passwd">`, nil},
		{"ftp", `<a href="ftp://h/d.whl">`, nil},
		{"data", `<a href="data:text/plain,d.whl">`, nil},
		{"encoded slash", `<a href="..%2F..%2Fetc%2Fpasswd">`, nil},
		{"encoded backslash", `<a href="a%5Cb.whl">`, nil},
		{"encoded NUL", `<a href="d.whl%00.tar.gz">`, nil},
		{"encoded newline", `<a href="d%0A.whl">`, nil},
		{"bidi override", `<a href="d%E2%80%AEgz.whl">`, nil},
		{"encoded dot dot", `<a href="x/%2e%2e">`, nil},
		{"bad escape", `<a href="d%zz.whl">`, nil},
		{"invalid UTF-8", `<a href="d%ff.whl">`, nil},
		{"too long", `<a href="` + strings.Repeat("a", 300) + `.whl">`, nil},
		{"inside script", `<script>document.write('<a href="d.whl">')</script>`, nil},
		{"inside comment", `<!-- <a href="d.whl"> -->`, nil},
		{"inside textarea", `<textarea><a href="d.whl"></textarea>`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseHTMLString(t, "<html><body>"+tt.anchor+"</body></html>")
			want := tt.want
			if want == nil {
				want = []File{}
			}
			if !reflect.DeepEqual(p.Files, want) {
				t.Errorf("files:\n got %+v\nwant %+v", p.Files, want)
			}
		})
	}
}

func TestParseHTMLPage(t *testing.T) {
	t.Run("duplicate filenames keep the first", func(t *testing.T) {
		p := parseHTMLString(t, `<a href="https://a.example/d.whl">1</a><a href="https://b.example/d.whl">2</a>`)
		if len(p.Files) != 1 || p.Files[0].URL != "https://a.example/d.whl" {
			t.Errorf("files = %+v", p.Files)
		}
	})
	t.Run("base element", func(t *testing.T) {
		p := parseHTMLString(t, `<head><base href="https://dl.example/pkgs/"><base href="https://ignored.example/"></head><a href="d.whl">`)
		if len(p.Files) != 1 || p.Files[0].URL != "https://dl.example/pkgs/d.whl" {
			t.Errorf("files = %+v", p.Files)
		}
	})
	t.Run("relative base element", func(t *testing.T) {
		p := parseHTMLString(t, `<base href="../../files/"><a href="d.whl">`)
		if len(p.Files) != 1 || p.Files[0].URL != "https://idx.example/files/d.whl" {
			t.Errorf("files = %+v", p.Files)
		}
	})
	t.Run("no meta means 1.0", func(t *testing.T) {
		if p := parseHTMLString(t, `<a href="d.whl">`); p.Meta != "1.0" {
			t.Errorf("Meta = %q", p.Meta)
		}
	})
	t.Run("minor version above ours is fine", func(t *testing.T) {
		if p := parseHTMLString(t, `<meta name="pypi:repository-version" content="1.9">`); p.Meta != "1.9" {
			t.Errorf("Meta = %q", p.Meta)
		}
	})
	for _, v := range []string{"2.0", "0.9", "one", "", "1", "1.x", "-1.0"} {
		t.Run("refuses version "+v, func(t *testing.T) {
			_, err := ParseHTML(strings.NewReader(`<meta name="pypi:repository-version" content="`+v+`">`), mustURL(t, "https://h/simple/x/"), 0)
			if !errors.Is(err, ErrUnsupportedAPIVersion) {
				t.Errorf("err = %v", err)
			}
		})
	}
	t.Run("truncated markup is not an error", func(t *testing.T) {
		p := parseHTMLString(t, `<html><body><a href="d.whl">d.whl</a><a href="e.whl`)
		if len(p.Files) != 1 {
			t.Errorf("files = %+v", p.Files)
		}
	})
}

func TestParseHTMLName(t *testing.T) {
	tests := []struct{ url, title, want string }{
		{"https://h/simple/Foo_Bar/", "", "foo-bar"},
		{"https://h/simple/foo-bar", "", "foo-bar"},
		{"https://h/simple/foo-bar/index.html", "", "foo-bar"},
		{"https://h/simple/foo-bar/" + h64 + ".foo-bar.html", "", "foo-bar"},
		{"https://h/", "Links for Foo.Bar", "foo-bar"},
		{"https://h/simple/%2e%2e/", "Links for ok", "ok"},
		{"https://h/simple/..%2Fx/", "", ""},
		{"https://h/", "Links for ../x", ""},
		{"https://h/", "", ""},
	}
	for _, tt := range tests {
		p, err := ParseHTML(strings.NewReader("<title>"+tt.title+"</title>"), mustURL(t, tt.url), 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != tt.want {
			t.Errorf("%s %q: Name = %q, want %q", tt.url, tt.title, p.Name, tt.want)
		}
	}
}

func TestParseHTMLSizeLimit(t *testing.T) {
	page := `<a href="d.whl">d.whl</a>`
	u := mustURL(t, "https://h/simple/d/")
	if _, err := ParseHTML(strings.NewReader(page), u, int64(len(page))); err != nil {
		t.Errorf("page of exactly the limit: %v", err)
	}
	_, err := ParseHTML(strings.NewReader(page), u, int64(len(page)-1))
	if !errors.Is(err, ErrPageTooLarge) {
		t.Errorf("page over the limit: %v", err)
	}
	if _, err := ParseJSON(strings.NewReader(`{"meta":{"api-version":"1.0"},"name":"d","files":[]}`), u, 10); !errors.Is(err, ErrPageTooLarge) {
		t.Errorf("JSON over the limit: %v", err)
	}
}

func TestParseHTMLBadPageURL(t *testing.T) {
	for _, s := range []string{"", "/simple/x/", "file:///simple/x/", "ftp://h/simple/x/", "https:///x/"} {
		var u = mustURL(t, s)
		if _, err := ParseHTML(strings.NewReader(""), u, 0); err == nil {
			t.Errorf("ParseHTML with page URL %q: want error", s)
		}
		if _, err := ParseJSON(strings.NewReader(""), u, 0); err == nil {
			t.Errorf("ParseJSON with page URL %q: want error", s)
		}
	}
	if _, err := ParseHTML(strings.NewReader(""), nil, 0); err == nil {
		t.Error("nil page URL: want error")
	}
}

func TestRenderRefusesUnsafePages(t *testing.T) {
	ok := func() *Page {
		return &Page{Name: "demo", Files: []File{{Filename: "d.whl", URL: "https://h/d.whl", Hashes: map[string]string{"sha256": h64}}}}
	}
	tests := []struct {
		name string
		edit func(p *Page)
	}{
		{"bad name", func(p *Page) { p.Name = "../x" }},
		{"empty name", func(p *Page) { p.Name = "" }},
		{"filename with slash", func(p *Page) { p.Files[0].Filename = "a/b.whl" }},
		{"filename dot dot", func(p *Page) { p.Files[0].Filename = ".." }},
		{"filename control", func(p *Page) { p.Files[0].Filename = "a\nb.whl" }},
		{"duplicate filename", func(p *Page) { p.Files = append(p.Files, p.Files[0]) }},
		{"javascript URL", func(p *Page) { p.Files[0].URL = "javascript:alert(1)" }},
		{"file URL", func(p *Page) { p.Files[0].URL = "file:///etc/passwd" }},
		{"URL with fragment", func(p *Page) { p.Files[0].URL = "https://h/d.whl#sha256=" + h64 }},
		{"empty URL", func(p *Page) { p.Files[0].URL = "" }},
		{"URL names another file", func(p *Page) { p.Files[0].URL = "https://h/other.whl" }},
		{"URL is a directory", func(p *Page) { p.Files[0].URL = "https://h/d.whl/" }},
		{"bad hash", func(p *Page) { p.Files[0].Hashes["sha256"] = "nothex" }},
		{"unknown hash", func(p *Page) { p.Files[0].Hashes["crc32"] = "abcdabcd" }},
		{"bad core metadata hash", func(p *Page) { p.Files[0].CoreMetadata = map[string]string{"sha256": "x"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok()
			tt.edit(p)
			var b strings.Builder
			if err := p.RenderHTML(&b); err == nil || b.Len() != 0 {
				t.Errorf("RenderHTML: err %v, wrote %d bytes", err, b.Len())
			}
			if err := p.RenderJSON(&b); err == nil || b.Len() != 0 {
				t.Errorf("RenderJSON: err %v, wrote %d bytes", err, b.Len())
			}
		})
	}
	// A relative URL is fine: the proxy links to itself that way.
	p := ok()
	p.Files[0].URL = "../../files/d.whl"
	var b strings.Builder
	if err := p.RenderHTML(&b); err != nil {
		t.Errorf("relative URL: %v", err)
	}
}
