package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

var (
	builtOnce sync.Once
	builtPath string
	builtErr  error
)

// builtTufpip builds this command once per test binary: signals are
// handled in main, which the in-process tests never run.
func builtTufpip(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the tufpip binary")
	}
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tufpip-bin-")
		if err != nil {
			builtErr = err
			return
		}
		builtPath = filepath.Join(dir, "tufpip")
		out, err := exec.Command("go", "build", "-o", builtPath, ".").CombinedOutput()
		if err != nil {
			builtErr = errors.New(string(out))
		}
	})
	if builtErr != nil {
		t.Fatalf("building tufpip: %v", builtErr)
	}
	return builtPath
}

// stallingFiles serves the repository, but every distribution file
// sends its headers and one byte and then stalls until the client goes
// away. started is closed when the first file request has its first byte.
type stallingFiles struct {
	h       http.Handler
	once    sync.Once
	started chan struct{}
}

func (s *stallingFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/packages/") {
		s.h.ServeHTTP(w, r)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("P"))
	w.(http.Flusher).Flush()
	s.once.Do(func() { close(s.started) })
	<-r.Context().Done()
}

// TestInterruptExitCode sends SIGINT (and SIGTERM) to a built tufpip in
// the middle of a download: it must say "interrupted", exit 130 (143),
// and leave neither a file in the destination nor a temporary file in
// the cache.
func TestInterruptExitCode(t *testing.T) {
	bin := builtTufpip(t)
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		code int
		args []string
	}{
		{"download SIGINT", syscall.SIGINT, 130, []string{"download", "alpha==1.0.0", "--python-version", "3.11"}},
		{"download SIGTERM", syscall.SIGTERM, 143, []string{"download", "alpha==1.0.0", "--python-version", "3.11"}},
		{"get SIGINT", syscall.SIGINT, 130, nil}, // args filled below
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo")}, downloadProjects())
			if err != nil {
				t.Fatal(err)
			}
			sf := &stallingFiles{h: repogen.NewHandler(r.Dir()), started: make(chan struct{})}
			srv := httptest.NewServer(sf)
			defer srv.Close()
			home, dest := t.TempDir(), filepath.Join(t.TempDir(), "dest")
			args := tt.args
			if args == nil {
				var target string
				for _, f := range r.Files() {
					if f.Filename == "alpha-1.0.0-py3-none-any.whl" {
						target = f.Path
					}
				}
				args = []string{"get", target, "-o", filepath.Join(dest, "out.whl")}
				os.MkdirAll(dest, 0o755)
			} else {
				args = append(args, "-d", dest)
			}
			cmd := exec.Command(bin, append([]string{
				"--home", home,
				"--metadata-url", srv.URL + "/metadata/",
				"--index-url", srv.URL + "/simple/",
				"--files-url", srv.URL + "/packages/",
				"--root", filepath.Join(r.Dir(), "trusted-root.json"),
				"--freshness", "0",
			}, args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case <-sf.started:
			case err := <-waited:
				t.Fatalf("tufpip ended before the download started: %v\nstdout: %s\nstderr: %s", err, &stdout, &stderr)
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatal("the download never started")
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-waited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("tufpip did not stop after %v\nstderr: %s", tt.sig, &stderr)
			}
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit code %d after %v, want %d (ProcessState %v)\nstderr: %s", got, tt.sig, tt.code, cmd.ProcessState, &stderr)
			}
			if got := stderr.String(); got != "tufpip: interrupted\n" {
				t.Errorf("stderr = %q, want exactly %q", got, "tufpip: interrupted\n")
			}
			if ents, _ := os.ReadDir(dest); len(ents) != 0 {
				t.Errorf("files left in the destination: %v", ents)
			}
			filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (strings.Contains(d.Name(), "tmp") || strings.HasSuffix(d.Name(), ".whl")) && !strings.HasSuffix(d.Name(), ".lock") {
					t.Errorf("left behind in tufpip's home: %s", p)
				}
				return nil
			})
		})
	}
}
