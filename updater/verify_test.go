package updater

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func infoFor(path string, data []byte, algs ...string) TargetInfo {
	ti := TargetInfo{Path: path, Length: int64(len(data)), Hashes: map[string]string{}}
	for _, alg := range algs {
		var sum []byte
		switch alg {
		case HashSHA256:
			s := sha256.Sum256(data)
			sum = s[:]
		case HashSHA512:
			s := sha512.Sum512(data)
			sum = s[:]
		case HashBLAKE2b256:
			s := blake2b.Sum256(data)
			sum = s[:]
		default:
			sum = []byte("unknown")
		}
		ti.Hashes[alg] = hex.EncodeToString(sum)
	}
	return ti
}

func TestVerifyCopy(t *testing.T) {
	data := bytes.Repeat([]byte("wheel bytes "), 10000)
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name    string
		ti      TargetInfo
		body    io.Reader
		wantErr string
	}{
		{"blake2b only", infoFor("a.whl", data, HashBLAKE2b256), bytes.NewReader(data), ""},
		{"sha256 only", infoFor("a.whl", data, HashSHA256), bytes.NewReader(data), ""},
		{"all three", infoFor("a.whl", data, HashBLAKE2b256, HashSHA256, HashSHA512), bytes.NewReader(data), ""},
		{"unknown next to known", infoFor("a.whl", data, HashSHA256, "md5"), bytes.NewReader(data), ""},
		{"only unknown", infoFor("a.whl", data, "md5"), bytes.NewReader(data), "no supported hash"},
		{"flipped bit", infoFor("a.whl", data, HashBLAKE2b256, HashSHA256), bytes.NewReader(flipped), "blake2b-256 mismatch"},
		{"short", infoFor("a.whl", data, HashBLAKE2b256), bytes.NewReader(data[:100]), "length mismatch: signed 120000 bytes, got 100"},
		{"long", infoFor("a.whl", data, HashBLAKE2b256), io.MultiReader(bytes.NewReader(data), strings.NewReader("x")), "length mismatch"},
		{"endless", infoFor("a.whl", data, HashBLAKE2b256), endless{}, "length mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := VerifyCopy(&out, tt.body, tt.ti)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyCopy: %v", err)
				}
				if !bytes.Equal(out.Bytes(), data) {
					t.Fatal("output differs from input")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if int64(out.Len()) > tt.ti.Length {
				t.Fatalf("wrote %d bytes past the signed length %d", out.Len(), tt.ti.Length)
			}
		})
	}
}

func TestMismatchErrorIsTyped(t *testing.T) {
	data := []byte("abc")
	ti := infoFor("x", data, HashSHA256)
	_, err := VerifyCopy(nil, strings.NewReader("abd"), ti)
	var mm *MismatchError
	if !errors.As(err, &mm) || mm.Check != HashSHA256 {
		t.Fatalf("err = %#v, want a sha256 MismatchError", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestValidTargetPath(t *testing.T) {
	good := []string{"a/b.whl", "4b/77/47b4/fixture_pkg_0-1.0.0-py3-none-any.whl", "pkg/pkg.html", "pkg"}
	bad := []string{"", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a\x00b", "a\\b", strings.Repeat("a", 1025), "a\nb", string([]byte{0xff})}
	for _, p := range good {
		if err := ValidTargetPath(p); err != nil {
			t.Errorf("ValidTargetPath(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range bad {
		if err := ValidTargetPath(p); err == nil {
			t.Errorf("ValidTargetPath(%q) = nil, want error", p)
		}
	}
}

func BenchmarkVerifyCopy(b *testing.B) {
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 8<<20/8)
	for _, algs := range [][]string{{HashBLAKE2b256}, {HashSHA256}, {HashSHA512}, {HashBLAKE2b256, HashSHA256}} {
		ti := infoFor("bench", data, algs...)
		b.Run(strings.Join(algs, "+"), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := VerifyCopy(io.Discard, bytes.NewReader(data), ti); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
