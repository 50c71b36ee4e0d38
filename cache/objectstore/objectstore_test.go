package objectstore

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, prefix, err string
	}{
		{in: "s3://b", bucket: "b"},
		{in: "s3://b/", bucket: "b"},
		{in: "s3://b/team/pypi/", bucket: "b", prefix: "team/pypi"},
		{in: "https://b/x", err: "scheme must be s3"},
		{in: "s3:///x", err: "no bucket"},
		{in: "s3://k:s@b/x", err: "only s3://bucket/prefix"},
		{in: "s3://b/x?versionId=1", err: "only s3://bucket/prefix"},
		{in: "s3://b/a/../c", err: "bad prefix"},
		{in: "s3://b/a//c", err: "bad prefix"},
	} {
		loc, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) = %v, %v; want error %q", tc.in, loc, err, tc.err)
			}
			continue
		}
		if err != nil || loc.Bucket != tc.bucket || loc.Prefix != tc.prefix {
			t.Errorf("ParseURL(%q) = %+v, %v; want %s %q", tc.in, loc, err, tc.bucket, tc.prefix)
		}
	}
}

func TestKey(t *testing.T) {
	b := &Bucket{loc: Location{Bucket: "b", Prefix: "p/q"}}
	if k := b.key("blake2b-256/ab/abcd"); k != "p/q/blake2b-256/ab/abcd" {
		t.Errorf("key = %q", k)
	}
	b.loc.Prefix = ""
	if k := b.key("sha256/ab/abcd"); k != "sha256/ab/abcd" {
		t.Errorf("key = %q", k)
	}
}

// FuzzParseURL: an accepted URL round-trips through String.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b/p", "s3://b", "s3://b/a/b/c/", "s3://x:y@b/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURL(s)
		if err != nil {
			return
		}
		again, err := ParseURL(loc.String())
		if err != nil || again != loc {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, loc, loc.String(), again, err)
		}
	})
}
