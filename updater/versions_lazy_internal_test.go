package updater

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// pypiVersions is a versions file shaped like PyPI's: targets, 16,384
// hash bins, a few roles whose names need escaping, one with a length
// and hashes.
func pypiVersions(t *testing.T) ([]byte, map[string]*metadata.MetaFiles) {
	t.Helper()
	meta := map[string]*metadata.MetaFiles{"targets.json": {Version: 3}}
	for i := range 16384 {
		meta[fmt.Sprintf("bins-%04x.json", i)] = &metadata.MetaFiles{Version: int64(1 + i%7)}
	}
	meta["a b=c.json"] = &metadata.MetaFiles{Version: 2}
	meta["bins.json"] = &metadata.MetaFiles{Version: 9}
	meta["z\u00e9.json"] = &metadata.MetaFiles{Version: 4, Length: 77, Hashes: metadata.Hashes{"sha256": {0xab, 0xcd}}}
	return encodeSnapshotVersions(11, meta, nil), meta
}

// The lazy reader answers every role of a sorted file (the binary-search
// path) as the full parse does, and unlisted roles as absent.
func TestSnapshotVersionsAgreesWithFullParse(t *testing.T) {
	data, meta := pypiVersions(t)
	full, err := parseSnapshotVersions(data, 11)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := openSnapshotVersions(data, 11)
	if err != nil {
		t.Fatal(err)
	}
	if sv.lines == nil || sv.full != nil {
		t.Fatal("a file encodeSnapshotVersions wrote was not read by binary search")
	}
	if len(full) != len(meta) {
		t.Fatalf("full parse has %d roles, want %d", len(full), len(meta))
	}
	for name, want := range full {
		for range 2 { // the second answer comes from the memo
			got, ok, err := sv.lookup(name)
			if err != nil || !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("lookup(%q) = %+v, %v, %v; want %+v", name, got, ok, err, want)
			}
		}
	}
	for _, name := range []string{"bins-4000", "bins-", "", "a b", "targets.json", "bins-000", "zz"} {
		if got, ok, err := sv.lookup(name); ok || err != nil {
			t.Errorf("lookup(%q) of an unlisted role = %+v, %v, %v", name, got, ok, err)
		}
	}
}

// A damaged line is refused when it is looked up, with errCorruptVersions;
// the full parser refuses the whole file.
func TestSnapshotVersionsDamagedLineRefused(t *testing.T) {
	data, _ := pypiVersions(t)
	for _, c := range []struct{ name, from, to string }{
		{"bins-1234", "\nbins-1234 ", "\nbins-1234 0"},          // leading zero
		{"bins-1234", "\nbins-1234 ", "\nbins-1234 -"},          // sign
		{"bins-1234", "\nbins-1234 6\n", "\nbins-1234 6 x=y\n"}, // bad hash
		{"bins-1234", "\nbins-1234 6\n", "\nbins-1234 6 \n"},    // trailing space
		{"z\u00e9", "sha256=abcd", "sha256=ABCD"},               // not canonical
		{"z\u00e9", "length=77", "length=077"},
	} {
		damaged := strings.Replace(string(data), c.from, c.to, 1)
		if damaged == string(data) {
			t.Fatalf("%s: edit %q changed nothing", c.name, c.from)
		}
		if _, err := parseSnapshotVersions([]byte(damaged), 11); !errors.Is(err, errCorruptVersions) {
			t.Fatalf("%s: full parse of %q: %v", c.name, c.to, err)
		}
		sv, err := openSnapshotVersions([]byte(damaged), 11)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got, ok, err := sv.lookup(c.name); !errors.Is(err, errCorruptVersions) || ok || got != nil {
			t.Errorf("%s damaged (%q): lookup = %+v, %v, %v; want errCorruptVersions", c.name, c.to, got, ok, err)
		}
		// Another role is answered from its own intact line.
		if m, ok, err := sv.lookup("bins-0001"); err != nil || !ok || m.Version != 2 {
			t.Errorf("%s damaged: lookup(bins-0001) = %+v, %v, %v", c.name, m, ok, err)
		}
	}
	// The targets line is looked up on open: damaged, the file is refused.
	damaged := strings.Replace(string(data), "\ntargets 3\n", "\ntargets 03\n", 1)
	if _, err := openSnapshotVersions([]byte(damaged), 11); !errors.Is(err, errCorruptVersions) {
		t.Errorf("damaged targets line: %v", err)
	}
}

