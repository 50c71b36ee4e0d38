package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/integration/testenv"
)

// lockToolTimeout bounds one run of a locking tool.
const lockToolTimeout = 5 * time.Minute

// toolEnv is an environment for poetry, pdm and pipenv that keeps them to
// dir (HOME, caches, config) and to 127.0.0.1: every other host goes to a
// proxy address nothing listens on, so a tool that tried PyPI fails
// instead of quietly reaching it.
func toolEnv(dir string) []string {
	env := pipEnv()
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "VIRTUAL_ENV":
			continue
		}
		if strings.HasPrefix(k, "POETRY_") || strings.HasPrefix(k, "PDM_") || strings.HasPrefix(k, "PIPENV_") {
			continue
		}
		out = append(out, kv)
	}
	home := filepath.Join(dir, "home")
	return append(out,
		"HOME="+home,
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"no_proxy=127.0.0.1", "NO_PROXY=127.0.0.1",
		"POETRY_CACHE_DIR="+filepath.Join(home, ".cache", "poetry"),
		"POETRY_CONFIG_DIR="+filepath.Join(home, ".config", "poetry"),
		"POETRY_VIRTUALENVS_CREATE=false",
		"PDM_CHECK_UPDATE=false",
		"PDM_HOME="+filepath.Join(home, ".pdm"),
		"PDM_CACHE_DIR="+filepath.Join(home, ".cache", "pdm"),
		"PIPENV_VENV_IN_PROJECT=1",
		"PIPENV_CACHE_DIR="+filepath.Join(home, ".cache", "pipenv"),
		"PIPENV_NOSPIN=1", "PIPENV_YES=1", "PIPENV_IGNORE_VIRTUALENVS=1",
		"PIPENV_DONT_LOAD_ENV=1", "PIPENV_PYTHON=/usr/bin/python3",
		"CI=true",
	)
}

