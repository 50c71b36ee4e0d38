package simple

import "testing"

func TestNegotiateContentType(t *testing.T) {
	tests := []struct {
		name, accept string
		want         string
		ok           bool
	}{
		// What installers really send.
		{"pip >= 22.2", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", ContentTypeJSON, true},
		{"uv", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", ContentTypeJSON, true},
		{"pip < 22.2", "text/html", ContentTypeLegacyHTML, true},
		{"curl", "*/*", ContentTypeLegacyHTML, true},
		{"no header", "", ContentTypeLegacyHTML, true},
		{"blank header", "  ", ContentTypeLegacyHTML, true},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ContentTypeLegacyHTML, true},
		// PEP 691 examples and aliases.
		{"v1 html only", "application/vnd.pypi.simple.v1+html", ContentTypeHTML, true},
		{"v1 json only", "application/vnd.pypi.simple.v1+json", ContentTypeJSON, true},
		{"latest json", "application/vnd.pypi.simple.latest+json", ContentTypeJSON, true},
		{"latest html", "application/vnd.pypi.simple.latest+html", ContentTypeHTML, true},
		{"case-insensitive", "Application/VND.PyPI.Simple.V1+JSON", ContentTypeJSON, true},
		{"html preferred by q", "application/vnd.pypi.simple.v1+json;q=0.5, application/vnd.pypi.simple.v1+html", ContentTypeHTML, true},
		{"json preferred by q", "text/html;q=0.01, application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json", ContentTypeJSON, true},
		{"tie goes to first listed", "text/html, application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json", ContentTypeLegacyHTML, true},
		{"tie goes to first listed 2", "application/vnd.pypi.simple.v1+json, text/html", ContentTypeJSON, true},
		{"exact beats wildcard at equal q", "*/*, application/vnd.pypi.simple.v1+json", ContentTypeJSON, true},
		{"low json not a substring match", "application/vnd.pypi.simple.v1+json;q=0.1, text/html", ContentTypeLegacyHTML, true},
		{"application wildcard", "application/*", ContentTypeHTML, true},
		{"text wildcard", "text/*", ContentTypeLegacyHTML, true},
		{"extra params", "application/vnd.pypi.simple.v1+json; charset=utf-8; q=0.9", ContentTypeJSON, true},
		{"q with three decimals", "text/html;q=0.001, application/vnd.pypi.simple.v1+json;q=0.002", ContentTypeJSON, true},
		// Refusals and exclusions.
		{"q=0 excludes json", "application/vnd.pypi.simple.v1+json;q=0, */*", ContentTypeLegacyHTML, true},
		{"specific q=0 beats wildcard", "*/*;q=1, text/html;q=0, application/vnd.pypi.simple.v1+html;q=0", ContentTypeJSON, true},
		{"everything excluded", "*/*;q=0", "", false},
		{"only unknown types", "application/json", "", false},
		{"v2 only", "application/vnd.pypi.simple.v2+json", "", false},
		{"xml", "application/xml, image/png", "", false},
		{"malformed q ignored", "application/vnd.pypi.simple.v1+json;q=2", "", false},
		{"malformed q ignored 2", "application/vnd.pypi.simple.v1+json;q=abc, text/html;q=0.5", ContentTypeLegacyHTML, true},
		{"garbage", ";;;,,,", "", false},
		{"bare star", "*", "", false},
		{"star subtype without type", "*/json", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NegotiateContentType(tt.accept)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NegotiateContentType(%q) = %q, %v; want %q, %v", tt.accept, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseQuality(t *testing.T) {
	for s, want := range map[string]int{"1": 1000, "1.": 1000, "1.000": 1000, "0": 0, "0.5": 500, "0.01": 10, "0.001": 1} {
		if got, ok := parseQuality(s); !ok || got != want {
			t.Errorf("parseQuality(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "2", "1.001", "0.0001", "-1", ".5", "0,5", "1e0", "0.5 "} {
		if got, ok := parseQuality(s); ok {
			t.Errorf("parseQuality(%q) = %d, want invalid", s, got)
		}
	}
}
