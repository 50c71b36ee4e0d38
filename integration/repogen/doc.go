// Package repogen writes PEP 458 test repositories: complete package
// indexes with real TUF metadata, laid out the way RSTUF and Warehouse
// publish them, that a plain static HTTP server can serve. Every
// end-to-end test, attack test and demo of tufpip builds its world with
// it, so it aims to look exactly like the reference fixture that
// python-tuf made (shared/fixtures/pep458-python-tuf).
//
// A repository rooted at Dir holds:
//
//	metadata/            timestamp.json, N.root.json (every version),
//	                     N.snapshot.json, N.targets.json, N.<bin>.json
//	                     for every bin, consistent snapshots on
//	packages/            Warehouse tree <b2[0:2]>/<b2[2:4]>/<b2[4:]>/<file>
//	                     plus <wheel>.metadata (PEP 658)
//	simple/              index.html, index.json and per project
//	                     <name>/index.html, index.json and the hashed
//	                     <name>/<blake2b>.<name>.html
//	trusted-root.json    version 1 of root, the one to ship
//	.repogen/            private: keys, settings, release list, history;
//	                     never served by NewHandler
//
// Serve it with Serve or NewHandler: a generic static server would also
// serve .repogen, whose keys would let anyone sign for the repository.
//
// Roles follow RSTUF: root is offline with its own keys (t of n); one
// online key signs targets, snapshot, timestamp and every bin; targets
// delegates all paths to 2^B bins with TAP 15 succinct_roles. Snapshot and
// timestamp list versions only. Target info carries blake2b-256 (and
// optionally sha256/sha512). Which index pages are targets, and under
// what path, is the IndexLayout (DESIGN.md §1).
//
// The TUFLayoutPEP458Text layout instead delegates targets → "bins" →
// "bin-n" with path_hash_prefixes in hex, as the TUF specification and
// python-tuf define them. go-tuf v2.4.2 matches those prefixes against a
// base64 digest (fixed upstream after that release), so go-tuf v2.4.2
// cannot look targets up in that layout.
//
// After Generate, the Repo's methods change the repository the way an
// operator (AddRelease, Yank, ResignOnline, RotateRoot, RotateOnlineKey)
// or an attacker (Rollback, MixAndMatch, TamperFile, TamperPage,
// SignBinWithWrongKey, DropBin, RotateRootBad, EndlessFile, SlowFile)
// would; ExpireTimestamp and ExpireRole model a repository that stopped
// re-signing. Heal undoes the attacks. Open reloads a repository in
// another process.
package repogen
