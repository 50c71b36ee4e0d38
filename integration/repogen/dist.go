package repogen

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"strings"
	"time"
)

// fixedTime is the timestamp inside every synthetic archive, so the same
// spec always gives the same bytes and therefore the same target hashes.
var fixedTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// builtDist is one distribution file in memory.
type builtDist struct {
	filename string
	version  string
	kind     string
	data     []byte
	// coreMetadata is the wheel's METADATA file, published beside it as
	// <filename>.metadata (PEP 658). Nil for sdists.
	coreMetadata   []byte
	requiresPython string
}

// coreMetadataText is the METADATA / PKG-INFO of a synthetic release.
func coreMetadataText(name string, r ReleaseSpec) []byte {
	var b strings.Builder
	b.WriteString("Metadata-Version: 2.1\n")
	fmt.Fprintf(&b, "Name: %s\n", name)
	fmt.Fprintf(&b, "Version: %s\n", r.Version)
	b.WriteString("Summary: synthetic package made by the tufpip test-repository generator\n")
	if r.RequiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", r.RequiresPython)
	}
	for _, d := range r.Dependencies {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", d)
	}
	return []byte(b.String())
}

const wheelFile = "Wheel-Version: 1.0\nGenerator: tufpip-repogen\nRoot-Is-Purelib: true\nTag: py3-none-any\n"

func initPy(version string) []byte {
	return []byte(fmt.Sprintf("__version__ = %q\n", version))
}

type archiveEntry struct {
	name string
	data []byte
}

// recordLine is one RECORD row as the wheel spec wants it: the urlsafe
// base64 sha256 without padding, then the size.
func recordLine(e archiveEntry) string {
	sum := sha256.Sum256(e.data)
	return fmt.Sprintf("%s,sha256=%s,%d\n", e.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(e.data))
}

// buildWheel makes a pure-Python py3-none-any wheel that pip installs: an
// import package with __version__, and a dist-info with METADATA, WHEEL
// and a RECORD that lists every file's hash.
func buildWheel(name string, r ReleaseSpec) (builtDist, error) {
	dn := distName(name)
	distInfo := fmt.Sprintf("%s-%s.dist-info", dn, r.Version)
	meta := coreMetadataText(name, r)
	entries := []archiveEntry{
		{dn + "/__init__.py", initPy(r.Version)},
		{distInfo + "/METADATA", meta},
		{distInfo + "/WHEEL", []byte(wheelFile)},
	}
	var record strings.Builder
	for _, e := range entries {
		record.WriteString(recordLine(e))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	entries = append(entries, archiveEntry{distInfo + "/RECORD", []byte(record.String())})
	data, err := storedZip(entries)
	if err != nil {
		return builtDist{}, err
	}
	return builtDist{
		filename:       fmt.Sprintf("%s-%s-py3-none-any.whl", dn, r.Version),
		version:        r.Version,
		kind:           kindWheel,
		data:           data,
		coreMetadata:   meta,
		requiresPython: r.RequiresPython,
	}, nil
}

// storedZip writes entries uncompressed with a fixed DOS timestamp and no
// extra fields, so the archive's bytes depend only on the entries.
func storedZip(entries []archiveEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{
			Name:               e.name,
			Method:             zip.Store,
			CRC32:              crc32.ChecksumIEEE(e.data),
			CompressedSize64:   uint64(len(e.data)),
			UncompressedSize64: uint64(len(e.data)),
			CreatorVersion:     3<<8 | 20, // made on Unix, zip 2.0
			ReaderVersion:      20,
			ExternalAttrs:      0o644 << 16,
		}
		fh.ModifiedDate = uint16((fixedTime.Year()-1980)<<9 | int(fixedTime.Month())<<5 | fixedTime.Day())
		fh.ModifiedTime = 0
		w, err := zw.CreateRaw(fh)
		if err != nil {
			return nil, fmt.Errorf("failed to add %s to zip: %w", e.name, err)
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, fmt.Errorf("failed to write %s to zip: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("failed to finish zip: %w", err)
	}
	return buf.Bytes(), nil
}

// sdistBackend is the in-tree PEP 517 backend shipped in every synthetic
// sdist. It uses only the standard library, so "pip wheel --no-index"
// builds the sdist with no network and no setuptools.
//
//go:embed tufpip_backend.py
var sdistBackend []byte

const sdistPyproject = `[build-system]
requires = []
build-backend = "tufpip_backend"
backend-path = ["."]
`

// buildSdist makes <name>-<version>.tar.gz (PEP 625 name) with PKG-INFO,
// pyproject.toml, the in-tree backend and the import package, under one
// top-level directory, with fixed metadata so the bytes are reproducible.
func buildSdist(name string, r ReleaseSpec) (builtDist, error) {
	dn := distName(name)
	top := fmt.Sprintf("%s-%s", dn, r.Version)
	if r.SdistStem != "" {
		top = r.SdistStem
	}
	meta := coreMetadataText(name, r)
	entries := []archiveEntry{
		{top + "/PKG-INFO", meta},
		{top + "/pyproject.toml", []byte(sdistPyproject)},
		{top + "/tufpip_backend.py", sdistBackend},
		{top + "/" + dn + "/__init__.py", initPy(r.Version)},
	}
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return builtDist{}, err
	}
	tw := tar.NewWriter(gz)
	// Directories first, so extractors see parents before children.
	for _, d := range []string{top, top + "/" + dn} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: fixedTime, Format: tar.FormatPAX}); err != nil {
			return builtDist{}, fmt.Errorf("failed to write sdist: %w", err)
		}
	}
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: fixedTime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return builtDist{}, fmt.Errorf("failed to write sdist: %w", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return builtDist{}, fmt.Errorf("failed to write sdist: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return builtDist{}, fmt.Errorf("failed to write sdist: %w", err)
	}
	if err := gz.Close(); err != nil {
		return builtDist{}, fmt.Errorf("failed to write sdist: %w", err)
	}
	return builtDist{
		filename:       top + ".tar.gz",
		version:        r.Version,
		kind:           kindSdist,
		data:           buf.Bytes(),
		requiresPython: r.RequiresPython,
	}, nil
}

