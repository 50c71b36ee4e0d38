package main

// This test keeps docs/troubleshooting.md and the code in step.
//
// It reads the Go source of the packages whose words reach users
// (messageDirs), collects the fixed text of every message and hint they
// can produce, and fails
//
//   - if some message or hint is not quoted anywhere in the
//     troubleshooting page (the failure prints a ready-to-paste entry for
//     each), and
//   - if a message heading in the page (a heading whose text starts with
//     a backticked span) quotes text that no longer occurs in any string
//     literal of those packages: a stale entry.
//
// To add a message: write it in the code, run
//
//	go test ./cmd/tufpip/ -run TestTroubleshooting
//
// and paste the printed stubs into docs/troubleshooting.md, then fill in
// meaning, cause and fix. MESSAGES_CATALOG=1 prints the whole catalog.
//
// What counts as a message (messageCalls): the format or text argument of
// usagef, fmt.Errorf, errors.New, the proxy's refuse, http.Error, slog's
// Warn/Error, fmt.Fprintf to a writer when the format starts with
// "tufpip: ", and the reason arguments of the small helpers that build
// messages (fail, unknown, note, errorf); every string literal inside an
// Error() method; the string results of reasonFuncs and the reason of an
// Omission literal (why a file was left out of a page); and as hints
// (hintCalls), the hint results of describe in errors.go, the argument
// of usageError's withHint, the hint field of a usageError literal, the
// hint argument of writeHint and of the proxy's refuse, and every
// `hint = "..."` assignment. An argument may be a literal, a fmt.Sprintf
// of a literal format, or "literal" + something.
//
// Hints travel as values, never inside message text: a message literal
// holding "\nhint: " fails the test (TestNoHintInsideMessages), since
// describe would print it as part of the message.
// internalMessages lists the few that users never see.
//
// Each is reduced to its fixed text: the first line, without a leading
// "tufpip: ", cut at every %-verb. When the text before the first verb
// is at least minFixedLen characters long (trimmed of spaces and
// punctuation) that prefix is what the page must quote; otherwise the
// first later piece that long is ("%w: requirements file larger than %d
// bytes" must be quoted as "requirements file larger than"). A format
// with no such piece ("%s: %w", "invalid %s=%q: %v") is purely
// structural and skipped.
//
// In the page, "…" in a message heading stands for a variable part; the
// stale check looks up each piece between them. Headings for messages of
// other programs (cobra, go-tuf, pip) start with a word, not a backtick.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// messageDirs are the packages whose messages users read, relative to
// this package's directory.
var messageDirs = []string{".", "../../updater", "../../updater/httpx", "../../index", "../../index/packaging", "../../index/lockfile", "../../index/simple", "../../index/proxy", "../../index/multirepo", "../../cache"}

const troubleshootingPath = "../../docs/troubleshooting.md"

// minFixedLen: shorter fixed texts ("reading %s", "invalid") say too
// little to be looked up, and would match anywhere.
const minFixedLen = 12

// internalMessages are never shown to users; each says why.
var internalMessages = map[string]string{
	"already reported":                        "errSilent: marks an error that was already printed",
	"snapshot needs go-tuf's general path":    "updater's errFallback: the fast snapshot check hands over to go-tuf",
	"no artifact cache to read the file into": "index.Client without a Store; every command gives it one",
	"signal received":                         "interruptedError: the cause of an interrupted run; users read \"interrupted\"",
}

// reasonFuncs are functions whose string results are reasons users read
// (a file left out of a verified page, and why).
var reasonFuncs = map[string]bool{"resolveFile": true}

// messageCalls maps a callee to the argument that holds the message:
// its index, or -1 for every string-literal argument. A callee is
// matched as "pkg.Func" first, then by its bare function or method name.
var messageCalls = map[string]int{
	"usagef":      0,
	"fmt.Errorf":  0,
	"errors.New":  0,
	"http.Error":  1,
	"refuse":      4, // (*proxy.Handler).refuse(w, r, status, hint, format, ...)
	"fmt.Fprintf": 1, // only formats starting with "tufpip: "
	"Warn":        0, // slog
	"Error":       0, // slog (err.Error() has no argument)
	"fail":        -1,
	"unknown":     -1,
	"note":        1,
	"errorf":      0,
	"noOwner":     0, // index: why an sdist's PKG-INFO names no project
}

