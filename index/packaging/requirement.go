package packaging

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
)

// requirementHashes are the algorithms pip accepts for --hash (its
// STRONG_HASHES), by their hashlib names. It is tufpip's one list of them:
// parsing --hash values and hashing files to compare with those values
// both go through it (NewRequirementHash).
var requirementHashes = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

// RequirementHashAlgorithms returns the algorithms --hash accepts, as in
// pip, sorted.
func RequirementHashAlgorithms() []string {
	return slices.Sorted(maps.Keys(requirementHashes))
}

// NewRequirementHash returns a new hash computing alg, one of
// RequirementHashAlgorithms, or nil for any other algorithm.
func NewRequirementHash(alg string) hash.Hash {
	if h, ok := requirementHashes[alg]; ok {
		return h()
	}
	return nil
}

// Requirement is one PEP 508 requirement by name, with the --hash values a
// requirements file gives it.
type Requirement struct {
	// Name is the project name as written; Project is its normalized form.
	Name    string
	Project string
	// Extras are the normalized extras, in the order written. They do not
	// change which files are chosen.
	Extras []string
	// Specifier is the version constraint; empty admits every version.
	Specifier SpecifierSet
	// Marker is the environment marker, nil when there is none.
	Marker *Marker
	// Hashes maps an algorithm ("sha256", "sha384" or "sha512") to the
	// lower-case hex digests a file may have, in the order given. As in
	// pip, a file is acceptable if any one of its digests is listed.
	Hashes map[string][]string
	// Line is where the requirement starts in its file; 0 elsewhere.
	Line int
}

// Pin returns the version an exact pin ("==1.0", not "==1.*"; or
// "===1.0") names, and whether the requirement is one.
func (r Requirement) Pin() (string, bool) {
	if len(r.Specifier) != 1 {
		return "", false
	}
	sp := r.Specifier[0]
	if sp.Op == "===" || sp.Op == "==" && !sp.wildcard {
		return sp.Version, true
	}
	return "", false
}

// HasHashes reports whether any --hash was given.
func (r Requirement) HasHashes() bool { return len(r.Hashes) > 0 }

// AllowsDigest reports whether hexDigest, computed with alg, is one of the
// requirement's hashes.
func (r Requirement) AllowsDigest(alg, hexDigest string) bool {
	return slices.Contains(r.Hashes[alg], strings.ToLower(hexDigest))
}

// HashAlgorithms returns the algorithms the requirement gives hashes for,
// sorted.
func (r Requirement) HashAlgorithms() []string {
	var algs []string
	for alg := range r.Hashes {
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	return algs
}

// NameSpec is the requirement without marker and hashes, e.g.
// "requests[socks]==2.31.0": what messages call it.
func (r Requirement) NameSpec() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	b.WriteString(r.Specifier.String())
	return b.String()
}

// String renders the requirement as a requirements-file line that parses
// back to the same requirement.
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.NameSpec())
	if r.Marker != nil {
		b.WriteString(" ; " + r.Marker.String())
	}
	for _, alg := range r.HashAlgorithms() {
		for _, h := range r.Hashes[alg] {
			b.WriteString(" --hash=" + alg + ":" + h)
		}
	}
	return b.String()
}

// ParseRequirementHash parses a --hash value "alg:hexdigest". The
// algorithm must be one pip accepts (sha256, sha384, sha512) and the
// digest hex of its length; the digest is returned in lower case.
func ParseRequirementHash(s string) (alg, digest string, err error) {
	alg, digest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("%w: --hash %q: want ALGORITHM:HEXDIGEST, e.g. sha256:…", ErrInvalidRequirement, truncate(s, 80))
	}
	h := NewRequirementHash(alg)
	if h == nil {
		return "", "", fmt.Errorf("%w: --hash algorithm %q: want one of %s", ErrInvalidRequirement, truncate(alg, 20), strings.Join(RequirementHashAlgorithms(), ", "))
	}
	n := 2 * h.Size()
	if len(digest) != n || !isHex(digest) {
		return "", "", fmt.Errorf("%w: --hash %s digest %q: want %d hex digits", ErrInvalidRequirement, alg, truncate(digest, 140), n)
	}
	return alg, strings.ToLower(digest), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseRequirement parses a PEP 508 requirement by name, such as
