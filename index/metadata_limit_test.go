package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
)

// Core metadata is capped whatever its signed length: an endless or huge
// .metadata is refused with a message naming the limit, and nothing of
// it is cached.
func TestOpenMetadataLimit(t *testing.T) {
	huge := bytes.Repeat([]byte("Metadata-Version: 2.1\n"), (DefaultMaxCoreMetadataBytes/22)+1)
	sum := sha256.Sum256(huge)
	unknown := updater.TargetInfo{Path: "pkg-1.0-py3-none-any.whl.metadata", Length: updater.UnknownLength, Hashes: map[string]string{updater.HashSHA256: hex.EncodeToString(sum[:])}}
	signed := unknown
	signed.Length = int64(len(huge))
	for _, tt := range []struct {
		name     string
		ti       updater.TargetInfo
		announce bool
		limit    int64
		want     string
	}{
		{"unknown length, streamed", unknown, false, 0, "core metadata of pkg-1.0-py3-none-any.whl: pkg-1.0-py3-none-any.whl.metadata: larger than the size limit: more than 16777216 bytes (the limit for .metadata files is 16777216 bytes); nothing was cached"},
		{"unknown length, announced", unknown, true, 0, fmt.Sprintf("%d bytes announced, more than 16777216", len(huge))},
		{"signed length over the cap", signed, true, 0, fmt.Sprintf("signed as %d bytes, more than 16777216", len(huge))},
		{"field lowers the cap", unknown, false, 1000, "more than 1000 bytes (the limit for .metadata files is 1000 bytes); nothing was cached"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.announce {
					w.Header().Set("Content-Length", fmt.Sprint(len(huge)))
				} else {
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
				}
				w.Write(huge)
			}))
			defer srv.Close()
			dir := t.TempDir()
			store, err := cache.OpenStore(dir, cache.StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := &Client{HTTP: srv.Client(), Store: store, MaxCoreMetadataBytes: tt.limit}
			vf := VerifiedFile{File: simple.File{Filename: "pkg-1.0-py3-none-any.whl", URL: srv.URL + "/pkg-1.0-py3-none-any.whl"}, Metadata: &tt.ti}
			_, err = c.OpenMetadata(context.Background(), vf)
			if !errors.Is(err, cache.ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("OpenMetadata: %v\nwant ErrTooLarge and %q", err, tt.want)
			}
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".lock") {
					t.Errorf("left in the cache: %s", p)
				}
				return nil
			})
		})
	}
}
