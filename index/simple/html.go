package simple

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"strings"

	nethtml "golang.org/x/net/html"

	"github.com/tufpip/tufpip/index/packaging"
)

// ParseHTML parses a PEP 503 project page (with PEP 592 yanking, PEP 629
// repository version and PEP 658/714 core metadata) fetched from pageURL,
// which must be an absolute http(s) URL. It reads at most maxBytes
// (DefaultMaxPageBytes if maxBytes <= 0) and fails with ErrPageTooLarge
// beyond that.
//
// Every <a href> is a file, as in pip. Relative links resolve against
// pageURL, or against the first <base href> as browsers and pip do. Links
// tufpip would not fetch are skipped: non-http(s) schemes, no host, or a
// last path segment that is not a safe filename (SafeFilename, after
// percent-decoding, so "%2F" and "%00" are refused). The filename comes
// from the URL, not the anchor text. A second link with a filename already
// seen is skipped, so a filename identifies one file. A fragment hash is
// kept only if it is a known algorithm with a hex digest of the right
// length; duplicated attributes keep their first value (as HTML parsers
// do). data-core-metadata wins over the legacy data-dist-info-metadata;
// a value other than "true" or a valid "alg=hex" means no metadata.
//
// The project name comes from pageURL's path ("/simple/<name>/",
// ".../<name>/index.html", ".../<name>/<hash>.<name>.html"), falling back
// to a "Links for <name>" title; it is "" if neither yields a valid name.
// A page declaring a repository version other than 1.x is refused with
// ErrUnsupportedAPIVersion.
func ParseHTML(r io.Reader, pageURL *url.URL, maxBytes int64) (*Page, error) {
	if err := checkPageURL(pageURL); err != nil {
		return nil, fmt.Errorf("parse project page: %w", err)
	}
	data, err := readLimited(r, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("parse project page %s: %w", pageURL.Redacted(), err)
	}
	p := &Page{Files: []File{}}
	base := pageURL
	baseSet := false
	seen := map[string]bool{}
	var title strings.Builder
	inTitle := false

	z := nethtml.NewTokenizer(bytes.NewReader(data))
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return nil, fmt.Errorf("parse project page %s: %w", pageURL.Redacted(), err)
			}
			if p.Meta == "" {
				p.Meta = "1.0"
			}
			p.Name = nameFromPageURL(pageURL)
			if p.Name == "" {
				if n, ok := strings.CutPrefix(strings.TrimSpace(title.String()), "Links for "); ok && packaging.ValidProjectName(strings.TrimSpace(n)) {
					p.Name = packaging.NormalizeName(strings.TrimSpace(n))
				}
			}
			return p, nil
		case nethtml.TextToken:
			if inTitle && title.Len() < 1024 {
				title.Write(z.Text())
			}
		case nethtml.EndTagToken:
			if name, _ := z.TagName(); string(name) == "title" {
				inTitle = false
			}
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "title":
				inTitle = tt == nethtml.StartTagToken
			case "base":
				attrs := tagAttrs(z)
				if href, ok := attrs["href"]; ok && !baseSet {
					baseSet = true
					if ref, err := url.Parse(strings.TrimSpace(href)); err == nil {
						base = pageURL.ResolveReference(ref)
					}
				}
			case "meta":
				attrs := tagAttrs(z)
				if strings.EqualFold(attrs["name"], "pypi:repository-version") && p.Meta == "" {
					if err := checkAPIVersion(attrs["content"]); err != nil {
						return nil, fmt.Errorf("parse project page %s: %w", pageURL.Redacted(), err)
					}
					p.Meta = strings.TrimSpace(attrs["content"])
				}
			case "a":
				f, ok := fileFromAnchor(base, tagAttrs(z))
				if ok && !seen[f.Filename] {
					seen[f.Filename] = true
					p.Files = append(p.Files, f)
				}
			}
		}
	}
}

