package index

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
)

// Which project a distribution file belongs to.
//
// pip reads the files on project P's page as P's: it takes a legacy sdist
// "pkg-0-9-9.tar.gz" on the page of pkg-0 for pkg-0 version 9.post9 ("9-9"),
// although it may be version 9 of project pkg-0-9. Where the page is not
// signed (dists-only) an attacker chooses what it lists, and every file it
// lists may be genuinely signed, only for another project. So a file is
// offered on P's page only if it belongs to P (CheckOwner), and the proxy,
// download and verify all go through this one rule (Client.Page).

// Bounds on reading an sdist to find its PKG-INFO.
const (
	// MaxPKGINFOBytes bounds the PKG-INFO file itself.
	MaxPKGINFOBytes = 1 << 20
	// MaxSdistScanBytes bounds how much of a tar sdist is decompressed
	// to find every top-level PKG-INFO (a compression bomb costs at most
	// this much reading).
	MaxSdistScanBytes = 1 << 30
	// maxSdistEntries bounds the archive entries looked at.
	maxSdistEntries = 200_000
)

// SdistLimits bounds reading an sdist to find its PKG-INFO. A zero field
// takes its default; the zero value is what SdistName uses.
type SdistLimits struct {
	// ScanBytes bounds how much of a tar sdist is decompressed (default
	// MaxSdistScanBytes).
	ScanBytes int64
}

func (l SdistLimits) scanBytes() int64 {
	if l.ScanBytes > 0 {
		return l.ScanBytes
	}
	return MaxSdistScanBytes
}

// ErrNoOwner is wrapped by SdistName's errors: the archive does not say
// which project it is.
var ErrNoOwner = errors.New("no usable PKG-INFO")

// noOwnerError is an ErrNoOwner whose text says what is wrong, in words
// that follow "and " in a sentence ("it has no top-level PKG-INFO").
type noOwnerError struct{ msg string }

func (e *noOwnerError) Error() string { return e.msg }
func (e *noOwnerError) Unwrap() error { return ErrNoOwner }

func noOwner(format string, a ...any) error {
	return &noOwnerError{fmt.Sprintf(format, a...)}
}

// ForeignFileError says that a file listed on Project's page is not
// Project's: it belongs to Owner, or (Owner empty) it cannot be told
// whether it is Project's, for the reason in Why.
type ForeignFileError struct {
	Filename string
	Project  string
	Owner    string
	Why      string
}

func (e *ForeignFileError) Error() string {
	if e.Owner != "" {
		return fmt.Sprintf("%s: belongs to project %s, not %s", e.Filename, e.Owner, e.Project)
	}
	return fmt.Sprintf("%s: cannot tell whether it belongs to project %s: %s", e.Filename, e.Project, e.Why)
}

// Reason is the error without the file name, as an Omission gives it.
func (e *ForeignFileError) Reason() string {
	return strings.TrimPrefix(e.Error(), e.Filename+": ")
}

// OpenVerified returns the verified bytes of a file (from the verified
// cache) and their length. The caller calls done when finished.
type OpenVerified func(ctx context.Context) (r io.ReaderAt, size int64, done func(), err error)

