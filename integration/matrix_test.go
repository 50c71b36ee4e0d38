package integration

// The attack and fault matrix: every attack of PEP 458's threat model
// (and the faults a hostile server can add) against every way in —
// "tufpip get", "tufpip download", "tufpip verify" and the proxy driven by
// real pip — with the built binary. Each cell is a subtest
// TestMatrix/<row>/<column> that asserts the exit status (or pip's
// failure and the proxy's HTTP status), the words the user reads, and that
// no unverified byte reached pip's --target dir, the output file or
// directory, or the artifact cache. docs/attack-matrix.md is rendered from
// the table below (TestAttackMatrixDoc); regenerate it with
//
//	go test ./integration/ -run TestAttackMatrixDoc -update-matrix

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

var updateMatrix = flag.Bool("update-matrix", false, "rewrite docs/attack-matrix.md from the attack matrix table")

// The columns.
const (
	colGet      = "get"
	colDownload = "download"
	colVerify   = "verify"
	colProxy    = "proxy"
)

var matrixColumns = []string{colGet, colDownload, colVerify, colProxy}

// cellWant is what one column must show for one row: either n/a with a
// reason, or an outcome.
type cellWant struct {
	// na is why the column does not apply.
	na string
	// exit is the command's exit status (get, download, verify).
	exit int
	// ok: the command (or pip) must succeed with the signed bytes.
	ok bool
	// text are phrases the user must read: in the command's output, or
	// in the proxy's refusal body. Placeholders: see matrixEnv.expand.
	text []string
	// status is the HTTP status the proxy answers at "page" (lib's
	// page) or "file" (the file the row attacks); nomatch says that pip
	// never sees the file at all ("No matching distribution found").
	status  int
	at      string
	nomatch bool
	// note flags an outcome that is safe but not what it should be (a
	// finding); the document shows it.
	note string
	// request, for the proxy column of an attack that is not made
	// through pip (a web page's requests, say): what the attacker sends
	// instead, with what the proxy must answer in status and text.
	request *attackRequest
}

// attackRequest is an HTTP request to the proxy that is not pip's.
type attackRequest struct {
	// describe says who sends it, for the document.
	describe string
	method   string
	// path is below the proxy's base URL.
	path   string
	header map[string]string
}

// matrixRow is one attack.
type matrixRow struct {
	name string
	// attack says what the attacker does, for the document.
	attack string
	opts   repogen.Options
	// before is the repository's legitimate history before clients
	// first look (so that there is an older version to roll back to).
	before func(t *testing.T, e *matrixEnv)
	// prime: the command columns' homes trust the repository as it is
	// after before, as a user's who ran tufpip yesterday. The proxy is
	// always started (and so primed) before the attack.
	prime bool
	// setup is the attack, on the served repository.
	setup func(t *testing.T, e *matrixEnv)
	// slow: every refused request takes tens of seconds. Slow rows start
	// first, and the proxy cell checks the refusal in the proxy's log
	// instead of asking again.
	slow bool
	// multi, if set, runs the row with a TAP 4 map file over two
	// repositories (matrix_multirepo_test.go).
	multi *multiSetup

	get, download, verify, proxy cellWant
}

func (r *matrixRow) want(col string) cellWant {
	switch col {
	case colGet:
		return r.get
	case colDownload:
		return r.download
	case colVerify:
		return r.verify
	}
	return r.proxy
}

// Reasons shared by several n/a cells, notes and phrases.
const (
	naTransfer = "verify checks a file already on disk and downloads no artifact; this attack is on an artifact's transfer"

	noteBackwards = "go-tuf's numbers read backwards (1 is what the new snapshot lists, 2 what is trusted); troubleshooting.md explains both readings of “expected ROLE version N, got M”"

	hintMismatch = "hint: the file does not match what the repository signed"
	hintNetwork  = "hint: check the repository URLs and your network"
	hintRedirect = "hint: the server redirected to another host; tufpip refuses that"
	hintMetadata = "hint: the repository's TUF metadata did not verify"
	hintExpired  = "hint: the repository's signed metadata has expired"
)

// metadataCells is the common expectation of a metadata attack: every
// command exits 2 naming the role and the check, and the proxy refuses
// lib's page with status.
func metadataCells(r matrixRow, status int, text ...string) matrixRow {
	var body []string
	for _, s := range text {
		if !strings.HasPrefix(s, "hint: ") {
			body = append(body, s)
		}
	}
	r.get = cellWant{exit: 2, text: text}
	r.download = cellWant{exit: 2, text: text}
	r.verify = cellWant{exit: 2, text: text}
	r.proxy = cellWant{status: status, at: "page", text: body}
	return r
}

