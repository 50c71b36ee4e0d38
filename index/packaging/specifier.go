package packaging

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidSpecifier is wrapped by every error ParseSpecifier and
// ParseSpecifierSet return.
var ErrInvalidSpecifier = errors.New("invalid PEP 440 version specifier")

// maxSpecifierSetLen bounds the specifier sets we parse (requires-python
// values and pins); real ones are a few dozen bytes.
const maxSpecifierSetLen = 1024

// Specifier is one PEP 440 version clause such as ">=3.8", "==1.*",
// "~=2.2" or "===1.0-foo".
type Specifier struct {
	// Op is one of "~=", "==", "!=", "<=", ">=", "<", ">", "===".
	Op string
	// Version is the version text after the operator, trimmed, including a
	// trailing ".*" for prefix matches.
	Version string

	v        Version // parsed Version without ".*"; unused for "==="
	wildcard bool
}

// operators in the order they must be tried (longest first).
var specifierOps = []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"}

// ParseSpecifier parses one clause. It applies PEP 440's restrictions:
// ".*" only with == and !=, and not after a pre, post, dev or local part;
// no local label with ordered comparisons or ~=; ~= needs at least two
// release numbers.
func ParseSpecifier(s string) (Specifier, error) {
	t := strings.TrimSpace(s)
	var sp Specifier
	for _, op := range specifierOps {
		if strings.HasPrefix(t, op) {
			sp.Op = op
			break
		}
	}
	if sp.Op == "" {
		return Specifier{}, fmt.Errorf("%w: %q has no operator", ErrInvalidSpecifier, s)
	}
	sp.Version = strings.TrimSpace(t[len(sp.Op):])
	if sp.Version == "" {
		return Specifier{}, fmt.Errorf("%w: %q has no version", ErrInvalidSpecifier, s)
	}
	if sp.Op == "===" {
		// Arbitrary equality: any string without whitespace.
		if strings.ContainsFunc(sp.Version, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == ';' }) {
			return Specifier{}, fmt.Errorf("%w: %q", ErrInvalidSpecifier, s)
		}
		return sp, nil
	}
	vs := sp.Version
	if strings.HasSuffix(vs, ".*") {
		if sp.Op != "==" && sp.Op != "!=" {
			return Specifier{}, fmt.Errorf("%w: %q: prefix match only with == and !=", ErrInvalidSpecifier, s)
		}
		sp.wildcard = true
		vs = vs[:len(vs)-2]
	}
	if strings.ContainsAny(vs, " \t\r\n") {
		return Specifier{}, fmt.Errorf("%w: %q", ErrInvalidSpecifier, s)
	}
	v, err := ParseVersion(vs)
	if err != nil {
		return Specifier{}, fmt.Errorf("%w: %q: %w", ErrInvalidSpecifier, s, err)
	}
	sp.v = v
	switch {
	case sp.wildcard && (v.preL != "" || v.hasPost || v.hasDev || v.local != nil):
		return Specifier{}, fmt.Errorf("%w: %q: prefix match on a pre, post, dev or local version", ErrInvalidSpecifier, s)
	case sp.Op != "==" && sp.Op != "!=" && v.local != nil:
		return Specifier{}, fmt.Errorf("%w: %q: local version with %s", ErrInvalidSpecifier, s, sp.Op)
	case sp.Op == "~=" && len(v.release) < 2:
		return Specifier{}, fmt.Errorf("%w: %q: ~= needs at least two release numbers", ErrInvalidSpecifier, s)
	}
	return sp, nil
}

// String returns the clause as "<op><version>".
func (sp Specifier) String() string { return sp.Op + sp.Version }

// Contains reports whether v satisfies the clause, with PEP 440's
// comparison rules (as the packaging library implements them). It does not
// apply the installer policy of skipping pre-releases: Contains(1.0rc1) is
// true for ">=0.9". Callers that select releases filter pre-releases
// themselves.
func (sp Specifier) Contains(v Version) bool {
	switch sp.Op {
	case "===":
		return strings.EqualFold(v.String(), sp.Version)
	case "==":
		return sp.equal(v)
	case "!=":
		return !sp.equal(v)
	case "<=":
		return v.Public().Compare(sp.v) <= 0
	case ">=":
		return v.Public().Compare(sp.v) >= 0
	case "<":
		if v.Compare(sp.v) >= 0 {
			return false
		}
		// "<3.1" must not admit 3.1's own pre-releases.
		if !sp.v.IsPrerelease() && v.IsPrerelease() && v.BaseVersion().Compare(sp.v.BaseVersion()) == 0 {
			return false
		}
		return true
	case ">":
		if v.Compare(sp.v) <= 0 {
			return false
		}
		// ">3.1" must not admit 3.1's post-releases or local versions.
		same := v.BaseVersion().Compare(sp.v.BaseVersion()) == 0
		if !sp.v.IsPostRelease() && v.IsPostRelease() && same {
			return false
		}
		if v.local != nil && same {
			return false
		}
		return true
	case "~=":
		prefix := Specifier{Op: "==", wildcard: true, v: Version{epoch: sp.v.epoch, release: sp.v.release[:len(sp.v.release)-1]}}
		return v.Public().Compare(sp.v) >= 0 && prefix.equal(v)
	}
	return false
}

func (sp Specifier) equal(v Version) bool {
	if !sp.wildcard {
		if sp.v.local == nil {
			v = v.Public()
		}
		return v.Compare(sp.v) == 0
	}
	if v.epoch != sp.v.epoch {
		return false
	}
	for i, want := range sp.v.release {
		var got uint64
		if i < len(v.release) {
			got = v.release[i]
		}
		if got != want {
			return false
		}
	}
	return true
}

// SpecifierSet is a comma-separated list of clauses that must all hold.
// The empty set admits every version.
type SpecifierSet []Specifier

// ParseSpecifierSet parses clauses separated by commas, such as
// ">=3.8, !=3.9.0, <4". Empty clauses are ignored, as packaging does.
func ParseSpecifierSet(s string) (SpecifierSet, error) {
	if len(s) > maxSpecifierSetLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidSpecifier, maxSpecifierSetLen)
	}
	var set SpecifierSet
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		sp, err := ParseSpecifier(part)
		if err != nil {
			return nil, err
		}
		set = append(set, sp)
	}
	return set, nil
}

// Contains reports whether v satisfies every clause.
func (set SpecifierSet) Contains(v Version) bool {
	for _, sp := range set {
		if !sp.Contains(v) {
			return false
		}
	}
	return true
}

// String joins the clauses with commas.
func (set SpecifierSet) String() string {
	parts := make([]string, len(set))
	for i, sp := range set {
		parts[i] = sp.String()
	}
	return strings.Join(parts, ",")
}

// MatchesPython reports whether an interpreter of version pyVersion (best
// given in full, "3.11.4": "3.11" means 3.11.0) may install a file whose
// Requires-Python is requiresPython. Like pip, it treats an empty or
// unparseable requires-python as no restriction, and admits pre-release
// interpreters. An unparseable pyVersion matches nothing.
func MatchesPython(requiresPython, pyVersion string) bool {
	v, err := ParseVersion(pyVersion)
	if err != nil {
		return false
	}
	set, err := ParseSpecifierSet(requiresPython)
	if err != nil {
		return true
	}
	return set.Contains(v)
}