// tagAttrs returns the current tag's attributes, keeping the first value
// of a duplicated attribute.
func tagAttrs(z *nethtml.Tokenizer) map[string]string {
	attrs := map[string]string{}
	for {
		k, v, more := z.TagAttr()
		if k != nil {
			if _, dup := attrs[string(k)]; !dup {
				attrs[string(k)] = string(v)
			}
		}
		if !more {
			return attrs
		}
	}
}

func fileFromAnchor(base *url.URL, attrs map[string]string) (File, bool) {
	href, ok := attrs["href"]
	if !ok {
		return File{}, false
	}
	u, fragment, filename, ok := resolveFileURL(base, href)
	if !ok {
		return File{}, false
	}
	f := File{Filename: filename, URL: u.String(), Hashes: map[string]string{}, Size: -1}
	// PEP 503 allows one "#alg=hex"; like pip, look at each &-separated
	// pair and take the first usable one.
	for _, pair := range strings.Split(fragment, "&") {
		if alg, hex, ok := parseHashPair(pair); ok {
			f.Hashes[alg] = hex
			break
		}
	}
	f.RequiresPython = cleanText(attrs["data-requires-python"])
	if reason, ok := attrs["data-yanked"]; ok {
		f.Yanked, f.YankedReason = true, cleanText(reason)
	}
	meta, ok := attrs["data-core-metadata"]
	if !ok {
		meta, ok = attrs["data-dist-info-metadata"]
	}
	if ok {
		f.CoreMetadata = parseCoreMetadataAttr(meta)
	}
	return f, true
}

func parseCoreMetadataAttr(v string) map[string]string {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "true") {
		return map[string]string{}
	}
	if alg, hex, ok := parseHashPair(v); ok {
		return map[string]string{alg: hex}
	}
	return nil
}

// nameFromPageURL extracts the project from a page URL's path: the last
// segment, or the one before it when the last names an .html file.
func nameFromPageURL(u *url.URL) string {
	segs := strings.Split(strings.TrimSuffix(u.EscapedPath(), "/"), "/")
	if last := strings.ToLower(segs[len(segs)-1]); strings.HasSuffix(last, ".html") || strings.HasSuffix(last, ".htm") {
		segs = segs[:len(segs)-1]
	}
	if len(segs) == 0 {
		return ""
	}
	name, err := url.PathUnescape(segs[len(segs)-1])
	if err != nil || !packaging.ValidProjectName(name) {
		return ""
	}
	return packaging.NormalizeName(name)
}

