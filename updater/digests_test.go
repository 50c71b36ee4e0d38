package updater

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifyDigests(t *testing.T) {
	b2 := strings.Repeat("ab", 32)
	sums := map[string]string{HashBLAKE2b256: b2}
	signed := func(length int64, hashes map[string]string) TargetInfo {
		return TargetInfo{Path: "p", Length: length, Hashes: hashes}
	}
	for _, tc := range []struct {
		name     string
		ti       TargetInfo
		n        int64
		complete bool
		check    string // the MismatchError's Check; "" for none
	}{
		{"match", signed(10, map[string]string{HashBLAKE2b256: b2}), 10, true, ""},
		{"upper-case signed hex", signed(10, map[string]string{HashBLAKE2b256: strings.ToUpper(b2)}), 10, true, ""},
		{"unknown length", signed(UnknownLength, map[string]string{HashBLAKE2b256: b2}), 12345, true, ""},
		{"length", signed(10, map[string]string{HashBLAKE2b256: b2}), 11, true, "length"},
		{"hash", signed(10, map[string]string{HashBLAKE2b256: strings.Repeat("cd", 32)}), 10, true, HashBLAKE2b256},
		{"signed hash not hex", signed(10, map[string]string{HashBLAKE2b256: "zz"}), 10, true, HashBLAKE2b256},
		{"signed hash empty", signed(10, map[string]string{HashBLAKE2b256: ""}), 10, true, HashBLAKE2b256},
		// A signed algorithm that was not computed: stream through VerifyCopy.
		{"not computed", signed(10, map[string]string{HashBLAKE2b256: b2, HashSHA256: b2}), 10, false, ""},
		{"no known hash", signed(10, map[string]string{"md5": "00"}), 10, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			complete, err := tc.ti.VerifyDigests(tc.n, sums)
			var mm *MismatchError
			switch {
			case complete != tc.complete:
				t.Errorf("complete = %v, want %v (err %v)", complete, tc.complete, err)
			case tc.check == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.check != "" && (!errors.As(err, &mm) || mm.Check != tc.check):
				t.Errorf("err = %v, want a %s mismatch", err, tc.check)
			}
		})
	}
}
