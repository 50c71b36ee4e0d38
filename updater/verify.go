package updater

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Hash algorithm names as they appear in TUF target info.
const (
	HashBLAKE2b256 = "blake2b-256"
	HashSHA256     = "sha256"
	HashSHA512     = "sha512"
)

// TargetInfo is what the repository signed about one target: its path,
// exact length and hashes (lower-case hex, keyed by algorithm name), and
// where the signature came from.
type TargetInfo struct {
	Path   string            `json:"path"`
	Length int64             `json:"length"`
	Hashes map[string]string `json:"hashes"`
	// Role is the delegated role (hash bin) that signed the target.
	Role string `json:"role,omitempty"`
	// SnapshotVersion is the snapshot version the lookup was made under.
	SnapshotVersion int64 `json:"snapshot_version,omitempty"`
	// Expires is the earliest expiry of the metadata that vouched for
	// this answer (root, timestamp, snapshot, and every targets role from
	// the top-level one down to Role); zero if unknown. The answer must
	// not be relied on from then on.
	Expires time.Time `json:"expires,omitzero"`
}

// UnknownLength in TargetInfo.Length marks a file whose length nobody
// signed: in the index-only layout, a file is checked only against the
// sha256 in a TUF-verified index page. Such a file may not exceed
// MaxUnknownLength.
const UnknownLength = -1

// MaxUnknownLength bounds files whose length was not signed. It is the
// verifier's backstop; callers that want less bound the stream themselves
// (cache.StoreOptions.MaxUnknownLength).
const MaxUnknownLength int64 = 8 << 30

func (ti TargetInfo) limit() int64 {
	if ti.Length == UnknownLength {
		return MaxUnknownLength
	}
	return ti.Length
}

// KnownHashes returns the algorithms of ti that tufpip can verify, sorted.
func (ti TargetInfo) KnownHashes() []string {
	var algs []string
	for alg := range ti.Hashes {
		if newHash(alg) != nil {
			algs = append(algs, alg)
		}
	}
	sort.Strings(algs)
	return algs
}

func newHash(alg string) hash.Hash {
	switch alg {
	case HashSHA256:
		return sha256.New()
	case HashSHA512:
		return sha512.New()
	case HashBLAKE2b256:
		h, _ := blake2b.New256(nil)
		return h
	}
	return nil
}

// ErrNoKnownHash means the signed target info carries no hash that tufpip
// can compute, so the artifact cannot be verified at all.
var ErrNoKnownHash = errors.New("target info has no supported hash (want blake2b-256, sha256 or sha512)")

// MismatchError reports an artifact whose bytes do not match what the
// repository signed.
type MismatchError struct {
	Path      string
	Check     string // "length" or a hash algorithm name
	Want, Got string
}

func (e *MismatchError) Error() string {
	if e.Check == "length" {
		return fmt.Sprintf("%s: length mismatch: signed %s bytes, got %s", e.Path, e.Want, e.Got)
	}
	return fmt.Sprintf("%s: %s mismatch: signed %s, got %s", e.Path, e.Check, e.Want, e.Got)
}

// Verifier checks a stream of bytes against signed target info while the
// bytes pass through it. Write never accepts more than the signed length;
// Verify must be called after the last byte. Memory use is constant.
type Verifier struct {
	ti     TargetInfo
	hashes map[string]hash.Hash
	n      int64
	w      io.Writer
}

// NewVerifier returns a Verifier for ti. It fails if ti has no hash that
// can be computed. Unknown algorithms next to known ones are ignored;
// every known one is checked.
func NewVerifier(ti TargetInfo) (*Verifier, error) {
	if ti.Length < 0 && ti.Length != UnknownLength {
		return nil, fmt.Errorf("%s: negative signed length %d", ti.Path, ti.Length)
	}
	v := &Verifier{ti: ti, hashes: map[string]hash.Hash{}}
	var ws []io.Writer
	for _, alg := range ti.KnownHashes() {
		want := ti.Hashes[alg]
		if _, err := hex.DecodeString(want); err != nil || want == "" {
			return nil, fmt.Errorf("%s: signed %s hash %q is not hex", ti.Path, alg, want)
		}
		h := newHash(alg)
		v.hashes[alg] = h
		ws = append(ws, h)
	}
	if len(v.hashes) == 0 {
		return nil, fmt.Errorf("%s: %w", ti.Path, ErrNoKnownHash)
	}
	v.w = io.MultiWriter(ws...)
	return v, nil
}

// Write hashes p. It fails, without hashing anything, once the total
// would exceed the signed length: that is the endless-data defence.
func (v *Verifier) Write(p []byte) (int, error) {
	if lim := v.ti.limit(); v.n+int64(len(p)) > lim {
		return 0, &MismatchError{Path: v.ti.Path, Check: "length",
			Want: fmt.Sprint(v.ti.Length), Got: fmt.Sprintf("more than %d", lim)}
	}
	v.n += int64(len(p))
	return v.w.Write(p)
}

// Written is how many bytes have passed so far.
func (v *Verifier) Written() int64 { return v.n }

// Verify reports whether everything written matches length and every
// known hash.
func (v *Verifier) Verify() error {
	sums := make(map[string]string, len(v.hashes))
	for alg, h := range v.hashes {
		sums[alg] = hex.EncodeToString(h.Sum(nil))
	}
	// Every known algorithm is computed (NewVerifier), so this decides.
	_, err := v.ti.VerifyDigests(v.n, sums)
	return err
}

// Sum returns the computed hash for alg (hex) after all bytes were written,
// or "" if alg is not being computed.
func (v *Verifier) Sum(alg string) string {
	h, ok := v.hashes[alg]
	if !ok {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyCopy copies r to w through a Verifier for ti and verifies the
// result. It reads at most Length+1 bytes from r. w receives bytes before
// they are verified, so w must be a temporary place (a temp file) that the
// caller discards when VerifyCopy fails.
func VerifyCopy(w io.Writer, r io.Reader, ti TargetInfo) (int64, error) {
	v, err := NewVerifier(ti)
	if err != nil {
		return 0, err
	}
	dst := io.Writer(v)
	if w != nil {
		dst = io.MultiWriter(v, w)
	}
	n, err := io.CopyBuffer(dst, io.LimitReader(r, ti.limit()+1), make([]byte, 256<<10))
	if err != nil {
		return n, err
	}
	return n, v.Verify()
}
