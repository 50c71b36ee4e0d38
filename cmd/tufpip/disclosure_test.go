package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
)

// Issue 10, items 3 and 5: credentials never shown, terminal control
// sequences from the network never printed raw.

const (
	authUser   = "alice"
	authSecret = "s3cr3t-PASSWORD-42"
	// tokenSecret is a token given as a URL's user name, no password.
	tokenSecret = "TOKEN-9f8e7d-SECRET"
)

// authRepo is a generated repository behind a server that wants HTTP
// basic auth, as a private index does.
type authRepo struct {
	*testRepo
	host string // 127.0.0.1:port
	// seen counts the requests that came with the right credential.
	mu     sync.Mutex
	authed int
	// boom is a path prefix answered 500 (for refusals that quote URLs).
	boom string
}

func newAuthRepo(t *testing.T) *authRepo {
	t.Helper()
	opts := repogen.Options{Dir: filepath.Join(t.TempDir(), "repo")}
	r, err := repogen.Generate(opts, downloadProjects())
	if err != nil {
		t.Fatal(err)
	}
	ar := &authRepo{boom: "/simple/gamma/"}
	static := repogen.NewHandler(r.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || !((u == authUser && p == authSecret) || (u == tokenSecret && p == "")) {
			w.Header().Set("WWW-Authenticate", `Basic realm="private index"`)
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		ar.mu.Lock()
		ar.authed++
		ar.mu.Unlock()
		if strings.HasPrefix(req.URL.Path, ar.boom) {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		static.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	ar.testRepo = &testRepo{t: t, repo: r, url: srv.URL, home: t.TempDir(), layout: repogen.IndexLayoutPEP458}
	ar.host = strings.TrimPrefix(srv.URL, "http://")
	return ar
}

// withUser is the server's URL with userinfo.
func (ar *authRepo) withUser(userinfo, path string) string {
	return "http://" + userinfo + "@" + ar.host + path
}

// runMain runs tufpip in-process with exactly args.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Main(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// noSecret fails if any of the secrets occurs in text.
func noSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{authSecret, tokenSecret} {
		if strings.Contains(text, s) {
			t.Errorf("%s discloses the secret %q:\n%s", what, s, text)
		}
	}
}

// isolateCredentials points HOME and NETRC away from the user's own.
func isolateCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("NETRC", "")
	t.Setenv(envUsername, "")
	os.Unsetenv(envUsername)
	t.Setenv(envPassword, "")
	os.Unsetenv(envPassword)
}

func TestCredentialsInURLsNeverShown(t *testing.T) {
	isolateCredentials(t)
	ar := newAuthRepo(t)
	home := t.TempDir()
	userinfo := authUser + ":" + authSecret
	root := filepath.Join(ar.repo.Dir(), "trusted-root.json")

	t.Run("init warns and stores", func(t *testing.T) {
		code, out, errOut := runMain(t, "--home", home, "init", "corp",
			"--metadata-url", ar.withUser(userinfo, "/metadata/"),
			"--index-url", ar.withUser(userinfo, "/simple/"),
			"--files-url", ar.withUser(userinfo, "/packages/"),
			"--root", root)
		wantCode(t, code, 0, out, errOut)
		noSecret(t, "init's output", out+errOut)
		wantContains(t, "stderr", errOut, "tufpip: warning: --metadata-url holds credentials, stored in plain text in ", "hint: put them in ~/.netrc")
	})
	t.Run("userinfo works", func(t *testing.T) {
		code, out, errOut := runMain(t, "--home", home, "--freshness", "0", "-v", "refresh")
		wantCode(t, code, 0, out, errOut)
		noSecret(t, "refresh -v", out+errOut)
		wf := ar.file("alpha-1.0.0-py3-none-any.whl")
		dest := filepath.Join(t.TempDir(), "a.whl")
		code, out, errOut = runMain(t, "--home", home, "--freshness", "0", "-v", "get", wf.Path, "-o", dest)
		wantCode(t, code, 0, out, errOut)
		noSecret(t, "get -v", out+errOut)
	})
	t.Run("status", func(t *testing.T) {
		for _, args := range [][]string{{"status"}, {"status", "--json"}} {
			code, out, errOut := runMain(t, append([]string{"--home", home}, args...)...)
			wantCode(t, code, 0, out, errOut)
			noSecret(t, strings.Join(args, " "), out+errOut)
			wantContains(t, "status", out, ar.host+"/metadata/")
		}
	})
	t.Run("config show", func(t *testing.T) {
		t.Setenv("TUFPIP_INDEX_URL", ar.withUser(userinfo, "/simple/"))
		t.Setenv("TUFPIP_FILES_URL", ar.withUser(tokenSecret, "/packages/"))
		for _, args := range [][]string{{"config", "show"}, {"config", "show", "--json"}} {
			code, out, errOut := runMain(t, append([]string{"--home", home, "--metadata-url", ar.withUser(userinfo, "/metadata/")}, args...)...)
			wantCode(t, code, 0, out, errOut)
			noSecret(t, strings.Join(args, " "), out+errOut)
			wantContains(t, "config show", out, "alice:xxxxx@"+ar.host+"/simple/", "xxxxx@"+ar.host+"/packages/")
		}
	})
	t.Run("404 error", func(t *testing.T) {
		wf := ar.file("alpha-1.0.0-py3-none-any.whl")
		// --base-url keeps its userinfo: the error quotes it, redacted.
		code, out, errOut := runMain(t, "--home", home, "--cache-dir", t.TempDir(), "-v", "get", wf.Path, "-o", filepath.Join(t.TempDir(), "x"),
			"--base-url", ar.withUser(userinfo, "/nowhere/"))
		wantCode(t, code, exitUsage, out, errOut)
		noSecret(t, "get's 404", out+errOut)
		wantContains(t, "stderr", errOut, "fetching http://alice:xxxxx@"+ar.host+"/nowhere/", "unexpected HTTP status 404")
	})
	t.Run("unreachable host", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		ln.Close()
		for _, ui := range []string{userinfo, tokenSecret} {
			base := "http://" + ui + "@" + dead
			code, out, errOut := runMain(t, "--home", t.TempDir(), "-v", "--metadata-url", base+"/metadata/", "--index-url", base+"/simple/", "--root", root, "refresh")
			wantCode(t, code, exitUsage, out, errOut)
			noSecret(t, "refresh of an unreachable host", out+errOut)
			wantContains(t, "stderr", errOut, "connection refused")
			wf := ar.file("alpha-1.0.0-py3-none-any.whl")
			code, out, errOut = runMain(t, "--home", home, "--cache-dir", t.TempDir(), "-v", "get", wf.Path, "-o", filepath.Join(t.TempDir(), "x"), "--base-url", base+"/packages/")
			wantCode(t, code, exitUsage, out, errOut)
			noSecret(t, "get from an unreachable host", out+errOut)
			wantContains(t, "stderr", errOut, "xxxxx@"+dead+"/packages/", "connection refused")
		}
	})
	t.Run("proxy", func(t *testing.T) {
		p := startInProcessProxy(t, "--home", home, "-v", "--freshness", "0")
		wf := ar.file("alpha-1.0.0-py3-none-any.whl")
		checks := []struct {
			path, accept string
			status       int
			says         string
		}{
			{"/-/status", "", 200, `"index_url": "http://` + ar.host + `/simple/"`},
			{"/-/status", "text/html", 200, "<code>http://" + ar.host + "/simple/</code>"},
			{"/simple/alpha/", "", 200, wf.Filename},
			{"/files/alpha/" + wf.Filename, "", 200, ""},
			{"/simple/gamma/", "", 502, "tufpip: refused: project gamma: the repository is unreachable: index page of gamma: fetching http://" + ar.host + "/simple/gamma/"},
		}
		for _, c := range checks {
			status, body := httpGet(t, p.url+c.path, c.accept)
			if status != c.status || !strings.Contains(body, c.says) {
				t.Errorf("GET %s: %d %q, want %d saying %q", c.path, status, body, c.status, c.says)
			}
			noSecret(t, "GET "+c.path, body)
		}
		p.stop(t)
		noSecret(t, "the proxy's log", p.log.String())
	})
}

