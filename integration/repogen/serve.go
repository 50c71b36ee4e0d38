package repogen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewHandler serves a generated repository as a plain static file server
// would (GET and HEAD, Range, no directory listings; a directory URL
// serves its index.html), with three differences that tests rely on:
//   - nothing whose path has a segment starting with "." is served, so the
//     private .repogen state (keys!) never leaves the machine;
//   - a file with a "<file>.endless" marker is answered with an endless
//     stream until the client goes away (EndlessFile);
//   - a file with a "<file>.slow" marker is sent at the rate the marker
//     holds, in bytes per second (SlowFile).
func NewHandler(dir string) http.Handler {
	return &fileHandler{dir: dir}
}

type fileHandler struct {
	dir string
}

func (h *fileHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	urlPath := req.URL.Path
	if !strings.HasPrefix(urlPath, "/") {
		urlPath = "/" + urlPath
	}
	rel := strings.TrimPrefix(path.Clean(urlPath), "/")
	if rel == "" {
		rel = "."
	}
	if hiddenPath(rel) || strings.HasSuffix(rel, markerEndless) || strings.HasSuffix(rel, markerSlow) {
		http.NotFound(w, req)
		return
	}
	if exists(h.dir, rel+markerEndless) {
		serveEndless(w, req)
		return
	}
	f, err := os.OpenInRoot(h.dir, rel)
	if err != nil {
		notFoundOrError(w, req, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		notFoundOrError(w, req, err)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(req.URL.Path, "/") {
			target := path.Base(req.URL.Path) + "/"
			if req.URL.RawQuery != "" {
				target += "?" + req.URL.RawQuery
			}
			http.Redirect(w, req, target, http.StatusMovedPermanently)
			return
		}
		f.Close()
		rel = path.Join(rel, "index.html")
		if f, err = os.OpenInRoot(h.dir, rel); err != nil {
			notFoundOrError(w, req, err)
			return
		}
		defer f.Close()
		if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
			http.NotFound(w, req)
			return
		}
	}
	if !fi.Mode().IsRegular() {
		http.NotFound(w, req)
		return
	}
	if rate, ok := slowRate(h.dir, rel); ok {
		serveSlow(w, req, f, fi.Size(), rate)
		return
	}
	http.ServeContent(w, req, fi.Name(), fi.ModTime(), f)
}

// hiddenPath reports whether any segment of rel starts with a dot.
func hiddenPath(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") && seg != "." {
			return true
		}
	}
	return false
}

func exists(dir, rel string) bool {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer root.Close()
	_, err = root.Stat(rel)
	return err == nil
}

func slowRate(dir, rel string) (int, bool) {
	f, err := os.OpenInRoot(dir, rel+markerSlow)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

func notFoundOrError(w http.ResponseWriter, req *http.Request, err error) {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "path escapes") {
		http.NotFound(w, req)
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// endlessChunk is what the endless stream repeats.
var endlessChunk = bytes.Repeat([]byte("tufpip-endless-data "), 1638)

func serveEndless(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	for req.Context().Err() == nil {
		if _, err := w.Write(endlessChunk); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// serveSlow sends the whole file with its true length, a few bytes at a
// time, until done or the client leaves.
func serveSlow(w http.ResponseWriter, req *http.Request, f io.Reader, size int64, rate int) {
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	// Ten writes a second keep the stream steady at low rates.
	chunk := max(rate/10, 1)
	tick := time.NewTicker(time.Second * time.Duration(chunk) / time.Duration(rate))
	defer tick.Stop()
	buf := make([]byte, chunk)
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
		select {
		case <-req.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// Serve serves dir with NewHandler on addr (default "127.0.0.1:0", a free
// loopback port) until ctx is done or shutdown is called, and returns the
// base URL without a trailing slash, e.g. "http://127.0.0.1:40123": the
// metadata URL is url+"/metadata/". shutdown waits up to 5 s for requests
// in flight, then closes the rest (endless streams included).
func Serve(ctx context.Context, dir, addr string) (url string, shutdown func(), err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, err
	}
	// Request contexts derive from base, cancelled first on shutdown so
	// endless and slow streams end at once instead of holding it up.
	base, cancelBase := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           NewHandler(dir),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	var once sync.Once
	doShutdown := func() {
		once.Do(func() {
			cancelBase()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				_ = srv.Close()
			}
			<-done
		})
	}
	stop := context.AfterFunc(ctx, doShutdown)
	shutdown = func() {
		stop()
		doShutdown()
	}
	return "http://" + ln.Addr().String(), shutdown, nil
}
