package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/integration/repogen"
)

// interpreter is one Python on this machine and its pip.
type interpreter struct {
	path       string // as found
	real       string // sys.executable, symlinks resolved: the dedup key
	source     string // "PATH", "system" or "pyenv"
	python     string // e.g. "3.11"
	pip        string // e.g. "23.2.1"; empty when it has no pip
	pipVersion string // the first line of "pip --version", for the report
}

var pipVersionLine = regexp.MustCompile(`^pip (\S+) from .* \(python (\S+)\)`)

// discoverInterpreters finds python3 on PATH, the system /usr/bin/python3
// and every pyenv version, once each.
func discoverInterpreters(t *testing.T) []interpreter {
	t.Helper()
	type cand struct{ path, source string }
	var cands []cand
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, cand{p, "PATH"})
	}
	cands = append(cands, cand{"/usr/bin/python3", "system"})
	root := os.Getenv("PYENV_ROOT")
	if out, err := exec.Command("pyenv", "root").Output(); err == nil {
		root = strings.TrimSpace(string(out))
	}
	if root != "" {
		matches, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin", "python"))
		for _, m := range matches {
			cands = append(cands, cand{m, "pyenv"})
		}
	}
	var out []interpreter
	seen := map[string]bool{}
	for _, c := range cands {
		if _, err := os.Stat(c.path); err != nil {
			continue
		}
		cmd := exec.Command(c.path, "-c", "import os, sys; print(os.path.realpath(sys.executable)); print('%d.%d' % sys.version_info[:2])")
		cmd.Env = pipEnv()
		b, err := cmd.Output()
		if err != nil {
			t.Logf("skipping %s: it does not run: %v", c.path, err)
			continue
		}
		lines := strings.Fields(string(b))
		if len(lines) != 2 || seen[lines[0]] {
			continue
		}
		seen[lines[0]] = true
		in := interpreter{path: c.path, real: lines[0], source: c.source, python: lines[1]}
		cmd = exec.Command(c.path, "-m", "pip", "--version")
		cmd.Env = pipEnv()
		if b, err := cmd.Output(); err == nil {
			in.pipVersion = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
			if m := pipVersionLine.FindStringSubmatch(in.pipVersion); m != nil {
				in.pip = m[1]
			}
		}
		out = append(out, in)
	}
	return out
}

// name is the subtest name: the pip and Python versions, plus where the
// interpreter came from when that is not pyenv.
func (in interpreter) name() string {
	n := "pip" + in.pip + "-py" + in.python
	if in.source != "pyenv" {
		n += "-" + in.source
	}
	return n
}

func (in interpreter) pipMajor() int {
	major, _, _ := strings.Cut(in.pip, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// expectedFailure is why this pip cannot install app and lib through
// any index, or "" if it must succeed. Every reason is about the pip or
// Python, never the proxy, and the test checks that the failure is the
// one stated.
func (in interpreter) expectedFailure() (reason, symptom string) {
	if strings.HasPrefix(in.python, "2.") {
		// repogen builds pure-Python wheels tagged py3-none-any (and app
		// has no sdist); Python 2's pip accepts only py2/cp27 tags, so it
		// finds no compatible file for app on the page it fetched.
		return "Python " + in.python + " cannot use the py3-none-any wheels, the only files of app", "No matching distribution found for app"
	}
	return "", ""
}

// TestEveryPip runs the core case, app and lib through the proxy in the
// pep458 layout, with every pip on this machine: pips from 18 (HTML
// only, no PEP 658) to 24 (PEP 691 JSON and PEP 658 metadata) talk to
// the proxy differently.
func TestEveryPip(t *testing.T) {
	requirePython(t)
	interps := discoverInterpreters(t)
	tr := newRepo(t, repogen.IndexLayoutPEP458, appAndLib())
	p := startProxy(t, tr, proxyOptions{})

	var (
		mu      sync.Mutex
		results = map[string]string{}
	)
	names := make([]string, len(interps))
	count := map[string]int{}
	for i, in := range interps {
		names[i] = in.name()
		if count[names[i]]++; count[names[i]] > 1 {
			names[i] += fmt.Sprintf("-%d", count[names[i]])
		}
	}
	t.Run("pips", func(t *testing.T) {
		for i, in := range interps {
			name := names[i]
			record := func(result string) {
				mu.Lock()
				defer mu.Unlock()
				results[name] = fmt.Sprintf("%-44s %-8s %s", in.pipVersion, result, in.path)
			}
			if in.pip == "" {
				record("no pip")
				t.Logf("%s has no pip; nothing to test", in.path)
				continue
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				reason, symptom := in.expectedFailure()
				if reason != "" && in.pipMajor() >= 20 {
					t.Fatalf("pip %s is expected to fail (%s), but every pip >= 20 must pass", in.pip, reason)
				}
				target, out, err := pipInstall(t, in.path, p.URL, "app")
				switch {
				case reason == "" && err != nil:
					record("FAIL")
					t.Fatalf("pip install app with %s: %v\n%s", in.pipVersion, err, out)
				case reason == "":
					assertInstalled(t, in.path, target, map[string]string{"app": "1.0", "lib": "1.1"})
					if t.Failed() {
						record("FAIL")
					} else {
						record("pass")
					}
				case err == nil:
					record("FAIL")
					t.Fatalf("%s was expected to fail (%s) but installed:\n%s\nupdate expectedFailure", in.pipVersion, reason, out)
				case !strings.Contains(out, symptom):
					record("FAIL")
					t.Fatalf("%s failed, but not as expected (%s: %q):\n%s", in.pipVersion, reason, symptom, out)
				default:
					assertNothingInstalled(t, target)
					record("xfail")
					t.Logf("expected failure: %s", reason)
				}
			})
		}
	})

	var must []string
	if py, err := exec.LookPath("python3"); err == nil {
		must = append(must, py)
	}
	for i, in := range interps {
		if slices.Contains(must, in.path) || in.pipMajor() >= 20 {
			// Absent when -run left the subtest out.
			if r, ran := results[names[i]]; ran && !strings.Contains(r, " pass ") {
				t.Errorf("%s (%s) must pass; got %q", in.pipVersion, in.path, r)
			}
		}
	}
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var table strings.Builder
	table.WriteString("pip through the proxy (app + lib, pep458 layout):\n")
	for _, k := range keys {
		fmt.Fprintf(&table, "  %s\n", results[k])
	}
	t.Log(table.String())
	assertCacheVerified(t, p.Home, tr)
}
