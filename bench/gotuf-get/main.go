// Command gotuf-get is the benchmark's reference client: a minimal go-tuf
// v2 program that does what "tufpip get TARGET -o FILE" does, the way the
// go-tuf documentation writes a client, and nothing more. It exists only
// to be timed against tufpip in the same run (see docs/performance.md).
//
//	gotuf-get -metadata-url URL -metadata-dir DIR -root ROOT \
//	    -files-url URL -target-dir DIR TARGET
//
// The metadata directory is go-tuf's own cache: the trusted root.json is
// read from it when present (a warm run), else -root bootstraps it (a cold
// run). Every run does one Refresh, which re-reads and re-verifies the
// cached snapshot even when nothing changed, then one GetTargetInfo.
//
// The artifact is looked up in -target-dir first, as FindCachedTarget
// would, and downloaded otherwise, as DownloadTarget would. go-tuf itself
// verifies only sha256 and sha512, while PEP 458 repositories sign
// blake2b-256, so the length and every hash are checked here with the
// same libraries tufpip uses.
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
	"golang.org/x/crypto/blake2b"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gotuf-get:", err)
		os.Exit(1)
	}
}

func run() error {
	metadataURL := flag.String("metadata-url", "", "TUF metadata URL")
	metadataDir := flag.String("metadata-dir", "", "trusted metadata directory (go-tuf's cache)")
	rootFile := flag.String("root", "", "bootstrap root.json, used when the metadata directory has none")
	filesURL := flag.String("files-url", "", "base URL of target files")
	targetDir := flag.String("target-dir", "", "where verified targets are kept")
	flag.Parse()
	if flag.NArg() != 1 || *metadataURL == "" || *metadataDir == "" || *filesURL == "" || *targetDir == "" {
		return errors.New("usage: gotuf-get -metadata-url URL -metadata-dir DIR [-root FILE] -files-url URL -target-dir DIR TARGET")
	}
	target := flag.Arg(0)

	root, err := os.ReadFile(filepath.Join(*metadataDir, "root.json"))
	if err != nil {
		if root, err = os.ReadFile(*rootFile); err != nil {
			return fmt.Errorf("no trusted root: %w", err)
		}
	}
	cfg, err := config.New(*metadataURL, root)
	if err != nil {
		return err
	}
	cfg.LocalMetadataDir = *metadataDir
	cfg.LocalTargetsDir = *targetDir
	// PEP 458 distribution paths already commit to their content.
	cfg.PrefixTargetsWithHash = false
	// The 16,384-bin snapshot is ~0.75 MB; go-tuf's default limit is 2 MB.
	cfg.SnapshotMaxLength = 4 << 20
	up, err := updater.New(cfg)
	if err != nil {
		return err
	}
	if err := up.Refresh(); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	ti, err := up.GetTargetInfo(target)
	if err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	local := filepath.Join(*targetDir, url.PathEscape(target))
	if data, err := os.ReadFile(local); err == nil && verify(ti, data) == nil {
		return nil
	}
	resp, err := http.Get(strings.TrimSuffix(*filesURL, "/") + "/" + target)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s", target, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, ti.Length+1))
	if err != nil {
		return err
	}
	if err := verify(ti, data); err != nil {
		return err
	}
	if err := os.MkdirAll(*targetDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(local, data, 0o600)
}

// verify checks length and every hash, as TargetFiles.VerifyLengthHashes
// does, with blake2b-256 added.
func verify(ti *metadata.TargetFiles, data []byte) error {
	if int64(len(data)) != ti.Length {
		return fmt.Errorf("%s: length %d, signed %d", ti.Path, len(data), ti.Length)
	}
	if len(ti.Hashes) == 0 {
		return fmt.Errorf("%s: no hashes signed", ti.Path)
	}
	for alg, want := range ti.Hashes {
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha512":
			h = sha512.New()
		case "blake2b-256":
			h, _ = blake2b.New256(nil)
		default:
			return fmt.Errorf("%s: unknown hash algorithm %s", ti.Path, alg)
		}
		h.Write(data)
		if !bytes.Equal(h.Sum(nil), want) {
			return fmt.Errorf("%s: %s mismatch: got %s", ti.Path, alg, hex.EncodeToString(h.Sum(nil)))
		}
	}
	return nil
}