// "requests", "Django==4.2.7", "pkg[extra]>=1.0,<2 ; python_version<'3.12'"
// or "pkg (>=1.0)". Direct references ("pkg @ URL"), URLs and paths are
// errors wrapping ErrUnsupportedRequirement.
func ParseRequirement(s string) (Requirement, error) {
	fail := func(why string) (Requirement, error) {
		return Requirement{}, fmt.Errorf("%w %q: %s", ErrInvalidRequirement, truncate(strings.TrimSpace(s), 80), why)
	}
	t := strings.TrimSpace(s)
	if len(t) > maxRequirementLen {
		return fail("too long")
	}
	i := 0
	for i < len(t) && (isAlnum(t[i]) || t[i] == '.' || t[i] == '_' || t[i] == '-') {
		i++
	}
	name := t[:i]
	if !strings.HasPrefix(strings.TrimLeft(t[i:], " \t"), "@") && looksLikeURLOrPath(t) {
		return Requirement{}, &directRefError{fmt.Sprintf("%v: %q: URLs and paths name files no repository signed; use NAME==VERSION", ErrUnsupportedRequirement, truncate(t, 80))}
	}
	if !ValidProjectName(name) {
		if name == "" {
			return fail("does not start with a project name")
		}
		return fail("invalid project name")
	}
	r := Requirement{Name: name, Project: NormalizeName(name)}
	rest := strings.TrimLeft(t[i:], " \t")
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return fail("unclosed [ in extras")
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			e = strings.TrimSpace(e)
			if e == "" && strings.TrimSpace(rest[1:end]) == "" {
				break
			}
			if !ValidProjectName(e) {
				return fail("invalid extra name")
			}
			r.Extras = append(r.Extras, NormalizeName(e))
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
	}
	if strings.HasPrefix(rest, "@") {
		return Requirement{}, &directRefError{fmt.Sprintf("%v: %q: direct references (NAME @ URL) name files no repository signed; use NAME==VERSION", ErrUnsupportedRequirement, truncate(t, 80))}
	}
	spec, marker, hasMarker := strings.Cut(rest, ";")
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "(") {
		if !strings.HasSuffix(spec, ")") {
			return fail("unclosed ( in version specifier")
		}
		spec = strings.TrimSpace(spec[1 : len(spec)-1])
	}
	if spec != "" {
		if !strings.ContainsAny(spec[:1], "<>=!~") {
			return fail("unexpected text after the name")
		}
		set, err := ParseSpecifierSet(spec)
		if err != nil {
			return fail(err.Error())
		}
		if len(set) == 0 {
			return fail("empty version specifier")
		}
		r.Specifier = set
	}
	if hasMarker {
		m, err := ParseMarker(marker)
		if err != nil {
			return Requirement{}, fmt.Errorf("%w %q: %w", ErrInvalidRequirement, truncate(t, 80), err)
		}
		r.Marker = m
	}
	return r, nil
}

// directRefError is ParseRequirement's error for a requirement that names
// a file (a URL, a path, NAME @ URL) rather than a project: valid for pip,
// but nothing a repository signs. ParseRequirements turns it into a
// Source.
type directRefError struct{ msg string }

func (e *directRefError) Error() string { return e.msg }
func (e *directRefError) Unwrap() error { return ErrUnsupportedRequirement }

// looksLikeURLOrPath reports text pip would take as a URL or a file path
// rather than a requirement.
func looksLikeURLOrPath(t string) bool {
	req, _, _ := strings.Cut(t, ";")
	return strings.Contains(req, "://") || strings.ContainsAny(req, "/\\") ||
		strings.HasPrefix(t, ".") || strings.HasPrefix(t, "~")
}

// HashVerdict is what a requirement's hashes say about a file's signed
// digests: HashMatch (a listed digest equals a signed one), HashMismatch
// (the signed digests include a listed algorithm, and none matches), or
// HashUnknown (no listed algorithm is signed: compute over the bytes).
type HashVerdict int

// Hash verdicts.
const (
	HashUnknown HashVerdict = iota
	HashMatch
	HashMismatch
)

// CheckDigests compares the requirement's hashes with digests (algorithm
// → hex), pip's way: any listed digest of any common algorithm matches.
func (r Requirement) CheckDigests(digests map[string]string) HashVerdict {
	common := false
	for alg := range r.Hashes {
		d, ok := digests[alg]
		if !ok {
			continue
		}
		common = true
		if r.AllowsDigest(alg, d) {
			return HashMatch
		}
	}
	if common {
		return HashMismatch
	}
	return HashUnknown
}

// ListedHash is one --hash value of a requirement.
type ListedHash struct {
	Alg    string // "sha256"
	Digest string // lower-case hex
}

// UnmatchedHashes returns the requirement's hashes, by algorithm and then
// as listed, that are the digest of none of files (each algorithm → hex,
// as for CheckDigests): for a release checked as a whole, where each
// listed hash should be some file's. A file that lacks an algorithm
// matches none of its hashes.
func (r Requirement) UnmatchedHashes(files []map[string]string) []ListedHash {
	var out []ListedHash
	for _, alg := range r.HashAlgorithms() {
		for _, h := range r.Hashes[alg] {
			found := false
			for _, d := range files {
				if got, ok := d[alg]; ok && strings.ToLower(got) == h {
					found = true
					break
				}
			}
			if !found {
				out = append(out, ListedHash{Alg: alg, Digest: h})
			}
		}
	}
	return out
}
