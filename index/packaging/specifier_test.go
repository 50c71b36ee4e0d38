package packaging

import (
	"errors"
	"testing"
)

func TestSpecifierContains(t *testing.T) {
	tests := []struct {
		version, spec string
		want          bool
	}{
		// ==, with zero padding and local versions.
		{"2.0", "==2", true},
		{"2.0", "==2.0", true},
		{"2.0", "==2.0.0", true},
		{"2.0+deadbeef", "==2", true},
		{"2.0+deadbeef", "==2.0+deadbeef", true},
		{"2.0+deadbeef.0", "==2.0.0+deadbeef.00", true},
		{"2.0", "==2.0+deadbeef", false},
		{"2.1", "==2", false},
		{"2.1", "==2.0.0", false},
		{"1.0", "== 1.0", true},
		{"1.0", "==v1.0", true},
		// Prefix matching.
		{"2.0", "==2.*", true},
		{"2.0", "==2.0.*", true},
		{"2.0", "==2.0.0.*", true},
		{"2", "==2.0.*", true},
		{"2.1+local.version", "==2.1.*", true},
		{"2.0rc1", "==2.0.*", true},
		{"2.0.post1", "==2.0.*", true},
		{"2.1", "==2.0.*", false},
		{"2.0", "==3.*", false},
		{"1!2.0", "==2.*", false},
		{"1!2.0", "==1!2.*", true},
		// !=
		{"2.0", "!=2.1", true},
		{"2.0", "!=2.1+deadbeef", true},
		{"2.0", "!=3.*", true},
		{"2.0", "!=2", false},
		{"2.0", "!=2.0.0", false},
		{"2.0+deadbeef", "!=2", false},
		{"2.0", "!=2.*", false},
		{"2.0", "!=2.0.*", false},
		// Ordered comparisons.
		{"2.0", ">=2", true},
		{"2.0.post1", ">=2", true},
		{"2.0.post1.dev1", ">=2", true},
		{"2.0+local", ">=2", true},
		{"2.0.dev1", ">=2", false},
		{"2.0", "<=2", true},
		{"2.0+local", "<=2", true},
		{"2.0.dev1", "<=2", true},
		{"2.1", "<=2", false},
		{"1", "<2", true},
		{"2.0", "<2.1", true},
		{"2.0.dev0", "<2.1", true},
		{"2.0", "<2.0", false},
		{"2.0a1", "<2.0", false},
		{"2.0.dev1", "<2.0", false},
		{"2.0a1", "<2.0rc1", true},
		{"3", ">2", true},
		{"2.0.1", ">2", true},
		{"2.1.post1", ">2", true},
		{"2.1+local.version", ">2", true},
		{"2.0", ">2", false},
		{"2.0.post1", ">2", false},
		{"2.0.post2", ">2.0.post1", true},
		{"2.0+local.version", ">2", false},
		// Compatible release.
		{"2", "~=2.0", true},
		{"2.1", "~=2.0", true},
		{"2.2.post1", "~=2.0", true},
		{"2.9.9", "~=2.0", true},
		{"3.0", "~=2.0", false},
		{"1.9", "~=2.0", false},
		{"2.0.5", "~=2.0.0", true},
		{"2.1", "~=2.0.0", false},
		{"1.4.5", "~=1.4.5a4", true},
		{"1.4.5a3", "~=1.4.5a4", false},
		{"2.2.post3", "~=2.2.post3", true},
		{"2.3", "~=2.2.post3", true},
		{"3.0", "~=2.2.post3", false},
		// Arbitrary equality compares normalized strings.
		{"1.0", "===1.0", true},
		{"1.0", "===1.0.0", false},
		{"1.0RC1", "===1.0rc1", true},
	}
	for _, tt := range tests {
		sp, err := ParseSpecifier(tt.spec)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", tt.spec, err)
			continue
		}
		if got := sp.Contains(MustParseVersion(tt.version)); got != tt.want {
			t.Errorf("%q.Contains(%q) = %v, want %v", tt.spec, tt.version, got, tt.want)
		}
	}
}

func TestParseSpecifierRejects(t *testing.T) {
	for _, s := range []string{
		"", "2.0", "=2.0", "==", ">=", "~=2", "~=2.0+local", ">=2.0+local", "<2+local",
		"<=2.0.*", ">2.*", "~=2.*", "==2.0a1.*", "==2.0.post1.*", "==2.0+local.*",
		"==2.0.*.*", "==*", "== 2.0 2.1", "==2.0.dev1.*", "===", "=== a b", "<>2.0", "==french",
	} {
		if sp, err := ParseSpecifier(s); err == nil {
			t.Errorf("ParseSpecifier(%q) = %+v, want error", s, sp)
		} else if !errors.Is(err, ErrInvalidSpecifier) {
			t.Errorf("ParseSpecifier(%q): %v does not wrap ErrInvalidSpecifier", s, err)
		}
	}
}

func TestSpecifierSet(t *testing.T) {
	set, err := ParseSpecifierSet(" >=3.8, !=3.9.0 ,<4,")
	if err != nil {
		t.Fatal(err)
	}
	if got := set.String(); got != ">=3.8,!=3.9.0,<4" {
		t.Errorf("String = %q", got)
	}
	for v, want := range map[string]bool{"3.8": true, "3.9.0": false, "3.9.1": true, "4.0": false, "3.7.9": false, "4.0.dev0": false} {
		if got := set.Contains(MustParseVersion(v)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", v, got, want)
		}
	}
	empty, err := ParseSpecifierSet("  ")
	if err != nil || !empty.Contains(MustParseVersion("0.1")) {
		t.Errorf("empty set: %v, %v", empty, err)
	}
	if _, err := ParseSpecifierSet(">=3.8,bogus"); err == nil {
		t.Error("want error for a bad clause")
	}
}

func TestMatchesPython(t *testing.T) {
	tests := []struct {
		requires, py string
		want         bool
	}{
		{"", "3.11", true},
		{">=3.8", "3.11.4", true},
		{">=3.8", "3.7.17", false},
		{"<3.8", "3.11", false},
		{">=3.8, <4", "3.12.0", true},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.3.7", false},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.11.2", true},
		{"!=3.11.*", "3.11.4", false},
		{">3.11", "3.11.1", true},
		{">3.11", "3.11", false},
		{"==3.11.*", "3.11.0rc1", true}, // pre-release interpreters are admitted
		{">=3.11", "3.11.0b1", false},
		{"~=3.8", "3.12.1", true},
		{"~=3.8.0", "3.9.0", false},
		{"garbage", "3.11", true},         // pip ignores an invalid requires-python
		{">=3.6.*", "3.11", true},         // invalid: wildcard with >=
		{">=3.8", "not-a-version", false}, // unparseable interpreter
		{">=3.8", "", false},              //
		{"&gt;=3.8", "3.11", true},        // still escaped: invalid, ignored
	}
	for _, tt := range tests {
		if got := MatchesPython(tt.requires, tt.py); got != tt.want {
			t.Errorf("MatchesPython(%q, %q) = %v, want %v", tt.requires, tt.py, got, tt.want)
		}
	}
}