// matrixRows is the matrix. Keep docs/attack-matrix.md in step
// (TestAttackMatrixDoc).
func matrixRows() []matrixRow {
	rows := []matrixRow{
		// ---- arbitrary or tampered files and pages ----
		{
			name:   "tampered-file-same-length",
			attack: "The mirror serves lib 1.1's wheel with one byte flipped: same length, different content.",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.TamperFile(e.wheel.Path, true))
				e.verifyArgs = []string{e.saveLocal(t, e.wheel.Filename, e.served(t, e.wheel.Path))}
			},
			get:      cellWant{exit: 1, text: []string{"{target}: blake2b-256 mismatch: signed ", hintMismatch}},
			download: cellWant{exit: 1, text: []string{"{wheel}: not caching unverified download: {target}: blake2b-256 mismatch: signed ", "nothing was written to"}},
			verify:   cellWant{exit: 1, text: []string{"FAILED  {wheel}: does not match what the repository signed: blake2b-256 mismatch: signed "}},
			proxy:    cellWant{status: 502, at: "file", text: []string{"{wheel}: not caching unverified download: {target}: blake2b-256 mismatch"}},
		},
		{
			name:   "tampered-file-longer",
			attack: "The mirror serves lib 1.1's wheel with bytes appended.",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.TamperFile(e.wheel.Path, false))
				e.verifyArgs = []string{e.saveLocal(t, e.wheel.Filename, e.served(t, e.wheel.Path))}
			},
			get:      cellWant{exit: 1, text: []string{"{target}: length mismatch: signed ", "(announced)", hintMismatch}},
			download: cellWant{exit: 1, text: []string{"{wheel}: downloading {target}: {target}: length mismatch: signed ", "nothing was written to"}},
			verify:   cellWant{exit: 1, text: []string{"FAILED  {wheel}: does not match what the repository signed: length mismatch: signed "}},
			proxy:    cellWant{status: 502, at: "file", text: []string{"{target}: length mismatch: signed "}},
		},
		pageRow("tampered-page-longer", "The mirror serves lib's signed index page with a link to a release the repository never published (layout simple-path, where the page is fetched at its target path).",
			func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.TamperPage("lib")) }, "length mismatch"),
		pageRow("tampered-page-same-length", "The mirror serves lib's signed index page with one hex digit of a file's sha256 changed: same length (layout simple-path).",
			func(t *testing.T, e *matrixEnv) {
				_, err := e.tr.TamperPageKeepLength("lib")
				matrixMust(t, err)
			}, "blake2b-256 mismatch"),
		{
			name:     "file-not-signed",
			attack:   "The mirror plants an installable lib 9.0 wheel the repository never signed and links it from lib's page (layout dists-only, where the page is not signed).",
			opts:     repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly},
			setup:    plantUnsigned,
			get:      cellWant{exit: 1, text: []string{"/lib-9.0-py3-none-any.whl: not signed by the repository", "hint: the repository has not signed this file"}},
			download: cellWant{exit: 1, text: []string{"lib==9.0: the repository lists matching files but has not signed them (9.0: lib-9.0-py3-none-any.whl: not signed by the repository)"}},
			verify:   cellWant{exit: 1, text: []string{"FAILED  lib-9.0-py3-none-any.whl: not signed by the repository"}},
			proxy:    cellWant{status: 404, at: "file", nomatch: true, text: []string{"lib-9.0-py3-none-any.whl is not a verified file of lib"}},
		},

		// ---- rollback: clients that trust newer metadata ----
		metadataCells(matrixRow{
			name:   "rollback-timestamp",
			attack: "The mirror replays the previous timestamp.json to clients that trust the current one.",
			before: resignSnapshot, prime: true,
			setup: func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.Rollback(repogen.RoleTimestamp)) },
		}, 502, "(role timestamp)", "new timestamp version 1 must be >= 2", hintMetadata),
		metadataCells(matrixRow{
			name:   "rollback-snapshot",
			attack: "A new timestamp names the previous snapshot version.",
			before: resignSnapshot, prime: true,
			setup: func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.Rollback(repogen.RoleSnapshot)) },
		}, 502, "(role timestamp)", "new snapshot version 1 must be >= 2", hintMetadata),
		noted(metadataCells(matrixRow{
			name:   "rollback-targets",
			attack: "A new snapshot lists the previous version of targets.",
			before: resignAll, prime: true,
			setup: func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.Rollback(repogen.RoleTargets)) },
		}, 502, "(role snapshot)", "expected targets.json version 1, got 2", hintMetadata), noteBackwards),
		noted(metadataCells(matrixRow{
			name:   "rollback-bin",
			attack: "A new snapshot lists the previous version of the bin that signs lib 1.1's wheel.",
			before: resignAll, prime: true,
			setup: func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.Rollback(e.tr.BinFor(e.wheel.Path))) },
		}, 502, "(role snapshot)", "expected {bin}.json version 1, got 2", hintMetadata), noteBackwards),
		metadataCells(matrixRow{
			name:   "rollback-root",
			attack: "The repository rotated its online key in root v2; the mirror serves a copy of its metadata frozen before the rotation (root v1's world) to clients that trust root v2.",
			before: func(t *testing.T, e *matrixEnv) {
				frozen := filepath.Join(t.TempDir(), "frozen")
				matrixMust(t, os.CopyFS(filepath.Join(frozen, "metadata"), os.DirFS(filepath.Join(e.tr.Dir(), "metadata"))))
				e.frozen = frozen
				matrixMust(t, e.tr.RotateOnlineKey())
			},
			prime: true,
			setup: func(t *testing.T, e *matrixEnv) { e.h.freezeMetadata(e.frozen) },
		}, 502, "(role timestamp)", "Verifying timestamp failed, not enough signatures, got 0, want 1", hintMetadata),

		// ---- freeze ----
		metadataCells(matrixRow{
			name:   "expired-timestamp",
			attack: "The mirror serves a correctly signed timestamp whose expiry has passed.",
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.ExpireTimestamp()) },
		}, 503, "(role timestamp)", "metadata expired", "timestamp.json is expired", hintExpired),
		metadataCells(matrixRow{
			name:   "expired-snapshot",
			attack: "The snapshot the timestamp names has expired.",
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.ExpireRole(repogen.RoleSnapshot)) },
		}, 503, "(role snapshot)", "metadata expired", "snapshot.json is expired", hintExpired),
		metadataCells(matrixRow{
			name:   "expired-targets",
			attack: "The targets role the snapshot names has expired.",
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.ExpireRole(repogen.RoleTargets)) },
		}, 503, "(role targets)", "metadata expired", "new targets is expired", hintExpired),
		metadataCells(matrixRow{
			name:   "expired-bin",
			attack: "The bin that signs lib 1.1's wheel has expired.",
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.ExpireRole(e.tr.BinFor(e.wheel.Path))) },
		}, 503, "(role {bin})", "metadata expired", "new {bin} is expired", hintExpired),
		metadataCells(matrixRow{
			name:   "expired-root",
			attack: "The repository publishes a correctly signed root v2 whose expiry has passed.",
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.ExpireRole(repogen.RoleRoot)) },
		}, 503, "(role root)", "metadata expired", "final root.json is expired", hintExpired),

		// ---- mix-and-match ----
		metadataCells(matrixRow{
			name:   "mix-and-match",
			attack: "The mirror serves, under the current version's name, the previous version of the bin that signs lib 1.1's wheel: a snapshot from one moment, a bin from another.",
			before: resignAll,
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.MixAndMatch(e.tr.BinFor(e.wheel.Path))) },
		}, 502, "(role {bin})", "expected {bin} version 2, got 1", hintMetadata),

		// ---- endless data ----
		metadataCells(matrixRow{
			name:   "endless-metadata",
			attack: "The mirror answers timestamp.json with an endless stream.",
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.EndlessFile("metadata/timestamp.json")) },
		}, 502, "(role timestamp)", "more than the allowed 16384 bytes (endless data?)", hintMetadata),
		{
			name:   "endless-artifact",
			attack: "The mirror answers lib 1.1's wheel with an endless stream.",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.EndlessFile("packages/"+e.wheel.Path))
				data := append(e.served(t, e.wheel.Path), bytes.Repeat([]byte("tufpip-endless-data "), 4096)...)
				e.verifyArgs = []string{e.saveLocal(t, e.wheel.Filename, data)}
			},
			get:      cellWant{exit: 1, text: []string{"{target}: length mismatch: signed ", " bytes, got more than "}},
			download: cellWant{exit: 1, text: []string{"{wheel}: not caching unverified download: {target}: length mismatch: signed ", " bytes, got more than ", "nothing was written to"}},
			verify:   cellWant{exit: 1, text: []string{"FAILED  {wheel}: does not match what the repository signed: length mismatch: signed ", " bytes, file has "}},
			proxy:    cellWant{status: 502, at: "file", text: []string{"{target}: length mismatch: signed ", " bytes, got more than "}},
		},

		// ---- slow retrieval ----
		metadataCells(matrixRow{
			name:   "slow-metadata",
			slow:   true,
			attack: "The repository publishes a new snapshot; the mirror trickles it at 50 bytes/s (it would take minutes).",
			setup: onNewSnapshot(func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.SlowFile(fmt.Sprintf("metadata/%d.snapshot.json", e.tr.RoleVersion(repogen.RoleSnapshot)), 50))
			}),
		}, 502, ".snapshot.json: download too slow (possible slow-retrieval attack)", hintNetwork),
		{
			name:     "slow-artifact",
			slow:     true,
			attack:   "The mirror trickles lib 1.1's wheel at 10 bytes/s.",
			setup:    func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.SlowFile("packages/"+e.wheel.Path, 10)) },
			get:      cellWant{exit: 2, text: []string{"reading {target}: fetching ", "download too slow (possible slow-retrieval attack)"}},
			download: cellWant{exit: 2, text: []string{"{wheel}", "download too slow (possible slow-retrieval attack)"}},
			verify:   cellWant{na: naTransfer},
			proxy:    cellWant{status: 502, at: "file", text: []string{"reading {target}: fetching ", "download too slow (possible slow-retrieval attack)"}},
		},
		{
			name:   "stalled-artifact",
			slow:   true,
			attack: "The mirror announces lib 1.1's wheel's full length, sends 100 bytes, then nothing, holding the connection open.",
			setup: func(t *testing.T, e *matrixEnv) {
				e.h.set("/packages/"+e.wheel.Path, hostileRule{stallAfter: 100})
			},
			get:      cellWant{exit: 2, text: []string{"reading {target}: fetching ", "download stalled: no data received (possible slow-retrieval attack) after 30s"}},
			download: cellWant{exit: 2, text: []string{"{wheel}", "download stalled: no data received (possible slow-retrieval attack) after 30s"}},
			verify:   cellWant{na: naTransfer},
			proxy:    cellWant{status: 502, at: "file", text: []string{"reading {target}: fetching ", "download stalled: no data received (possible slow-retrieval attack) after 30s"}},
		},

		// ---- signatures ----
		metadataCells(matrixRow{
			name:   "signature-none",
			attack: "The bin that signs lib 1.1's wheel is served with no signatures at all (0 of threshold 1).",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.SignOnlineBad(e.tr.BinFor(e.wheel.Path), repogen.BadSigNone))
			},
		}, 502, "(role {bin})", "Verifying {bin} failed, not enough signatures, got 0, want 1", hintMetadata),
		metadataCells(matrixRow{
			name:   "signature-unknown-key",
			attack: "The timestamp is signed by a key the repository never listed, under that key's own ID.",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.SignOnlineBad(repogen.RoleTimestamp, repogen.BadSigUnknownKey))
			},
		}, 502, "(role timestamp)", "Verifying timestamp failed, not enough signatures, got 0, want 1", hintMetadata),
		metadataCells(matrixRow{
			name:   "signature-other-role-key",
			attack: "The repository publishes a new snapshot; the mirror serves it signed by a key the repository lists for another role (a root key).",
			setup: onNewSnapshot(func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.SignOnlineBad(repogen.RoleSnapshot, repogen.BadSigOtherRoleKey))
			}),
		}, 502, "(role snapshot)", "Verifying snapshot failed, not enough signatures, got 0, want 1", hintMetadata),
		metadataCells(matrixRow{
			name:   "wrong-key-bin",
			attack: "The bin that signs lib 1.1's wheel is signed by a key nobody delegated to, claiming the online key's ID.",
			setup: func(t *testing.T, e *matrixEnv) {
				matrixMust(t, e.tr.SignBinWithWrongKey(e.tr.BinFor(e.wheel.Path)))
			},
		}, 502, "(role {bin})", "Verifying {bin} failed, not enough signatures, got 0, want 1", hintMetadata),
		metadataCells(matrixRow{
			name:   "null-target-entry",
			attack: "The mirror serves the bin that signs lib 1.1's wheel with an extra `\"x\": null` target entry (unsigned: the signature no longer matches), which makes go-tuf v2.4.2 dereference nil while decoding, before any signature check: a crash of the process if unguarded.",
			setup: func(t *testing.T, e *matrixEnv) {
				p, data := e.metadataFile(t, e.tr.BinFor(e.wheel.Path))
				e.h.set(p, hostileRule{body: matrixReplaceLast(t, data, `"targets": {`, `"targets": {"x": null, `)})
			},
		}, 502, "(role {bin})", "go-tuf could not decode it", hintMetadata),
		func() matrixRow {
			r := metadataCells(matrixRow{
				name:   "missing-bin",
				attack: "The mirror lost (or hides) the bin that signs lib 1.1's wheel: 404.",
				setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.DropBin(e.tr.BinFor(e.wheel.Path))) },
			}, 502, ".{bin}.json: unexpected HTTP status 404", hintNetwork)
			return r
		}(),

		// ---- malformed metadata ----
		metadataCells(matrixRow{
			name:   "malformed-json",
			attack: "The bin that signs lib 1.1's wheel is served cut in half: not JSON.",
			setup: func(t *testing.T, e *matrixEnv) {
				p, data := e.metadataFile(t, e.tr.BinFor(e.wheel.Path))
				e.h.set(p, hostileRule{body: data[:len(data)/2]})
			},
		}, 502, "(role {bin})", "unexpected end of JSON input", hintMetadata),
		metadataCells(matrixRow{
			name:   "wrong-types",
			attack: `The repository publishes a new snapshot; the mirror serves it with its "version" as a string ("2"), not a number.`,
			setup: onNewSnapshot(func(t *testing.T, e *matrixEnv) {
				p, data := e.metadataFile(t, repogen.RoleSnapshot)
				e.h.set(p, hostileRule{body: matrixReplaceLast(t, data, `"version": 2`, `"version": "2"`)})
			}),
		}, 502, "(role snapshot)", "cannot unmarshal string into Go struct field", hintMetadata),
		metadataCells(matrixRow{
			name:   "duplicate-keys",
			attack: `The timestamp carries a second "expires" key, after the signed one, pushing its expiry to 2099 (JSON parsers keep the last).`,
			setup: func(t *testing.T, e *matrixEnv) {
				p, data := e.metadataFile(t, repogen.RoleTimestamp)
				e.h.set(p, hostileRule{body: insertBeforeSignedEnd(t, data, `, "expires": "2099-01-01T00:00:00Z"`)})
			},
		}, 502, "(role timestamp)", "Verifying timestamp failed, not enough signatures, got 0, want 1", hintMetadata),
		metadataCells(matrixRow{
			name:   "huge-numbers",
			attack: "The mirror offers a next root, 2.root.json, whose version is 2^64+1.",
			setup: func(t *testing.T, e *matrixEnv) {
				data, err := os.ReadFile(filepath.Join(e.tr.Dir(), "metadata", "1.root.json"))
				matrixMust(t, err)
				e.h.set("/metadata/2.root.json", hostileRule{body: matrixReplaceLast(t, data, `"version": 1`, `"version": 18446744073709551617`)})
			},
		}, 502, "(role root)", "cannot unmarshal number 18446744073709551617", hintMetadata),
	}
	rows = append(rows, hostileNameRows()...)
	rows = append(rows,
		// ---- hostile servers ----
		metadataCells(matrixRow{
			name:   "redirect-metadata",
			attack: "The mirror answers timestamp.json with a 302 to another host (which serves the genuine file).",
			setup: func(t *testing.T, e *matrixEnv) {
				e.h.set("/metadata/timestamp.json", hostileRule{redirect: e.other + "/metadata/timestamp.json"})
			},
		}, 502, "/metadata/timestamp.json\": redirect to another host refused: ", hintRedirect),
		artifactRow("redirect-artifact", "The mirror answers lib 1.1's wheel with a 302 to another host (which serves the genuine file).",
			func(t *testing.T, e *matrixEnv) {
				e.h.set("/packages/"+e.wheel.Path, hostileRule{redirect: e.other + "/packages/" + e.wheel.Path})
			}, "downloading {target}: fetching ", "redirect to another host refused: ", hintRedirect),
		metadataCells(matrixRow{
			name:   "http-error-metadata",
			attack: "The repository publishes a new snapshot; the mirror answers it with 503 (tufpip retries, then gives up).",
			setup: onNewSnapshot(func(t *testing.T, e *matrixEnv) {
				p, _ := e.metadataFile(t, repogen.RoleSnapshot)
				e.h.set(p, hostileRule{status: 503})
			}),
		}, 502, ".snapshot.json: unexpected HTTP status 503", hintNetwork),
		artifactRow("http-error-artifact", "The mirror answers lib 1.1's wheel with 500 (tufpip retries, then gives up).",
			func(t *testing.T, e *matrixEnv) {
				e.h.set("/packages/"+e.wheel.Path, hostileRule{status: 500})
			}, "downloading {target}: fetching ", "unexpected HTTP status 500", hintNetwork),
		metadataCells(matrixRow{
			name:   "reset-metadata",
			attack: "The repository publishes a new snapshot; the mirror announces its full length, sends 100 bytes and drops the connection.",
			setup: onNewSnapshot(func(t *testing.T, e *matrixEnv) {
				p, _ := e.metadataFile(t, repogen.RoleSnapshot)
				e.h.set(p, hostileRule{cutAfter: 100})
			}),
		}, 502, ".snapshot.json: unexpected EOF", hintNetwork),
		matrixRow{
			name:   "reset-artifact",
			attack: "The mirror announces lib 1.1's wheel's full length, sends 100 bytes and drops the connection.",
			setup: func(t *testing.T, e *matrixEnv) {
				e.h.set("/packages/"+e.wheel.Path, hostileRule{cutAfter: 100})
			},
			get:      cellWant{exit: 2, text: []string{"reading {target}: fetching ", "unexpected EOF"}},
			download: cellWant{exit: 2, text: []string{"{wheel}", "unexpected EOF"}},
			verify:   cellWant{na: naTransfer},
			proxy:    cellWant{status: 502, at: "file", text: []string{"reading {target}: fetching ", "unexpected EOF"}},
		},
	)
	// ---- root rotation ----
	for _, c := range []struct{ kind, attack, text string }{
		{repogen.BadRootUnsignedByOld, "signed only by new keys, none of root v1's", "Verifying root failed, not enough signatures, got 0, want 2"},
		{repogen.BadRootBelowThreshold, "signed by 1 of root v1's keys where v1 demands 2 of 3", "Verifying root failed, not enough signatures, got 1, want 2"},
		{repogen.BadRootUnsignedByNew, "signed by root v1's keys but not by the keys it names itself", "Verifying root failed, not enough signatures, got 0, want 1"},
		{repogen.BadRootWrongVersion, "correctly signed, but 2.root.json says it is version 3", "bad version number, expected 2, got 3"},
	} {
		rows = append(rows, metadataCells(matrixRow{
			name:   "bad-root-" + c.kind,
			attack: "The mirror publishes a root v2 " + c.attack + " (root v1: 2-of-3 keys).",
			opts:   repogen.Options{RootKeys: 3, RootThreshold: 2},
			setup:  func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.RotateRootBad(c.kind)) },
		}, 502, "(role root)", c.text, hintMetadata))
	}
	rows = append(rows, matrixRow{
		name: "fast-forward-recovery",
		attack: "Not an attack but the recovery from one: clients trust timestamp and snapshot v6; the repository rotates its online key in root v2 and restarts " +
			"timestamp and snapshot at version 1 (TUF specification 5.3.11). Clients must follow, not refuse it as a rollback.",
		before: func(t *testing.T, e *matrixEnv) {
			for range 5 {
				matrixMust(t, e.tr.ResignOnline(repogen.RoleSnapshot))
			}
		},
		prime:    true,
		setup:    func(t *testing.T, e *matrixEnv) { matrixMust(t, e.tr.RotateOnlineKeyRestart()) },
		get:      cellWant{ok: true, text: []string{"verified {target}: ", "(snapshot v1)"}},
		download: cellWant{ok: true, text: []string{"verified {wheel} ("}},
		verify:   cellWant{ok: true, text: []string{"ok      {wheel}", "1 verified, 0 failed"}},
		proxy:    cellWant{ok: true},
	})
	// Rows for the outside review's findings (issue 10), one file each.
	rows = append(rows, staleRows()...)
	rows = append(rows, crossProjectRows()...)
	rows = append(rows, disclosureRows()...)
	rows = append(rows, roleNameRows()...)
	rows = append(rows, requirementsRows()...)
	rows = append(rows, rebindingRows()...)
	rows = append(rows, lockRows()...)
	// Issue 12: several repositories behind one map file.
	rows = append(rows, multiRepoRows()...)
	return rows
}