// runLockTool runs a locking tool in dir and returns its combined output.
func runLockTool(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testenv.MissingPrerequisite(t, "%s is not installed (Debian: see .ci/run)", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = toolEnv(dir)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s timed out after %v:\n%s", name, strings.Join(args, " "), lockToolTimeout, out)
	}
	return string(out), err
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lockProject writes the project files for tool into dir, locking "app
// 1.0" (which needs lib>=1.0) from indexURL, and returns the lock file's
// name and the tool's arguments.
func lockProject(t *testing.T, tool, dir, indexURL string) (lock string, args []string) {
	t.Helper()
	switch tool {
	case "poetry":
		writeFile(t, filepath.Join(dir, "pyproject.toml"), `[tool.poetry]
name = "demo"
version = "0.1.0"
description = ""
authors = ["t <t@example.com>"]

[tool.poetry.dependencies]
python = "^3.9"
app = "1.0"

[[tool.poetry.source]]
name = "tufpip"
url = "`+indexURL+`"
default = true

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
`)
		return "poetry.lock", []string{"lock", "--no-interaction"}
	case "pdm":
		writeFile(t, filepath.Join(dir, "pyproject.toml"), `[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["app==1.0"]

[[tool.pdm.source]]
name = "pypi"
url = "`+indexURL+`"
verify_ssl = false
`)
		return "pdm.lock", []string{"lock"}
	case "pipenv":
		// The Debian virtualenv seeds from Debian's wheels, which exist
		// for /usr/bin/python3 only.
		writeFile(t, filepath.Join(dir, "Pipfile"), `[[source]]
name = "tufpip"
url = "`+indexURL+`"
verify_ssl = false

[packages]
app = "==1.0"
`)
		return "Pipfile.lock", []string{"--python", "/usr/bin/python3", "lock"}
	}
	t.Fatalf("unknown tool %s", tool)
	return "", nil
}

// lockWith locks the demo project with tool from indexURL and returns
// the lock file's path and text.
func lockWith(t *testing.T, tool, indexURL string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	lock, args := lockProject(t, tool, dir, indexURL)
	out, err := runLockTool(t, dir, tool, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	path := filepath.Join(dir, lock)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s wrote no %s: %v\n%s", tool, lock, err, out)
	}
	return path, string(data)
}

// tamperedMirror serves tr's files the way a compromised plain mirror
// would: lib 1.1's wheel has other bytes, and lib's page lists the sha256
// of those bytes, so a locking tool records the attacker's hash and finds
// nothing wrong. It returns the mirror's index URL and the bad sha256.
func tamperedMirror(t *testing.T, tr *testRepo) (string, string) {
	t.Helper()
	f := tr.file(t, "lib", "1.1", "wheel")
	legit, err := os.ReadFile(tr.packagePath(f.Path))
	if err != nil {
		t.Fatal(err)
	}
	evil := append(append([]byte{}, legit...), "\n# tampered by the mirror\n"...)
	evilSum := hexSHA256(evil)
	page, err := os.ReadFile(filepath.Join(tr.Dir(), "simple", "lib", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), f.Hashes["sha256"]) {
		t.Fatalf("lib's page does not list %s's sha256", f.Filename)
	}
	evilPage := strings.ReplaceAll(string(page), f.Hashes["sha256"], evilSum)
	files := repogen.NewHandler(tr.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/lib/", "/simple/lib/index.html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, evilPage)
		case "/simple/lib/index.json":
			http.NotFound(w, r)
		case "/packages/" + f.Path:
			w.Write(evil)
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/simple/", evilSum
}

// TestVerifyLockRealTools locks a project (app 1.0, which needs lib) with
// Poetry, PDM and Pipenv: through tufpip proxy the lock verifies; through
// a mirror that served a tampered lib wheel with a page matching it, the
// tool records the attacker's hash and verify --lock fails on it.
func TestVerifyLockRealTools(t *testing.T) {
	tr := newRepo(t, "pep458", appAndLib())
	p := startProxy(t, tr, proxyOptions{})
	mirror, evilSum := tamperedMirror(t, tr)
	libWheel := tr.file(t, "lib", "1.1", "wheel").Filename
	for _, tool := range []string{"poetry", "pdm", "pipenv"} {
		t.Run(tool, func(t *testing.T) {
			lock, text := lockWith(t, tool, p.URL)
			flags := append(repoFlags(tr, t.TempDir()), "verify", "--lock", lock, "--proxy-url", p.URL)
			res := runTufpip(t, nil, flags...)
			if res.Code != 0 || !strings.Contains(res.Stdout, "ok      app==1.0 (") ||
				!strings.Contains(res.Stdout, "ok      lib==1.1 (") || !strings.Contains(res.Stdout, "2 verified, 0 failed") {
				t.Fatalf("verify --lock of the lock made through the proxy:\n%s\nlock:\n%s", res, text)
			}

			bad, badText := lockWith(t, tool, mirror)
			if !strings.Contains(badText, evilSum) {
				t.Fatalf("%s did not record the mirror's hash %s:\n%s", tool, evilSum, badText)
			}
			flags = append(repoFlags(tr, t.TempDir()), "verify", "--lock", bad, "--proxy-url", p.URL)
			res = runTufpip(t, nil, flags...)
			wantLine := "FAILED  lib==1.1 (" + bad + "): " + libWheel + ": pinned sha256:" + evilSum[:16] + "…, but the repository signed sha256:"
			if tool == "pipenv" {
				wantLine = "FAILED  lib==1.1 (" + bad + "): pinned sha256:" + evilSum[:16] + "… matches no file the repository signed for lib 1.1 (1 signed file: " + libWheel + ")"
			}
			if res.Code != 1 || !strings.Contains(res.Stdout, wantLine) {
				t.Fatalf("verify --lock of the lock made through the tampered mirror: want exit 1 and %q\n%s\nlock:\n%s", wantLine, res, badText)
			}
			if tool != "pdm" && !strings.Contains(res.Stdout, "FAILED  app==1.0 ("+bad+"): locked from "+strings.TrimSuffix(mirror, "/")) {
				t.Errorf("the mirror's index URL in the lock is not reported:\n%s", res)
			}
		})
	}
}
