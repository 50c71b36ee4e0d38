package packaging

import (
	"strings"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Django", "django"},
		{"fixture-pkg-0", "fixture-pkg-0"},
		{"Fixture_Pkg.0", "fixture-pkg-0"},
		{"friendly-bard", "friendly-bard"},
		{"Friendly-Bard", "friendly-bard"},
		{"FRIENDLY-BARD", "friendly-bard"},
		{"friendly.bard", "friendly-bard"},
		{"friendly_bard", "friendly-bard"},
		{"friendly--bard", "friendly-bard"},
		{"FrIeNdLy-._.-bArD", "friendly-bard"},
		{"zope.interface", "zope-interface"},
		{"a", "a"},
		{"", ""},
		{"Ünïcode", "Ünïcode"}, // not ASCII: left alone (and invalid)
	}
	for _, tt := range tests {
		if got := NormalizeName(tt.in); got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidProjectName(t *testing.T) {
	long := strings.Repeat("a", MaxProjectNameLen)
	tests := []struct {
		name string
		ok   bool
	}{
		{"requests", true},
		{"Django", true},
		{"zope.interface", true},
		{"fixture_pkg_0", true},
		{"a", true},
		{"0", true},
		{"a-b_c.d", true},
		{long, true},
		{long + "a", false},
		{"", false},
		{"..", false},
		{".", false},
		{"-a", false},
		{"a-", false},
		{"_a", false},
		{"a.", false},
		{"a/b", false},
		{"../etc", false},
		{"a\\b", false},
		{"a\x00b", false},
		{"a b", false},
		{"a%2fb", false},
		{"Ünïcode", false},
		{"pаypal", false}, // Cyrillic а
		{"a\u202eb", false},
		{"a\n", false},
	}
	for _, tt := range tests {
		if got := ValidProjectName(tt.name); got != tt.ok {
			t.Errorf("ValidProjectName(%q) = %v, want %v", truncate(tt.name, 40), got, tt.ok)
		}
	}
}

func TestIsNormalizedName(t *testing.T) {
	for name, want := range map[string]bool{"foo-bar": true, "Foo-bar": false, "foo_bar": false, "foo--bar": false, "..": false} {
		if got := IsNormalizedName(name); got != want {
			t.Errorf("IsNormalizedName(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"Django", "Fixture_Pkg.0", "a--_.b", "..", "", "A", "Ünïcode", "x\x00y", "-_-", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n := NormalizeName(name)
		if NormalizeName(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", name, n, NormalizeName(n))
		}
		if strings.ContainsAny(n, "_.ABCDEFGHIJKLMNOPQRSTUVWXYZ") || strings.Contains(n, "--") {
			t.Fatalf("NormalizeName(%q) = %q is not normalized", name, n)
		}
		if ValidProjectName(name) {
			if !ValidProjectName(n) || !IsNormalizedName(n) {
				t.Fatalf("valid %q normalizes to invalid %q", name, n)
			}
		}
		if ValidProjectName(n) != ValidProjectName(name) && ValidProjectName(name) {
			t.Fatalf("validity changed: %q", name)
		}
	})
}
