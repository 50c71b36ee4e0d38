// Package lockfile reads the lock files Python tools write (PEP 751
// pylock.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock) into one
// model: per locked package its name, version, where it comes from, and
// the files it pins with their hashes. It is pure: it parses bytes it is
// given and does no I/O.
package lockfile

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
)

// Format is a lock-file format.
type Format string

// The formats Parse reads.
const (
	PyLock Format = "pylock" // PEP 751: pylock.toml, pylock.NAME.toml
	UV     Format = "uv"     // uv.lock
	Poetry Format = "poetry" // poetry.lock
	PDM    Format = "pdm"    // pdm.lock
	Pipenv Format = "pipenv" // Pipfile.lock (JSON)
)

// Formats lists every format, for help text and errors.
func Formats() []Format { return []Format{PyLock, UV, Poetry, PDM, Pipenv} }

// ErrUnknownFormat is returned for a file name or format name that is
// none of Formats.
var ErrUnknownFormat = errors.New("unknown lock-file format")

var pylockName = regexp.MustCompile(`^pylock\.([^.]+\.)?toml$`)

// FormatOf returns the format a file name (its base) stands for.
func FormatOf(filename string) (Format, error) {
	base := path.Base(strings.ReplaceAll(filename, `\`, "/"))
	switch {
	case pylockName.MatchString(base):
		return PyLock, nil
	case base == "uv.lock":
		return UV, nil
	case base == "poetry.lock":
		return Poetry, nil
	case base == "pdm.lock":
		return PDM, nil
	case base == "Pipfile.lock":
		return Pipenv, nil
	}
	return "", fmt.Errorf("%w: cannot tell the format of %q from its name", ErrUnknownFormat, base)
}

// ParseFormat reads a format name as Formats spells it.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownFormat, s)
}

// Lock is a parsed lock file.
type Lock struct {
	Format   Format
	Packages []Package
}

// Package is one locked package.
type Package struct {
	// Name is as written; Project is its PEP 503 normalized form.
	Name, Project string
	// Version is the locked version; empty when the lock gives none
	// (only for packages not from an index: Source is set).
	Version string
	// Index is the index URL the lock says the package comes from; empty
	// when the lock does not say (pdm.lock, Pipenv's default source is
	// filled in).
	Index string
	// Source describes a source that is not an index (a VCS, a local
	// directory or archive, a direct URL); such a package cannot be
	// checked against an index.
	Source string
	// Root marks the project being locked itself (uv's virtual or
	// editable "." package): it is built from the working tree, not
	// fetched.
	Root bool
	// Marker is the PEP 508 environment marker the lock gives, if any.
	Marker string
	// Files are the files pinned. A file without Filename (Pipenv pins
	// hashes only) stands for "some file of this release".
	Files []File
}

// File is one pinned file.
type File struct {
	Filename string
	URL      string
	// Hashes maps an algorithm ("sha256", "sha512", "blake2b-256") to a
	// lower-case hex digest.
	Hashes map[string]string
}

// Hashed reports whether every file of p has a hash and p has a file.
func (p Package) Hashed() bool {
	if len(p.Files) == 0 {
		return false
	}
	for _, f := range p.Files {
		if len(f.Hashes) == 0 {
			return false
		}
	}
	return true
}

// ParseError is a lock file that does not parse, or parses into
// something that is not a lock of its format. Line is 0 when unknown.
type ParseError struct {
	Format Format
	Line   int
	Err    error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads data as a lock of format f.
func Parse(f Format, data []byte) (*Lock, error) {
	var pkgs []Package
	var err error
	switch f {
	case PyLock:
		pkgs, err = parsePyLock(data)
	case UV:
		pkgs, err = parseUV(data)
	case Poetry:
		pkgs, err = parsePoetry(data)
	case PDM:
		pkgs, err = parsePDM(data)
	case Pipenv:
		pkgs, err = parsePipenv(data)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownFormat, f)
	}
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Format = f
			return nil, pe
		}
		return nil, &ParseError{Format: f, Err: err}
	}
	for i := range pkgs {
		p := &pkgs[i]
		if p.Name == "" {
			return nil, &ParseError{Format: f, Err: fmt.Errorf("package %d has no name", i+1)}
		}
		p.Project = packaging.NormalizeName(p.Name)
		if p.Version == "" && p.Source == "" && !p.Root {
			return nil, &ParseError{Format: f, Err: fmt.Errorf("package %s has no version", p.Name)}
		}
	}
	return &Lock{Format: f, Packages: pkgs}, nil
}

// hashAlg normalizes a hash algorithm name to TUF's spelling.
func hashAlg(alg string) string {
	alg = strings.ToLower(alg)
	if alg == "blake2b_256" {
		return "blake2b-256"
	}
	return alg
}

var hexDigest = regexp.MustCompile(`^[0-9a-fA-F]{32,128}$`)

// algHash reads "ALG:HEX" (Poetry, PDM, uv, Pipenv).
func algHash(s string) (alg, digest string, err error) {
	alg, digest, ok := strings.Cut(s, ":")
	if !ok || alg == "" || !hexDigest.MatchString(digest) {
		return "", "", fmt.Errorf("hash %q is not ALGORITHM:HEXDIGEST", s)
	}
	return hashAlg(alg), strings.ToLower(digest), nil
}

// hashTable reads PEP 751's {ALG = "HEX", ...}.
func hashTable(m map[string]string) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for alg, d := range m {
		if !hexDigest.MatchString(d) {
			return nil, fmt.Errorf("hash %s = %q is not a hex digest", alg, d)
		}
		out[hashAlg(alg)] = strings.ToLower(d)
	}
	return out, nil
}

// urlFilename is the last path segment of a URL or path, unescaped.
func urlFilename(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Path != "" {
		return path.Base(u.Path)
	}
	return path.Base(strings.ReplaceAll(raw, `\`, "/"))
}
