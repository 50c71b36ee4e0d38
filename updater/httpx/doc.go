// Package httpx is tufpip's one HTTP client: retrying (go-retryablehttp,
// never on 404), with timeouts, a User-Agent, per-host basic auth from
// URLs or .netrc, and redirects kept on their host; streaming GETs that
// guard against slow retrieval (an idle timeout and a minimum rate); and
// the words of the network made safe to show: URLs with their
// credentials redacted, and untrusted text with its control characters
// escaped.
//
// It knows nothing about TUF. The updater hands the client to go-tuf's
// fetcher; index and cmd use it for pages and files. It is the boundary
// where network text enters tufpip, which is why escaping lives here too:
// every package that shows such text already imports this one, and the
// safe form of a line (SafeLine) is redaction then escaping.
//
// It imports only the standard library and go-retryablehttp.
package httpx
