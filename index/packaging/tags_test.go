package packaging

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readLines reads one of the expected tag lists made with pip's packaging
// (see testdata/tags/README.md).
func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tags", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func tagStrings(tags []Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.String()
	}
	return out
}

func TestManylinuxPlatformsMatchesPip(t *testing.T) {
	tests := []struct {
		arch         string
		major, minor int
		file         string
	}{
		{"x86_64", 2, 17, "manylinux_x86_64_2_17.txt"},
		{"aarch64", 2, 28, "manylinux_aarch64_2_28.txt"},
		{"i686", 2, 12, "manylinux_i686_2_12.txt"},
	}
	for _, tt := range tests {
		got := ManylinuxPlatforms(tt.arch, tt.major, tt.minor)
		if want := readLines(t, tt.file); !reflect.DeepEqual(got, want) {
			t.Errorf("ManylinuxPlatforms(%s, %d, %d):\n got %q\nwant %q", tt.arch, tt.major, tt.minor, got, want)
		}
	}
	if got := ManylinuxPlatforms("armv8l", 2, 17); got[0] != "manylinux_2_17_armv8l" || got[len(got)-1] != "linux_armv7l" {
		t.Errorf("armv8l: %q", got)
	}
}

func TestCompatibleTagsMatchesPip(t *testing.T) {
	tests := []struct {
		py, impl  string
		platforms []string
		file      string
	}{
		{"3.12", "cp", ManylinuxPlatforms("x86_64", 2, 35), "cp312_manylinux_2_35_x86_64.txt"},
		{"3.12.1", "cp", ManylinuxPlatforms("x86_64", 2, 35), "cp312_manylinux_2_35_x86_64.txt"},
		{"3.7", "cp", []string{"win_amd64"}, "cp37_win_amd64.txt"},
		{"3.10", "pp", []string{"linux_x86_64"}, "pp310_linux_x86_64.txt"},
	}
	for _, tt := range tests {
		tags, err := CompatibleTags(tt.py, tt.platforms, tt.impl)
		if err != nil {
			t.Fatal(err)
		}
		got, want := tagStrings(tags), readLines(t, tt.file)
		if !reflect.DeepEqual(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Errorf("CompatibleTags(%s, %s): first difference at %d: got %s, want %s", tt.py, tt.impl, i, got[i], want[i])
					break
				}
			}
			t.Errorf("CompatibleTags(%s, %s): %d tags, want %d", tt.py, tt.impl, len(got), len(want))
		}
	}
}

func TestCompatibleTagsOrder(t *testing.T) {
	tags, err := CompatibleTags("3.11", []string{"manylinux_2_17_x86_64", "linux_x86_64"}, "cp")
	if err != nil {
		t.Fatal(err)
	}
	got := tagStrings(tags)
	want := []string{
		"cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-linux_x86_64",
		"cp311-abi3-manylinux_2_17_x86_64", "cp311-abi3-linux_x86_64",
		"cp311-none-manylinux_2_17_x86_64", "cp311-none-linux_x86_64",
		"cp310-abi3-manylinux_2_17_x86_64",
	}
	if !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("head = %q", got[:len(want)])
	}
	tail := []string{"cp311-none-any", "py311-none-any", "py3-none-any", "py310-none-any"}
	i := indexOf(got, "cp311-none-any")
	if i < 0 || !reflect.DeepEqual(got[i:i+4], tail) {
		t.Errorf("generic tail wrong: %q", got[max(i, 0):])
	}
	if got[len(got)-1] != "py30-none-any" {
		t.Errorf("last = %s", got[len(got)-1])
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestCompatibleTagsRejects(t *testing.T) {
	for _, tt := range []struct {
		py, impl string
		plats    []string
	}{
		{"3", "cp", []string{"any"}},
		{"3.x", "cp", []string{"any"}},
		{"3.11.4.1", "cp", []string{"any"}},
		{"03.11", "cp", []string{"any"}},
		{"3.11", "cp", nil},
		{"3.11", "cp", []string{"linux-x86_64"}},
		{"3.11", "", []string{"any"}},
		{"3.11", "c p", []string{"any"}},
	} {
		if _, err := CompatibleTags(tt.py, tt.plats, tt.impl); err == nil {
			t.Errorf("CompatibleTags(%q, %q, %q): want error", tt.py, tt.plats, tt.impl)
		}
	}
}

func TestDistSupported(t *testing.T) {
	tags, err := CompatibleTags("3.11", ManylinuxPlatforms("x86_64", 2, 17), "cp")
	if err != nil {
		t.Fatal(err)
	}
	rank := func(filename string) (int, bool) {
		t.Helper()
		d, err := ParseFilename(filename)
		if err != nil {
			t.Fatal(err)
		}
		return d.Supported(tags)
	}
	ordered := []string{
		"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"numpy-1.26.4-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
		"numpy-1.26.4-cp311-cp311-linux_x86_64.whl",
		"cryptography-42.0.5-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"six-1.16.0-py2.py3-none-any.whl",
		"fixture_pkg_0-1.0.0.tar.gz",
	}
	prev := -1
	for _, f := range ordered {
		r, ok := rank(f)
		if !ok {
			t.Errorf("%s: not supported", f)
			continue
		}
		if r <= prev {
			t.Errorf("%s: rank %d not after %d", f, r, prev)
		}
		prev = r
	}
	for _, f := range []string{
		"numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl",
		"numpy-1.26.4-cp311-cp311-manylinux_2_28_x86_64.whl",
		"numpy-1.26.4-cp311-cp311-win_amd64.whl",
		"numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.whl",
		"foo-1.0-py2-none-any.whl",
	} {
		if r, ok := rank(f); ok {
			t.Errorf("%s: supported with rank %d, want unsupported", f, r)
		}
	}
}
