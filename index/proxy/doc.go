// Package proxy is tufpip's local Simple API server: an http.Handler
// (New, Config) that serves PEP 503 HTML and PEP 691 JSON project pages
// and distribution files to pip and uv, only as the index package's
// client verified them; plus the /-/status page and /-/healthz, the audit
// log line per served file (target path, hash, role, snapshot version),
// the Host-header check against DNS rebinding, the HTTP status each
// failure maps to (StatusFor), the memo of recent refusals that pip's
// retries hit, and serving the last verified page while the repository is
// unreachable (when index.Client.StillSigned allows it).
//
// It must not verify anything itself, fetch from upstream or consult TUF
// directly: pages and files come from index.Client (and index.PageCache),
// and the rules about what may be served are index's. It only decides
// how to answer an HTTP request with what index hands it.
package proxy