// hintCalls maps a callee to the argument that holds a hint, matched as
// messageCalls are.
var hintCalls = map[string]int{
	"withHint":  0, // usagef(...).withHint(format, ...)
	"writeHint": 1, // writeHint(w, hint)
	"refuse":    3, // (*index.Proxy).refuse(w, r, status, hint, format, ...)
}

// catalogEntry is one message or hint found in the source.
type catalogEntry struct {
	fixed string // what the troubleshooting page must contain
	kind  string // "message" or "hint"
	raw   string // the literal as written
	pos   string // file:line
}

var verbRE = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+|\*)?(\.(\d+|\*)?)?(\[\d+\])?[a-zA-Z%]`)

// fixedText returns the part of a message format that the page must
// quote, or "" if the format has none.
func fixedText(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	line = strings.TrimPrefix(line, "tufpip: ")
	for _, piece := range verbRE.Split(line, -1) {
		piece = strings.Trim(piece, " \t:;,.=()\"'`")
		if len(piece) >= minFixedLen {
			return piece
		}
	}
	return ""
}

type sourceScan struct {
	entries  []catalogEntry
	literals []string // every string literal, normalized, for the stale check
	// embedded are messages that carry a hint in their text, the old
	// convention: "file:line: literal".
	embedded []string
}

func scanSources(t *testing.T) *sourceScan {
	t.Helper()
	sc := &sourceScan{}
	fset := token.NewFileSet()
	for _, dir := range messageDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parsing %s: %v", path, err)
			}
			sc.scanFile(fset, f)
		}
	}
	return sc
}

func stringLit(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.BinaryExpr: // "a" + "b"
		if x.Op != token.ADD {
			return "", false
		}
		l, ok1 := stringLit(x.X)
		r, ok2 := stringLit(x.Y)
		return l + r, ok1 && ok2
	case *ast.ParenExpr:
		return stringLit(x.X)
	}
	return "", false
}

// messageLit is a string literal, or the format of a fmt.Sprintf call
// whose result is used as message text.
func messageLit(e ast.Expr) (string, bool) {
	if s, ok := stringLit(e); ok {
		return s, true
	}
	switch x := e.(type) {
	case *ast.CallExpr:
		if q, _ := calleeNames(x); q == "fmt.Sprintf" && len(x.Args) > 0 {
			return stringLit(x.Args[0])
		}
	case *ast.BinaryExpr:
		// "fixed text: " + err.Error(): the variable part reads as a verb.
		if x.Op == token.ADD {
			if l, ok := messageLit(x.X); ok {
				return l + "%v", true
			}
		}
	}
	return "", false
}

func calleeNames(call *ast.CallExpr) (qualified, bare string) {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name, fn.Name
	case *ast.SelectorExpr:
		if id, ok := fn.X.(*ast.Ident); ok {
			return id.Name + "." + fn.Sel.Name, fn.Sel.Name
		}
		return fn.Sel.Name, fn.Sel.Name
	}
	return "", ""
}

func (sc *sourceScan) add(fset *token.FileSet, n ast.Node, kind, raw string) {
	pos := fset.Position(n.Pos())
	where := fmt.Sprintf("%s:%d", filepath.ToSlash(filepath.Clean(pos.Filename)), pos.Line)
	if kind == "message" {
		if f := fixedText(raw); f != "" {
			sc.entries = append(sc.entries, catalogEntry{f, "message", raw, where})
		}
	}
	if kind == "hint" {
		if f := fixedText(raw); f != "" {
			sc.entries = append(sc.entries, catalogEntry{f, "hint", raw, where})
		}
		return
	}
	if strings.Contains(raw, "\nhint: ") {
		sc.embedded = append(sc.embedded, fmt.Sprintf("%s: %q", where, raw))
	}
}

