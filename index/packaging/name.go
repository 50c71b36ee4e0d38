package packaging

import "strings"

// MaxProjectNameLen bounds project names. No real project name comes close
// (PyPI's longest are under 100 bytes); anything longer is hostile input
// aimed at file systems, logs or TUF target paths.
const MaxProjectNameLen = 200

// NormalizeName returns the PEP 503 normalized form of a project name:
// ASCII letters lower-cased and every run of '-', '_' and '.' replaced by a
// single '-'. It is idempotent. It does not validate: call ValidProjectName
// first for names that came from outside. Bytes outside ASCII are left
// alone (PEP 508 names are ASCII, so they only occur in invalid names).
func NormalizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	inSep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			if !inSep {
				b.WriteByte('-')
			}
			inSep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		inSep = false
		b.WriteByte(c)
	}
	return b.String()
}

// ValidProjectName reports whether name is a valid PEP 508 project name:
// ASCII letters and digits, with '.', '_' and '-' allowed only between
// them, at most MaxProjectNameLen bytes. This refuses everything that could
// escape a URL path segment or a target path: "..", "/", "\", NUL,
// whitespace, percent signs and any non-ASCII character.
func ValidProjectName(name string) bool {
	if len(name) == 0 || len(name) > MaxProjectNameLen {
		return false
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// IsNormalizedName reports whether name is valid and already in PEP 503
// normalized form, as names in URLs and target paths must be.
func IsNormalizedName(name string) bool {
	return ValidProjectName(name) && NormalizeName(name) == name
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