// RenderHTML writes p as a PEP 503 page declaring repository version 1.1
// (PEP 629). Each file is an anchor whose href is its URL with the
// preferred hash as fragment (sha256 first), with data-requires-python,
// data-yanked, and both data-core-metadata and data-dist-info-metadata
// (PEP 714 asks for both while clients move over). All text is escaped.
// Nothing is written if p is invalid: see Validate.
func (p *Page) RenderHTML(w io.Writer) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("render project page: %w", err)
	}
	var b bytes.Buffer
	name := html.EscapeString(p.Name)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", APIVersion, name, name)
	for _, f := range p.Files {
		href := f.URL
		if alg, hex := preferredHash(f.Hashes); alg != "" {
			href += "#" + alg + "=" + hex
		}
		fmt.Fprintf(&b, "    <a href=\"%s\"", html.EscapeString(href))
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		if f.Yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(f.YankedReason))
		}
		if f.CoreMetadata != nil {
			v := "true"
			if alg, hex := preferredHash(f.CoreMetadata); alg != "" {
				v = alg + "=" + hex
			}
			fmt.Fprintf(&b, " data-core-metadata=\"%s\" data-dist-info-metadata=\"%s\"", v, v)
		}
		fmt.Fprintf(&b, ">%s</a><br />\n", html.EscapeString(f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Validate reports whether p is safe to render for pip: a valid project
// name, and files with safe, unique filenames, http(s) or relative URLs
// without fragments whose last path segment is the filename, and only
// well-formed hashes of known algorithms.
func (p *Page) Validate() error {
	if !packaging.ValidProjectName(p.Name) {
		return fmt.Errorf("invalid project name %q", truncate(p.Name, 80))
	}
	seen := map[string]bool{}
	for i, f := range p.Files {
		if !packaging.SafeFilename(f.Filename) {
			return fmt.Errorf("file %d: unsafe filename %q", i, truncate(f.Filename, 80))
		}
		if seen[f.Filename] {
			return fmt.Errorf("file %d: duplicate filename %q", i, f.Filename)
		}
		seen[f.Filename] = true
		if err := checkLinkURL(f.URL, f.Filename); err != nil {
			return fmt.Errorf("file %q: %w", f.Filename, err)
		}
		for _, hs := range []map[string]string{f.Hashes, f.CoreMetadata} {
			for alg, hex := range hs {
				if _, _, ok := normalizeHash(alg, hex); !ok {
					return fmt.Errorf("file %q: invalid %s hash %q", f.Filename, truncate(alg, 20), truncate(hex, 130))
				}
			}
		}
	}
	return nil
}

// checkLinkURL checks a URL about to be rendered: http(s) or relative, no
// fragment, and naming filename in its last path segment, since that is
// where pip takes a file's name from.
func checkLinkURL(s, filename string) error {
	u, err := url.Parse(s)
	if err == nil {
		if name, ok := lastSegment(u); !ok || name != filename {
			return errors.New("URL path does not end in the filename")
		}
	}
	switch {
	case err != nil:
		return errors.New("unparseable URL")
	case s == "":
		return errors.New("empty URL")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("URL has a fragment")
	case u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("URL scheme %q is not http(s)", u.Scheme)
	case u.Scheme != "" && u.Host == "":
		return errors.New("URL has no host")
	case u.Opaque != "":
		return errors.New("opaque URL")
	}
	return nil
}

// ParseProjectListHTML parses a PEP 503 root page: each anchor's text is a
// project name. Invalid names and names that normalize to one already
// seen are skipped. It reads at most maxBytes (DefaultMaxPageBytes if
// maxBytes <= 0).
func ParseProjectListHTML(r io.Reader, maxBytes int64) (*ProjectList, error) {
	data, err := readLimited(r, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("parse project list: %w", err)
	}
	pl := &ProjectList{Projects: []string{}}
	seen := map[string]bool{}
	z := nethtml.NewTokenizer(bytes.NewReader(data))
	var text strings.Builder
	inA := false
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return nil, fmt.Errorf("parse project list: %w", err)
			}
			return pl, nil
		case nethtml.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "a":
				inA = true
				text.Reset()
			case "meta":
				attrs := tagAttrs(z)
				if strings.EqualFold(attrs["name"], "pypi:repository-version") {
					if err := checkAPIVersion(attrs["content"]); err != nil {
						return nil, fmt.Errorf("parse project list: %w", err)
					}
				}
			}
		case nethtml.TextToken:
			if inA && text.Len() <= packaging.MaxProjectNameLen {
				text.Write(z.Text())
			}
		case nethtml.EndTagToken:
			if name, _ := z.TagName(); string(name) == "a" && inA {
				inA = false
				n := strings.TrimSpace(text.String())
				if packaging.ValidProjectName(n) && !seen[packaging.NormalizeName(n)] {
					seen[packaging.NormalizeName(n)] = true
					pl.Projects = append(pl.Projects, n)
				}
			}
		}
	}
}

// RenderHTML writes the list as a PEP 503 root page, declaring repository
// version 1.1, each project linked as "<normalized name>/" relative to the
// page. Invalid names are an error.
func (pl *ProjectList) RenderHTML(w io.Writer) error {
	if err := pl.validate(); err != nil {
		return fmt.Errorf("render project list: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n    <title>Simple index</title>\n  </head>\n  <body>\n", APIVersion)
	for _, n := range pl.Projects {
		fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a>\n", packaging.NormalizeName(n), n)
	}
	b.WriteString("  </body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (pl *ProjectList) validate() error {
	for _, n := range pl.Projects {
		if !packaging.ValidProjectName(n) {
			return fmt.Errorf("invalid project name %q", truncate(n, 80))
		}
	}
	return nil
}
