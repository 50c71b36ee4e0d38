package repogen

import (
	"fmt"
	"slices"
	"time"
)

// TUF layouts: how targets reaches the bins that sign distributions.
const (
	// TUFLayoutSuccinct is RSTUF's deployed layout: targets delegates every
	// path with a TAP 15 succinct_roles delegation to 2^B bins.
	TUFLayoutSuccinct = "succinct"
	// TUFLayoutPEP458Text is the layout PEP 458's text describes: targets
	// delegates everything to "bins", which delegates to 2^B "bin-n" roles
	// with classic path_hash_prefixes.
	TUFLayoutPEP458Text = "pep458-text"
)

// Index layouts (DESIGN.md §1): which index pages are TUF targets and under
// what target path.
const (
	IndexLayoutPEP458     = "pep458"      // page target <name>/<name>.html; distributions are targets
	IndexLayoutIndexOnly  = "index-only"  // page target <name>; distributions are not targets
	IndexLayoutSimplePath = "simple-path" // page target simple/<name>/index.html; distributions are targets
	IndexLayoutDistsOnly  = "dists-only"  // no page targets; distributions are targets
)

// Key types the generator can sign with. The names are the TUF schemes.
const (
	KeyTypeEd25519 = "ed25519"
	KeyTypeECDSA   = "ecdsa-sha2-nistp256"
	KeyTypeRSA     = "rsassa-pss-sha256"
)

// Hash algorithms a target's info can carry.
const (
	HashBlake2b256 = "blake2b-256"
	HashSHA256     = "sha256"
	HashSHA512     = "sha512"
)

// Role names. Bins are named by the layout (see Repo.BinFor).
const (
	RoleRoot      = "root"
	RoleTargets   = "targets"
	RoleSnapshot  = "snapshot"
	RoleTimestamp = "timestamp"
	// RoleBins names the expiry setting shared by every bin, and in the
	// pep458-text layout also the intermediate "bins" role.
	RoleBins = "bins"
)

// Defaults, chosen to match RSTUF's deployment (DESIGN.md §1).
const (
	DefaultBitLength  = 8
	DefaultNamePrefix = "bins"
	maxBitLength      = 14
)

// DefaultExpiry is the lifetime role is signed for unless Options.Expiry
// says otherwise (zero for a role the generator does not know): root and
// targets are long-lived, the roles the online key re-signs all the time
// expire after a day.
func DefaultExpiry(role string) time.Duration { return defaultExpiry[role] }

var defaultExpiry = map[string]time.Duration{
	RoleRoot:      365 * 24 * time.Hour,
	RoleTargets:   365 * 24 * time.Hour,
	RoleSnapshot:  24 * time.Hour,
	RoleTimestamp: 24 * time.Hour,
	RoleBins:      24 * time.Hour,
}

// Options configure a generated repository. The zero value of every field
// except Dir means "use the default", so Options{Dir: d} is a complete,
// RSTUF-like repository.
type Options struct {
	// Dir is where the repository is written. It must not exist yet or be
	// empty.
	Dir string
	// BitLength is the succinct delegation's bit_length B (1..14, default
	// 8): the repository has 2^B bins.
	BitLength int
	// NamePrefix is the succinct bins' name_prefix (default "bins").
	NamePrefix string
	// TUFLayout is TUFLayoutSuccinct (default) or TUFLayoutPEP458Text.
	TUFLayout string
	// IndexLayout is one of the IndexLayout* constants (default pep458).
	IndexLayout string
	// KeyType is one of the KeyType* constants (default ed25519); root and
	// online keys use it.
	KeyType string
	// RootKeys is how many offline root keys root lists (default 1) and
	// RootThreshold how many must sign it (default 1).
	RootKeys, RootThreshold int
	// Hashes are the algorithms in every target's info (default just
	// blake2b-256, like Warehouse and RSTUF).
	Hashes []string
	// Expiry overrides DefaultExpiry per role name (root, targets,
	// snapshot, timestamp, bins).
	Expiry map[string]time.Duration
	// Now is the clock used for expiry dates and upload times (default
	// time.Now). It is not saved: a reopened repository uses time.Now
	// unless Repo.SetClock says otherwise.
	Now func() time.Time
	// PhantomTargets adds this many target entries that have target info
	// (path, length, hashes) but no file, so that benchmarks can sign
	// PyPI-sized bins without writing gigabytes of wheels.
	PhantomTargets int
}

