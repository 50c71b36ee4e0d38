package index

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
)

// Layout names which index pages and files a repository signs, and under
// which TUF target paths (DESIGN.md §1).
type Layout string

// The layouts tufpip knows.
const (
	// LayoutPEP458 signs "<name>/<name>.html", served by Warehouse as
	// "<index>/<name>/<blake2b>.<name>.html", and every distribution
	// under its path relative to the files base. The default.
	LayoutPEP458 Layout = "pep458"
	// LayoutIndexOnly signs the page as "<name>" and no distributions:
	// files are checked against the sha256 in the verified page.
	LayoutIndexOnly Layout = "index-only"
	// LayoutSimplePath signs the page as "simple/<name>/index.html",
	// relative to the index root, and every distribution.
	LayoutSimplePath Layout = "simple-path"
	// LayoutDistsOnly signs distributions only; the page is fetched
	// unverified and used only to list files.
	LayoutDistsOnly Layout = "dists-only"
)

// Layouts lists every layout, the default first (a new slice each call).
func Layouts() []Layout {
	return []Layout{LayoutPEP458, LayoutIndexOnly, LayoutSimplePath, LayoutDistsOnly}
}

// ParseLayout returns the layout named s (as in the --layout flag).
func ParseLayout(s string) (Layout, error) {
	all := Layouts()
	for _, l := range all {
		if s == string(l) {
			return l, nil
		}
	}
	names := make([]string, len(all))
	for i, l := range all {
		names[i] = string(l)
	}
	return "", fmt.Errorf("unknown index layout %q (want one of %s)", truncate(s, 40), strings.Join(names, ", "))
}

// MaxTargetPathLen bounds TUF target paths; Warehouse file paths are under
// 350 bytes.
const MaxTargetPathLen = updater.MaxTargetPathLen

// ErrInvalidTargetPath is wrapped by every error ValidTargetPath and
// Site.FileTarget return.
var ErrInvalidTargetPath = errors.New("invalid target path")

// Site is one package repository as tufpip sees it: its layout, the URL of
// its Simple API (e.g. "https://h/simple/") and the URL its distribution
// file paths are relative to (e.g. "https://h/packages/"). Both URLs are
// directories; a missing trailing slash is implied.
type Site struct {
	Layout   Layout
	IndexURL *url.URL
	FilesURL *url.URL
}

// PageTarget returns the TUF target path that signs project's page, and
// whether there is one: "<name>/<name>.html" (pep458), "<name>"
// (index-only), "simple/<name>/index.html" relative to the index root,
// the parent of IndexURL (simple-path); none for dists-only. <name> is
// the normalized name. An invalid project name has no target ("", false).
func (s Site) PageTarget(project string) (target string, signed bool) {
	if !packaging.ValidProjectName(project) {
		return "", false
	}
	name := packaging.NormalizeName(project)
	switch s.Layout {
	case LayoutPEP458:
		return name + "/" + name + ".html", true
	case LayoutIndexOnly:
		return name, true
	case LayoutSimplePath:
		return "simple/" + name + "/index.html", true
	}
	return "", false
}

// PageProject is the inverse of PageTarget: the project whose page the
// layout signs under target, and whether target is such a page target.
func (s Site) PageProject(target string) (project string, ok bool) {
	var name string
	switch s.Layout {
	case LayoutPEP458:
		dir, file, found := strings.Cut(target, "/")
		if !found || file != dir+".html" {
			return "", false
		}
		name = dir
	case LayoutIndexOnly:
		name = target
	case LayoutSimplePath:
		rest, found := strings.CutPrefix(target, "simple/")
		if !found {
			return "", false
		}
		name, found = strings.CutSuffix(rest, "/index.html")
		if !found {
			return "", false
		}
	default:
		return "", false
	}
	if !packaging.IsNormalizedName(name) {
		return "", false
	}
	return name, true
}

// PageURL returns where project's page is fetched from: for pep458,
// IndexURL + "<name>/<blake2b>.<name>.html", where pageBlake2b is the
// page's signed blake2b-256 (64 hex digits); for simple-path, IndexURL +
// "<name>/index.html"; otherwise IndexURL + "<name>/". It returns "" for
// an invalid project name, a malformed pageBlake2b in pep458, or an
// unknown layout.
func (s Site) PageURL(project string, pageBlake2b string) string {
	if !packaging.ValidProjectName(project) || s.IndexURL == nil {
		return ""
	}
	name := packaging.NormalizeName(project)
	switch s.Layout {
	case LayoutPEP458:
		hex, ok := hexDigest(pageBlake2b, 64)
		if !ok {
			return ""
		}
		return dirURL(s.IndexURL) + name + "/" + hex + "." + name + ".html"
	case LayoutSimplePath:
		return dirURL(s.IndexURL) + name + "/index.html"
	case LayoutIndexOnly, LayoutDistsOnly:
		return dirURL(s.IndexURL) + name + "/"
	}
	return ""
}

