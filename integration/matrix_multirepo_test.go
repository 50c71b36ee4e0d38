package integration

import (
	"os"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// multiRepoRows are the attack matrix rows for several repositories
// behind one TAP 4 map file (issue 12): dependency confusion, and two
// repositories that sign the same names with different bytes. Each
// column runs with --map; the map's patterns are project names for
// download, verify and the proxy, and target paths for get (which
// matches them against the path it is given), so one map file holds
// both.
// hintMapRefused is the start of get's hint for a map file's refusal.
const hintMapRefused = "hint: the map file gives it only to the repositories of the mapping named above"

func multiRepoRows() []matrixRow {
	return []matrixRow{
		{
			name: "dependency-confusion",
			attack: "Two repositories behind one map file (TAP 4): lib (and lib's files, `*/*/*/lib-*`) is mapped, terminating, to internal, which has lib 1.1; everything else to public. " +
				"The attacker publishes lib 99.0 in public, validly signed by public's own keys: pip's --extra-index-url would take the highest version. " +
				"pip asks for lib without a version; get, download and verify ask for, or check, public's lib 99.0. " +
				"Each column has its own server for public, which must never receive a request naming lib.",
			multi: &multiSetup{
				internal: "internal",
				public:   []repogen.ProjectSpec{{Name: "pubtool", Releases: []repogen.ReleaseSpec{repogen.Release("3.0")}}},
				mapping: []mapping{
					{Paths: []string{"lib", "*/*/*/lib-*"}, Repositories: []string{"internal"}, Threshold: 1, Terminating: true},
					{Paths: []string{"*", "*/*/*/*"}, Repositories: []string{publicRepo}, Threshold: 1},
				},
				neverAsked: []string{"lib"},
			},
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.pub.AddRelease(repogen.ProjectSpec{Name: "lib", Releases: []repogen.ReleaseSpec{repogen.Release("99.0")}}))
				evil := e.pub.file(t, "lib", "99.0", "wheel")
				e.getTarget = evil.Path
				e.dlReq, e.pipReq = "lib==99.0", "lib"
				e.verifyArgs = []string{e.saveLocal(t, evil.Filename, e.pubFile(t, evil))}
			},
			get: cellWant{exit: 1, text: []string{"/lib-99.0-py3-none-any.whl: mapping 1 (lib, */*/*/lib-*): none of internal signed it; internal: not signed by the repository; " +
				"mapping 1 is terminating, so no other repository is asked", hintMapRefused}},
			// No such release in internal: exit 2, as for any version a
			// repository does not have.
			download: cellWant{exit: 2, text: []string{"lib==99.0: no verified file matches lib==99.0 (no release matches the version constraint); " +
				"lib's page was taken from internal (mapping 1 of the map file)", "nothing was written to"}},
			verify: cellWant{exit: 1, text: []string{"FAILED  lib-99.0-py3-none-any.whl: not signed by the repository: unknown file: " +
				"lib's page, taken from internal (mapping 1 of the map file), has no file of this name"}},
			proxy: cellWant{ok: true, text: []string{"Successfully installed lib-1.1"}},
		},
		{
			name: "repositories-disagree",
			attack: "Every project and page is mapped to internal-mirror and public with threshold 2 (terminating). The attacker controls public (its keys): " +
				"it publishes lib 1.1 with other bytes (a dependency on evil added), validly signed, under the same file name as internal-mirror's, so the two also sign lib's page (target lib/lib.html) with different hashes. " +
				"get asks for lib's page, download and pip for lib==1.1, verify checks public's wheel.",
			multi: &multiSetup{
				internal: "internal-mirror",
				public: []repogen.ProjectSpec{
					{Name: "lib", Releases: []repogen.ReleaseSpec{repogen.Release("0.9"), repogen.Release("1.0")}},
					{Name: "app", Releases: []repogen.ReleaseSpec{repogen.Release("1.0", "lib>=1.0")}},
				},
				mapping: []mapping{
					{Paths: []string{"*", "*/*"}, Repositories: []string{"internal-mirror", publicRepo}, Threshold: 2, Terminating: true},
				},
			},
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.pub.AddRelease(repogen.ProjectSpec{Name: "lib", Releases: []repogen.ReleaseSpec{repogen.Release("1.1", "evil>=1")}}))
				forged := e.pub.file(t, "lib", "1.1", "wheel")
				if forged.Filename != e.wheel.Filename || forged.Hashes[repogen.HashBlake2b256] == e.wheel.Hashes[repogen.HashBlake2b256] {
					t.Fatalf("precondition: public's %s must be another file of the same name as %s", forged.Filename, e.wheel.Filename)
				}
				e.getTarget = e.tr.PageTarget("lib")
				e.verifyArgs = []string{e.saveLocal(t, forged.Filename, e.pubFile(t, forged))}
			},
			get: cellWant{exit: 1, text: []string{"lib/lib.html: mapping 1 (*, */*): the repositories disagree on its length and hashes: internal-mirror (", " vs public (",
				"; the mapping needs 2 that agree; mapping 1 is terminating, so no other repository is asked", hintMapRefused}},
			download: cellWant{exit: 1, text: []string{"lib==1.1: the map file's repositories list matching files but not enough of them agree on them " +
				"(1.1: {wheel}: the repositories disagree on its length and hashes: internal-mirror (", " vs public (", "nothing was written to"}},
			verify: cellWant{exit: 1, text: []string{"FAILED  {wheel}: refused by the map file: the repositories disagree on its length and hashes: internal-mirror (", " vs public ("}},
			proxy:  cellWant{status: 404, at: "file", nomatch: true, text: []string{"{wheel} is not a verified file of lib: the repositories disagree on its length and hashes: internal-mirror (", " vs public ("}},
		},
	}
}

// pubFile reads a file the public repository serves.
func (e *matrixEnv) pubFile(t *testing.T, f repogen.FileInfo) []byte {
	t.Helper()
	data, err := os.ReadFile(e.pub.packagePath(f.Path))
	matrixMust(t, err)
	return data
}