// CheckOwner is the rule that decides whether the distribution file
// filename may be offered on project's page. It returns nil if it may, a
// *ForeignFileError if it may not, and any other error when the file had
// to be read and could not be (open's errors, which the caller treats as
// it treats a failed download).
//
//   - A wheel belongs to the project its name field names (PEP 427 escaping,
//     PEP 503 normalization).
//   - An sdist whose name has one reading (FileReadings) belongs to the
//     project that reading names, and one none of whose readings names
//     project is not project's.
//   - An sdist whose name reads as project's and also as another project's
//     is ambiguous. When the page is signed (pageSigned), the repository
//     vouched that the file is project's, and no bytes are read. When it is
//     not (dists-only), the file is read through open (so only verified
//     bytes) and the Name in its top-level PKG-INFO decides (SdistName); a
//     missing, malformed or oversized PKG-INFO means it is not offered.
//   - A file whose name is no wheel or sdist name tufpip can read is
//     offered only on a signed page (pip reads a few formats tufpip does
//     not, such as ".tar"; the signed page vouches for them); on an
//     unsigned page it is not, since it cannot be attributed.
//
// The name checks cost nothing and apply to signed pages too: they only
// leave out what pip would not take as project's anyway, or what a
// repository bug put on the wrong page. Reading PKG-INFO costs a download
// per ambiguous sdist, which a signed page makes unnecessary.
func CheckOwner(ctx context.Context, project, filename string, pageSigned bool, open OpenVerified) error {
	want := packaging.NormalizeName(project)
	foreign := func(owner, why string) error {
		return &ForeignFileError{Filename: filename, Project: want, Owner: owner, Why: why}
	}
	readings, err := packaging.FileReadings(filename)
	if err != nil {
		if pageSigned {
			return nil
		}
		return foreign("", "its name is not a wheel or sdist name, so it names no project")
	}
	names := projectsOf(readings)
	switch {
	case !slices.Contains(names, want):
		return foreign(names[0], "")
	case len(names) == 1, pageSigned:
		return nil
	}
	others := strings.Join(slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == want }), " or ")
	if open == nil {
		return foreign("", "its name also reads as a file of "+others+", and its contents cannot be read")
	}
	r, size, done, err := open(ctx)
	if err != nil {
		return fmt.Errorf("reading it to tell whether it belongs to %s or %s: %w", want, others, err)
	}
	defer done()
	name, err := SdistName(r, size, filename)
	if err != nil {
		return foreign("", "its name also reads as a file of "+others+", and "+err.Error())
	}
	if owner := packaging.NormalizeName(name); owner != want {
		return foreign(owner, "")
	}
	return nil
}

func projectsOf(ds []packaging.Dist) []string {
	var names []string
	for _, d := range ds {
		if !slices.Contains(names, d.Project) {
			names = append(names, d.Project)
		}
	}
	return names
}

// SdistName returns the Name field of the sdist's PKG-INFO: the file
// "<dir>/PKG-INFO" at the archive's top level (one directory down, as
// every sdist tool writes it; a PKG-INFO deeper down belongs to something
// vendored). The archive format comes from filename: .tar.gz and .tgz,
// .tar.bz2, or .zip. Every top-level PKG-INFO must give the same valid
// project name; the PKG-INFO is at most MaxPKGINFOBytes, and a tar is
// decompressed up to MaxSdistScanBytes. Errors wrap ErrNoOwner, and say
// what was wrong in words that follow "and " in a sentence.
func SdistName(r io.ReaderAt, size int64, filename string) (string, error) {
	return SdistLimits{}.SdistName(r, size, filename)
}

// SdistName is the package's SdistName within the limits l.
func (l SdistLimits) SdistName(r io.ReaderAt, size int64, filename string) (string, error) {
	lower := strings.ToLower(filename)
	var (
		infos [][]byte
		err   error
	)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		infos, err = zipPKGINFOs(r, size)
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		var gz *gzip.Reader
		gz, err = gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err != nil {
			return "", noOwner("it is not a gzip file (%v)", err)
		}
		infos, err = tarPKGINFOs(gz, l.scanBytes())
	case strings.HasSuffix(lower, ".tar.bz2"):
		infos, err = tarPKGINFOs(bzip2.NewReader(io.NewSectionReader(r, 0, size)), l.scanBytes())
	default:
		return "", noOwner("tufpip cannot read PKG-INFO from this archive format")
	}
	if err != nil {
		return "", err
	}
	if len(infos) == 0 {
		return "", noOwner("it has no top-level PKG-INFO")
	}
	name := ""
	for _, info := range infos {
		n, err := metadataName(info)
		if err != nil {
			return "", err
		}
		if name != "" && packaging.NormalizeName(n) != packaging.NormalizeName(name) {
			return "", noOwner("its top-level PKG-INFO files name different projects (%s, %s)", name, n)
		}
		name = n
	}
	return name, nil
}

