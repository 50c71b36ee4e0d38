package index

import (
	"errors"
	"strings"
	"testing"
)

func testSite(t testing.TB, layout Layout) Site {
	return Site{Layout: layout, IndexURL: mustURL(t, "http://h/simple/"), FilesURL: mustURL(t, "http://h/packages/")}
}

func TestParseLayout(t *testing.T) {
	for _, l := range Layouts() {
		got, err := ParseLayout(string(l))
		if err != nil || got != l {
			t.Errorf("ParseLayout(%q) = %q, %v", l, got, err)
		}
	}
	for _, s := range []string{"", "PEP458", "pep-458", " pep458", "simple", "dists"} {
		if _, err := ParseLayout(s); err == nil {
			t.Errorf("ParseLayout(%q): want error", s)
		}
	}
}

func TestSitePages(t *testing.T) {
	const b2 = "1d838cf9bdb465800db1183ac945f166548f14a2cc5542b9bb07ddb41b679f9e"
	tests := []struct {
		layout     Layout
		target     string
		signed     bool
		url        string
		distsSigne bool
	}{
		{LayoutPEP458, "foo-bar/foo-bar.html", true, "http://h/simple/foo-bar/" + b2 + ".foo-bar.html", true},
		{LayoutIndexOnly, "foo-bar", true, "http://h/simple/foo-bar/", false},
		{LayoutSimplePath, "simple/foo-bar/index.html", true, "http://h/simple/foo-bar/index.html", true},
		{LayoutDistsOnly, "", false, "http://h/simple/foo-bar/", true},
	}
	for _, tt := range tests {
		s := testSite(t, tt.layout)
		target, signed := s.PageTarget("Foo_Bar")
		if target != tt.target || signed != tt.signed {
			t.Errorf("%s: PageTarget = %q, %v; want %q, %v", tt.layout, target, signed, tt.target, tt.signed)
		}
		if got := s.PageURL("Foo_Bar", strings.ToUpper(b2)); got != tt.url {
			t.Errorf("%s: PageURL = %q, want %q", tt.layout, got, tt.url)
		}
		if s.DistsSigned() != tt.distsSigne {
			t.Errorf("%s: DistsSigned = %v", tt.layout, s.DistsSigned())
		}
		if target, signed := s.PageTarget("../evil"); target != "" || signed {
			t.Errorf("%s: PageTarget(../evil) = %q, %v", tt.layout, target, signed)
		}
		if got := s.PageURL("../evil", b2); got != "" {
			t.Errorf("%s: PageURL(../evil) = %q", tt.layout, got)
		}
	}
	s := testSite(t, LayoutPEP458)
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), b2 + "/..", "../" + b2[3:]} {
		if got := s.PageURL("foo", bad); got != "" {
			t.Errorf("PageURL with blake2b %q = %q, want empty", bad, got)
		}
	}
	// The index URL's missing trailing slash is implied; its query dropped.
	s.IndexURL = mustURL(t, "https://h:8443/pypi/simple?x=1")
	if got, want := s.PageURL("foo", b2), "https://h:8443/pypi/simple/foo/"+b2+".foo.html"; got != want {
		t.Errorf("PageURL = %q, want %q", got, want)
	}
	if got := (Site{Layout: "bogus", IndexURL: s.IndexURL}).PageURL("foo", b2); got != "" {
		t.Errorf("unknown layout PageURL = %q", got)
	}
}

func TestFileTarget(t *testing.T) {
	s := testSite(t, LayoutPEP458)
	good := []struct{ url, target string }{
		{"http://h/packages/4b/77/47b4/fixture_pkg_0-1.0.0-py3-none-any.whl", "4b/77/47b4/fixture_pkg_0-1.0.0-py3-none-any.whl"},
		{"http://H:80/packages/a/b.whl", "a/b.whl"},
		{"http://h/packages/a/b-1.0%2Blocal.whl", "a/b-1.0+local.whl"},
		{"http://h/packages/a/b-1.0+local.whl", "a/b-1.0+local.whl"},
		{"http://h/packages/a%20b/c.whl", "a b/c.whl"},
		{"http://h/packages/caf%C3%A9.whl", "café.whl"},
		{"http://h/packages/a%25b.whl", "a%b.whl"},
	}
	for _, tt := range good {
		got, err := s.FileTarget(tt.url)
		if err != nil || got != tt.target {
			t.Errorf("FileTarget(%q) = %q, %v; want %q", tt.url, got, err, tt.target)
			continue
		}
		if back, err := s.FileTarget(s.FileURL(got)); err != nil || back != got {
			t.Errorf("FileTarget(FileURL(%q)) = %q, %v", got, back, err)
		}
	}
	bad := []string{
		"", "packages/a.whl", "/packages/a.whl", "//h/packages/a.whl",
		"https://h/packages/a.whl", "http://h:8080/packages/a.whl", "http://other/packages/a.whl",
		"http://h.evil/packages/a.whl", "http://user:pw@h/packages/a.whl", "http://h/packages/a.whl?x=1",
		"http://h/packages/a.whl?", "http://h/packages/a.whl#sha256=00", "http://h/packagesx/a.whl",
		"http://h/other/a.whl", "http://h/packages/", "http://h/packages", "http://h/packages/../etc/passwd",
		"http://h/packages/a/../../etc/passwd", "http://h/packages/./a.whl", "http://h/packages/a//b.whl",
		"http://h/packages/a/", "http://h/packages/%2e%2e/x.whl", "http://h/packages/a%2Fb.whl",
		"http://h/packages/a%5Cb.whl", "http://h/packages/a\\b.whl", "http://h/packages/a%00.whl",
		"http://h/packages/a%0A.whl", "http://h/packages/a%E2%80%AE.whl", "http://h/packages/a%ff.whl",
		"http://h/packages/a%zz.whl", "http://h/packages/" + strings.Repeat("a/", 520) + "x",
		"http://h/packages/" + strings.Repeat("a", 256), "file:///packages/a.whl", "mailto:h",
	}
	for _, u := range bad {
		if got, err := s.FileTarget(u); err == nil {
			t.Errorf("FileTarget(%q) = %q, want error", truncate(u, 80), got)
		} else if !errors.Is(err, ErrInvalidTargetPath) {
			t.Errorf("FileTarget(%q): %v does not wrap ErrInvalidTargetPath", truncate(u, 80), err)
		}
	}
	if _, err := (Site{}).FileTarget("http://h/packages/a.whl"); err == nil {
		t.Error("FileTarget without FilesURL: want error")
	}
	// A files base with an explicit default port and no trailing slash.
	s.FilesURL = mustURL(t, "https://files.example:443/base")
	if got, err := s.FileTarget("https://FILES.example/base/x/y.whl"); err != nil || got != "x/y.whl" {
		t.Errorf("FileTarget = %q, %v", got, err)
	}
	if got := s.FileURL("x/y z.whl"); got != "https://files.example:443/base/x/y%20z.whl" {
		t.Errorf("FileURL = %q", got)
	}
}