// pageRow is a tampered-page attack in the simple-path layout, where the
// page is fetched at its target path, so "tufpip get" can fetch it.
func pageRow(name, attack string, setup func(*testing.T, *matrixEnv), check string) matrixRow {
	return matrixRow{
		name:   name,
		attack: attack,
		opts:   repogen.Options{IndexLayout: repogen.IndexLayoutSimplePath},
		setup: func(t *testing.T, e *matrixEnv) {
			setup(t, e)
			e.getTarget, e.getBase = "simple/lib/index.html", e.tr.URL+"/"
			e.verifyArgs = []string{"-r", e.saveLocal(t, "requirements.txt", []byte("lib==1.1\n"))}
		},
		get:      cellWant{exit: 1, text: []string{"simple/lib/index.html: " + check, hintMismatch}},
		download: cellWant{exit: 2, text: []string{"lib==1.1: index page of lib: simple/lib/index.html: " + check, "nothing was written to"}},
		verify:   cellWant{exit: 1, text: []string{"FAILED  lib==1.1: index page of lib: simple/lib/index.html: " + check}},
		proxy:    cellWant{status: 502, at: "page", text: []string{"index page of lib: simple/lib/index.html: " + check}},
	}
}

// artifactRow is a hostile-server fault on lib 1.1's wheel's transfer.
func artifactRow(name, attack string, setup func(*testing.T, *matrixEnv), text ...string) matrixRow {
	return matrixRow{
		name:     name,
		attack:   attack,
		setup:    setup,
		get:      cellWant{exit: 2, text: text},
		download: cellWant{exit: 2, text: text},
		verify:   cellWant{na: naTransfer},
		proxy:    cellWant{status: 502, at: "file", text: text[:len(text)-1]},
	}
}

