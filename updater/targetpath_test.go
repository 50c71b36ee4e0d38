package updater

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// targetPathCases are every case of the two old tests (updater's
// TestValidTargetPath and index's), and paths that break several rules.
var targetPathCases = []string{
	// updater's good and bad
	"a/b.whl", "4b/77/47b4/fixture_pkg_0-1.0.0-py3-none-any.whl", "pkg/pkg.html", "pkg",
	"", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a\x00b", "a\\b", strings.Repeat("a", 1025), "a\nb", string([]byte{0xff}),
	// index's good and bad
	"a", "a/b", "fixture-pkg-0/fixture-pkg-0.html", "4b/77/47b4/f-1.0-py3-none-any.whl", "a b/c", "café", "a%2Fb", "...", ".a/b.",
	strings.Repeat("a/", 511) + "aa",
	"/a", "a/", ".", "..", "a/..", "a\x7fb", "a\u202eb", "a\u200bb", "a\u2028b", "\xff", strings.Repeat("a/", 512) + "aa", strings.Repeat("a", 256),
	// several faults: each side must name what it named before
	"a\x00b\\c", "a\\b\x00", "a/../b\u202e", "a\u202e/../b", strings.Repeat("a", 256) + "/../b", "../" + strings.Repeat("a", 256),
	"a//" + strings.Repeat("a", 256), "a\ufffdb", "a\u0085b", "\u202e/" + strings.Repeat("b", 300),
}

// The one rule refuses what either old rule refused, and the updater's
// message for a path its old rule refused is unchanged (index's words are
// tested in index).
func TestValidTargetPathUnion(t *testing.T) {
	for _, p := range targetPathCases {
		oldU, oldI := oldUpdaterValidTargetPath(p), oldIndexValidTargetPath(p)
		err := ValidTargetPath(p)
		if (err == nil) != (oldU == nil && oldI == nil) {
			t.Errorf("ValidTargetPath(%q) = %v; old updater %v, old index %v", truncate(p, 60), err, oldU, oldI)
			continue
		}
		var te *TargetPathError
		if err != nil && !errors.As(err, &te) {
			t.Errorf("ValidTargetPath(%q) = %v, not a *TargetPathError", truncate(p, 60), err)
		}
		if oldU != nil && err.Error() != oldU.Error() {
			t.Errorf("ValidTargetPath(%q) = %q, old updater said %q", truncate(p, 60), err, oldU)
		}
		// What "tufpip get" printed: the updater's words, else index's.
		if oldU == nil && oldI != nil && err.Error() != oldI.Error() {
			t.Errorf("ValidTargetPath(%q) = %q, old index said %q", truncate(p, 60), err, oldI)
		}
	}
}

// The two rules as they were before they became one (updater/epoch.go
// and index/layout.go), kept to prove the union.

func oldUpdaterValidTargetPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty target path")
	case len(p) > 1024:
		return fmt.Errorf("target path of %d bytes is too long", len(p))
	case !utf8.ValidString(p):
		return errors.New("target path is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return errors.New("target path is absolute")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("target path contains forbidden character %q", r)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("target path has a %q segment", seg)
		}
	}
	return nil
}

var errOldInvalidTargetPath = errors.New("invalid target path")

func oldIndexValidTargetPath(p string) error {
	fail := func(why string) error {
		return fmt.Errorf("%w %q: %s", errOldInvalidTargetPath, truncate(p, 200), why)
	}
	switch {
	case p == "":
		return fail("empty")
	case len(p) > 1024:
		return fail(fmt.Sprintf("longer than %d bytes", 1024))
	case !utf8.ValidString(p):
		return fail("not UTF-8")
	case strings.HasPrefix(p, "/"):
		return fail("absolute")
	case strings.Contains(p, "\\"):
		return fail("contains a backslash")
	}
	for _, r := range p {
		if !oldSafeRune(r) {
			return fail("contains a control or formatting character")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return fail("empty path segment")
		case seg == "." || seg == "..":
			return fail("dot segment")
		case len(seg) > 255:
			return fail(fmt.Sprintf("segment longer than %d bytes", 255))
		}
	}
	return nil
}

func oldSafeRune(r rune) bool {
	return r >= 0x20 && r != 0x7f && r != utf8.RuneError &&
		!unicode.Is(unicode.Cc, r) && !unicode.Is(unicode.Cf, r) &&
		!unicode.Is(unicode.Zl, r) && !unicode.Is(unicode.Zp, r)
}
