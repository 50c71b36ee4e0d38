package repogen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TestBinSchemeMatchesGoTUF pins our bin arithmetic to go-tuf's own
// SuccinctRoles for every bit length we allow.
func TestBinSchemeMatchesGoTUF(t *testing.T) {
	paths := []string{"", "a", "fixture-pkg-0/fixture-pkg-0.html", "simple/x/index.html", "../evil", strings.Repeat("x", 300)}
	for i := range 200 {
		paths = append(paths, fmt.Sprintf("%02x/%02x/%d/p_%d-1.0-py3-none-any.whl", i, i*7%256, i*31, i))
	}
	for bl := 1; bl <= maxBitLength; bl++ {
		s := newBinScheme(settings{BitLength: bl, NamePrefix: "bins", TUFLayout: TUFLayoutSuccinct})
		sr := &metadata.SuccinctRoles{BitLength: bl, NamePrefix: "bins"}
		roles := sr.GetRoles()
		if len(roles) != s.count {
			t.Fatalf("B=%d: %d roles, want %d", bl, s.count, len(roles))
		}
		for _, i := range []int{0, 1, s.count / 2, s.count - 1} {
			if s.name(i) != roles[i] {
				t.Errorf("B=%d: name(%d) = %s, go-tuf %s", bl, i, s.name(i), roles[i])
			}
			if j, ok := s.indexOf(roles[i]); !ok || j != i {
				t.Errorf("B=%d: indexOf(%s) = %d %v", bl, roles[i], j, ok)
			}
		}
		for _, p := range paths {
			want := sr.GetRolesForTarget(p)[0].Name
			if got := s.name(s.index(p)); got != want {
				t.Errorf("B=%d: bin of %q = %s, go-tuf %s", bl, p, got, want)
			}
		}
		for _, bad := range []string{"bins", "bins-", "bins-g", "bin-0", "bins-" + strings.Repeat("0", s.suffixLen+1), fmt.Sprintf("bins-%0*x", s.suffixLen, s.count)} {
			if _, ok := s.indexOf(bad); ok {
				t.Errorf("B=%d: indexOf(%q) accepted", bl, bad)
			}
		}
	}
	if got := newBinScheme(settings{BitLength: 14, NamePrefix: "bins"}).name(16383); got != "bins-3fff" {
		t.Errorf("last bin at B=14 is %s", got)
	}
}

// TestHashPrefixesPartitionPaths checks the pep458-text delegation: each
// path's hex sha256 matches the prefixes of exactly one bin-n, the one
// succinct arithmetic picks.
func TestHashPrefixesPartitionPaths(t *testing.T) {
	for _, bl := range []int{1, 3, 4, 6, 8, 14} {
		s := newBinScheme(settings{BitLength: bl, TUFLayout: TUFLayoutPEP458Text})
		prefixes := make([][]string, s.count)
		total := 0
		for i := range prefixes {
			prefixes[i] = s.hashPrefixes(i)
			total += len(prefixes[i])
		}
		digits := (bl + 3) / 4
		if total != 1<<(4*digits) {
			t.Errorf("B=%d: %d prefixes, want %d", bl, total, 1<<(4*digits))
		}
		for n := range 300 {
			p := fmt.Sprintf("path/%d.whl", n)
			sum := sha256.Sum256([]byte(p))
			h := hex.EncodeToString(sum[:])
			var hits []int
			for i, ps := range prefixes {
				for _, pre := range ps {
					if strings.HasPrefix(h, pre) {
						hits = append(hits, i)
					}
				}
			}
			if len(hits) != 1 || hits[0] != s.index(p) {
				t.Fatalf("B=%d: %q matched bins %v, want [%d]", bl, p, hits, s.index(p))
			}
		}
		if !strings.HasPrefix(s.name(0), "bin-") {
			t.Errorf("pep458-text bin name %s", s.name(0))
		}
	}
}
