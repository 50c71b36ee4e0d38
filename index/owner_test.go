package index

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

type archiveFile struct {
	name string
	data []byte
	typ  byte // tar type; 0 is a regular file
}

func tarGz(t *testing.T, files ...archiveFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if f.typ != 0 {
			hdr.Typeflag, hdr.Size, hdr.Linkname = f.typ, 0, "elsewhere"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if f.typ == 0 {
			if _, err := tw.Write(f.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, files ...archiveFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pkgInfo(name string) []byte {
	return []byte("Metadata-Version: 2.1\nName: " + name + "\nVersion: 9\nSummary: x\n\nName: in-the-description\n")
}

// TestCheckOwner is the table of the rule that decides which files may be
// offered on a project's page (index.CheckOwner).
func TestCheckOwner(t *testing.T) {
	const amb = "pkg-0-9-9.tar.gz" // pkg-0-9 9, or pkg-0 9.post9
	mine := tarGz(t, archiveFile{name: "pkg-0-9-9/PKG-INFO", data: pkgInfo("pkg-0")}, archiveFile{name: "pkg-0-9-9/setup.py", data: []byte("raise SystemExit")})
	theirs := tarGz(t, archiveFile{name: "pkg-0-9-9/setup.py"}, archiveFile{name: "pkg-0-9-9/PKG-INFO", data: pkgInfo("pkg_0.9")})
	big := bytes.Repeat([]byte("Summary: x\n"), MaxPKGINFOBytes/10)
	tests := []struct {
		name, project, filename string
		signedPage              bool
		archive                 []byte // nil: the file must not be read
		openErr                 error
		owner                   string // want a *ForeignFileError with this Owner
		why                     string // want a *ForeignFileError saying this ("" with owner "": allowed)
		otherErr                bool
	}{
		// Wheels: the name field decides.
		{name: "wheel of the project", project: "pkg-0", filename: "pkg_0-1.0-py3-none-any.whl"},
		{name: "wheel, other spelling", project: "Pkg.0", filename: "PKG_0-1.0-py3-none-any.whl"},
		{name: "wheel of another project", project: "pkg-0", filename: "pkg_0_9-9-py3-none-any.whl", owner: "pkg-0-9"},
		{name: "wheel of another project, signed page", project: "pkg-0", filename: "other-1.0-py3-none-any.whl", signedPage: true, owner: "other"},
		// Unambiguous sdists: the name decides, nothing is read.
		{name: "sdist of the project", project: "pkg-0", filename: "pkg-0-1.0.tar.gz"},
		{name: "PEP 625 sdist", project: "pkg-0", filename: "pkg_0-1.0.tar.gz"},
		{name: "sdist of another project", project: "pkg-0", filename: "other-1.0.tar.gz", owner: "other"},
		{name: "sdist of another project, signed page", project: "pkg-0", filename: "other-1.0.tar.gz", signedPage: true, owner: "other"},
		{name: "ambiguous, but never the project's", project: "pkg", filename: amb, owner: "pkg-0-9"},
		// Ambiguous sdists on an unsigned page: PKG-INFO decides.
		{name: "PKG-INFO names the project", project: "pkg-0", filename: amb, archive: mine},
		{name: "PKG-INFO names the other reading", project: "pkg-0", filename: amb, archive: theirs, owner: "pkg-0-9"},
		{name: "the other way round: the project's own file", project: "pkg-0-9", filename: amb, archive: theirs},
		{name: "the other way round: the shorter name's file", project: "pkg-0-9", filename: amb, archive: mine, owner: "pkg-0"},
		{name: "PKG-INFO names a third project", project: "pkg-0", filename: amb, owner: "evil",
			archive: tarGz(t, archiveFile{name: "x/PKG-INFO", data: pkgInfo("evil")})},
		{name: "leading ./", project: "pkg-0", filename: amb,
			archive: tarGz(t, archiveFile{name: "./pkg-0-9-9/PKG-INFO", data: pkgInfo("pkg-0")})},
		{name: "two PKG-INFO that agree", project: "pkg-0", filename: amb,
			archive: tarGz(t, archiveFile{name: "a/PKG-INFO", data: pkgInfo("pkg-0")}, archiveFile{name: "b/PKG-INFO", data: pkgInfo("Pkg_0")})},
		{name: "two PKG-INFO that disagree", project: "pkg-0", filename: amb, why: "name different projects",
			archive: tarGz(t, archiveFile{name: "a/PKG-INFO", data: pkgInfo("pkg-0")}, archiveFile{name: "b/PKG-INFO", data: pkgInfo("pkg-0-9")})},
		{name: "PKG-INFO missing", project: "pkg-0", filename: amb, why: "it has no top-level PKG-INFO",
			archive: tarGz(t, archiveFile{name: "pkg-0-9-9/setup.py", data: []byte("x")})},
		{name: "only a nested PKG-INFO", project: "pkg-0", filename: amb, why: "it has no top-level PKG-INFO",
			archive: tarGz(t, archiveFile{name: "pkg-0-9-9/vendored/PKG-INFO", data: pkgInfo("pkg-0")})},
		{name: "PKG-INFO at the root", project: "pkg-0", filename: amb, why: "it has no top-level PKG-INFO",
			archive: tarGz(t, archiveFile{name: "PKG-INFO", data: pkgInfo("pkg-0")})},
		{name: "PKG-INFO a symlink", project: "pkg-0", filename: amb, why: "its PKG-INFO is not a regular file",
			archive: tarGz(t, archiveFile{name: "pkg-0-9-9/PKG-INFO", typ: tar.TypeSymlink})},
		{name: "PKG-INFO without Name", project: "pkg-0", filename: amb, why: "its PKG-INFO has no Name",
			archive: tarGz(t, archiveFile{name: "d/PKG-INFO", data: []byte("Metadata-Version: 2.1\nVersion: 9\n\nName: pkg-0\n")})},
		{name: "PKG-INFO with two Names", project: "pkg-0", filename: amb, why: "its PKG-INFO has more than one Name",
			archive: tarGz(t, archiveFile{name: "d/PKG-INFO", data: []byte("Name: pkg-0\nname: pkg-0-9\n")})},
		{name: "PKG-INFO with an invalid Name", project: "pkg-0", filename: amb, why: "is not a valid project name",
			archive: tarGz(t, archiveFile{name: "d/PKG-INFO", data: []byte("Name: ../pkg-0\n")})},
		{name: "PKG-INFO oversized", project: "pkg-0", filename: amb, why: "its PKG-INFO is larger than 1048576 bytes",
			archive: tarGz(t, archiveFile{name: "d/PKG-INFO", data: append(pkgInfo("pkg-0"), big...)})},
		{name: "not gzip", project: "pkg-0", filename: amb, why: "it is not a gzip file", archive: []byte("PK\x03\x04 not gzip")},
		{name: "truncated tar", project: "pkg-0", filename: amb, why: "it is not a readable tar archive", archive: mine[:len(mine)/2]},
		{name: "zip sdist, PKG-INFO names the project", project: "pkg-0", filename: "pkg-0-9-9.zip",
			archive: zipOf(t, archiveFile{name: "pkg-0-9-9/PKG-INFO", data: pkgInfo("pkg-0")})},
		{name: "zip sdist, PKG-INFO names another", project: "pkg-0", filename: "pkg-0-9-9.zip", owner: "pkg-0-9",
			archive: zipOf(t, archiveFile{name: "pkg-0-9-9/PKG-INFO", data: pkgInfo("pkg-0-9")})},
		{name: "zip sdist, PKG-INFO missing", project: "pkg-0", filename: "pkg-0-9-9.zip", why: "it has no top-level PKG-INFO",
			archive: zipOf(t, archiveFile{name: "pkg-0-9-9/setup.py", data: []byte("x")})},
		{name: "zip sdist, PKG-INFO oversized", project: "pkg-0", filename: "pkg-0-9-9.zip", why: "its PKG-INFO is larger than",
			archive: zipOf(t, archiveFile{name: "pkg-0-9-9/PKG-INFO", data: append(pkgInfo("pkg-0"), big...)})},
		{name: "zip sdist, not a zip", project: "pkg-0", filename: "pkg-0-9-9.zip", why: "it is not a readable zip archive", archive: mine},
		{name: "an archive format tufpip cannot read", project: "pkg-0", filename: "pkg-0-9-9.tar.xz", why: "cannot read PKG-INFO from this archive format", archive: []byte("xz")},
		{name: "reading the file fails", project: "pkg-0", filename: amb, openErr: errors.New("blake2b-256 mismatch"), otherErr: true},
		// Signed pages: the repository vouched, nothing is read.
		{name: "ambiguous sdist on a signed page", project: "pkg-0", filename: amb, signedPage: true},
		{name: "unreadable name on a signed page", project: "pkg-0", filename: "pkg-0-1.0.tar", signedPage: true},
		{name: "unreadable name on an unsigned page", project: "pkg-0", filename: "pkg-0-1.0.tar", why: "its name is not a wheel or sdist name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opened := false
			open := func(ctx context.Context) (io.ReaderAt, int64, func(), error) {
				opened = true
				if tt.openErr != nil {
					return nil, 0, nil, tt.openErr
				}
				if tt.archive == nil {
					t.Errorf("the file was read, but the rule must decide by its name")
					return nil, 0, nil, errors.New("must not be read")
				}
				return bytes.NewReader(tt.archive), int64(len(tt.archive)), func() {}, nil
			}
			err := CheckOwner(context.Background(), tt.project, tt.filename, tt.signedPage, open)
			if tt.archive != nil && !opened {
				t.Errorf("the file was not read")
			}
			var fe *ForeignFileError
			switch {
			case tt.otherErr:
				if err == nil || errors.As(err, &fe) || !errors.Is(err, tt.openErr) {
					t.Fatalf("err = %v, want the read error", err)
				}
			case tt.owner == "" && tt.why == "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case !errors.As(err, &fe):
				t.Fatalf("err = %v, want a ForeignFileError", err)
			case fe.Owner != tt.owner || !strings.Contains(fe.Error(), tt.why):
				t.Fatalf("err = %q (owner %q), want owner %q saying %q", err, fe.Owner, tt.owner, tt.why)
			case !strings.HasPrefix(fe.Error(), tt.filename+": "):
				t.Fatalf("err = %q does not start with the file name", err)
			}
		})
	}
}

func TestCheckOwnerMessage(t *testing.T) {
	theirs := tarGz(t, archiveFile{name: "pkg-0-9-9/PKG-INFO", data: pkgInfo("pkg-0-9")})
	err := CheckOwner(context.Background(), "pkg-0", "pkg-0-9-9.tar.gz", false, func(context.Context) (io.ReaderAt, int64, func(), error) {
		return bytes.NewReader(theirs), int64(len(theirs)), func() {}, nil
	})
	if want := "pkg-0-9-9.tar.gz: belongs to project pkg-0-9, not pkg-0"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	err = CheckOwner(context.Background(), "pkg-0", "pkg-0-9-9.tar.gz", false, func(context.Context) (io.ReaderAt, int64, func(), error) {
		empty := tarGz(t)
		return bytes.NewReader(empty), int64(len(empty)), func() {}, nil
	})
	if want := "pkg-0-9-9.tar.gz: cannot tell whether it belongs to project pkg-0: its name also reads as a file of pkg-0-9, and it has no top-level PKG-INFO"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// A tar that decompresses beyond the scan bound is refused, not read to
// its end.
func TestSdistNameScanBound(t *testing.T) {
	data := tarGz(t, archiveFile{name: "d/filler", data: make([]byte, 256<<10)}, archiveFile{name: "d/PKG-INFO", data: pkgInfo("pkg-0")})
	if _, err := (SdistLimits{ScanBytes: 64 << 10}).SdistName(bytes.NewReader(data), int64(len(data)), "pkg-0-9-9.tar.gz"); err == nil || !errors.Is(err, ErrNoOwner) || !strings.Contains(err.Error(), "decompresses to more than") {
		t.Fatalf("err = %v, want the scan bound", err)
	}
	if name, err := (SdistLimits{ScanBytes: 1 << 20}).SdistName(bytes.NewReader(data), int64(len(data)), "pkg-0-9-9.tar.gz"); err != nil || name != "pkg-0" {
		t.Fatalf("within the bound: %q, %v", name, err)
	}
}