// topLevelPKGINFO reports whether an archive member name is
// "<dir>/PKG-INFO" (a leading "./" allowed).
func topLevelPKGINFO(name string) bool {
	name = strings.TrimPrefix(name, "./")
	dir, file := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	return file == "PKG-INFO" && dir != "" && dir != "." && dir != ".." && !strings.ContainsAny(dir, "/\\")
}

func tarPKGINFOs(r io.Reader, limit int64) ([][]byte, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	tr := tar.NewReader(lr)
	var infos [][]byte
	for n := 0; ; n++ {
		if n > maxSdistEntries {
			return nil, noOwner("it has more than %d archive entries", maxSdistEntries)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return infos, nil
		}
		if lr.N <= 0 {
			return nil, noOwner("it decompresses to more than %d bytes before its end", limit)
		}
		if err != nil {
			return nil, noOwner("it is not a readable tar archive (%v)", err)
		}
		if !topLevelPKGINFO(hdr.Name) {
			continue
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			return nil, noOwner("its PKG-INFO is not a regular file")
		}
		if hdr.Size > MaxPKGINFOBytes {
			return nil, noOwner("its PKG-INFO is larger than %d bytes", MaxPKGINFOBytes)
		}
		data, err := io.ReadAll(io.LimitReader(tr, MaxPKGINFOBytes+1))
		if err != nil {
			return nil, noOwner("it is not a readable tar archive (%v)", err)
		}
		infos = append(infos, data)
	}
}

func zipPKGINFOs(r io.ReaderAt, size int64) ([][]byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, noOwner("it is not a readable zip archive (%v)", err)
	}
	if len(zr.File) > maxSdistEntries {
		return nil, noOwner("it has more than %d archive entries", maxSdistEntries)
	}
	var infos [][]byte
	for _, f := range zr.File {
		if !topLevelPKGINFO(f.Name) {
			continue
		}
		if !f.Mode().IsRegular() {
			return nil, noOwner("its PKG-INFO is not a regular file")
		}
		if f.UncompressedSize64 > MaxPKGINFOBytes {
			return nil, noOwner("its PKG-INFO is larger than %d bytes", MaxPKGINFOBytes)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, noOwner("it is not a readable zip archive (%v)", err)
		}
		// The declared size is not trusted: read one byte more than the
		// bound to notice a lie.
		data, err := io.ReadAll(io.LimitReader(rc, MaxPKGINFOBytes+1))
		rc.Close()
		if err != nil {
			return nil, noOwner("it is not a readable zip archive (%v)", err)
		}
		if len(data) > MaxPKGINFOBytes {
			return nil, noOwner("its PKG-INFO is larger than %d bytes", MaxPKGINFOBytes)
		}
		infos = append(infos, data)
	}
	return infos, nil
}

// metadataName returns the one Name field of core metadata: RFC 822-style
// headers up to the first blank line, field names case-insensitive.
func metadataName(meta []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(meta))
	sc.Buffer(make([]byte, 0, 4096), MaxPKGINFOBytes+1)
	name, found := "", false
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // a continuation line
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "Name") {
			continue
		}
		if found {
			return "", noOwner("its PKG-INFO has more than one Name")
		}
		name, found = strings.TrimSpace(v), true
	}
	if err := sc.Err(); err != nil {
		return "", noOwner("its PKG-INFO is unreadable (%v)", err)
	}
	if !found {
		return "", noOwner("its PKG-INFO has no Name")
	}
	if !packaging.ValidProjectName(name) {
		return "", noOwner("its PKG-INFO's Name %q is not a valid project name", truncate(name, 80))
	}
	return name, nil
}