// noted adds a finding's note to every cell of r.
func noted(r matrixRow, note string) matrixRow {
	r.get.note, r.download.note, r.verify.note, r.proxy.note = note, note, note, note
	return r
}

// onNewSnapshot runs attack after the repository has published a new
// snapshot (and timestamp), so that every client, the running proxy
// included, must fetch the attacked snapshot: a client whose trusted
// snapshot is still the one the timestamp names rightly never asks.
func onNewSnapshot(attack func(*testing.T, *matrixEnv)) func(*testing.T, *matrixEnv) {
	return func(t *testing.T, e *matrixEnv) {
		matrixMust(t, e.tr.ResignOnline(repogen.RoleSnapshot))
		e.tr.recordLegit(t)
		attack(t, e)
	}
}

func resignSnapshot(t *testing.T, e *matrixEnv) {
	matrixMust(t, e.tr.ResignOnline(repogen.RoleSnapshot))
}

func resignAll(t *testing.T, e *matrixEnv) {
	matrixMust(t, e.tr.ResignOnline())
}

func matrixMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// metadataFile is the served path and bytes of role's current version.
func (e *matrixEnv) metadataFile(t *testing.T, role string) (string, []byte) {
	t.Helper()
	name := fmt.Sprintf("%d.%s.json", e.tr.RoleVersion(role), role)
	if role == repogen.RoleTimestamp {
		name = "timestamp.json"
	}
	data, err := os.ReadFile(filepath.Join(e.tr.Dir(), "metadata", name))
	matrixMust(t, err)
	return "/metadata/" + name, data
}

