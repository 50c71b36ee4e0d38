package updater

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// VerifyDigests checks ti against a length n and digests (algorithm →
// lower-case hex) computed in one pass over some bytes: the signed
// length, and every algorithm of ti that tufpip can compute, each
// compared in constant time. Verifier.Verify decides through it, so the
// two cannot drift. complete is false, and nothing is decided, when ti
// signs no algorithm tufpip knows or one that sums lacks: then the bytes
// must be streamed through VerifyCopy instead. Mismatches are
// *MismatchError.
func (ti TargetInfo) VerifyDigests(n int64, sums map[string]string) (complete bool, err error) {
	algs := ti.KnownHashes()
	if len(algs) == 0 {
		return false, nil
	}
	for _, alg := range algs {
		if _, ok := sums[alg]; !ok {
			return false, nil
		}
	}
	if ti.Length != UnknownLength && ti.Length != n {
		return true, &MismatchError{Path: ti.Path, Check: "length", Want: fmt.Sprint(ti.Length), Got: fmt.Sprint(n)}
	}
	for _, alg := range algs {
		want, werr := hex.DecodeString(ti.Hashes[alg])
		got, _ := hex.DecodeString(sums[alg])
		if werr != nil || len(want) == 0 || subtle.ConstantTimeCompare(want, got) != 1 {
			return true, &MismatchError{Path: ti.Path, Check: alg, Want: strings.ToLower(ti.Hashes[alg]), Got: sums[alg]}
		}
	}
	return true, nil
}