// buildRelease builds every file a release spec asks for.
func buildRelease(name string, r ReleaseSpec) ([]builtDist, error) {
	var out []builtDist
	if r.dists()&Wheel != 0 {
		w, err := buildWheel(name, r)
		if err != nil {
			return nil, fmt.Errorf("failed to build wheel for %s %s: %w", name, r.Version, err)
		}
		out = append(out, w)
	}
	if r.dists()&Sdist != 0 {
		s, err := buildSdist(name, r)
		if err != nil {
			return nil, fmt.Errorf("failed to build sdist for %s %s: %w", name, r.Version, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// readRealDist takes an existing wheel or sdist: its name and version come
// from the file name; a wheel's METADATA becomes its .metadata file, and
// Requires-Python is read from the core metadata of either kind.
func readRealDist(filename string, data []byte) (project string, d builtDist, err error) {
	project, version, kind, err := parseDistFilename(filename)
	if err != nil {
		return "", builtDist{}, err
	}
	d = builtDist{filename: filename, version: version, kind: kind, data: data}
	var meta []byte
	switch kind {
	case kindWheel:
		meta, err = wheelMetadata(data)
		if err != nil {
			return "", builtDist{}, fmt.Errorf("wheel %s: %w", filename, err)
		}
		d.coreMetadata = meta
	case kindSdist:
		meta, err = sdistPkgInfo(data)
		if err != nil {
			return "", builtDist{}, fmt.Errorf("sdist %s: %w", filename, err)
		}
	}
	d.requiresPython = metadataField(meta, "Requires-Python")
	return project, d, nil
}

// wheelMetadata returns the bytes of <name>-<ver>.dist-info/METADATA.
func wheelMetadata(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	for _, f := range zr.File {
		dir, file := path.Split(f.Name)
		if file == "METADATA" && strings.Count(dir, "/") == 1 && strings.HasSuffix(dir, ".dist-info/") {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(io.LimitReader(rc, 16<<20))
		}
	}
	return nil, fmt.Errorf("no .dist-info/METADATA")
}

// sdistPkgInfo returns the bytes of <top>/PKG-INFO, or nil if there is
// none (older sdists may lack it; that is not an error here).
func sdistPkgInfo(data []byte) ([]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bad tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeReg && strings.Count(hdr.Name, "/") == 1 && path.Base(hdr.Name) == "PKG-INFO" {
			return io.ReadAll(io.LimitReader(tr, 16<<20))
		}
	}
}

// metadataField returns the first value of an RFC 822-style header in core
// metadata, stopping at the blank line before the description.
func metadataField(meta []byte, field string) string {
	sc := bufio.NewScanner(bytes.NewReader(meta))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), field) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
