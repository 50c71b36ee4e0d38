package simple

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
)

// APIVersion is the Simple API version (PEP 629) that tufpip renders:
// 1.1 adds PEP 700's size, upload-time and versions.
const APIVersion = "1.1"

// DefaultMaxPageBytes is the page size limit used when a parser is given
// maxBytes <= 0. PyPI's largest project pages are a few megabytes.
const DefaultMaxPageBytes = 32 << 20

// ErrPageTooLarge is returned, wrapped, when a page exceeds its size limit.
// The page is refused, never truncated.
var ErrPageTooLarge = errors.New("index page exceeds size limit")

// ErrUnsupportedAPIVersion is returned, wrapped, for a page that declares a
// Simple API major version other than 1 (PEP 629 says to refuse it).
var ErrUnsupportedAPIVersion = errors.New("unsupported simple API version")

// File is one distribution file listed on a project page.
type File struct {
	// Filename is the file's name: the percent-decoded last segment of
	// the URL path for HTML pages, the "filename" key for JSON. It never
	// contains "/", "\", NUL or control characters and is never "." or "..".
	Filename string
	// URL is the absolute http(s) URL of the file, resolved against the
	// page URL (or its <base>), without fragment.
	URL string
	// Hashes maps hashlib algorithm names ("sha256") to lower-case hex
	// digests. Parsers only keep hashes of known algorithms whose value is
	// hex of the right length; the map is never nil after parsing.
	Hashes map[string]string
	// RequiresPython is the PEP 345 Requires-Python specifier set,
	// unescaped ("" when absent).
	RequiresPython string
	// Yanked and YankedReason carry PEP 592.
	Yanked       bool
	YankedReason string
	// CoreMetadata says whether the index serves the file's metadata at
	// URL + ".metadata" (PEP 658/714): nil when it does not, an empty
	// non-nil map when it does without a hash, else the metadata's hashes.
	CoreMetadata map[string]string
	// Size is the file size in bytes (PEP 700; JSON only), -1 if unknown.
	Size int64
	// UploadTime is the PEP 700 upload time as the index wrote it (an ISO
	// 8601 UTC timestamp; JSON only), "" if unknown.
	UploadTime string
}

// Page is one project's page of the Simple API.
type Page struct {
	// Name is the project's PEP 503 normalized name.
	Name  string
	Files []File
	// Versions lists the project's versions (PEP 700; JSON only). When
	// nil, RenderJSON derives it from the filenames.
	Versions []string
	// Meta is the page's declared API version (PEP 629): "1.0" when an
	// HTML page declares none.
	Meta string
}

// ProjectList is the Simple API's root page: every project the index has.
type ProjectList struct {
	// Projects holds project names as the index displays them; each is a
	// valid PEP 508 name and no two normalize to the same name.
	Projects []string
}

// hashHexLen is the hex length of each hashlib algorithm tufpip accepts in
// a URL fragment, a JSON "hashes" object or a core-metadata value.
// Anything else is dropped: a hash we cannot check is no hash.
var hashHexLen = map[string]int{
	"md5":         32,
	"sha1":        40,
	"sha224":      56,
	"sha256":      64,
	"sha384":      96,
	"sha512":      128,
	"sha3_224":    56,
	"sha3_256":    64,
	"sha3_384":    96,
	"sha3_512":    128,
	"blake2b":     128,
	"blake2s":     64,
	"blake2b_256": 64,
}

// hashPreference orders algorithms for the single hash an HTML link
// fragment can carry: strongest common ones first.
var hashPreference = []string{"sha256", "sha512", "sha384", "blake2b_256", "sha3_256", "sha3_512", "sha3_384", "blake2b", "blake2s", "sha224", "sha3_224", "sha1", "md5"}

// normalizeHash returns alg and hex normalized (lower-case) if alg is a
// known algorithm and hex a digest of its length.
func normalizeHash(alg, hex string) (string, string, bool) {
	alg = strings.ToLower(alg)
	n, ok := hashHexLen[alg]
	if !ok || len(hex) != n {
		return "", "", false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", "", false
		}
	}
	return alg, strings.ToLower(hex), true
}

