package packaging

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Distribution kinds.
const (
	KindWheel = "wheel"
	KindSdist = "sdist"
)

// MaxFilenameLen bounds distribution filenames: most file systems allow
// 255 bytes in one path segment.
const MaxFilenameLen = 255

// ErrInvalidFilename is wrapped by every error ParseFilename returns.
var ErrInvalidFilename = errors.New("invalid distribution filename")

// sdistExtensions are the source archive suffixes ParseFilename accepts:
// PEP 625's .tar.gz, and the legacy formats that old releases on PyPI still
// carry. Longest first, so ".tar.gz" wins over a shorter match.
var sdistExtensions = []string{".tar.bz2", ".tar.gz", ".tar.xz", ".tgz", ".zip"}

// Tag is one wheel compatibility tag (PEP 425).
type Tag struct {
	Python   string // e.g. "cp311", "py3"
	ABI      string // e.g. "cp311", "abi3", "none"
	Platform string // e.g. "manylinux_2_17_x86_64", "any"
}

// String returns the tag as "python-abi-platform".
func (t Tag) String() string { return t.Python + "-" + t.ABI + "-" + t.Platform }

// Dist is what a distribution filename says about the file.
type Dist struct {
	// Project is the PEP 503 normalized project name.
	Project string
	// Version is the PEP 440 normalized version ("1.0rc1", not "1.0RC1").
	Version string
	// Kind is KindWheel or KindSdist.
	Kind string
	// BuildTag is the optional wheel build tag ("1", "2b"); empty otherwise.
	BuildTag string
	// Tags lists every tag a wheel supports, with compressed tag sets
	// expanded ("py2.py3-none-any" gives two). Nil for sdists.
	Tags []Tag
}

// ParseFilename parses a wheel (PEP 427/491) or sdist (PEP 625 and legacy
// archive) filename. Wheels are split on "-" into 5 or 6 fields; sdists
// are split at their last "-" (as packaging does), so a legacy sdist whose
// version contains "-" is not parsed. The version must be PEP 440; the
// project name must be a valid PEP 508 name.
func ParseFilename(filename string) (Dist, error) {
	fail := func(why string) (Dist, error) {
		return Dist{}, fmt.Errorf("%w: %q: %s", ErrInvalidFilename, truncate(filename, 80), why)
	}
	if filename == "" || len(filename) > MaxFilenameLen {
		return fail(fmt.Sprintf("length must be 1 to %d bytes", MaxFilenameLen))
	}
	// Every field is ASCII letters, digits and . _ - ! +; ruling out the
	// rest here keeps whitespace (which ParseVersion would trim), path
	// separators, NUL and look-alike Unicode out of anything we accept.
	if !filenameChars(filename) {
		return fail("contains a character that no distribution filename has")
	}
	if stem, ok := strings.CutSuffix(filename, ".whl"); ok {
		return parseWheel(stem, fail)
	}
	for _, ext := range sdistExtensions {
		if len(filename) > len(ext) && strings.EqualFold(filename[len(filename)-len(ext):], ext) {
			return parseSdist(filename[:len(filename)-len(ext)], fail)
		}
	}
	return fail("not a wheel or sdist")
}

// filenameChars reports whether every byte of filename is an ASCII
// letter or digit or one of . _ - ! +.
func filenameChars(filename string) bool {
	for i := 0; i < len(filename); i++ {
		if c := filename[i]; !isAlnum(c) && !strings.ContainsRune("._-!+", rune(c)) {
			return false
		}
	}
	return true
}

func parseWheel(stem string, fail func(string) (Dist, error)) (Dist, error) {
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return fail("a wheel name has 5 or 6 dash-separated fields")
	}
	d := Dist{Kind: KindWheel}
	if !ValidProjectName(parts[0]) {
		return fail("invalid project name")
	}
	d.Project = NormalizeName(parts[0])
	v, err := ParseVersion(parts[1])
	if err != nil {
		return fail("invalid version")
	}
	d.Version = v.String()
	if len(parts) == 6 {
		d.BuildTag = parts[2]
		if d.BuildTag == "" || d.BuildTag[0] < '0' || d.BuildTag[0] > '9' || !isTagText(d.BuildTag) {
			return fail("build tag must start with a digit")
		}
	}
	n := len(parts)
	pys, abis, plats := strings.Split(parts[n-3], "."), strings.Split(parts[n-2], "."), strings.Split(parts[n-1], ".")
	// Tag sets are tiny in practice; refuse a product large enough to
	// cost memory.
	if len(pys)*len(abis)*len(plats) > 1024 {
		return fail("too many compressed tags")
	}
	for _, py := range pys {
		for _, abi := range abis {
			for _, plat := range plats {
				if !isTagText(py) || !isTagText(abi) || !isTagText(plat) {
					return fail("invalid compatibility tag")
				}
				d.Tags = append(d.Tags, Tag{strings.ToLower(py), strings.ToLower(abi), strings.ToLower(plat)})
			}
		}
	}
	return d, nil
}

