package packaging

import (
	"errors"
	"reflect"
	"testing"
)

func TestFileReadings(t *testing.T) {
	tests := []struct {
		filename string
		want     []string // "project version"
	}{
		{"pkg_0-1.0-py3-none-any.whl", []string{"pkg-0 1.0"}},
		// A wheel's name field ends at its first "-": no ambiguity.
		{"pkg_0_9-9-py3-none-any.whl", []string{"pkg-0-9 9"}},
		{"pkg-0-1.0.tar.gz", []string{"pkg-0 1.0"}},
		{"pkg_0-1.0.tar.gz", []string{"pkg-0 1.0"}},
		{"pkg-0-9-9.tar.gz", []string{"pkg-0-9 9", "pkg-0 9.post9"}},
		{"pkg-0-9-9.zip", []string{"pkg-0-9 9", "pkg-0 9.post9"}},
		{"lib-2-1.tar.gz", []string{"lib-2 1", "lib 2.post1"}},
		// Not after the last "-", but after an earlier one.
		{"pkg-0-9-beta.tar.gz", []string{"pkg-0 9b0"}},
		{"Django-4.2.tar.gz", []string{"django 4.2"}},
	}
	for _, tt := range tests {
		ds, err := FileReadings(tt.filename)
		if err != nil {
			t.Errorf("FileReadings(%q): %v", tt.filename, err)
			continue
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.Project+" "+d.Version)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("FileReadings(%q) = %q, want %q", tt.filename, got, tt.want)
		}
	}
	for _, bad := range []string{"pkg.egg", "pkg-x.tar.gz", "pkg-0-9-9.tar", "-1.0.tar.gz", "pkg/0-1.0.tar.gz", "pkg-1.0.whl"} {
		if ds, err := FileReadings(bad); err == nil || !errors.Is(err, ErrInvalidFilename) {
			t.Errorf("FileReadings(%q) = %v, %v; want ErrInvalidFilename", bad, ds, err)
		}
	}
}

func TestParseFilenameFor(t *testing.T) {
	for _, tt := range []struct{ filename, project, wantProject, wantVersion string }{
		{"pkg-0-9-9.tar.gz", "pkg-0", "pkg-0", "9.post9"},
		{"pkg-0-9-9.tar.gz", "Pkg_0", "pkg-0", "9.post9"},
		{"pkg-0-9-9.tar.gz", "pkg-0-9", "pkg-0-9", "9"},
		{"pkg-0-9-9.tar.gz", "other", "pkg-0-9", "9"},
		{"pkg_0-1.0-py3-none-any.whl", "pkg-0-1", "pkg-0", "1.0"},
	} {
		d, err := ParseFilenameFor(tt.filename, tt.project)
		if err != nil || d.Project != tt.wantProject || d.Version != tt.wantVersion {
			t.Errorf("ParseFilenameFor(%q, %q) = %s %s, %v; want %s %s", tt.filename, tt.project, d.Project, d.Version, err, tt.wantProject, tt.wantVersion)
		}
	}
}
