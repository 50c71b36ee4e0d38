package packaging

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilename(t *testing.T) {
	tests := []struct {
		filename string
		want     Dist
	}{
		{"fixture_pkg_0-1.0.0-py3-none-any.whl", Dist{Project: "fixture-pkg-0", Version: "1.0.0", Kind: KindWheel,
			Tags: []Tag{{"py3", "none", "any"}}}},
		{"six-1.16.0-py2.py3-none-any.whl", Dist{Project: "six", Version: "1.16.0", Kind: KindWheel,
			Tags: []Tag{{"py2", "none", "any"}, {"py3", "none", "any"}}}},
		{"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", Dist{Project: "numpy", Version: "1.26.4", Kind: KindWheel,
			Tags: []Tag{{"cp311", "cp311", "manylinux_2_17_x86_64"}, {"cp311", "cp311", "manylinux2014_x86_64"}}}},
		{"Foo_Bar-2.0RC1-1-CP38-abi3-Win_AMD64.whl", Dist{Project: "foo-bar", Version: "2.0rc1", Kind: KindWheel, BuildTag: "1",
			Tags: []Tag{{"cp38", "abi3", "win_amd64"}}}},
		{"cryptography-42.0.5-cp39-abi3-macosx_10_12_universal2.whl", Dist{Project: "cryptography", Version: "42.0.5", Kind: KindWheel,
			Tags: []Tag{{"cp39", "abi3", "macosx_10_12_universal2"}}}},
		{"pkg-1.0+local.1-2b-py3-none-any.whl", Dist{Project: "pkg", Version: "1.0+local.1", Kind: KindWheel, BuildTag: "2b",
			Tags: []Tag{{"py3", "none", "any"}}}},
		{"zope.interface-6.0-cp311-cp311-linux_x86_64.whl", Dist{Project: "zope-interface", Version: "6.0", Kind: KindWheel,
			Tags: []Tag{{"cp311", "cp311", "linux_x86_64"}}}},
		{"fixture_pkg_0-1.0.0.tar.gz", Dist{Project: "fixture-pkg-0", Version: "1.0.0", Kind: KindSdist}},
		{"Django-4.2.tar.gz", Dist{Project: "django", Version: "4.2", Kind: KindSdist}},
		{"foo-bar-1.0.post1.zip", Dist{Project: "foo-bar", Version: "1.0.post1", Kind: KindSdist}},
		{"legacy-0.9.tar.bz2", Dist{Project: "legacy", Version: "0.9", Kind: KindSdist}},
		{"legacy-0.9.TAR.GZ", Dist{Project: "legacy", Version: "0.9", Kind: KindSdist}},
		{"legacy-0.9.tgz", Dist{Project: "legacy", Version: "0.9", Kind: KindSdist}},
		{"legacy-0.9.tar.xz", Dist{Project: "legacy", Version: "0.9", Kind: KindSdist}},
	}
	for _, tt := range tests {
		got, err := ParseFilename(tt.filename)
		if err != nil {
			t.Errorf("ParseFilename(%q): %v", tt.filename, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFilename(%q) = %+v, want %+v", tt.filename, got, tt.want)
		}
	}
}

func TestParseFilenameRejects(t *testing.T) {
	for _, name := range []string{
		"", "foo", "foo.whl", "foo-1.0.whl", "foo-1.0-py3-none.whl", "foo-1.0-1-2-py3-none-any.whl",
		"foo-1.0-x-py3-none-any.whl", // build tag must start with a digit
		"foo-notaversion-py3-none-any.whl", "-1.0-py3-none-any.whl", "foo-1.0-py3--any.whl",
		"foo-1.0-py3-none-any..whl", "foo-1.0-py3-none-a+y.whl", "../foo-1.0-py3-none-any.whl",
		"foo/bar-1.0.tar.gz", "foo\\bar-1.0.tar.gz", "foo\x00-1.0.tar.gz", "foo-1.0.exe", "foo-1.0.egg",
		"foo.tar.gz", "-1.0.tar.gz", "foo-.tar.gz", "foo-1.0-1.tar.gz?", ".tar.gz",
		"foo-1.0-custom.tar.gz", "fóo-1.0.tar.gz", "foo- 1.0-py3-none-any.whl", "foo-1.0\n.tar.gz", "foo-1.0 .zip",
		strings.Repeat("a", 250) + "-1.0.tar.gz",
		"foo-1.0-" + strings.Repeat("a.", 20) + "a-" + strings.Repeat("b.", 20) + "b-" + strings.Repeat("c.", 20) + "c.whl",
	} {
		if d, err := ParseFilename(name); err == nil {
			t.Errorf("ParseFilename(%q) = %+v, want error", truncate(name, 60), d)
		} else if !errors.Is(err, ErrInvalidFilename) {
			t.Errorf("ParseFilename(%q): %v does not wrap ErrInvalidFilename", name, err)
		}
	}
}

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"fixture_pkg_0-1.0.0-py3-none-any.whl", "six-1.16.0-py2.py3-none-any.whl",
		"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"Foo_Bar-2.0RC1-1-CP38-abi3-Win_AMD64.whl", "Django-4.2.tar.gz", "foo-bar-1.0.post1.zip",
		"legacy-0.9.tar.bz2", "../x-1.0.tar.gz", "a-1-2-3-4-5-6.whl",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d, err := ParseFilename(name)
		if err != nil {
			return
		}
		if !IsNormalizedName(d.Project) {
			t.Fatalf("%q: project %q not a valid normalized name", name, d.Project)
		}
		if v, err := ParseVersion(d.Version); err != nil || v.String() != d.Version {
			t.Fatalf("%q: version %q not normalized PEP 440", name, d.Version)
		}
		if !SafeFilename(name) {
			t.Fatalf("%q accepted but unsafe as a file name", name)
		}
		switch d.Kind {
		case KindWheel:
			if len(d.Tags) == 0 {
				t.Fatalf("%q: wheel without tags", name)
			}
			for _, tag := range d.Tags {
				if !isTagText(tag.Python) || !isTagText(tag.ABI) || !isTagText(tag.Platform) || strings.ToLower(tag.String()) != tag.String() {
					t.Fatalf("%q: bad tag %v", name, tag)
				}
			}
		case KindSdist:
			if d.Tags != nil || d.BuildTag != "" {
				t.Fatalf("%q: sdist with tags", name)
			}
		default:
			t.Fatalf("%q: kind %q", name, d.Kind)
		}
	})
}
