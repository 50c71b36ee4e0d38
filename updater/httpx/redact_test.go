package httpx

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://host/simple/", "https://host/simple/"},
		{"https://user:s3cret@host/simple/", "https://user:xxxxx@host/simple/"},
		{"https://TOKEN@host/simple/", "https://xxxxx@host/simple/"},
		{"https://user:p@ss@host/", "https://user:xxxxx@host/"},
	} {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`Get "https://user:s3cret@host/x": dial tcp: refused`, `Get "https://user:xxxxx@host/x": dial tcp: refused`},
		{"fetching https://TOKEN@host/a and http://u:p@ss@other:81/b", "fetching https://xxxxx@host/a and http://u:xxxxx@other:81/b"},
		{"mail user@example.com, https://host/x@y", "mail user@example.com, https://host/x@y"},
		{"parse \"https://u:pw@h/%zz\": invalid URL escape", "parse \"https://u:xxxxx@h/%zz\": invalid URL escape"},
	} {
		if got := RedactText(tt.in); got != tt.want {
			t.Errorf("RedactText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEscapeLine(t *testing.T) {
	for _, tt := range []struct{ in, line, text string }{
		{"lib-1.0-py3-none-any.whl", "lib-1.0-py3-none-any.whl", "lib-1.0-py3-none-any.whl"},
		{"café ünïcode 名前", "café ünïcode 名前", "café ünïcode 名前"},
		{"\r\x1b[2Kok      lib.whl\a", `\r\x1b[2Kok      lib.whl\a`, `\r\x1b[2Kok      lib.whl\a`},
		{"a\nb\tc\x7f", `a\nb\tc\x7f`, "a\nb\tc\\x7f"},
		{"csi \u009b31m c1", `csi \u009b31m c1`, `csi \u009b31m c1`},
		{"raw \x9b byte", `raw \x9b byte`, `raw \x9b byte`},
		{"ev\u202eil \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200b\u2028", `ev\u202eil \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200b\u2028`, `ev\u202eil \u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200b\u2028`},
		{`C:\path\x1b`, `C:\path\x1b`, `C:\path\x1b`},
	} {
		if got := EscapeLine(tt.in); got != tt.line {
			t.Errorf("EscapeLine(%q) = %q, want %q", tt.in, got, tt.line)
		}
		if got := EscapeText(tt.in); got != tt.text {
			t.Errorf("EscapeText(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if i := ControlIndex(EscapeLine(tt.in), false); i >= 0 {
			t.Errorf("EscapeLine(%q) leaves a control character at %d", tt.in, i)
		}
	}
}

// ControlIndex is the test's own definition of "raw control": C0 (but
// for \n and \t between lines, if multiline), DEL, C1, invalid UTF-8,
// bidi overrides and isolates.
func ControlIndex(s string, multiline bool) int {
	for i, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\t'):
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0xfffd,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return i
		}
	}
	return -1
}

func TestParseNetrc(t *testing.T) {
	data := "# comment\nmachine a.example login u1 password p1\nmacdef init\ncd /\nquit\n\nmachine b.example\n\tlogin u2\n\tpassword p2 account x\ndefault login d password dp\n"
	got, err := ParseNetrc([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []NetrcEntry{{"a.example", "u1", "p1"}, {"b.example", "u2", "p2"}, {"", "d", "dp"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"machine h login u TOPSECRET\n", "login u password TOPSECRET\n", "machine h password\n"} {
		_, err := ParseNetrc([]byte(bad))
		if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("ParseNetrc(%q) = %v: want an error that does not quote the secret", bad, err)
		}
	}
}

// recordTransport records the Authorization each request carried.
type recordTransport struct{ auth []string }

func (r *recordTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func TestAuthTransportPerHost(t *testing.T) {
	cs := &Credentials{}
	if err := cs.AddOrigin("https://index.example/simple/", Credential{Username: "u", Password: "p", Source: "t"}); err != nil {
		t.Fatal(err)
	}
	cs.AddNetrc([]NetrcEntry{{"files.example", "nu", "np"}, {"plain.example", "x", "y"}, {"", "d", "dp"}}, "netrc")
	rec := &recordTransport{}
	tr := &authTransport{creds: cs, next: rec}
	for _, tt := range []struct{ url, want string }{
		{"https://index.example/simple/lib/", "Basic dTpw"},
		{"https://index.example:443/x", "Basic dTpw"},
		{"https://index.example:8443/x", ""}, // another origin
		{"http://index.example/x", ""},       // another origin (scheme)
		{"https://evil.example/x", ""},       // no "default" to any host
		{"https://files.example:8443/f", "Basic bnU6bnA="},
		{"http://plain.example/f", ""}, // netrc, but plain http off loopback
		{"http://127.0.0.1:1/f", ""},   // not named
	} {
		req, _ := http.NewRequest("GET", tt.url, nil)
		rec.auth = nil
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if rec.auth[0] != tt.want {
			t.Errorf("%s: Authorization %q, want %q", tt.url, rec.auth[0], tt.want)
		}
		if req.Header.Get("Authorization") != "" {
			t.Errorf("%s: the caller's request was changed", tt.url)
		}
	}
	if err := cs.AddOrigin("https://index.example/other/", Credential{Username: "u", Password: "other"}); err == nil {
		t.Error("two different credentials for one origin: no error")
	}
}

// A redirect to another host, even when allowed, carries no credential.
func TestCredentialsNotSentOnRedirect(t *testing.T) {
	var otherAuth string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth = r.Header.Get("Authorization")
	}))
	defer other.Close()
	var firstAuth string
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		firstAuth = r.Header.Get("Authorization")
		http.Redirect(w, r, other.URL+"/x", http.StatusFound)
	}))
	defer first.Close()
	cs := &Credentials{}
	cs.AddOrigin(first.URL, Credential{Username: "u", Password: "p"})
	c := NewClient(Options{Credentials: cs, AllowCrossHostRedirects: true})
	resp, err := Get(context.Background(), c, first.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if firstAuth == "" || otherAuth != "" {
		t.Errorf("Authorization: first host %q, other host %q; want it only at the first", firstAuth, otherAuth)
	}
}

func TestNetworkErrorsRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := NewClient(Options{RetryMax: 1})
	for _, u := range []string{
		"http://user:TOPSECRET@" + dead + "/x",
		"http://TOPSECRET@" + dead + "/x",
		"http://user:TOPSECRET@" + strings.TrimPrefix(srv.URL, "http://") + "/missing",
		"http://user:TOPSECRET@host/%zz",
	} {
		_, err := Get(context.Background(), c, u)
		if err == nil || strings.Contains(err.Error(), "TOPSECRET") || !strings.Contains(err.Error(), "xxxxx@") {
			t.Errorf("Get(%q): %v; want an error with the credential redacted", u, err)
		}
	}
	re := &RedirectError{From: "https://u:TOPSECRET@a/", To: "https://b/", Reason: "r"}
	if strings.Contains(re.Error(), "TOPSECRET") {
		t.Errorf("RedirectError: %v", re)
	}
}
