package packaging

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxVersionLen bounds the version strings we parse. Real versions are
// short; the bound keeps hostile input from costing anything.
const maxVersionLen = 256

// ErrInvalidVersion is wrapped by every error ParseVersion returns.
var ErrInvalidVersion = errors.New("invalid PEP 440 version")

// versionPattern is the PEP 440 appendix B pattern, as the packaging
// library spells it, anchored and case-insensitive. Go's regexp runs in
// linear time, so a hostile string cannot make it slow.
var versionPattern = regexp.MustCompile(`(?i)^\s*v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?` +
	`\s*$`)

var versionGroups = func() map[string]int {
	m := map[string]int{}
	for i, n := range versionPattern.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// Version is a parsed PEP 440 version. The zero value is version "0".
// Versions compare with Compare; == on the struct is not meaningful.
type Version struct {
	epoch   uint64
	release []uint64
	// pre is "a", "b" or "rc" with its number; preL is "" when absent.
	preL            string
	preN            uint64
	post, dev       uint64
	hasPost, hasDev bool
	// local holds the local version label split on separators, lower-cased;
	// nil when absent.
	local []string
}

// ParseVersion parses a PEP 440 version, accepting every spelling the
// specification allows ("1.0RC1", "v1.0-post.2", "1!2.0+Local_1") and
// normalizing it. Legacy (non-PEP 440) versions are errors.
func ParseVersion(s string) (Version, error) {
	if len(s) > maxVersionLen {
		return Version{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidVersion, maxVersionLen)
	}
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%w: %q", ErrInvalidVersion, s)
	}
	g := func(name string) string { return m[versionGroups[name]] }
	var v Version
	var err error
	num := func(s string) uint64 {
		if s == "" || err != nil {
			return 0
		}
		n, e := strconv.ParseUint(s, 10, 63)
		if e != nil {
			err = fmt.Errorf("%w: number %q out of range", ErrInvalidVersion, s)
		}
		return n
	}
	v.epoch = num(g("epoch"))
	for _, part := range strings.Split(g("release"), ".") {
		v.release = append(v.release, num(part))
	}
	if g("pre") != "" {
		switch strings.ToLower(g("pre_l")) {
		case "a", "alpha":
			v.preL = "a"
		case "b", "beta":
			v.preL = "b"
		default: // c, rc, pre, preview
			v.preL = "rc"
		}
		v.preN = num(g("pre_n"))
	}
	if g("post") != "" {
		v.post, v.hasPost = num(g("post_n1")+g("post_n2")), true
	}
	if g("dev") != "" {
		v.dev, v.hasDev = num(g("dev_n")), true
	}
	if l := g("local"); l != "" {
		v.local = strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '.' || r == '-' || r == '_' })
		for i, seg := range v.local {
			if n, ok := localNumber(seg); ok {
				if n == "" {
					n = "0"
				}
				v.local[i] = n
			}
		}
	}
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// MustParseVersion is ParseVersion for constants in code and tests.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String returns the normalized form, e.g. "1!2.0rc1.post3.dev4+abc.5".
func (v Version) String() string {
	var b strings.Builder
	if v.epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.epoch)
	}
	b.WriteString(v.baseRelease())
	if v.preL != "" {
		fmt.Fprintf(&b, "%s%d", v.preL, v.preN)
	}
	if v.hasPost {
		fmt.Fprintf(&b, ".post%d", v.post)
	}
	if v.hasDev {
		fmt.Fprintf(&b, ".dev%d", v.dev)
	}
	if v.local != nil {
		b.WriteByte('+')
		b.WriteString(strings.Join(v.local, "."))
	}
	return b.String()
}

func (v Version) baseRelease() string {
	if len(v.release) == 0 {
		return "0"
	}
	parts := make([]string, len(v.release))
	for i, n := range v.release {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ".")
}

// Epoch returns the version's epoch (0 when not written).
func (v Version) Epoch() uint64 { return v.epoch }

