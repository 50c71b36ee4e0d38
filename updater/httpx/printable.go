package httpx

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Much of what tufpip reports comes from the network: an unsigned
// "_type", a server's error body, a file name on an unsigned page, a
// target path. Printed raw, its control characters could rewrite the
// user's terminal (ESC [2K, CR: fake an "ok" line) and bidi overrides
// reorder what is read. EscapeLine and EscapeText make such text inert
// before cmd prints it or the proxy answers with it. This package still
// prints nothing; it only shapes words.

// EscapeLine returns s with every character that is not printable escaped
// the way strconv.Quote writes it (\x1b, \r, \n, \t, \u009b, \u202e, and
// \xNN for a byte that is not UTF-8), without quoting the rest: ordinary
// names, non-ASCII letters included, read as they are. Escaped: C0
// controls and DEL, C1 controls, and what unicode.IsPrint rejects besides
// the ASCII space (format characters such as the bidi overrides
// U+202A–U+202E and isolates U+2066–U+2069, zero-width characters, line
// and paragraph separators). A backslash is left alone: text that already
// reads "\x1b" is harmless.
func EscapeLine(s string) string { return escape(s, false) }

// EscapeText is EscapeLine for text of several lines: "\n" and "\t" stay.
func EscapeText(s string) string { return escape(s, true) }

// SafeLine is what a line built from an error or from network text must
// go through before users read it: credentials redacted, then escaped.
func SafeLine(s string) string { return EscapeLine(RedactText(s)) }

// SafeText is SafeLine for several lines.
func SafeText(s string) string { return EscapeText(RedactText(s)) }

func needsEscape(r rune, size int, multiline bool) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return true
	case r == ' ':
		return false
	case multiline && (r == '\n' || r == '\t'):
		return false
	}
	return !unicode.IsPrint(r)
}

func escape(s string, multiline bool) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n, multiline) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !needsEscape(r, n, multiline):
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}
