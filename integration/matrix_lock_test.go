package integration

import "testing"

// lockRows are the attack matrix rows for lock files written through a
// tampered mirror: hash-checking at install time then protects the
// attack, so the lock itself must be checked against what the
// repository signed.
func lockRows() []matrixRow {
	return []matrixRow{{
		name: "lock-tampered-mirror",
		attack: "while the developer locked, a mirror served a tampered lib 1.1 wheel (same length), so poetry.lock pins the tampered bytes' sha256; " +
			"the mirror then serves the genuine file again, and the lock is all that remains of the attack",
		setup: func(t *testing.T, e *matrixEnv) {
			if err := e.tr.TamperFile(e.wheel.Path, true); err != nil {
				t.Fatal(err)
			}
			tampered := hexSHA256(e.served(t, e.wheel.Path))
			if err := e.tr.Heal(); err != nil {
				t.Fatal(err)
			}
			if hexSHA256(e.served(t, e.wheel.Path)) != e.wheel.Hashes["sha256"] || tampered == e.wheel.Hashes["sha256"] {
				t.Fatal("the tamper did not change the wheel, or healing did not restore it")
			}
			lock := lockRenderers["poetry.lock"]("http://127.0.0.1:8458/simple/", []lockedFixture{
				{"lib", "1.1", []lockedFixtureFile{{e.wheel.Filename, tampered}}},
			})
			path := e.saveLocal(t, "poetry.lock", []byte(lock))
			e.verifyArgs = []string{"--lock", path}
			e.dlArgs = []string{"--lock", path, "--python-version", "3.12"}
		},
		get: cellWant{na: "get fetches one target path by its signed info and reads no lock file"},
		download: cellWant{exit: 1, text: []string{
			"tufpip: {wheel}: lib==1.1 (",
			"): the lock pins sha256:",
			", but the file the repository signed has sha256:",
			"the lock does not pin what the repository signed",
			"nothing was written to ",
			"hint: the lock and the repository disagree",
		}},
		verify: cellWant{exit: 1, text: []string{
			"FAILED  lib==1.1 (",
			"): {wheel}: pinned sha256:",
			", but the repository signed sha256:",
			"the lock does not pin what the repository signed",
			"0 verified, 1 failed",
		}},
		proxy: cellWant{na: "the proxy serves the genuine, signed wheel; pip, installing from the lock with its hashes, refuses it itself: the lock is what must be checked (verify --lock), and the proxy never sees it"},
	}}
}