// Release returns a copy of the release segment, e.g. [1 2 0] for "1.2.0".
func (v Version) Release() []uint64 {
	if len(v.release) == 0 {
		return []uint64{0}
	}
	return append([]uint64(nil), v.release...)
}

// Local returns the normalized local label ("" when there is none).
func (v Version) Local() string { return strings.Join(v.local, ".") }

// IsPrerelease reports whether v is a pre-release or a development release,
// which installers skip unless asked for them.
func (v Version) IsPrerelease() bool { return v.preL != "" || v.hasDev }

// IsPostRelease reports whether v has a post-release segment.
func (v Version) IsPostRelease() bool { return v.hasPost }

// IsDevRelease reports whether v has a development release segment.
func (v Version) IsDevRelease() bool { return v.hasDev }

// Public returns v without its local label.
func (v Version) Public() Version {
	v.local = nil
	return v
}

// BaseVersion returns the epoch and release segment only.
func (v Version) BaseVersion() Version {
	return Version{epoch: v.epoch, release: v.release}
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w in
// PEP 440 order: trailing zeros in the release do not matter ("1.0" ==
// "1.0.0"); "1.0.dev1" < "1.0a1" < "1.0" < "1.0.post1"; a version with a
// local label sorts after the same version without one.
func (v Version) Compare(w Version) int {
	if c := cmp.Compare(v.epoch, w.epoch); c != 0 {
		return c
	}
	n := max(len(v.release), len(w.release))
	for i := range n {
		var a, b uint64
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if c := cmp.Compare(a, b); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(v.preKey(), w.preKey()); c != 0 {
		return c
	}
	if v.preL != "" && v.preL == w.preL {
		if c := cmp.Compare(v.preN, w.preN); c != 0 {
			return c
		}
	}
	// An absent post segment sorts before any post-release.
	if c := cmpOptional(v.hasPost, v.post, w.hasPost, w.post, false); c != 0 {
		return c
	}
	// An absent dev segment sorts after any development release.
	if c := cmpOptional(v.hasDev, v.dev, w.hasDev, w.dev, true); c != 0 {
		return c
	}
	return compareLocal(v.local, w.local)
}

// preKey orders the pre-release phase: a dev release with neither pre nor
// post sorts before every pre-release of the same release ("1.0.dev0" <
// "1.0a0"), and no pre-release sorts after all of them.
func (v Version) preKey() int64 {
	switch {
	case v.preL == "" && !v.hasPost && v.hasDev:
		return -1
	case v.preL == "a":
		return 1
	case v.preL == "b":
		return 2
	case v.preL == "rc":
		return 3
	default:
		return 4
	}
}

// cmpOptional compares two optional numbers; absentHigh says whether a
// missing one sorts after every present one.
func cmpOptional(aOK bool, a uint64, bOK bool, b uint64, absentHigh bool) int {
	switch {
	case aOK && bOK:
		return cmp.Compare(a, b)
	case aOK == bOK:
		return 0
	case aOK == absentHigh: // a present, b absent and absent is high; or the reverse
		return -1
	default:
		return 1
	}
}

// compareLocal orders local labels: none sorts first; segments compare in
// turn, numbers numerically and above any string, strings byte-wise; a
// label that is a prefix of another sorts first.
func compareLocal(a, b []string) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		default:
			return 1
		}
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		an, aNum := localNumber(a[i])
		bn, bNum := localNumber(b[i])
		switch {
		case aNum && bNum:
			if c := cmpBigDecimal(an, bn); c != 0 {
				return c
			}
		case aNum:
			return 1
		case bNum:
			return -1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}

// localNumber reports whether a local segment is all digits, and returns it
// without leading zeros so that arbitrarily long numbers compare exactly.
func localNumber(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	t := strings.TrimLeft(s, "0")
	return t, true
}

func cmpBigDecimal(a, b string) int {
	if len(a) != len(b) {
		return cmp.Compare(len(a), len(b))
	}
	return strings.Compare(a, b)
}