func parseSdist(stem string, fail func(string) (Dist, error)) (Dist, error) {
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return fail("an sdist name is <name>-<version>")
	}
	name, ver := stem[:i], stem[i+1:]
	if !ValidProjectName(name) {
		return fail("invalid project name")
	}
	v, err := ParseVersion(ver)
	if err != nil {
		return fail("invalid version")
	}
	return Dist{Project: NormalizeName(name), Version: v.String(), Kind: KindSdist}, nil
}

// sdistStem returns filename without its sdist extension, and whether it
// has one.
func sdistStem(filename string) (string, bool) {
	for _, ext := range sdistExtensions {
		if len(filename) > len(ext) && strings.EqualFold(filename[len(filename)-len(ext):], ext) {
			return filename[:len(filename)-len(ext)], true
		}
	}
	return "", false
}

// FileReadings returns every way a distribution filename can be read as
// (project, version). A wheel has one reading: its name field (PEP 427
// escapes "-" in it). A legacy sdist name "<name>-<version>" does not say
// where the name ends, so it has one reading per "-" that splits it into
// a valid project name and a valid PEP 440 version: "pkg-0-9-9.tar.gz"
// reads as pkg-0-9 9 and as pkg-0 9.post9 ("9-9"). pip reads it as
// whichever project it is looking for, so more than one reading means the
// name alone does not tell which project the file belongs to. Readings
// are ordered by where the name ends, last "-" first (ParseFilename's
// reading). The error is ParseFilename's when there is no reading.
func FileReadings(filename string) ([]Dist, error) {
	d, err := ParseFilename(filename)
	if err == nil && d.Kind == KindWheel {
		return []Dist{d}, nil
	}
	stem, ok := sdistStem(filename)
	if !ok || len(filename) > MaxFilenameLen || !filenameChars(filename) {
		return nil, err
	}
	// Every split, not only the last "-": "pkg-0-9-beta.tar.gz" has no
	// version after its last "-" but reads as pkg-0 9b0.
	var out []Dist
	for i := len(stem); i > 0; {
		i = strings.LastIndexByte(stem[:i], '-')
		if i <= 0 {
			break
		}
		name, ver := stem[:i], stem[i+1:]
		if !ValidProjectName(name) {
			continue
		}
		v, verr := ParseVersion(ver)
		if verr != nil {
			continue
		}
		out = append(out, Dist{Project: NormalizeName(name), Version: v.String(), Kind: KindSdist})
	}
	if len(out) == 0 {
		if err == nil {
			err = fmt.Errorf("%w: %q: an sdist name is <name>-<version>", ErrInvalidFilename, truncate(filename, 80))
		}
		return nil, err
	}
	return out, nil
}

// ParseFilenameFor parses filename as a file of project, the way pip
// reads the files on project's page: when one of its readings
// (FileReadings) names project, that reading; otherwise ParseFilename's.
// The caller still compares Dist.Project with the project: a file whose
// name cannot name it is another project's.
func ParseFilenameFor(filename, project string) (Dist, error) {
	ds, err := FileReadings(filename)
	if err != nil {
		return Dist{}, err
	}
	want := NormalizeName(project)
	for _, d := range ds {
		if d.Project == want {
			return d, nil
		}
	}
	return ds[0], nil
}

// isTagText reports whether s is a short, non-empty run of ASCII letters,
// digits and underscores: the alphabet of tags and build tags. Dots
// separate compressed tag sets and dashes separate fields, so neither can
// occur inside one.
func isTagText(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// Supported ranks d against tags, an ordered list of the tags an
// interpreter accepts (best first, as CompatibleTags returns). For a wheel
// it returns the index of the best tag it carries, and false if it carries
// none. An sdist can be built anywhere, so it is always supported, ranked
// after every wheel: (len(tags), true).
func (d Dist) Supported(tags []Tag) (rank int, ok bool) {
	if d.Kind == KindSdist {
		return len(tags), true
	}
	best := -1
	for _, t := range d.Tags {
		for i, want := range tags {
			if best >= 0 && i >= best {
				break
			}
			if t == want {
				best = i
				break
			}
		}
	}
	if best < 0 {
		return 0, false
	}
	return best, true
}

// SafeFilename reports whether name can be used as a file name on its own:
// non-empty, at most MaxFilenameLen bytes, valid UTF-8, not "." or "..",
// and free of "/", "\", NUL, control characters and invisible formatting
// characters (which could disguise a name in a log or terminal).
func SafeFilename(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > MaxFilenameLen || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '/' || r == '\\' || !SafeRune(r) {
			return false
		}
	}
	return true
}

// SafeRune reports whether r may appear in a file name or a target path
// that users see: it refuses control characters, Unicode format
// characters (bidi overrides, zero-width joiners) and line or paragraph
// separators, which could disguise a name in a log or terminal.
func SafeRune(r rune) bool {
	return r >= 0x20 && r != 0x7f && r != utf8.RuneError &&
		!unicode.Is(unicode.Cc, r) && !unicode.Is(unicode.Cf, r) &&
		!unicode.Is(unicode.Zl, r) && !unicode.Is(unicode.Zp, r)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