func matrixReplaceLast(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	i := bytes.LastIndex(data, []byte(old))
	if i < 0 {
		t.Fatalf("no %q in the metadata", old)
	}
	return slices.Concat(data[:i], []byte(new), data[i+len(old):])
}

// insertBeforeSignedEnd adds s at the end of the "signed" object, the
// last object of a metadata file.
func insertBeforeSignedEnd(t *testing.T, data []byte, s string) []byte {
	t.Helper()
	trimmed := bytes.TrimRight(data, " \n")
	if !bytes.HasSuffix(trimmed, []byte("}")) {
		t.Fatal("metadata does not end in }")
	}
	i := bytes.LastIndexByte(trimmed[:len(trimmed)-1], '}')
	if i < 0 {
		t.Fatal("metadata has no signed object")
	}
	return slices.Concat(data[:i], []byte(s), data[i:])
}

// plantUnsigned puts a real, installable lib 9.0 wheel that the
// repository never signed into its file tree and links it from lib's
// (unsigned, dists-only) page.
func plantUnsigned(t *testing.T, e *matrixEnv) {
	evil, data := foreignWheel(t, "lib", "9.0")
	matrixMust(t, os.MkdirAll(filepath.Dir(e.tr.packagePath(evil.Path)), 0o755))
	matrixMust(t, os.WriteFile(e.tr.packagePath(evil.Path), data, 0o644))
	pagePath := filepath.Join(e.tr.Dir(), "simple", "lib", "index.html")
	page, err := os.ReadFile(pagePath)
	matrixMust(t, err)
	link := `    <a href="../../packages/` + evil.Path + `#sha256=` + evil.Hashes["sha256"] + `">` + evil.Filename + "</a><br />\n"
	page = bytes.Replace(page, []byte("  </body>"), []byte(link+"  </body>"), 1)
	matrixMust(t, os.WriteFile(pagePath, page, 0o644))
	e.getTarget = evil.Path
	e.dlReq, e.pipReq = "lib==9.0", "lib==9.0"
	e.proxyFile = evil.Filename
	e.verifyArgs = []string{e.saveLocal(t, evil.Filename, data)}
}

