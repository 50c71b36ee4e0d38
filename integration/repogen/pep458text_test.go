package repogen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TestPEP458TextLayout checks the classic targets → bins → bin-n layout.
// go-tuf verifies the top-level roles; the hash-bin walk is done here
// because go-tuf v2.4.2 matches path_hash_prefixes against base64 instead
// of the hex digest the TUF spec (and python-tuf) use, so its own lookup
// cannot follow a spec-conformant hash-bin delegation.
func TestPEP458TextLayout(t *testing.T) {
	for _, bl := range []int{4, 6} {
		t.Run(fmt.Sprintf("B=%d", bl), func(t *testing.T) {
			r := mustGenerate(t, Options{BitLength: bl, TUFLayout: TUFLayoutPEP458Text, PhantomTargets: 50}, SyntheticProjects(3))
			base := serve(t, r.Dir())
			up, err := newClient(t, base, r.TrustedRoot()).refresh(t)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			tm := up.GetTrustedMetadataSet()
			top := tm.Targets[RoleTargets]
			d := top.Signed.Delegations
			if d == nil || d.SuccinctRoles != nil || len(d.Roles) != 1 || d.Roles[0].Name != "bins" || len(d.Roles[0].PathHashPrefixes) != 16 {
				t.Fatalf("targets delegations = %+v", d)
			}
			fetch := func(role string) *metadata.Metadata[metadata.TargetsType] {
				t.Helper()
				meta, ok := tm.Snapshot.Signed.Meta[role+".json"]
				if !ok {
					t.Fatalf("snapshot does not list %s", role)
				}
				_, data := httpGet(t, fmt.Sprintf("%s/metadata/%d.%s.json", base, meta.Version, role))
				md, err := metadata.Targets().FromBytes(data)
				if err != nil {
					t.Fatalf("%s: %v", role, err)
				}
				if md.Signed.Version != meta.Version || md.Signed.IsExpired(time.Now()) {
					t.Fatalf("%s: version %d (snapshot says %d), expires %v", role, md.Signed.Version, meta.Version, md.Signed.Expires)
				}
				return md
			}
			bins := fetch("bins")
			if err := top.VerifyDelegate("bins", bins); err != nil {
				t.Fatalf("bins: %v", err)
			}
			roles := bins.Signed.Delegations.Roles
			if len(roles) != 1<<bl || len(tm.Snapshot.Signed.Meta) != 2+1<<bl {
				t.Fatalf("%d bin-n roles, snapshot lists %d", len(roles), len(tm.Snapshot.Signed.Meta))
			}
			loaded := map[string]*metadata.Metadata[metadata.TargetsType]{}
			targets := r.Targets()
			for p, want := range targets {
				sum := sha256.Sum256([]byte(p))
				digest := hex.EncodeToString(sum[:])
				var match []string
				for _, role := range roles {
					for _, pre := range role.PathHashPrefixes {
						if strings.HasPrefix(digest, pre) {
							match = append(match, role.Name)
						}
					}
				}
				if len(match) != 1 || match[0] != want.Bin || !strings.HasPrefix(want.Bin, "bin-") {
					t.Fatalf("%s: delegated to %v, BinFor says %s", p, match, want.Bin)
				}
				md := loaded[want.Bin]
				if md == nil {
					md = fetch(want.Bin)
					if err := bins.VerifyDelegate(want.Bin, md); err != nil {
						t.Fatalf("%s: %v", want.Bin, err)
					}
					loaded[want.Bin] = md
				}
				tf, ok := md.Signed.Targets[p]
				if !ok || tf.Length != want.Length || hex.EncodeToString(tf.Hashes[HashBlake2b256]) != want.Hashes[HashBlake2b256] {
					t.Fatalf("%s in %s: %+v, want %+v", p, want.Bin, tf, want)
				}
			}

			// The walk above can fail: a bin signed by a stranger does not
			// verify against the delegation.
			victim := r.BinFor(r.Files()[0].Path)
			if err := r.SignBinWithWrongKey(victim); err != nil {
				t.Fatal(err)
			}
			if err := bins.VerifyDelegate(victim, fetch(victim)); err == nil {
				t.Fatal("bin signed with a wrong key verified")
			}
			// Mutations work in this layout too.
			if err := r.Heal(); err != nil {
				t.Fatal(err)
			}
			if err := r.ResignOnline(); err != nil {
				t.Fatal(err)
			}
			if r.RoleVersion("bins") != 2 || r.RoleVersion(victim) != 2 {
				t.Fatalf("bins v%d, %s v%d after re-sign", r.RoleVersion("bins"), victim, r.RoleVersion(victim))
			}
			if _, err := newClient(t, base, r.TrustedRoot()).refresh(t); err != nil {
				t.Fatal(err)
			}
		})
	}
}