func TestCredentialsFromNetrcAndEnvironment(t *testing.T) {
	isolateCredentials(t)
	ar := newAuthRepo(t)
	wf := ar.file("alpha-1.0.0-py3-none-any.whl")
	get := func(t *testing.T) (int, string, string) {
		t.Helper()
		ar.home = t.TempDir()
		return ar.run("get", wf.Path, "-o", filepath.Join(t.TempDir(), "a.whl"))
	}
	netrc := func(t *testing.T, text string) {
		t.Helper()
		t.Setenv("NETRC", writeFile(t, filepath.Join(t.TempDir(), "netrc"), text))
	}
	host, _, _ := net.SplitHostPort(ar.host)

	t.Run("none: 401 and a hint", func(t *testing.T) {
		code, out, errOut := get(t)
		wantCode(t, code, exitUsage, out, errOut)
		wantContains(t, "stderr", errOut, "unexpected HTTP status 401", "hint: the repository wants credentials: put them in ~/.netrc")
	})
	t.Run("netrc", func(t *testing.T) {
		netrc(t, "# private index\nmachine localhost login nobody password wrong\n\nmachine "+host+"\n  login "+authUser+"\n  password "+authSecret+"\ndefault login x password y\n")
		code, out, errOut := get(t)
		wantCode(t, code, 0, out, errOut)
		noSecret(t, "get", out+errOut)
		wantContains(t, "stderr", errOut, "verified "+wf.Path)
		// And through the proxy: a page and a file.
		ar.home = t.TempDir()
		p := startInProcessProxy(t, ar.args()...)
		for _, path := range []string{"/simple/alpha/", "/files/alpha/" + wf.Filename} {
			if status, body := httpGet(t, p.url+path, ""); status != 200 {
				t.Errorf("GET %s through the proxy: %d %q", path, status, body)
			}
		}
		p.stop(t)
		noSecret(t, "the proxy's log", p.log.String())
	})
	t.Run("netrc of another host is not sent", func(t *testing.T) {
		// The server is 127.0.0.1; "localhost" is another host.
		netrc(t, "machine localhost login "+authUser+" password "+authSecret+"\ndefault login "+authUser+" password "+authSecret+"\n")
		code, out, errOut := get(t)
		wantCode(t, code, exitUsage, out, errOut)
		wantContains(t, "stderr", errOut, "unexpected HTTP status 401")
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(envUsername, authUser)
		t.Setenv(envPassword, authSecret)
		code, out, errOut := get(t)
		wantCode(t, code, 0, out, errOut)
		noSecret(t, "get", out+errOut)
	})
	t.Run("a broken netrc names the line, not its words", func(t *testing.T) {
		netrc(t, "machine "+host+" login "+authUser+" "+authSecret+"\n")
		code, out, errOut := get(t)
		wantCode(t, code, exitUsage, out, errOut)
		noSecret(t, "the netrc error", out+errOut)
		wantContains(t, "stderr", errOut, "line 1: unexpected token")
	})
}