// DistsSigned reports whether the layout signs distribution files as TUF
// targets (all but index-only).
func (s Site) DistsSigned() bool { return s.Layout != LayoutIndexOnly }

// dirURL renders u without query or fragment and with a trailing slash.
func dirURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	str := c.String()
	if !strings.HasSuffix(str, "/") {
		str += "/"
	}
	return str
}

// FileTarget returns the TUF target path of a distribution file: its URL's
// path relative to FilesURL, percent-decoded segment by segment. The URL
// must be absolute, have FilesURL's scheme, host and port (default ports
// made explicit), no credentials, query or fragment, and lie under
// FilesURL's path; no segment may decode to something containing "/"
// (an encoded slash), and the result must pass ValidTargetPath.
func (s Site) FileTarget(fileURL string) (string, error) {
	fail := func(why string) (string, error) {
		return "", fmt.Errorf("%w: file URL %q: %s", ErrInvalidTargetPath, truncate(fileURL, 200), why)
	}
	if s.FilesURL == nil {
		return fail("no files base URL configured")
	}
	u, err := url.Parse(fileURL)
	if err != nil {
		return fail("unparseable")
	}
	switch {
	case !u.IsAbs() || u.Opaque != "" || u.Host == "":
		return fail("not an absolute URL")
	case u.User != nil:
		return fail("has credentials")
	case u.RawQuery != "" || u.ForceQuery:
		return fail("has a query")
	case strings.Contains(fileURL, "#"):
		return fail("has a fragment")
	case u.Scheme != strings.ToLower(s.FilesURL.Scheme) ||
		!strings.EqualFold(u.Hostname(), s.FilesURL.Hostname()) ||
		portOf(u) != portOf(s.FilesURL):
		return fail("not on the files host " + s.FilesURL.Scheme + "://" + s.FilesURL.Host)
	}
	base := s.FilesURL.EscapedPath()
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), base)
	if !ok {
		return fail("not under " + base)
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return fail("bad percent-encoding")
		}
		if strings.ContainsAny(dec, "/\\") {
			return fail("encoded path separator")
		}
		segs[i] = dec
	}
	target := strings.Join(segs, "/")
	if err := ValidTargetPath(target); err != nil {
		return "", fmt.Errorf("file URL %q: %w", truncate(fileURL, 200), err)
	}
	return target, nil
}

// FileURL returns the URL of the distribution file whose target path is
// target: FilesURL plus the path, each segment percent-encoded. It returns
// "" if target fails ValidTargetPath.
func (s Site) FileURL(target string) string {
	if s.FilesURL == nil || ValidTargetPath(target) != nil {
		return ""
	}
	segs := strings.Split(target, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return dirURL(s.FilesURL) + strings.Join(segs, "/")
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// ValidTargetPath reports whether p is a TUF target path tufpip will look
// up or store: updater.ValidTargetPath's rule (non-empty, at most
// MaxTargetPathLen bytes, valid UTF-8, relative ("/"-separated, no
// leading "/"), every segment non-empty, at most updater.MaxSegmentLen bytes and
// neither "." nor "..", and no backslash, NUL, control or invisible
// formatting character anywhere), in index's words.
func ValidTargetPath(p string) error {
	var e *updater.TargetPathError
	if err := updater.ValidTargetPath(p); errors.As(err, &e) {
		return fmt.Errorf("%w %q: %s", ErrInvalidTargetPath, truncate(p, 200), targetPathWhy(e))
	}
	return nil
}

// targetPathWhy words e as index always has, naming first what index
// used to check first.
func targetPathWhy(e *updater.TargetPathError) string {
	switch e.Reason {
	case updater.PathEmpty:
		return "empty"
	case updater.PathTooLong:
		return fmt.Sprintf("longer than %d bytes", MaxTargetPathLen)
	case updater.PathNotUTF8:
		return "not UTF-8"
	case updater.PathAbsolute:
		return "absolute"
	}
	switch {
	case e.Backslash:
		return "contains a backslash"
	case e.Reason == updater.PathForbiddenChar || e.Reason == updater.PathInvisibleChar || e.Invisible:
		return "contains a control or formatting character"
	case e.Reason == updater.PathLongSegment || e.LongSegmentFirst:
		return fmt.Sprintf("segment longer than %d bytes", updater.MaxSegmentLen)
	case e.Segment == "":
		return "empty path segment"
	default:
		return "dot segment"
	}
}

// hexDigest returns s in lower case if it is a digest of n hex digits.
func hexDigest(s string, n int) (string, bool) {
	if len(s) != n {
		return "", false
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
