// Command tufpip-conformance speaks the TUF client conformance suite's
// CLI protocol on top of tufpip's updater package, so that the same code
// that guards pip is held to the ecosystem's test suite:
//
//	tufpip-conformance --metadata-dir D init ROOT_FILE
//	tufpip-conformance --metadata-url U --metadata-dir D refresh
//	tufpip-conformance --metadata-url U --metadata-dir D --target-name P
//	    [--target-name P2 ...] --target-dir T --target-base-url B download
//
// Exit status is 0 on full success and 1 on any failure. The freshness
// window is off: every run asks the repository.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"

	"github.com/tufpip/tufpip/cache/atomicfile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tufpip-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metadataURL := fs.String("metadata-url", "", "repository metadata URL")
	metadataDir := fs.String("metadata-dir", "", "directory for trusted metadata")
	targetDir := fs.String("target-dir", "", "directory for downloaded targets")
	targetBase := fs.String("target-base-url", "", "base URL for targets")
	var targets stringList
	fs.Var(&targets, "target-name", "target path to download (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() < 1 || *metadataDir == "" {
		fmt.Fprintln(stderr, "tufpip-conformance: usage: --metadata-dir D [--metadata-url U ...] init|refresh|download")
		return 1
	}
	var err error
	switch cmd := fs.Arg(0); cmd {
	case "init":
		if fs.NArg() != 2 {
			err = errors.New("init needs ROOT_FILE")
			break
		}
		err = initRoot(*metadataDir, fs.Arg(1))
	case "refresh":
		var u *updater.Updater
		if u, err = newUpdater(*metadataURL, *metadataDir); err == nil {
			err = u.Refresh(ctx)
		}
	case "download":
		err = download(ctx, *metadataURL, *metadataDir, *targetDir, *targetBase, targets)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tufpip-conformance: %v\n", err)
		return 1
	}
	return 0
}

func initRoot(dir, rootFile string) error {
	b, err := os.ReadFile(rootFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "root.json"), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func newUpdater(metadataURL, dir string) (*updater.Updater, error) {
	if metadataURL == "" {
		return nil, errors.New("--metadata-url is required")
	}
	if _, err := os.Stat(filepath.Join(dir, "root.json")); err != nil {
		return nil, fmt.Errorf("no trusted root in %s: run init first", dir)
	}
	return updater.New(updater.Config{
		MetadataURL: metadataURL,
		MetadataDir: dir,
		// The suite expects every trusted role, delegated ones included,
		// as <role>.json in the metadata directory. The updater refuses
		// delegated roles named like top-level roles, so none can land
		// on root.json, timestamp.json, snapshot.json or targets.json.
		DelegatedDir: dir,
		Window:       0,
		Now:          updater.ClockFromEnv(),
		HTTPClient:   httpx.NewClient(httpx.Options{RetryMax: 1}),
	})
}

func download(ctx context.Context, metadataURL, dir, targetDir, base string, targets []string) error {
	if targetDir == "" || base == "" {
		return errors.New("download needs --target-dir and --target-base-url")
	}
	u, err := newUpdater(metadataURL, dir)
	if err != nil {
		return err
	}
	if err := u.Refresh(ctx); err != nil {
		return err
	}
	st, err := u.Status(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(targetDir, 0o755); err != nil {
		return err
	}
	hc := httpx.NewClient(httpx.Options{RetryMax: 1})
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	for _, target := range targets {
		ti, err := u.Target(ctx, target)
		if err != nil {
			return err
		}
		// One target path always maps to the same file name.
		dst := filepath.Join(targetDir, url.PathEscape(target))
		if f, err := os.Open(dst); err == nil {
			_, verr := updater.VerifyCopy(nil, f, ti)
			f.Close()
			if verr == nil {
				continue
			}
		}
		rel := target
		if st.ConsistentSnapshot {
			dirPart, file := path.Split(target)
			rel = dirPart + prefixHash(ti) + "." + file
		}
		if err := fetchTo(ctx, hc, base+rel, dst, ti); err != nil {
			return err
		}
	}
	return nil
}

// prefixHash picks the hash for a consistent-snapshot target name.
func prefixHash(ti updater.TargetInfo) string {
	for _, alg := range []string{updater.HashSHA256, updater.HashSHA512, updater.HashBLAKE2b256} {
		if h, ok := ti.Hashes[alg]; ok {
			return h
		}
	}
	for _, h := range ti.Hashes {
		return h
	}
	return ""
}

func fetchTo(ctx context.Context, hc *http.Client, u, dst string, ti updater.TargetInfo) error {
	resp, err := httpx.GetStream(ctx, hc, u, 30*time.Second)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Bytes reach dst only after length and every hash matched.
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := updater.VerifyCopy(w, resp.Body, ti)
		return err
	})
}

// writeAtomic writes dst through atomicfile, so a crash never leaves a
// partial file under the final name.
func writeAtomic(dst string, write func(io.Writer) error) error {
	return atomicfile.Write(dst, 0o600, write)
}
