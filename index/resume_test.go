package index

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// breakingServer serves data, but the first `breaks` responses are cut
// off after `cut` bytes by closing the connection. With ranges it honours
// Range requests; without, it always sends the whole file.
func breakingServer(t *testing.T, data []byte, cut, breaks int, ranges bool, requests *atomic.Int32, rangeHeaders *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(requests.Add(1))
		body := data
		if rh := r.Header.Get("Range"); rh != "" {
			*rangeHeaders = append(*rangeHeaders, rh)
			if ranges {
				var start int
				fmt.Sscanf(rh, "bytes=%d-", &start)
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
				w.Header().Set("Content-Length", fmt.Sprint(len(data)-start))
				w.WriteHeader(http.StatusPartialContent)
				body = data[start:]
			}
		}
		if !(ranges && r.Header.Get("Range") != "") {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		w.Header().Set("ETag", `"v1"`)
		if n <= breaks && len(body) > cut {
			w.Write(body[:cut])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchVerifiedResumes(t *testing.T) {
	data := make([]byte, 300_000)
	rand.Read(data)
	sum := blake2b.Sum256(data)
	ti := updater.TargetInfo{Path: "a/b/x.whl", Length: int64(len(data)), Hashes: map[string]string{updater.HashBLAKE2b256: hex.EncodeToString(sum[:])}}
	hc := httpx.NewClient(httpx.Options{RetryMax: 1})
	for _, tt := range []struct {
		name          string
		cut           int
		breaks        int
		ranges        bool
		wantErr       string
		wantRequests  int32
		wantRangeHdrs int
	}{
		{name: "one break, server honours Range", cut: 100_000, breaks: 1, ranges: true, wantRequests: 2, wantRangeHdrs: 1},
		{name: "two breaks, server honours Range", cut: 100_000, breaks: 2, ranges: true, wantRequests: 3, wantRangeHdrs: 2},
		{name: "one break, server ignores Range", cut: 100_000, breaks: 1, ranges: false, wantRequests: 2, wantRangeHdrs: 1},
		// Ignoring Range and breaking at the same byte again: no progress,
		// so no further resume.
		{name: "no progress", cut: 100_000, breaks: 100, ranges: false, wantErr: "unexpected EOF", wantRequests: 2, wantRangeHdrs: 1},
		{name: "keeps breaking", cut: 50_000, breaks: 100, ranges: true, wantErr: "unexpected EOF", wantRequests: 1 + maxResumes, wantRangeHdrs: maxResumes},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			var rangeHeaders []string
			srv := breakingServer(t, data, tt.cut, tt.breaks, tt.ranges, &requests, &rangeHeaders)
			store, err := cache.OpenStore(t.TempDir(), cache.StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ent, err := FetchVerified(context.Background(), hc, store, ti, srv.URL+"/x.whl")
			if tt.wantErr != "" {
				var ne *updater.NetworkError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ne) {
					t.Fatalf("err = %v, want a network error mentioning %q", err, tt.wantErr)
				}
				if _, gerr := store.Get(context.Background(), ti); gerr == nil {
					t.Fatal("a broken download was cached")
				}
			} else {
				if err != nil {
					t.Fatalf("FetchVerified: %v", err)
				}
				got, _ := io.ReadAll(ent.File())
				ent.Close()
				if !bytes.Equal(got, data) {
					t.Fatal("resumed download differs from the file")
				}
			}
			if requests.Load() != tt.wantRequests || len(rangeHeaders) != tt.wantRangeHdrs {
				t.Fatalf("%d requests with %d Range headers (%v), want %d and %d", requests.Load(), len(rangeHeaders), rangeHeaders, tt.wantRequests, tt.wantRangeHdrs)
			}
			if want := fmt.Sprintf("bytes=%d-", tt.cut); len(rangeHeaders) > 0 && rangeHeaders[0] != want {
				t.Fatalf("first resume asked for %q, want %s", rangeHeaders[0], want)
			}
		})
	}
}

// A resumed download that stitches two different files together fails
// verification: resuming never weakens the check.
func TestFetchVerifiedResumeAcrossChange(t *testing.T) {
	data := make([]byte, 200_000)
	rand.Read(data)
	sum := blake2b.Sum256(data)
	ti := updater.TargetInfo{Path: "x.whl", Length: int64(len(data)), Hashes: map[string]string{updater.HashBLAKE2b256: hex.EncodeToString(sum[:])}}
	other := bytes.Clone(data)
	other[len(other)-1] ^= 1
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:50_000])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Write(other) // ignores Range, and the file changed meanwhile
	}))
	defer srv.Close()
	store, err := cache.OpenStore(t.TempDir(), cache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = FetchVerified(context.Background(), httpx.NewClient(httpx.Options{RetryMax: 1}), store, ti, srv.URL+"/x.whl")
	var mm *updater.MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("err = %v, want a hash mismatch", err)
	}
}