// preferredHash picks the hash to put in an HTML link: the first of
// hashPreference present, else "" (maps only ever hold known algorithms
// after parsing, but a hand-built page may hold others; they are skipped
// in a deterministic order).
func preferredHash(h map[string]string) (alg, hex string) {
	for _, a := range hashPreference {
		if v, ok := h[a]; ok {
			if a, v, ok := normalizeHash(a, v); ok {
				return a, v
			}
		}
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if a, v, ok := normalizeHash(k, h[k]); ok {
			return a, v
		}
	}
	return "", ""
}

// parseHashPair parses "alg=hex" as used in URL fragments and
// data-core-metadata.
func parseHashPair(s string) (alg, hex string, ok bool) {
	a, h, found := strings.Cut(s, "=")
	if !found {
		return "", "", false
	}
	return normalizeHash(a, h)
}

// readLimited reads all of r, refusing more than maxBytes.
func readLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPageBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w (%d bytes)", ErrPageTooLarge, maxBytes)
	}
	return data, nil
}

// checkPageURL requires an absolute http(s) URL to resolve links against.
func checkPageURL(u *url.URL) error {
	if u == nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("page URL %v is not an absolute http(s) URL", u)
	}
	return nil
}

// resolveFileURL resolves a link against base and returns the absolute
// URL without fragment, the fragment, and the percent-decoded filename
// from the last path segment. ok is false for links tufpip will not follow:
// unparseable, not http(s), no host, or an unsafe or empty filename.
func resolveFileURL(base *url.URL, href string) (abs *url.URL, fragment, filename string, ok bool) {
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, "", "", false
	}
	u := base.ResolveReference(ref)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, "", "", false
	}
	fragment = u.Fragment
	u.Fragment, u.RawFragment = "", ""
	// Normalize through String and back, with every byte that is not
	// printable ASCII percent-encoded (url.URL keeps them in queries), so
	// that the URL is plain ASCII and rendering and re-parsing it, in HTML
	// or JSON, is a fixed point.
	u, err = url.Parse(escapeNonASCII(u.String()))
	if err != nil {
		return nil, "", "", false
	}
	name, ok := lastSegment(u)
	if !ok {
		return nil, "", "", false
	}
	return u, fragment, name, true
}

// escapeNonASCII percent-encodes every byte of s outside printable ASCII,
// and the few printable ones that are never valid in a URL.
func escapeNonASCII(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// lastSegment returns the percent-decoded last segment of u's path if it
// is a safe filename.
func lastSegment(u *url.URL) (string, bool) {
	p := u.EscapedPath()
	seg := p[strings.LastIndexByte(p, '/')+1:]
	name, err := url.PathUnescape(seg)
	if err != nil || !packaging.SafeFilename(name) {
		return "", false
	}
	return name, true
}

// checkAPIVersion applies PEP 629: major 1 is understood, anything else
// (or nonsense) is refused.
func checkAPIVersion(v string) error {
	major, minor, ok := strings.Cut(strings.TrimSpace(v), ".")
	if !ok || major == "" || minor == "" {
		return fmt.Errorf("%w: %q", ErrUnsupportedAPIVersion, truncate(v, 40))
	}
	for _, part := range []string{major, minor} {
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return fmt.Errorf("%w: %q", ErrUnsupportedAPIVersion, truncate(v, 40))
		}
	}
	if n, _ := strconv.ParseUint(major, 10, 32); n != 1 {
		return fmt.Errorf("%w: %q (tufpip speaks 1.x)", ErrUnsupportedAPIVersion, truncate(v, 40))
	}
	return nil
}

// versionsFromFiles derives PEP 700's version list from filenames, sorted
// in PEP 440 order, without duplicates; unparseable filenames are skipped.
func versionsFromFiles(files []File) []string {
	seen := map[string]packaging.Version{}
	for _, f := range files {
		d, err := packaging.ParseFilename(f.Filename)
		if err != nil {
			continue
		}
		if _, ok := seen[d.Version]; !ok {
			v, err := packaging.ParseVersion(d.Version)
			if err == nil {
				seen[d.Version] = v
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := seen[a].Compare(seen[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// textCleaner applies what an HTML parser does to attribute values to
// text from any format: CR LF and CR become LF, NUL becomes U+FFFD.
var textCleaner = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "\uFFFD")

// cleanText makes text from a page valid UTF-8 in the form an HTML parser
// would deliver it, so the page model never holds a value that HTML and
// JSON would carry differently.
func cleanText(s string) string {
	return textCleaner.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