// foreignWheel builds a real wheel of project version in a repository of
// its own: bytes this row's repository never signed.
func foreignWheel(t *testing.T, project, version string) (repogen.FileInfo, []byte) {
	t.Helper()
	other, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "other"), BitLength: 1}, []repogen.ProjectSpec{
		{Name: project, Releases: []repogen.ReleaseSpec{{Version: version, Dists: repogen.Wheel}}},
	})
	matrixMust(t, err)
	f := other.Files()[0]
	data, err := os.ReadFile(filepath.Join(other.Dir(), "packages", filepath.FromSlash(f.Path)))
	matrixMust(t, err)
	return f, data
}

// ---- hostile target names ----

// hostileName is a target name a repository signs and lists.
type hostileName struct {
	kind, attack string
	// target is the signed target path; href the page's link to it,
	// relative to the page; served the URL path the hostile server
	// answers with the file's bytes (no one may ask for it).
	target, href, served string
	// local is the file name "tufpip verify" is given, or "".
	local                 string
	get, download, verify cellWant
}

func hostileNameRows() []matrixRow {
	const whl = "evil-1.0-py3-none-any.whl"
	long := "evil-1.0+" + strings.Repeat("x", 300) + "-py3-none-any.whl"
	const rlo = "ev\u202eil-1.0-py3-none-any.whl"
	// Links whose file name is unsafe are dropped while the page is
	// parsed: download sees no file at all.
	noMatch := cellWant{exit: 2, text: []string{"evil: no verified file matches evil", "nothing was written to"}}
	naDisk := func(what string) cellWant {
		return cellWant{na: "no file on disk can be named " + what + "; verify takes the target path from a file's content hash and base name"}
	}
	names := []hostileName{
		{
			kind: "dotdot", attack: "`../../" + whl + "`, linked as `packages/%2E%2E/%2E%2E/" + whl + "`",
			target: "../../" + whl, href: "../../packages/%2E%2E/%2E%2E/" + whl, served: "/packages/%2E%2E/%2E%2E/" + whl,
			get:      cellWant{exit: 1, text: []string{`"../../` + whl + `": not signed by the repository: target path has a ".." segment`}},
			download: cellWant{exit: 1, text: []string{"evil: the repository lists matching files but has not signed them", `invalid target path "../../` + whl + `": dot segment`}},
			verify:   naDisk("with a `..` segment"),
		},
		{
			kind: "absolute", attack: "`/" + whl + "`, linked as `packages//" + whl + "`",
			target: "/" + whl, href: "../../packages//" + whl, served: "/packages//" + whl,
			get:      cellWant{exit: 1, text: []string{`"/` + whl + `": not signed by the repository: target path is absolute`}},
			download: cellWant{exit: 1, text: []string{"evil: the repository lists matching files but has not signed them", `invalid target path "/` + whl + `": absolute`}},
			verify:   naDisk("with a leading `/`"),
		},
		{
			kind: "nul", attack: "`" + whl + "\\x00../../etc/passwd`, linked with `%00`",
			target: whl + "\x00../../etc/passwd", href: "../../packages/" + whl + "%00..%2F..%2Fetc%2Fpasswd", served: "/packages/" + whl + "\x00../../etc/passwd",
			get:      cellWant{na: "a command-line argument cannot hold a NUL byte, so no one can ask for this name"},
			download: noMatch,
			verify:   naDisk("with a NUL byte"),
		},
		{
			kind: "long", attack: "a " + strconv.Itoa(len(long)) + "-byte file name `evil-1.0+xxx…-py3-none-any.whl`",
			target: "ev/il/" + long, href: "../../packages/ev/il/" + long, served: "/packages/ev/il/" + long,
			get:      cellWant{exit: 1, text: []string{"-py3-none-any.whl\": not signed by the repository: invalid target path", "segment longer than 255 bytes"}},
			download: noMatch,
			verify:   naDisk("with more than 255 bytes"),
		},
		{
			kind: "unicode", attack: "`ev\\u202eil-1.0-py3-none-any.whl`: a right-to-left override (it displays as `evlhw.yna-enon-3yp-0.1-li`)",
			target: "ev/il/" + rlo, href: "../../packages/ev/il/ev%E2%80%AEil-1.0-py3-none-any.whl", served: "/packages/ev/il/" + rlo,
			local:    rlo,
			get:      cellWant{exit: 1, text: []string{`-py3-none-any.whl": not signed by the repository: invalid target path`, "contains a control or formatting character"}},
			download: noMatch,
			// The name is shown escaped (issue 10, item 5).
			verify: cellWant{exit: 1, text: []string{`FAILED  ev\u202eil-1.0-py3-none-any.whl: not a wheel or sdist file name`, "contains a character that no distribution filename has"}},
		},
	}
	var rows []matrixRow
	for _, n := range names {
		rows = append(rows, matrixRow{
			name: "hostile-name-" + n.kind,
			attack: "The repository signs a real wheel under a hostile target name, " + n.attack + ", and a signed index page for project evil that links it. " +
				"Asked for by name (get) or listed (download, proxy), the name is refused, and the server is never asked for the file.",
			setup: func(t *testing.T, e *matrixEnv) {
				_, data := foreignWheel(t, "evil", "1.0")
				page := []byte(`<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for evil</title>
  </head>
  <body>
    <h1>Links for evil</h1>
    <a href="` + n.href + `#sha256=` + hexSHA256(data) + `">` + whl + `</a><br />
  </body>
</html>
`)
				matrixMust(t, e.tr.AddTarget("evil/evil.html", page))
				matrixMust(t, e.tr.AddTarget(n.target, data))
				e.h.set("/simple/evil/"+hexB2(page)+".evil.html", hostileRule{body: page})
				e.h.set(n.served, hostileRule{body: data})
				t.Cleanup(func() {
					if k := e.h.answered(n.served); k > 0 {
						t.Errorf("the server was asked %d times for the file under the hostile name", k)
					}
				})
				e.getTarget = n.target
				e.dlReq, e.pipReq = "evil", "evil"
				e.proxyProject, e.proxyFile = "evil", whl
				if n.local != "" {
					e.verifyArgs = []string{e.saveLocal(t, n.local, data)}
				}
			},
			get:      n.get,
			download: n.download,
			verify:   n.verify,
			proxy:    cellWant{status: 404, at: "file", nomatch: true, text: []string{whl + " is not a verified file of evil"}},
		})
	}
	return rows
}