// A file cut short anywhere, or with another snapshot version or header,
// is refused on open, as by the full parse.
func TestSnapshotVersionsFrameRefused(t *testing.T) {
	data, _ := pypiVersions(t)
	cuts := []int{0, 1, 10, len(data) / 3, len(data) / 2, len(data) - 20, len(data) - 1}
	// Cut at a line boundary: every line whole, the count short.
	cuts = append(cuts, strings.LastIndex(string(data[:len(data)/2]), "\n")+1)
	for _, n := range cuts {
		if _, err := parseSnapshotVersions(data[:n], 11); err == nil {
			t.Fatalf("full parse accepts the file cut at %d", n)
		}
		if _, err := openSnapshotVersions(data[:n], 11); err == nil {
			t.Errorf("the file cut at %d of %d bytes is accepted", n, len(data))
		}
	}
	if _, err := openSnapshotVersions(data, 12); err == nil {
		t.Error("versions for snapshot 11 accepted for snapshot 12")
	}
	header := fmt.Sprintf("snapshot 11 %d\n", 16384+4)
	if !strings.HasPrefix(string(data), header) {
		t.Fatalf("header is not %q", header)
	}
	if _, err := openSnapshotVersions([]byte(strings.Replace(string(data), header, fmt.Sprintf("snapshot 11 %d\n", 16384+3), 1)), 11); err == nil {
		t.Error("a wrong line count is accepted")
	}
	noTargets := strings.Replace(string(data), "\ntargets 3\n", "\ntargett 3\n", 1)
	if _, err := openSnapshotVersions([]byte(noTargets), 11); err == nil {
		t.Error("a file without targets is accepted")
	}
}

// A file not in encodeSnapshotVersions's order is parsed in full: its
// answers are the full parse's, and whatever the full parse refuses
// (damage on any line, a duplicate) it refuses on open.
func TestSnapshotVersionsUnsortedParsedInFull(t *testing.T) {
	data, _ := pypiVersions(t)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	swapped := append([]string{}, lines...)
	swapped[5], swapped[6] = swapped[6], swapped[5]
	unsorted := []byte(strings.Join(swapped, "\n") + "\n")
	full, err := parseSnapshotVersions(unsorted, 11)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := openSnapshotVersions(unsorted, 11)
	if err != nil {
		t.Fatal(err)
	}
	if sv.full == nil || sv.lines != nil {
		t.Fatal("an unsorted file was not parsed in full")
	}
	for name, want := range full {
		if got, ok, err := sv.lookup(name); err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("lookup(%q) = %+v, %v, %v; want %+v", name, got, ok, err, want)
		}
	}
	// Unsorted and damaged on a line no lookup needs: refused on open.
	damaged := append([]string{}, swapped...)
	damaged[9000] += " x"
	if _, err := openSnapshotVersions([]byte(strings.Join(damaged, "\n")+"\n"), 11); !errors.Is(err, errCorruptVersions) {
		t.Errorf("unsorted file with a damaged line: %v", err)
	}
	// A duplicate role breaks strict order, so the full parse refuses it.
	dup := append([]string{}, lines...)
	dup[8] = dup[7]
	if _, err := openSnapshotVersions([]byte(strings.Join(dup, "\n")+"\n"), 11); !errors.Is(err, errCorruptVersions) {
		t.Errorf("duplicate role: %v", err)
	}
}