// settings is the part of Options that is saved with the repository so a
// later process can reopen and mutate it the same way.
type settings struct {
	BitLength      int               `json:"bit_length"`
	NamePrefix     string            `json:"name_prefix"`
	TUFLayout      string            `json:"tuf_layout"`
	IndexLayout    string            `json:"index_layout"`
	KeyType        string            `json:"key_type"`
	Hashes         []string          `json:"hashes"`
	Expiry         map[string]string `json:"expiry"`
	PhantomTargets int               `json:"phantom_targets"`
}

func (s *settings) expiry(role string) time.Duration {
	if v, ok := s.Expiry[role]; ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return defaultExpiry[role]
}

// normalizeOptions fills in defaults and rejects settings the generator
// cannot honour, so that a bad option fails before anything is written.
func normalizeOptions(o Options) (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("repogen: Options.Dir is empty")
	}
	if o.BitLength == 0 {
		o.BitLength = DefaultBitLength
	}
	if o.BitLength < 1 || o.BitLength > maxBitLength {
		return o, fmt.Errorf("repogen: bit length %d out of range 1..%d", o.BitLength, maxBitLength)
	}
	if o.NamePrefix == "" {
		o.NamePrefix = DefaultNamePrefix
	}
	switch o.TUFLayout {
	case "":
		o.TUFLayout = TUFLayoutSuccinct
	case TUFLayoutSuccinct, TUFLayoutPEP458Text:
	default:
		return o, fmt.Errorf("repogen: unknown TUF layout %q", o.TUFLayout)
	}
	switch o.IndexLayout {
	case "":
		o.IndexLayout = IndexLayoutPEP458
	case IndexLayoutPEP458, IndexLayoutIndexOnly, IndexLayoutSimplePath, IndexLayoutDistsOnly:
	default:
		return o, fmt.Errorf("repogen: unknown index layout %q", o.IndexLayout)
	}
	kt, err := canonicalKeyType(o.KeyType)
	if err != nil {
		return o, err
	}
	o.KeyType = kt
	if o.RootKeys == 0 {
		o.RootKeys = 1
	}
	if o.RootThreshold == 0 {
		o.RootThreshold = 1
	}
	if o.RootKeys < 1 || o.RootThreshold < 1 || o.RootThreshold > o.RootKeys {
		return o, fmt.Errorf("repogen: root threshold %d of %d keys is impossible", o.RootThreshold, o.RootKeys)
	}
	if len(o.Hashes) == 0 {
		o.Hashes = []string{HashBlake2b256}
	}
	for _, h := range o.Hashes {
		if !slices.Contains([]string{HashBlake2b256, HashSHA256, HashSHA512}, h) {
			return o, fmt.Errorf("repogen: unsupported target hash %q", h)
		}
	}
	for role, d := range o.Expiry {
		if _, ok := defaultExpiry[role]; !ok {
			return o, fmt.Errorf("repogen: expiry for unknown role %q (want root, targets, snapshot, timestamp or bins)", role)
		}
		if d == 0 {
			return o, fmt.Errorf("repogen: zero expiry for %s", role)
		}
	}
	if o.PhantomTargets < 0 {
		return o, fmt.Errorf("repogen: negative phantom target count")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func canonicalKeyType(kt string) (string, error) {
	switch kt {
	case "", KeyTypeEd25519:
		return KeyTypeEd25519, nil
	case KeyTypeECDSA, "ecdsa":
		return KeyTypeECDSA, nil
	case KeyTypeRSA, "rsa":
		return KeyTypeRSA, nil
	}
	return "", fmt.Errorf("repogen: unsupported key type %q", kt)
}

func settingsFrom(o Options) settings {
	s := settings{
		BitLength:      o.BitLength,
		NamePrefix:     o.NamePrefix,
		TUFLayout:      o.TUFLayout,
		IndexLayout:    o.IndexLayout,
		KeyType:        o.KeyType,
		Hashes:         slices.Clone(o.Hashes),
		Expiry:         map[string]string{},
		PhantomTargets: o.PhantomTargets,
	}
	for role, d := range o.Expiry {
		s.Expiry[role] = d.String()
	}
	return s
}