func (sc *sourceScan) scanFile(fset *token.FileSet, f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BasicLit:
			if s, ok := stringLit(x); ok {
				sc.literals = append(sc.literals, normalizeSpace(s))
			}
		case *ast.FuncDecl:
			switch {
			case x.Recv != nil && x.Name.Name == "Error" && x.Body != nil:
				// Every literal of an error type's message.
				ast.Inspect(x.Body, func(m ast.Node) bool {
					if lit, ok := m.(*ast.BasicLit); ok {
						if s, ok := stringLit(lit); ok {
							sc.add(fset, lit, "message", s)
						}
					}
					return true
				})
			case reasonFuncs[x.Name.Name] && x.Body != nil:
				ast.Inspect(x.Body, func(m ast.Node) bool {
					if ret, ok := m.(*ast.ReturnStmt); ok {
						for _, r := range ret.Results {
							if s, ok := messageLit(r); ok {
								sc.add(fset, r, "message", s)
							}
						}
					}
					return true
				})
			case x.Recv == nil && x.Name.Name == "describe" && x.Body != nil:
				// describe's hints: the second result of each return.
				ast.Inspect(x.Body, func(m ast.Node) bool {
					if ret, ok := m.(*ast.ReturnStmt); ok && len(ret.Results) == 3 {
						if s, ok := stringLit(ret.Results[1]); ok {
							sc.add(fset, ret, "hint", s)
						}
					}
					return true
				})
			}
		case *ast.CompositeLit:
			// usageError{err: ..., hint: "..."}
			if id, ok := x.Type.(*ast.Ident); ok && id.Name == "usageError" {
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "hint" {
							if s, ok := messageLit(kv.Value); ok {
								sc.add(fset, kv, "hint", s)
							}
						}
					}
				}
			}
			// Omission{Filename, Reason} or Omission{..., Reason: ...}:
			// a file left out of a page.
			if id, ok := x.Type.(*ast.Ident); ok && id.Name == "Omission" {
				for i, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Reason" {
							el = kv.Value
						} else {
							continue
						}
					} else if i != 1 {
						continue
					}
					if s, ok := messageLit(el); ok {
						sc.add(fset, x, "message", s)
					}
				}
			}
		case *ast.AssignStmt:
			for i, lhs := range x.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && id.Name == "hint" && i < len(x.Rhs) {
					if s, ok := messageLit(x.Rhs[i]); ok {
						sc.add(fset, x, "hint", s)
					}
				}
			}
		case *ast.CallExpr:
			q, bare := calleeNames(x)
			hidx, ok := hintCalls[q]
			if !ok {
				hidx, ok = hintCalls[bare]
			}
			if ok && hidx < len(x.Args) {
				if s, ok := messageLit(x.Args[hidx]); ok {
					sc.add(fset, x.Args[hidx], "hint", s)
				}
			}
			idx, ok := messageCalls[q]
			if !ok {
				idx, ok = messageCalls[bare]
			}
			if !ok {
				return true
			}
			if idx < 0 {
				for _, a := range x.Args {
					if s, ok := messageLit(a); ok {
						sc.add(fset, a, "message", s)
					}
				}
				return true
			}
			if idx >= len(x.Args) {
				return true
			}
			s, ok := messageLit(x.Args[idx])
			if !ok {
				return true
			}
			if q == "fmt.Fprintf" && !strings.HasPrefix(s, "tufpip: ") {
				return true
			}
			sc.add(fset, x.Args[idx], "message", s)
		}
		return true
	})
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// catalog returns the distinct entries, sorted by fixed text.
func (sc *sourceScan) catalog() []catalogEntry {
	seen := map[string]bool{}
	var out []catalogEntry
	for _, e := range sc.entries {
		if _, internal := internalMessages[e.fixed]; internal {
			continue
		}
		key := e.kind + "\x00" + e.fixed
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind > out[j].kind // messages first
		}
		return out[i].fixed < out[j].fixed
	})
	return out
}

func readTroubleshooting(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(troubleshootingPath)
	if err != nil {
		t.Fatalf("reading the troubleshooting page: %v", err)
	}
	return string(b)
}

func TestTroubleshootingCoversMessages(t *testing.T) {
	sc := scanSources(t)
	cat := sc.catalog()
	doc := normalizeSpace(readTroubleshooting(t))
	if os.Getenv("MESSAGES_CATALOG") != "" {
		for _, e := range cat {
			t.Logf("%-7s %-40s %q", e.kind, e.pos, e.fixed)
		}
	}
	var missing []catalogEntry
	messages, hints := 0, 0
	for _, e := range cat {
		if e.kind == "message" {
			messages++
		} else {
			hints++
		}
		if !strings.Contains(doc, normalizeSpace(e.fixed)) {
			missing = append(missing, e)
		}
	}
	t.Logf("catalogued %d messages and %d hints from %s", messages, hints, strings.Join(messageDirs, ", "))
	if len(missing) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d messages and hints are not in docs/troubleshooting.md; add an entry for each:\n", len(missing), len(cat))
	for _, e := range missing {
		if e.kind == "message" {
			fmt.Fprintf(&b, "\n### `%s`\n\n<!-- %s: %q -->\n**Means:** …\n**Cause:** …\n**Fix:** …\n", e.fixed, e.pos, e.raw)
		} else {
			fmt.Fprintf(&b, "\n(hint, quote it under the message it follows) %s: %q\n", e.pos, e.fixed)
		}
	}
	t.Error(b.String())
}

