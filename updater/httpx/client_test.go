package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPClientRetries(t *testing.T) {
	var calls404, calls500 atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			calls404.Add(1)
			http.NotFound(w, r)
		case "/500":
			calls500.Add(1)
			http.Error(w, "boom", 500)
		case "/ua":
			io.WriteString(w, r.Header.Get("User-Agent"))
		}
	}))
	defer srv.Close()
	c := NewClient(Options{RetryMax: 2})
	ctx := context.Background()

	_, err := Get(ctx, c, srv.URL+"/404")
	var hs *StatusError
	if !errors.As(err, &hs) || hs.StatusCode != 404 {
		t.Fatalf("404: err = %v", err)
	}
	if n := calls404.Load(); n != 1 {
		t.Fatalf("404 was requested %d times; it must never be retried", n)
	}
	_, err = Get(ctx, c, srv.URL+"/500")
	if !errors.As(err, &hs) || hs.StatusCode != 500 {
		t.Fatalf("500: err = %v", err)
	}
	if n := calls500.Load(); n != 3 {
		t.Fatalf("500 was requested %d times, want 1 + 2 retries", n)
	}
	resp, err := Get(ctx, c, srv.URL+"/ua")
	if err != nil {
		t.Fatal(err)
	}
	ua, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(ua), "tufpip/") {
		t.Fatalf("User-Agent = %q", ua)
	}
}

func TestHTTPClientRefusesCrossHostRedirect(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "evil") }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/ok", http.StatusFound)
			return
		}
		if r.URL.Path == "/ok" {
			io.WriteString(w, "fine")
			return
		}
		http.Redirect(w, r, other.URL+"/x", http.StatusFound)
	}))
	defer srv.Close()
	c := NewClient(Options{RetryMax: 1})
	_, err := Get(context.Background(), c, srv.URL+"/away")
	var re *RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want RedirectError", err)
	}
	resp, err := Get(context.Background(), c, srv.URL+"/same")
	if err != nil {
		t.Fatalf("same-host redirect: %v", err)
	}
	resp.Body.Close()
}

func TestGetStreamStall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "0123456789")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	resp, err := GetStream(context.Background(), NewClient(Options{RetryMax: 1}), srv.URL, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("err = %v, want ErrStalled", err)
	}
}

func TestSlowReader(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	sr := &SlowReader{R: strings.NewReader(strings.Repeat("x", 100)), MinRate: 1000, Grace: time.Second, Now: clock}
	buf := make([]byte, 10)
	if _, err := sr.Read(buf); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second) // 20 bytes in 5 s: far below 1000 B/s
	if _, err := sr.Read(buf); !errors.Is(err, ErrTooSlow) {
		t.Fatalf("err = %v, want ErrTooSlow", err)
	}
}

// NoRetry: one attempt, the status handed back; without it, retries.
func TestNoRetry(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := NewClient(Options{RetryMax: 2})
	_, err := GetStream(NoRetry(context.Background()), c, srv.URL, time.Second)
	var hs *StatusError
	if !errors.As(err, &hs) || hs.StatusCode != 503 || n.Load() != 1 {
		t.Errorf("NoRetry: %v after %d requests, want 503 after 1", err, n.Load())
	}
	n.Store(0)
	GetStream(context.Background(), c, srv.URL, time.Second)
	if n.Load() != 3 {
		t.Errorf("without NoRetry: %d requests, want 3", n.Load())
	}
}