// ---- running the matrix ----

// matrixParallel is how many rows run at once. Most of a cell's time is
// spent waiting for processes and servers (and for 20 s in the
// slow-retrieval rows), so this is well above the number of CPUs.
func matrixParallel() int {
	if n, err := strconv.Atoi(os.Getenv("TUFPIP_MATRIX_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return max(8, 4*runtime.GOMAXPROCS(0))
}

// TestMatrix runs every cell of the attack matrix. Rows run concurrently
// (matrixParallel at a time, regardless of -parallel: their cells mostly
// wait), and a row's cells run concurrently against one repository.
func TestMatrix(t *testing.T) {
	rows := matrixRows()
	// The slow rows are the long pole: start them first.
	slices.SortStableFunc(rows, func(a, b matrixRow) int {
		switch {
		case a.slow == b.slow:
			return 0
		case a.slow:
			return -1
		}
		return 1
	})
	sem := make(chan struct{}, matrixParallel())
	var wg sync.WaitGroup
	for i := range rows {
		row := &rows[i]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(row.name, func(t *testing.T) { runMatrixRow(t, row) })
		}()
	}
	wg.Wait()
}

func runMatrixRow(t *testing.T, row *matrixRow) {
	e := newMatrixEnv(t, row)
	if row.before != nil {
		row.before(t, e)
		e.tr.recordLegit(t)
	}
	if row.prime {
		e.prime(t)
	}
	switch {
	case row.proxy.na != "":
	case e.mapFile != "":
		e.proxy = startMapProxy(t, e.homes[colProxy], e.mapFile, "--freshness", "0")
	default:
		e.proxy = startProxy(t, e.tr, proxyOptions{home: e.homes[colProxy], freshness: "0"})
	}
	row.setup(t, e)
	var wg sync.WaitGroup
	for _, col := range matrixColumns {
		want := row.want(col)
		if want.na != "" {
			// Not a test: the doc states why the cell does not apply.
			t.Logf("%s: n/a: %s", col, want.na)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(col, func(t *testing.T) {
				switch col {
				case colGet:
					e.runGet(t, want)
				case colDownload:
					e.runDownload(t, want)
				case colVerify:
					e.runVerify(t, want)
				case colProxy:
					e.runProxy(t, want)
				}
				e.checkNeverAsked(t, col)
			})
		}()
	}
	wg.Wait()
}

// ---- the document ----

const matrixDoc = "../docs/attack-matrix.md"

// TestAttackMatrixDoc renders docs/attack-matrix.md from the table and
// fails if the committed file differs, or if any cell has neither a test
// (an outcome with a phrase the user reads) nor an n/a reason: a row
// cannot lose a test silently.
func TestAttackMatrixDoc(t *testing.T) {
	rows := matrixRows()
	seen := map[string]bool{}
	for _, r := range rows {
		if !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(r.name) || seen[r.name] {
			t.Errorf("row %q: names must be unique and lower-case-dashed", r.name)
		}
		seen[r.name] = true
		if r.attack == "" || r.setup == nil {
			t.Errorf("row %s: no attack description or setup", r.name)
		}
		for _, col := range matrixColumns {
			w := r.want(col)
			switch {
			case w.na != "" && (w.ok || w.exit != 0 || w.status != 0 || len(w.text) > 0):
				t.Errorf("%s/%s: both n/a and an expectation", r.name, col)
			case w.na != "":
			case col == colProxy && w.request != nil && (w.status == 0 || len(w.text) == 0):
				t.Errorf("%s/%s: a request with no status or refusal text to check", r.name, col)
			case col == colProxy && w.request != nil:
			case col == colProxy && !w.ok && (w.status == 0 || (w.at != "page" && w.at != "file") || len(w.text) == 0):
				t.Errorf("%s/%s: neither a test (status, URL and refusal text) nor an n/a reason", r.name, col)
			case col != colProxy && !w.ok && (w.exit == 0 || len(w.text) == 0):
				t.Errorf("%s/%s: neither a test (exit status and text) nor an n/a reason", r.name, col)
			case col != colProxy && w.ok && len(w.text) == 0:
				t.Errorf("%s/%s: a success without the words that show it", r.name, col)
			}
		}
	}
	doc := renderMatrixDoc(rows)
	if *updateMatrix {
		if err := os.WriteFile(matrixDoc, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(matrixDoc)
	if err != nil || !bytes.Equal(have, doc) {
		t.Errorf("%s is out of date with the matrix table (%v); regenerate it with\n\tgo test ./integration/ -run TestAttackMatrixDoc -update-matrix", matrixDoc, err)
	}
}

var columnTitles = map[string]string{
	colGet:      "`tufpip get`",
	colDownload: "`tufpip download`",
	colVerify:   "`tufpip verify`",
	colProxy:    "proxy + pip",
}

func renderCell(row *matrixRow, col string) string {
	w := row.want(col)
	if w.na != "" {
		return "n/a: " + mdEscape(w.na)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`TestMatrix/%s/%s`<br>", row.name, col)
	switch {
	case col == colProxy && w.request != nil:
		fmt.Fprintf(&b, "%s: %d", mdEscape(w.request.describe), w.status)
	case w.ok && col == colProxy:
		b.WriteString("pip installs lib 1.1")
	case w.ok:
		b.WriteString("exit 0")
	case col == colProxy && w.nomatch:
		fmt.Fprintf(&b, "pip: no matching distribution; %s %d", w.at, w.status)
	case col == colProxy:
		fmt.Fprintf(&b, "pip fails: %s %d", w.at, w.status)
	default:
		fmt.Fprintf(&b, "exit %d", w.exit)
	}
	for _, s := range w.text {
		fmt.Fprintf(&b, ", “%s”", mdEscape(strings.TrimSpace(s)))
	}
	if w.note != "" {
		fmt.Fprintf(&b, "<br>**Finding:** %s", mdEscape(w.note))
	}
	return b.String()
}

func mdEscape(s string) string {
	// An asterisk outside a code span would start emphasis (map
	// patterns such as */*/*/lib-* are quoted in cells).
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = strings.ReplaceAll(parts[i], "*", `\*`)
	}
	s = strings.Join(parts, "`")
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\x00", `\x00`)
	s = strings.ReplaceAll(s, "\u202e", `\u202e`)
	return s
}

func renderMatrixDoc(rows []matrixRow) []byte {
	var b bytes.Buffer
	b.WriteString(matrixDocHead)
	b.WriteString("| attack |")
	for _, c := range matrixColumns {
		b.WriteString(" " + columnTitles[c] + " |")
	}
	b.WriteString("\n| --- |")
	for range matrixColumns {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for i := range rows {
		r := &rows[i]
		fmt.Fprintf(&b, "| **%s**: %s |", r.name, mdEscape(r.attack))
		for _, c := range matrixColumns {
			b.WriteString(" " + renderCell(r, c) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString(matrixDocTail)
	return b.Bytes()
}

const matrixDocHead = `# Attack and fault matrix

<!-- Generated by TestAttackMatrixDoc from integration/matrix_test.go; do not edit.
     Regenerate: go test ./integration/ -run TestAttackMatrixDoc -update-matrix -->

Every attack in tufpip's [threat model](security.md) (PEP 458's: a
mirror, CDN or network attacker without the repository's keys), and the
faults a hostile server adds, against every way in. Each cell is a test,
` + "`go test ./integration/ -run 'TestMatrix/<row>/<column>'`" + `, that runs the
built tufpip binary against a repository made by the test-repository
generator and served by a hostile server, and asserts three things:

1. the outcome: the exit status, or pip's failure and the HTTP status the
   proxy answers (for lib's index **page**, or for the attacked **file**);
2. what the user reads: the phrases quoted in the cell (which file, which
   check, which role) in the command's output or the proxy's refusal;
3. that no unverified byte reached pip's ` + "`--target`" + ` directory, the
   ` + "`get -o`" + ` file, the ` + "`download -d`" + ` directory or the artifact cache (every
   cached file is checked against what the repository signed).

The columns: ` + "`tufpip get TARGET -o FILE`" + ` asks for lib 1.1's wheel by target
path; ` + "`tufpip download lib==1.1 -d DIR`" + `; ` + "`tufpip verify`" + ` checks the attacked
file saved on disk (a tampered wheel, say) or, for attacks on metadata, a
genuine file, which must then fail with the metadata error instead of
passing; the proxy is started before the attack with ` + "`--freshness 0`" + ` and real
pip (` + "`python3 -m pip install --target`" + `) installs lib 1.1 through it. Every
command runs with ` + "`--freshness 0`" + `, a fresh ` + "`--home`" + ` and the shipped root;
the rollback rows and the recovery row first let each home trust the
newer metadata, as if it had been used before the attack. The
repositories use the pep458 layout with 64 bins unless a row says
otherwise. The rows with several repositories (dependency-confusion,
repositories-disagree; see [several repositories](multirepo.md)) generate a
second repository, public, register both with ` + "`tufpip init`" + ` in every
column's home and run every column (the proxy too) with ` + "`--map FILE`" + `; each
column has its own server for public, whose request log the cell checks.
In the phrases, ` + "`{target}`" + ` is lib 1.1's wheel's target path,
` + "`{wheel}`" + ` its file name and ` + "`{bin}`" + ` the bin that signs it.

Exit statuses: 1 a file or page was refused; 2 the repository could not
be trusted or reached (metadata that failed verification or expired, a
network failure). The proxy answers 502 when verification fails, 503 for
expired metadata and 404 for what is not signed.

`

const matrixDocTail = `
A **Finding** in a cell is an outcome that is safe (nothing unverified
got through) but not what it should be; each is reported to be fixed.

## Unprotectable

What the matrix showed cannot be defended, and why:

- **A compromised online key.** Whoever holds it signs whatever it wants,
  and every attack above then arrives as legitimate metadata. Out of
  PEP 458's scope (see [security](security.md#what-is-and-is-not-protected));
  the operators revoke the key with a new root, and clients follow
  (fast-forward-recovery).
- **Denial of service.** Every hostile-server row (404, 5xx, resets,
  stalls, redirects, endless or slow data, expired or broken metadata)
  ends in a refusal: nothing unverified is installed, but nothing is
  installed at all. A mirror or network attacker can always stop
  updates; TUF makes a freeze visible (expiry), not impossible.
- **Slowness above the floors.** A mirror may trickle a file just above
  4 KiB/s (after a 20 s grace), or metadata just above 2 KiB/s (after
  10 s, at most 2 minutes per file), and it is served: the guards bound
  the delay, they cannot make a slow server fast.
- **What a name alone cannot carry.** A NUL byte cannot be asked for on a
  command line, and no file on disk has a name with ` + "`/`" + `, NUL or more than
  255 bytes, so those cells are n/a; the same names signed and listed by
  a repository are refused (hostile-name rows).
- **Freshness within the window.** The matrix runs with ` + "`--freshness 0`" + `.
  With the default window (5 minutes) a command answers from metadata it
  verified earlier, so a rollback, freeze or revocation that starts inside
  the window is seen only when the window ends; expired metadata is
  refused either way.
- **The unsigned page of the dists-only layout.** A mirror cannot make pip
  install a file the repository did not sign (file-not-signed), but it
  can hide releases or mark them yanked, since nothing signs the list.
- **Duplicate JSON keys that resolve to the signed value.** A metadata
  file with a duplicate key whose last value is the one that was signed
  verifies and is used, because the signature covers what the parser
  keeps: nothing unsigned is used, so it is accepted, not refused. The
  harmful variant (the attacker's value last) is the duplicate-keys row,
  refused.
`
