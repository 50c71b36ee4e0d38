package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// NormalizeHost reduces a host name or IP address (an entry of
// Config.Hosts, or the host of a Host header without its port) to
// the form hosts are compared in: lower case, no trailing dot, no
// brackets around an IPv6 address, IP addresses in canonical form. It
// fails for anything that is neither a DNS name nor an IP address, a port
// included.
func NormalizeHost(h string) (string, error) {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if b, ok := strings.CutPrefix(s, "["); ok {
		s, ok = strings.CutSuffix(b, "]")
		if !ok {
			return "", fmt.Errorf("%q is not a host name or IP address", h)
		}
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.WithZone("").Unmap().String(), nil
	}
	if s == "" || len(s) > 253 {
		return "", fmt.Errorf("%q is not a host name or IP address", h)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%q is not a host name or IP address", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("%q is not a host name or IP address (without a port)", h)
			}
		}
	}
	return s, nil
}

// hostOf is the normalized host of a Host header ("name", "name:port",
// "[v6]:port"), or "" if it is none.
func hostOf(header string) string {
	h := header
	if host, _, err := net.SplitHostPort(header); err == nil {
		h = host
	}
	n, err := NormalizeHost(h)
	if err != nil {
		return ""
	}
	return n
}

// hostAllowed says whether a request's Host header names this proxy: a
// loopback name (localhost, 127.0.0.0/8, ::1) with any port, or one of
// the configured hosts. Anything else is what a DNS-rebinding page sends
// (its own name, resolved to this machine), and is refused.
func (p *Handler) hostAllowed(header string) bool {
	h := hostOf(header)
	if h == "" {
		return false
	}
	if h == "localhost" {
		return true
	}
	if ip, err := netip.ParseAddr(h); err == nil && ip.IsLoopback() {
		return true
	}
	return p.hosts[h]
}

// refuseHost answers a request whose Host header is not one of the
// proxy's names.
func (p *Handler) refuseHost(w http.ResponseWriter, r *http.Request) {
	h := hostOf(r.Host)
	if h == "" {
		p.refuse(w, r, http.StatusMisdirectedRequest, "", "Host %q is not a name this proxy answers to (it answers to localhost, 127.0.0.1 and [::1])", truncate(r.Host, 100))
		return
	}
	p.refuse(w, r, http.StatusMisdirectedRequest, fmt.Sprintf("if clients reach the proxy as %s, start it with --hostname %s", h, h),
		"Host %q is not a name this proxy answers to (it answers to localhost, 127.0.0.1, [::1] and its --hostname list)", truncate(r.Host, 100))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