func TestFileURL(t *testing.T) {
	s := testSite(t, LayoutPEP458)
	tests := []struct{ target, want string }{
		{"4b/77/47b4/f-1.0-py3-none-any.whl", "http://h/packages/4b/77/47b4/f-1.0-py3-none-any.whl"},
		{"a/b-1.0+local.whl", "http://h/packages/a/b-1.0+local.whl"},
		{"a/b?c#d;e,f.whl", "http://h/packages/a/b%3Fc%23d%3Be%2Cf.whl"},
		{"a%b", "http://h/packages/a%25b"},
		{"../x", ""},
		{"/abs", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := s.FileURL(tt.target); got != tt.want {
			t.Errorf("FileURL(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
}

func TestValidTargetPath(t *testing.T) {
	for _, p := range []string{
		"a", "a/b", "fixture-pkg-0/fixture-pkg-0.html", "4b/77/47b4/f-1.0-py3-none-any.whl", "a b/c", "café", "a%2Fb", "...", ".a/b.",
		strings.Repeat("a/", 511) + "aa",
	} {
		if err := ValidTargetPath(p); err != nil {
			t.Errorf("ValidTargetPath(%q): %v", truncate(p, 60), err)
		}
	}
	for _, p := range []string{
		"", "/a", "a/", "a//b", ".", "..", "a/..", "../a", "a/./b", "a\\b", "a\x00b", "a\nb", "a\x7fb",
		"a\u202eb", "a\u200bb", "a\u2028b", "\xff", strings.Repeat("a/", 512) + "aa", strings.Repeat("a", 256),
	} {
		if err := ValidTargetPath(p); err == nil {
			t.Errorf("ValidTargetPath(%q): want error", truncate(p, 60))
		} else if !errors.Is(err, ErrInvalidTargetPath) {
			t.Errorf("ValidTargetPath(%q): %v does not wrap ErrInvalidTargetPath", p, err)
		}
	}
}

func FuzzFileTarget(f *testing.F) {
	for _, s := range []string{
		"http://h/packages/4b/77/47b4/fixture_pkg_0-1.0.0-py3-none-any.whl", "http://h/packages/a%2Fb.whl",
		"http://h/packages/../x", "http://h/packages/a%20b/c%C3%A9.whl", "http://H:80/packages/x",
		"http://h/packages/a;b,c.whl", "http://h/packages/%2e%2e/x", "http://u@h/packages/x", "http://h/packages/x?",
	} {
		f.Add(s)
	}
	s := testSite(f, LayoutPEP458)
	f.Fuzz(func(t *testing.T, u string) {
		target, err := s.FileTarget(u)
		if err != nil {
			return
		}
		if err := ValidTargetPath(target); err != nil {
			t.Fatalf("FileTarget(%q) = %q, which fails ValidTargetPath: %v", u, target, err)
		}
		back := s.FileURL(target)
		if back == "" {
			t.Fatalf("FileURL(%q) is empty", target)
		}
		again, err := s.FileTarget(back)
		if err != nil || again != target {
			t.Fatalf("FileTarget(FileURL(%q)) = %q, %v", target, again, err)
		}
		if s.FileURL(again) != back {
			t.Fatalf("FileURL not stable for %q", target)
		}
	})
}

// PageProject inverts PageTarget, and takes nothing else for a page.
func TestPageProject(t *testing.T) {
	for _, l := range Layouts() {
		s := Site{Layout: l}
		target, signed := s.PageTarget("Foo_Bar")
		if got, ok := s.PageProject(target); ok != signed || signed && got != "foo-bar" {
			t.Errorf("%s: PageProject(%q) = %q, %v; want foo-bar, %v", l, target, got, ok, signed)
		}
	}
	for _, tt := range []struct {
		layout Layout
		target string
	}{
		{LayoutPEP458, "ab/cd/ef/foo-1.0-py3-none-any.whl"},
		{LayoutPEP458, "foo/bar.html"},
		{LayoutPEP458, "Foo/Foo.html"},
		{LayoutPEP458, "../../.html"},
		{LayoutSimplePath, "simple/foo/other.html"},
		{LayoutSimplePath, "simple/a/b/index.html"},
		{LayoutDistsOnly, "foo/foo.html"},
		{LayoutIndexOnly, "foo/foo.html"},
	} {
		if got, ok := (Site{Layout: tt.layout}).PageProject(tt.target); ok {
			t.Errorf("%s: PageProject(%q) = %q, want no page", tt.layout, tt.target, got)
		}
	}
}
