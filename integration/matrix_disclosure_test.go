package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// hostileTerminalText would, printed raw, erase the line the terminal
// shows, write a fake success line, reverse what follows (U+202E), start
// a C1 control sequence (U+009B) and ring the bell.
const hostileTerminalText = "\r\x1b[2Kok      lib.whl\u202e\u009b31m\a"

// escapedTerminalText is how every message must show it.
const escapedTerminalText = `\r\x1b[2Kok      lib.whl\u202e\u009b31m\a`

// escapedYanked is escapedTerminalText read from an HTML attribute,
// where the parser turns the carriage return into a newline.
const escapedYanked = `\n\x1b[2Kok      lib.whl\u202e\u009b31m\a`

// rawControl is the index of the first raw control character in s: C0
// but for \n and \t, DEL, C1, invalid UTF-8, bidi overrides and
// isolates; -1 if none. The matrix checks every cell's output with it.
func rawControl(s string) int {
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0xfffd,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return i
		}
	}
	return -1
}

// disclosureRows are the attack matrix rows for credential leaks, Host headers, terminal control sequences.
func disclosureRows() []matrixRow {
	return []matrixRow{
		metadataCells(matrixRow{
			name: "terminal-escape-in-metadata",
			attack: "The mirror serves a timestamp.json whose `_type` (read before any signature is checked) is `\\r\\x1b[2Kok      lib.whl\\u202e\\u009b31m\\a`: " +
				"printed raw, it would erase the terminal's line and fake a success. Every message shows it escaped.",
			setup: func(t *testing.T, e *matrixEnv) {
				path, data := e.metadataFile(t, repogen.RoleTimestamp)
				hostile := bytes.Replace(data, []byte(`"_type": "timestamp"`), []byte(`"_type": "\r\u001b[2Kok      lib.whl\u202e\u009b31m\u0007"`), 1)
				if bytes.Equal(hostile, data) {
					t.Fatal("no _type in timestamp.json")
				}
				e.h.set(path, hostileRule{body: hostile})
			},
		}, 502, "(role timestamp)", "expected metadata type timestamp, got - "+escapedTerminalText, hintMetadata),
		{
			name: "terminal-escape-in-error-body",
			attack: "The mirror answers lib 1.1's wheel with 500 and a body of terminal control sequences. " +
				"tufpip reports the status and never shows a server's body.",
			setup: func(t *testing.T, e *matrixEnv) {
				e.h.set("/packages/"+e.wheel.Path, hostileRule{status: 500, body: []byte(hostileTerminalText + "\n")})
			},
			get:      cellWant{exit: 2, text: []string{"/{wheel}: unexpected HTTP status 500", hintNetwork}},
			download: cellWant{exit: 2, text: []string{"/{wheel}: unexpected HTTP status 500", hintNetwork}},
			verify:   cellWant{na: naTransfer},
			proxy:    cellWant{status: 502, at: "file", text: []string{"/{wheel}: unexpected HTTP status 500"}},
		},
		{
			name: "terminal-escape-in-yanked-reason",
			opts: repogen.Options{IndexLayout: repogen.IndexLayoutDistsOnly},
			attack: "lib's (unsigned, dists-only) page marks lib 1.1's wheel yanked with a reason of terminal control sequences. " +
				"The file is signed, so the pinned install goes ahead; the reason, which tufpip prints and pip shows, reaches both escaped.",
			setup: func(t *testing.T, e *matrixEnv) {
				page, err := os.ReadFile(filepath.Join(e.tr.Dir(), "simple", "lib", "index.html"))
				matrixMust(t, err)
				link := `href="../../packages/` + e.wheel.Path
				i := bytes.Index(page, []byte(link))
				if i < 0 {
					t.Fatalf("no link to %s on lib's page:\n%s", e.wheel.Path, page)
				}
				reason := strings.NewReplacer("\r", "&#13;", "\x1b", "&#27;", "\a", "&#7;").Replace(hostileTerminalText)
				page = bytes.Join([][]byte{page[:i], []byte(`data-yanked="` + reason + `" `), page[i:]}, nil)
				e.h.set("/simple/lib/", hostileRule{body: page})
			},
			get:      cellWant{na: "get fetches a target by its path and reads no index page"},
			download: cellWant{ok: true, text: []string{"is yanked (" + escapedYanked + "); taken because it is pinned exactly", "verified {wheel} ("}},
			verify:   cellWant{na: "verify checks files against signed target info and shows nothing of an index page"},
			proxy:    cellWant{ok: true, text: []string{"Reason for being yanked: " + escapedYanked}},
		},
	}
}
