package integration

// TestLayoutTable keeps docs/architecture.md's package table and the
// code's real imports in step: every package is in the table, every row
// is a package, and no package imports one of ours that its row does not
// allow (arrows only downward, no package reaching around another).

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/tufpip/tufpip"

// layoutRow is one row of the table: which of our packages a package may
// import ("everything below": any), and whether it may import modules
// other than the standard library (and which).
type layoutRow struct {
	anyOwn     bool
	own        []string
	stdlibOnly bool
	thirdParty []string // import path prefixes allowed besides the stdlib; nil: not checked
}

// thirdPartyWords maps the words the table uses for third-party
// modules to import path prefixes.
var thirdPartyWords = map[string]string{
	"go-retryablehttp":       "github.com/hashicorp/go-retryablehttp",
	"BurntSushi/toml":        "github.com/BurntSushi/toml",
	"go-tuf":                 "github.com/theupdateframework/go-tuf/v2",
	"go-tuf metadata":        "github.com/theupdateframework/go-tuf/v2/metadata",
	"sigstore signature":     "github.com/sigstore/sigstore/pkg/signature",
	"securesystemslib cjson": "github.com/secure-systems-lab/go-securesystemslib/cjson",
	"x/crypto blake2b":       "golang.org/x/crypto/blake2b",
	"x/sync":                 "golang.org/x/sync",
	"x/net html":             "golang.org/x/net/html",
	"xdg":                    "github.com/adrg/xdg",
	"flock":                  "github.com/gofrs/flock",
	"aws-sdk-go-v2":          "github.com/aws/aws-sdk-go-v2",
	"smithy-go":              "github.com/aws/smithy-go",
	"client_golang":          "github.com/prometheus/client_golang",
}

func readLayoutTable(t *testing.T) map[string]layoutRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "<!-- layout table")
	if !ok {
		t.Fatal("docs/architecture.md: no layout table marker")
	}
	rows := map[string]layoutRow{}
	tick := regexp.MustCompile("`([^`]+)`")
	paren := regexp.MustCompile(`\s*\([^)]*\)`)
	for _, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("docs/architecture.md: row %q has %d cells, want 3", line, len(cells))
		}
		m := tick.FindStringSubmatch(cells[0])
		if m == nil {
			continue // header or separator
		}
		// The imports cell: our packages in backticks, "stdlib" or
		// "stdlib only", third-party modules by the words above, and
		// "everything below" (any of ours, any module) or "(tests only)".
		var r layoutRow
		checked := true
		for _, part := range strings.Split(cells[2], ",") {
			part = strings.TrimSpace(part)
			switch {
			case part == "everything below":
				r.anyOwn, checked = true, false
			case part == "(tests only)":
				checked = false
			case part == "stdlib only":
				r.stdlibOnly = true
			case part == "stdlib":
			case tick.MatchString(part):
				r.own = append(r.own, tick.FindStringSubmatch(part)[1])
			default:
				word := paren.ReplaceAllString(part, "")
				p, ok := thirdPartyWords[word]
				if !ok {
					t.Fatalf("docs/architecture.md: %s: unknown module %q (add it to thirdPartyWords)", m[1], word)
				}
				r.thirdParty = append(r.thirdParty, p)
			}
		}
		if checked && r.thirdParty == nil {
			r.thirdParty = []string{}
		}
		rows[m[1]] = r
	}
	if len(rows) == 0 {
		t.Fatal("docs/architecture.md: empty layout table")
	}
	return rows
}

// packageImports lists, per package directory below the module root,
// the imports of its non-test files.
func packageImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		if _, ok := out[rel]; !ok {
			out[rel] = nil
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			if !slices.Contains(out[rel], path) {
				out[rel] = append(out[rel], path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// checkLayout returns what breaks the table's rules.
func checkLayout(rows map[string]layoutRow, pkgs map[string][]string) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	for pkg, imports := range pkgs {
		if pkg == "." {
			fail("Go files at the module root")
			continue
		}
		row, ok := rows[pkg]
		if !ok {
			fail("package %s is not in docs/architecture.md's layout table", pkg)
			continue
		}
		for _, im := range imports {
			switch {
			case im == modulePath || strings.HasPrefix(im, modulePath+"/"):
				own := strings.TrimPrefix(im, modulePath+"/")
				if !row.anyOwn && !slices.Contains(row.own, own) {
					fail("%s imports %s, which docs/architecture.md does not allow it (allowed: %v)", pkg, own, row.own)
				}
			case isStdlib(im):
			case row.stdlibOnly:
				fail("%s imports %s, but docs/architecture.md says stdlib only", pkg, im)
			case row.thirdParty != nil && !slices.ContainsFunc(row.thirdParty, func(p string) bool { return im == p || strings.HasPrefix(im, p+"/") }):
				fail("%s imports %s, which docs/architecture.md does not name", pkg, im)
			}
			// updater is the only user of go-tuf's client workflow.
			if strings.HasPrefix(im, "github.com/theupdateframework/go-tuf/v2/metadata/") && pkg != "updater" && pkg != "bench/gotuf-get" {
				fail("%s imports %s: only updater uses go-tuf's client", pkg, im)
			}
		}
	}
	for pkg := range rows {
		if _, ok := pkgs[pkg]; !ok && pkg != "integration" {
			fail("docs/architecture.md lists %s, which is not a package", pkg)
		}
	}
	slices.Sort(errs)
	return errs
}

func TestLayoutTable(t *testing.T) {
	for _, e := range checkLayout(readLayoutTable(t), packageImports(t, "..")) {
		t.Error(e)
	}
}

// TestLayoutCheckCanFail: the same check, on tables that break the code's
// real imports, must complain.
func TestLayoutCheckCanFail(t *testing.T) {
	pkgs := packageImports(t, "..")
	for name, edit := range map[string]func(map[string]layoutRow){
		"index may not import updater": func(r map[string]layoutRow) {
			row := r["index"]
			row.own = slices.DeleteFunc(slices.Clone(row.own), func(s string) bool { return s == "updater" })
			r["index"] = row
		},
		"httpx stdlib only": func(r map[string]layoutRow) { r["updater/httpx"] = layoutRow{stdlibOnly: true} },
		"lockfile may not use toml": func(r map[string]layoutRow) {
			row := r["index/lockfile"]
			row.thirdParty = []string{}
			r["index/lockfile"] = row
		},
		"a package missing":          func(r map[string]layoutRow) { delete(r, "cache/atomicfile") },
		"a row for no package":       func(r map[string]layoutRow) { r["index/nothing"] = layoutRow{} },
		"packaging may import index": nil,
	} {
		t.Run(name, func(t *testing.T) {
			rows := readLayoutTable(t)
			if edit == nil {
				// An import the table forbids, planted in the packages.
				p := maps.Clone(pkgs)
				p["index/packaging"] = append(slices.Clone(p["index/packaging"]), modulePath+"/index")
				if len(checkLayout(rows, p)) == 0 {
					t.Fatal("an upward import was not caught")
				}
				return
			}
			edit(rows)
			if len(checkLayout(rows, pkgs)) == 0 {
				t.Fatal("the broken table was accepted")
			}
		})
	}
}
