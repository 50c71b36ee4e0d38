package simple

import "strings"

// Content types of the Simple API (PEP 691).
const (
	ContentTypeHTML       = "application/vnd.pypi.simple.v1+html"
	ContentTypeJSON       = "application/vnd.pypi.simple.v1+json"
	ContentTypeLegacyHTML = "text/html"
)

// offer is a representation the server can produce, with the media types
// that ask for it exactly (PEP 691's "latest" aliases included).
type offer struct {
	contentType string
	exact       []string
}

// offers are listed in the order used to break a tie that the client's
// header leaves open, which only wildcards do ("*/*", "application/*"):
// legacy text/html first, since a client that names no Simple API type is
// an old one.
var offers = []offer{
	{ContentTypeLegacyHTML, []string{"text/html"}},
	{ContentTypeHTML, []string{ContentTypeHTML, "application/vnd.pypi.simple.latest+html"}},
	{ContentTypeJSON, []string{ContentTypeJSON, "application/vnd.pypi.simple.latest+json"}},
}

// NegotiateContentType picks the representation of a Simple API page for
// an Accept header, as PEP 691 describes and RFC 9110 §12.5.1 specifies:
// each of text/html, v1+html and v1+json gets the quality of the most
// specific media range that matches it (exact, then type/*, then */*); the
// highest quality above zero wins. Ties go to an exact match over a
// wildcard, then to the range listed first, then to text/html. So pip's
// "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;
// q=0.1, text/html; q=0.01" gets JSON, and "*/*" gets text/html. An empty
// header also gets text/html, which every client understands. It returns
// false when nothing acceptable is offered: answer 406 Not Acceptable.
func NegotiateContentType(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return ContentTypeLegacyHTML, true
	}
	type match struct {
		q           int // thousandths
		specificity int // 0 none, 1 */*, 2 type/*, 3 exact
		order       int
	}
	best := make([]match, len(offers))
	for order, rng := range strings.Split(accept, ",") {
		mediaType, q, ok := parseMediaRange(rng)
		if !ok {
			continue
		}
		for i, o := range offers {
			spec := 0
			switch {
			case containsString(o.exact, mediaType):
				spec = 3
			case strings.HasSuffix(mediaType, "/*") && strings.HasPrefix(o.contentType, mediaType[:len(mediaType)-1]):
				spec = 2
			case mediaType == "*/*":
				spec = 1
			}
			// The most specific range decides; among equally specific
			// ones, the first.
			if spec > best[i].specificity {
				best[i] = match{q: q, specificity: spec, order: order}
			}
		}
	}
	chosen := -1
	for i, m := range best {
		if m.specificity == 0 || m.q == 0 {
			continue
		}
		if chosen < 0 {
			chosen = i
			continue
		}
		c := best[chosen]
		switch {
		case m.q != c.q:
			if m.q > c.q {
				chosen = i
			}
		case (m.specificity == 3) != (c.specificity == 3):
			if m.specificity == 3 {
				chosen = i
			}
		case m.order < c.order:
			chosen = i
		}
	}
	if chosen < 0 {
		return "", false
	}
	return offers[chosen].contentType, true
}

// parseMediaRange parses one element of an Accept header into its
// lower-case media range and its quality in thousandths. Parameters other
// than q are ignored; an element with a malformed q is ignored entirely.
func parseMediaRange(s string) (mediaType string, q int, ok bool) {
	parts := strings.Split(s, ";")
	mediaType = strings.ToLower(strings.TrimSpace(parts[0]))
	typ, sub, found := strings.Cut(mediaType, "/")
	if !found || typ == "" || sub == "" || (typ == "*" && sub != "*") {
		return "", 0, false
	}
	q = 1000
	for _, param := range parts[1:] {
		k, v, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		qv, ok := parseQuality(strings.TrimSpace(v))
		if !ok {
			return "", 0, false
		}
		q = qv
		break
	}
	return mediaType, q, true
}

// parseQuality parses an RFC 9110 qvalue: 0 to 1 with at most three
// decimals.
func parseQuality(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0] - '0')
	frac := 0
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		digits := s[2:]
		for i := 0; i < 3; i++ {
			frac *= 10
			if i < len(digits) {
				if digits[i] < '0' || digits[i] > '9' {
					return 0, false
				}
				frac += int(digits[i] - '0')
			}
		}
	}
	q := whole*1000 + frac
	if q > 1000 {
		return 0, false
	}
	return q, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