// args are the flags of testRepo.run, for in-process commands.
func (tr *testRepo) args() []string {
	return []string{
		"--home", tr.home,
		"--metadata-url", tr.url + "/metadata/",
		"--index-url", tr.url + "/simple/",
		"--files-url", tr.url + "/packages/",
		"--root", filepath.Join(tr.repo.Dir(), "trusted-root.json"),
		"--layout", tr.layout,
		"--freshness", "0",
	}
}

// ---- an in-process proxy ----

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type inProcessProxy struct {
	url    string // http://127.0.0.1:port
	log    *lockedBuffer
	cancel context.CancelFunc
	done   chan int
}

var servingAt = regexp.MustCompile(`serving verified files at (http://\S+)/simple/`)

// startInProcessProxy runs "tufpip ARGS proxy --listen 127.0.0.1:0".
func startInProcessProxy(t *testing.T, args ...string) *inProcessProxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcessProxy{log: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		p.done <- Main(ctx, append(args, "proxy", "--listen", "127.0.0.1:0"), strings.NewReader(""), p.log, p.log)
	}()
	t.Cleanup(func() { p.stop(t) })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := servingAt.FindStringSubmatch(p.log.String()); m != nil {
			p.url = m[1]
			return p
		}
		select {
		case code := <-p.done:
			p.done <- code
			t.Fatalf("the proxy exited with %d:\n%s", code, p.log.String())
		default:
		}
	}
	t.Fatalf("the proxy did not start:\n%s", p.log.String())
	return nil
}

