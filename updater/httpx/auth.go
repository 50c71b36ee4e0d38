package httpx

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Credential is an HTTP basic-auth user name and password, and where it
// came from (for messages: never the secret itself).
type Credential struct {
	Username, Password string
	Source             string
}

// Credentials says which basic-auth credential goes to which server.
// Credentials given for a URL (its userinfo, or the environment for the
// repository's URLs) go only to that URL's origin (scheme, host and
// port); .netrc entries go to the host their "machine" names, as curl and
// pip send them. Nothing is ever sent to any other host, and nothing is
// sent over plain http except to a loopback address, where no network
// can read it.
type Credentials struct {
	origins map[string]Credential
	hosts   map[string]Credential
}

func originOf(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(host, port)
}

// AddOrigin sends c to rawURL's origin. A different credential already
// given for that origin is an error: which one was meant is unclear.
func (cs *Credentials) AddOrigin(rawURL string, c Credential) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	if cs.origins == nil {
		cs.origins = map[string]Credential{}
	}
	o := originOf(u)
	if old, ok := cs.origins[o]; ok {
		if old.Username != c.Username || old.Password != c.Password {
			return fmt.Errorf("two different credentials for %s (%s and %s)", o, old.Source, c.Source)
		}
		return nil
	}
	cs.origins[o] = c
	return nil
}

// HasOrigin reports whether a credential is set for rawURL's origin.
func (cs *Credentials) HasOrigin(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || cs == nil {
		return false
	}
	_, ok := cs.origins[originOf(u)]
	return ok
}

// AddNetrc sends each machine's login and password to that host. The
// "default" entry is ignored: it would go to any host.
func (cs *Credentials) AddNetrc(entries []NetrcEntry, source string) {
	if cs.hosts == nil {
		cs.hosts = map[string]Credential{}
	}
	for _, e := range entries {
		h := strings.ToLower(e.Machine)
		if _, seen := cs.hosts[h]; seen || e.Machine == "" {
			continue // the first entry for a machine wins, as in curl
		}
		cs.hosts[h] = Credential{Username: e.Login, Password: e.Password, Source: source}
	}
}

// For is the credential to send with a request to u.
func (cs *Credentials) For(u *url.URL) (Credential, bool) {
	if cs == nil {
		return Credential{}, false
	}
	if c, ok := cs.origins[originOf(u)]; ok {
		return c, true
	}
	c, ok := cs.hosts[strings.ToLower(u.Hostname())]
	return c, ok
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authTransport adds basic auth per request. It sits below the client
// that follows redirects, so each hop is judged by its own host, and the
// header never lands in a request a redirect copies.
type authTransport struct {
	creds  *Credentials
	next   http.RoundTripper
	logger *slog.Logger
	warned sync.Map // host -> true: the plain-http warning, once per host
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" || req.URL.User != nil {
		return t.next.RoundTrip(req)
	}
	c, ok := t.creds.For(req.URL)
	if !ok {
		return t.next.RoundTrip(req)
	}
	if req.URL.Scheme != "https" && !isLoopback(req.URL.Hostname()) {
		if _, done := t.warned.LoadOrStore(req.URL.Host, true); !done && t.logger != nil {
			t.logger.Warn("not sending credentials over plain http", "host", req.URL.Host, "from", c.Source)
		}
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.SetBasicAuth(c.Username, c.Password)
	return t.next.RoundTrip(req)
}

// NetrcEntry is one "machine" of a .netrc file.
type NetrcEntry struct {
	Machine, Login, Password string
}

// ParseNetrc reads a .netrc file: "machine HOST login USER password
// PASS" tokens separated by any white space, "default" (kept with an
// empty Machine), "account" (ignored) and "macdef NAME" macros (skipped
// to the next blank line). Hand-written because no well-kept Go module
// parses netrc (Go's own parser is internal to cmd/go; the public ones
// are unmaintained), and the format is this small. Errors never quote
// the file's tokens: they may be secrets.
func ParseNetrc(data []byte) ([]NetrcEntry, error) {
	var (
		entries []NetrcEntry
		cur     *NetrcEntry
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	inMacro := false
	for sc.Scan() {
		line++
		text := sc.Text()
		if inMacro {
			if strings.TrimSpace(text) == "" {
				inMacro = false
			}
			continue
		}
		fields := strings.Fields(text)
		for i := 0; i < len(fields); i++ {
			tok := fields[i]
			if strings.HasPrefix(tok, "#") {
				break // a comment to the end of the line
			}
			arg := func() (string, error) {
				if i+1 >= len(fields) {
					return "", fmt.Errorf("line %d: %q needs a value on the same line", line, tok)
				}
				i++
				return fields[i], nil
			}
			var err error
			switch tok {
			case "machine":
				entries = append(entries, NetrcEntry{})
				cur = &entries[len(entries)-1]
				cur.Machine, err = arg()
			case "default":
				entries = append(entries, NetrcEntry{})
				cur = &entries[len(entries)-1]
			case "login", "password", "account":
				var v string
				if v, err = arg(); err == nil && cur == nil {
					err = fmt.Errorf("line %d: %q before any \"machine\"", line, tok)
				}
				if err == nil {
					switch tok {
					case "login":
						cur.Login = v
					case "password":
						cur.Password = v
					}
				}
			case "macdef":
				inMacro = true
				i = len(fields)
			default:
				err = fmt.Errorf("line %d: unexpected token (not machine, default, login, password, account or macdef)", line)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}
