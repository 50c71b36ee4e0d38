package updater

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a target path. Warehouse file paths are under 350 bytes; no
// file system takes a name of more than 255 bytes.
const (
	MaxTargetPathLen = 1024
	MaxSegmentLen    = 255
)

// TargetPathReason is the rule a target path broke.
type TargetPathReason int

const (
	PathEmpty         TargetPathReason = iota + 1
	PathTooLong                        // more than MaxTargetPathLen bytes
	PathNotUTF8                        // invalid UTF-8
	PathAbsolute                       // starts with "/"
	PathForbiddenChar                  // a C0 control, DEL or a backslash (Char)
	PathDotSegment                     // an empty, "." or ".." segment (Segment)
	PathInvisibleChar                  // another control, a format character (bidi overrides, zero-width), a line or paragraph separator, or U+FFFD
	PathLongSegment                    // a segment of more than MaxSegmentLen bytes
)

// TargetPathError is why ValidTargetPath refused a path. The rule is one;
// its words are two, because users read both today: Error gives the
// updater's, and index words the same Reason its own way.
type TargetPathError struct {
	Path    string
	Reason  TargetPathReason
	Char    rune   // PathForbiddenChar: the first one
	Segment string // PathDotSegment: the first one
	// Backslash: the path holds a backslash (index names that first).
	Backslash bool
	// For PathDotSegment, what index checked first: Invisible, the path
	// also holds a PathInvisibleChar character; LongSegmentFirst, a
	// too-long segment comes before the dot segment.
	Invisible, LongSegmentFirst bool
}

func (e *TargetPathError) Error() string {
	switch e.Reason {
	case PathEmpty:
		return "empty target path"
	case PathTooLong:
		return fmt.Sprintf("target path of %d bytes is too long", len(e.Path))
	case PathNotUTF8:
		return "target path is not valid UTF-8"
	case PathAbsolute:
		return "target path is absolute"
	case PathForbiddenChar:
		return fmt.Sprintf("target path contains forbidden character %q", e.Char)
	case PathDotSegment:
		return fmt.Sprintf("target path has a %q segment", e.Segment)
	case PathInvisibleChar:
		return fmt.Sprintf("invalid target path %q: contains a control or formatting character", truncate(e.Path, 200))
	case PathLongSegment:
		return fmt.Sprintf("invalid target path %q: segment longer than %d bytes", truncate(e.Path, 200), MaxSegmentLen)
	}
	return "invalid target path"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ValidTargetPath refuses target paths no repository of ours should sign
// and no file name should be built from: empty, longer than
// MaxTargetPathLen bytes, invalid UTF-8, absolute, with an empty, "." or
// ".." segment or one longer than MaxSegmentLen bytes, or holding a
// backslash, a control character or an invisible formatting character.
// The error is a *TargetPathError.
//
// It is the one rule for the updater (what it looks up) and index (what
// it derives from pages and file URLs). The checks run in the order that
// keeps each side's message for each path as it was when the two had
// rules of their own: the updater's checks first, then those only index
// made.
func ValidTargetPath(p string) error {
	fail := func(r TargetPathReason) *TargetPathError {
		return &TargetPathError{Path: p, Reason: r, Backslash: strings.Contains(p, `\`)}
	}
	switch {
	case p == "":
		return fail(PathEmpty)
	case len(p) > MaxTargetPathLen:
		return fail(PathTooLong)
	case !utf8.ValidString(p):
		return fail(PathNotUTF8)
	case strings.HasPrefix(p, "/"):
		return fail(PathAbsolute)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			e := fail(PathForbiddenChar)
			e.Char = r
			return e
		}
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			e := fail(PathDotSegment)
			e.Segment = seg
			e.Invisible = strings.ContainsFunc(p, invisibleRune)
			for _, before := range segs[:i] {
				e.LongSegmentFirst = e.LongSegmentFirst || len(before) > MaxSegmentLen
			}
			return e
		}
	}
	if strings.ContainsFunc(p, invisibleRune) {
		return fail(PathInvisibleChar)
	}
	for _, seg := range segs {
		if len(seg) > MaxSegmentLen {
			return fail(PathLongSegment)
		}
	}
	return nil
}

// invisibleRune reports the characters that could disguise a path in a
// log or terminal: controls, format characters (bidi overrides,
// zero-width joiners), line and paragraph separators, and U+FFFD.
func invisibleRune(r rune) bool {
	return r == utf8.RuneError || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}