func (p *inProcessProxy) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy did not stop")
	}
}

func httpGet(t *testing.T, u, accept string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// ---- terminal control sequences ----

// hostileText fakes a success line over whatever the terminal showed,
// then reverses what follows and rings the bell.
const hostileText = "\r\x1b[2Kok      lib.whl\u202e\u009b31m\a"

// hostileEscaped is how tufpip must show it.
const hostileEscaped = `\r\x1b[2Kok      lib.whl\u202e\u009b31m\a`

// rawControl is the index of the first raw control character in s: C0
// (but for \n and \t), DEL, C1, invalid UTF-8, bidi overrides and
// isolates; -1 if none.
func rawControl(s string) int {
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0xfffd,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return i
		}
	}
	return -1
}

func noRawControl(t *testing.T, what, s string) {
	t.Helper()
	if i := rawControl(s); i >= 0 {
		t.Errorf("%s has a raw control character at byte %d: %q", what, i, s)
	}
}

func TestTerminalEscapesInMessages(t *testing.T) {
	isolateCredentials(t)
	tr := newTestRepo(t, repogen.Options{}, downloadProjects()...)
	// Prime a home, then serve a timestamp whose (unsigned, unchecked
	// before the type) "_type" is hostile.
	code, out, errOut := tr.run("refresh")
	wantCode(t, code, 0, out, errOut)
	tsPath := filepath.Join(tr.repo.Dir(), "metadata", "timestamp.json")
	ts, err := os.ReadFile(tsPath)
	if err != nil {
		t.Fatal(err)
	}
	hostile := strings.Replace(string(ts), `"_type": "timestamp"`, `"_type": "\r\u001b[2Kok      lib.whl\u202e\u009b31m\u0007"`, 1)
	if hostile == string(ts) {
		t.Fatalf("no _type in %s", ts)
	}

	t.Run("proxy", func(t *testing.T) {
		p := startInProcessProxy(t, tr.args()...)
		if err := os.WriteFile(tsPath, []byte(hostile), 0o644); err != nil {
			t.Fatal(err)
		}
		status, body := httpGet(t, p.url+"/simple/alpha/", "")
		if status != http.StatusBadGateway || !strings.Contains(body, "expected metadata type timestamp, got - "+hostileEscaped) {
			t.Errorf("GET /simple/alpha/: %d %q, want 502 with the _type escaped", status, body)
		}
		noRawControl(t, "the refusal", body)
		_, st := httpGet(t, p.url+"/-/status", "text/html")
		noRawControl(t, "the status page", st)
		p.stop(t)
		noRawControl(t, "the proxy's log", p.log.String())
		wantContains(t, "the proxy's log", p.log.String(), `expected metadata type timestamp, got - \r\x1b[2Kok`)
	})
	t.Run("commands", func(t *testing.T) {
		for _, args := range [][]string{{"refresh"}, {"-v", "status", "--refresh"}, {"download", "-d", t.TempDir(), "alpha"}} {
			code, out, errOut := tr.run(args...)
			wantCode(t, code, exitUsage, out, errOut)
			noRawControl(t, strings.Join(args, " "), out+errOut)
			wantContains(t, "stderr", errOut, "expected metadata type timestamp, got - "+hostileEscaped)
		}
	})
}
