package packaging

import (
	"errors"
	"testing"
)

func TestParseVersionNormalizes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.0", "1.0"},
		{"v1.0", "1.0"},
		{"  1.0\n", "1.0"},
		{"1.0.0", "1.0.0"},
		{"01.002", "1.2"},
		{"1!2.0", "1!2.0"},
		{"0!1.0", "1.0"},
		{"1.0a1", "1.0a1"},
		{"1.0alpha1", "1.0a1"},
		{"1.0-A.1", "1.0a1"},
		{"1.0beta", "1.0b0"},
		{"1.0c1", "1.0rc1"},
		{"1.0pre2", "1.0rc2"},
		{"1.0preview2", "1.0rc2"},
		{"1.0RC1", "1.0rc1"},
		{"1.0-1", "1.0.post1"},
		{"1.0.post", "1.0.post0"},
		{"1.0-r4", "1.0.post4"},
		{"1.0rev4", "1.0.post4"},
		{"1.0_post_2", "1.0.post2"},
		{"1.0.dev", "1.0.dev0"},
		{"1.0-dev-3", "1.0.dev3"},
		{"1.0a1.post2.dev3", "1.0a1.post2.dev3"},
		{"1.0+Local_1-A", "1.0+local.1.a"},
		{"1.0+01.abc", "1.0+1.abc"},
		{"1.0+0", "1.0+0"},
		{"V2!3.4rc5-6.DEV7+Ub.8", "2!3.4rc5.post6.dev7+ub.8"},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tt.in, err)
			continue
		}
		if got := v.String(); got != tt.want {
			t.Errorf("ParseVersion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, in := range []string{
		"", "1.", ".1", "1..0", "a", "1.0-", "1.0+", "1.0+a..b", "1.0+_a", "1.0 beta",
		"1.0-alpha-beta", "1.0.dev1.dev2", "1!", "!1", "1.0/2", "1.0\x00", "1.0+á",
		"99999999999999999999999", "1.0.post99999999999999999999999",
		"french toast", "1.0-foo",
	} {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %q, want error", in, v)
		} else if !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("ParseVersion(%q) error %v does not wrap ErrInvalidVersion", in, err)
		}
	}
}

// versionOrder is ascending, from PEP 440's examples and packaging's tests.
var versionOrder = []string{
	"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
	"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
	"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
	"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
	"1.1", "1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123",
	"1.2+abc123def", "1.2+1234.abc", "1.2+123456",
	"1!0.1", "1!1.0", "2!0.0.1",
}

func TestVersionOrder(t *testing.T) {
	vs := make([]Version, len(versionOrder))
	for i, s := range versionOrder {
		vs[i] = MustParseVersion(s)
	}
	for i := range vs {
		for j := range vs {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", versionOrder[i], versionOrder[j], got, want)
			}
		}
	}
}

func TestVersionEqual(t *testing.T) {
	for _, pair := range [][2]string{
		{"1.0", "1.0.0"}, {"1.0", "1.0.0.0"}, {"1", "1.0"}, {"0!1.0", "1.0"},
		{"1.0a", "1.0a0"}, {"1.0+1", "1.0+01"}, {"1.0-1", "1.0.post1"},
	} {
		a, b := MustParseVersion(pair[0]), MustParseVersion(pair[1])
		if a.Compare(b) != 0 || b.Compare(a) != 0 {
			t.Errorf("%s != %s", pair[0], pair[1])
		}
	}
}

func TestVersionPredicates(t *testing.T) {
	tests := []struct {
		v              string
		pre, post, dev bool
		public, base   string
		local          string
	}{
		{"1.0", false, false, false, "1.0", "1.0", ""},
		{"1.0a1", true, false, false, "1.0a1", "1.0", ""},
		{"1.0.dev1", true, false, true, "1.0.dev1", "1.0", ""},
		{"1.0.post1", false, true, false, "1.0.post1", "1.0", ""},
		{"1.0.post1.dev1", true, true, true, "1.0.post1.dev1", "1.0", ""},
		{"1!2.0rc1+abc.1", true, false, false, "1!2.0rc1", "1!2.0", "abc.1"},
	}
	for _, tt := range tests {
		v := MustParseVersion(tt.v)
		if v.IsPrerelease() != tt.pre || v.IsPostRelease() != tt.post || v.IsDevRelease() != tt.dev {
			t.Errorf("%s: pre/post/dev = %v/%v/%v, want %v/%v/%v", tt.v, v.IsPrerelease(), v.IsPostRelease(), v.IsDevRelease(), tt.pre, tt.post, tt.dev)
		}
		if got := v.Public().String(); got != tt.public {
			t.Errorf("%s: Public = %s, want %s", tt.v, got, tt.public)
		}
		if got := v.BaseVersion().String(); got != tt.base {
			t.Errorf("%s: BaseVersion = %s, want %s", tt.v, got, tt.base)
		}
		if got := v.Local(); got != tt.local {
			t.Errorf("%s: Local = %q, want %q", tt.v, got, tt.local)
		}
	}
	var zero Version
	if zero.String() != "0" || zero.IsPrerelease() || zero.Compare(MustParseVersion("0.0")) != 0 {
		t.Errorf("zero Version = %q, want 0", zero.String())
	}
	if got := MustParseVersion("1!2.3").Epoch(); got != 1 {
		t.Errorf("Epoch = %d", got)
	}
	r := MustParseVersion("1.2.3")
	rel := r.Release()
	rel[0] = 9
	if r.String() != "1.2.3" {
		t.Error("Release returned the internal slice")
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range versionOrder {
		f.Add(s)
	}
	f.Add("V2!3.4rc5-6.DEV7+Ub.8")
	f.Add("1.0-1")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		w, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("normalized %q of %q does not parse: %v", v.String(), s, err)
		}
		if w.String() != v.String() || v.Compare(w) != 0 {
			t.Fatalf("%q: normalization not a fixed point: %q vs %q", s, v.String(), w.String())
		}
		if v.Compare(v) != 0 {
			t.Fatal("not reflexive")
		}
	})
}
