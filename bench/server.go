package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// countingServer serves a generated repository the way "tufpip testrepo
// serve" does, and counts the bytes it sends, so that "bytes fetched" is
// measured at the server for any client. With gzip on it also answers
// metadata and index pages gzip-compressed to clients that ask for it (as
// a CDN in front of PyPI does), so that a client that negotiates
// compression is seen to.
type countingServer struct {
	dir   string
	files http.Handler
	gzip  atomic.Bool
	// delay is added before every answer (nanoseconds): a repository
	// far away, as a CDN tens of milliseconds off is.
	delay atomic.Int64
	sent  atomic.Int64
	reqs  atomic.Int64
	gzMu  sync.Mutex
	gzs   map[string][]byte
	url   string
	srv   *http.Server
}

func serveRepo(dir string) (*countingServer, error) {
	s := &countingServer{dir: dir, files: repogen.NewHandler(dir), gzs: map[string][]byte{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *countingServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// reset zeroes the counters and returns what they held.
func (s *countingServer) reset() (bytes, requests int64) {
	return s.sent.Swap(0), s.reqs.Swap(0)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (s *countingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.reqs.Add(1)
	if d := time.Duration(s.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	cw := countingWriter{w, &s.sent}
	if s.gzip.Load() && r.Method == http.MethodGet && r.Header.Get("Range") == "" &&
		strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && compressible(r.URL.Path) {
		if gz := s.gzipped(r.URL.Path); gz != nil {
			h := w.Header()
			h.Set("Content-Encoding", "gzip")
			h.Set("Vary", "Accept-Encoding")
			if strings.HasSuffix(r.URL.Path, ".json") {
				h.Set("Content-Type", "application/json")
			} else {
				h.Set("Content-Type", "text/html; charset=utf-8")
			}
			h.Set("Content-Length", itoa(int64(len(gz))))
			cw.Write(gz)
			return
		}
	}
	s.files.ServeHTTP(cw, r)
}

func compressible(p string) bool {
	return strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".html")
}

// gzipped returns the compressed file for a URL path, or nil to let the
// plain handler answer (missing files, hidden paths, directories).
func (s *countingServer) gzipped(urlPath string) []byte {
	rel := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			return nil
		}
	}
	s.gzMu.Lock()
	defer s.gzMu.Unlock()
	if gz, ok := s.gzs[rel]; ok {
		return gz
	}
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	s.gzs[rel] = b.Bytes()
	return b.Bytes()
}