var headingRE = regexp.MustCompile("(?m)^#{2,6} +`([^`]+)`")

func TestTroubleshootingHasNoStaleEntries(t *testing.T) {
	sc := scanSources(t)
	literals := strings.Join(sc.literals, "\x00")
	doc := readTroubleshooting(t)
	headings := headingRE.FindAllStringSubmatch(doc, -1)
	if len(headings) == 0 {
		t.Fatal("the troubleshooting page has no message headings (### `message`)")
	}
	var stale []string
	for _, h := range headings {
		// "…" stands for the variable parts of a message.
		for _, piece := range strings.Split(h[1], "…") {
			// Quotes around a variable part ("…") belong to the format's %q.
			piece = normalizeSpace(strings.Trim(piece, " :\"'"))
			if len(piece) < 4 {
				continue
			}
			if !strings.Contains(literals, piece) {
				stale = append(stale, fmt.Sprintf("%q (from the heading %q)", piece, h[1]))
			}
		}
	}
	if len(stale) > 0 {
		t.Errorf("docs/troubleshooting.md has message headings whose text no longer occurs in %s; update or remove them:\n  %s",
			strings.Join(messageDirs, ", "), strings.Join(stale, "\n  "))
	}
	t.Logf("%d message headings checked", len(headings))
}

func TestFixedText(t *testing.T) {
	for in, want := range map[string]string{
		"init needs --metadata-url and --index-url":  "init needs --metadata-url and --index-url",
		"invalid --jobs %d: want at least 1":         "invalid --jobs",
		"%w: requirements file larger than %d bytes": "requirements file larger than",
		"%s: %w":            "",
		"invalid %s=%q: %v": "",
		"no repository configured\nhint: register one":                                "no repository configured",
		"tufpip: warning: trusting %s1.root.json on first use":                        "warning: trusting",
		"config file %s: unknown setting %q%s":                                        "unknown setting",
		"refusing to listen on %s: not a loopback address\nhint: pass --allow-remote": "refusing to listen on",
		"100%% sure, %[1]s and %-5.2f then the long fixed tail":                       "then the long fixed tail",
	} {
		if got := fixedText(in); got != want {
			t.Errorf("fixedText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoHintInsideMessages: a hint is a value (withHint, writeHint,
// refuse's hint), never "\nhint: " inside a message, where describe
// would not find it and the catalog would not see it as a hint.
func TestNoHintInsideMessages(t *testing.T) {
	sc := scanSources(t)
	if len(sc.embedded) > 0 {
		t.Errorf("messages with a hint inside their text; pass the hint with withHint, writeHint or refuse's hint argument:\n  %s", strings.Join(sc.embedded, "\n  "))
	}
}

// TestCatalogFindsHints pins every way the code gives a hint: each must
// reach the catalog, so that TestTroubleshootingCoversMessages fails when
// the page does not quote it.
func TestCatalogFindsHints(t *testing.T) {
	const src = `package p
func f() {
	_ = usagef("message number one %s", x).withHint("hint from withHint %s", y)
	_ = usageError{err: e, hint: "hint from a usageError literal"}
	writeHint(w, "hint from writeHint")
	writeHint(w, fmt.Sprintf("hint from writeHint with a verb %s", z))
	p.refuse(w, r, 421, fmt.Sprintf("hint from refuse %s", h), "refusal message %q", host)
	hint = "hint from an assignment"
	_ = fmt.Errorf("message with an embedded\nhint: old convention")
}
func describe(err error) (msg, hint string, code int) {
	return msg, "hint from describe", 2
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	sc := &sourceScan{}
	sc.scanFile(fset, f)
	got := map[string]string{}
	for _, e := range sc.entries {
		got[e.fixed] = e.kind
	}
	for fixed, kind := range map[string]string{
		"message number one":              "message",
		"hint from withHint":              "hint",
		"hint from a usageError literal":  "hint",
		"hint from writeHint":             "hint",
		"hint from writeHint with a verb": "hint",
		"hint from refuse":                "hint",
		"refusal message":                 "message",
		"hint from an assignment":         "hint",
		"hint from describe":              "hint",
	} {
		if got[fixed] != kind {
			t.Errorf("catalog has %q as %q, want %q (catalog: %q)", fixed, got[fixed], kind, got)
		}
	}
	if len(sc.embedded) != 1 {
		t.Errorf("embedded = %q, want the one old-style message", sc.embedded)
	}
}
