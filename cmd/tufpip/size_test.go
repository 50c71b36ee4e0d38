package main

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"", 0, ""},
		{"0", 0, ""},
		{"1024", 1024, ""},
		{"500MB", 500e6, ""},
		{"500 mb", 500e6, ""},
		{"1.5GB", 15e8, ""},
		{"10GiB", 10 << 30, ""},
		{"2KiB", 2048, ""},
		{"3k", 3000, ""},
		{"1TB", 1e12, ""},
		{"12 parsecs", 0, `unknown unit " parsecs"`},
		{"MB", 0, "not a size"},
		{".5MB", 0, "not a size"},
		{"1.2.3MB", 0, "not a size"},
		{"-1MB", 0, `unknown unit "-1MB"`},
		{"99999999999TiB", 0, "too large"},
	} {
		got, err := parseSize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseSize(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
