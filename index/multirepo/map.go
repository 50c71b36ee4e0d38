package multirepo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// mapFile is the map file's JSON, as TAP 4 and go-tuf v2's
// metadata/multirepo.MultiRepoMapType spell it.
type mapFile struct {
	Repositories map[string][]string `json:"repositories"`
	Mapping      []*mappingJSON      `json:"mapping"`
}

type mappingJSON struct {
	Paths        []string `json:"paths"`
	Repositories []string `json:"repositories"`
	Threshold    int      `json:"threshold"`
	Terminating  bool     `json:"terminating"`
}

// Map is a validated map file.
type Map struct {
	// Repositories are the repository names the map uses, sorted.
	Repositories []string
	Mappings     []Mapping
}

// Mapping is one entry of the map's "mapping" list.
type Mapping struct {
	// Index is the mapping's position in the file, from 0; messages
	// call it "mapping N" with N = Index+1.
	Index        int
	Paths        []string
	Repositories []string
	Threshold    int
	Terminating  bool
}

// String names the mapping in messages: mapping 1 (corp-*).
func (m Mapping) String() string {
	return fmt.Sprintf("mapping %d (%s)", m.Index+1, strings.Join(m.Paths, ", "))
}

// Matches reports whether one of the mapping's patterns matches name
// (path.Match semantics: '*' and '?' do not cross '/', '[...]' is a
// class, '\' escapes).
func (m Mapping) Matches(name string) bool {
	for _, p := range m.Paths {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Registry says what was registered under a repository name: its
// metadata URL, or ok false when nothing is.
type Registry func(name string) (metadataURL string, ok bool)

// MapError is a map file that is not valid: Where says which part
// ("mapping[1].threshold"), Reason what is wrong with it.
type MapError struct {
	Where  string
	Reason string
}

func (e *MapError) Error() string {
	if e.Where == "" {
		return e.Reason
	}
	return e.Where + ": " + e.Reason
}

func mapErr(where, format string, a ...any) error {
	return &MapError{Where: where, Reason: fmt.Sprintf(format, a...)}
}

// DefaultMaxMapBytes bounds a map file.
const DefaultMaxMapBytes = 1 << 20

// Parse reads and validates a map file. Every repository the map names
// must be registered (reg), and the URLs the map lists for it, if any,
// must be the registered metadata URL: the map chooses among
// repositories whose roots were installed with "tufpip init", it never
// introduces one. Unknown fields, an empty "mapping" or "paths", a bad
// glob, a mapping naming a repository missing from "repositories", a
// repeated repository, and a threshold below 1 or above the number of
// the mapping's repositories are all errors.
func Parse(data []byte, reg Registry) (*Map, error) {
	if len(data) > DefaultMaxMapBytes {
		return nil, mapErr("", "larger than %d bytes", DefaultMaxMapBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var mf mapFile
	if err := dec.Decode(&mf); err != nil {
		return nil, mapErr("", "not a valid map file: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, mapErr("", "not a valid map file: data after the JSON object")
	}
	if len(mf.Repositories) == 0 {
		return nil, mapErr("repositories", "empty: list the registered repositories the mappings use")
	}
	m := &Map{}
	for name, urls := range mf.Repositories {
		where := fmt.Sprintf("repositories[%q]", name)
		registered, ok := reg(name)
		if !ok {
			return nil, mapErr(where, "unknown repository %q: it is not registered", name)
		}
		for _, u := range urls {
			if strings.TrimSuffix(u, "/") != strings.TrimSuffix(registered, "/") {
				return nil, mapErr(where, "URL %q is not the metadata URL %q was registered with (%q); leave the list empty or give that URL", u, name, registered)
			}
		}
		m.Repositories = append(m.Repositories, name)
	}
	slices.Sort(m.Repositories)
	if len(mf.Mapping) == 0 {
		return nil, mapErr("mapping", "empty: nothing would be served")
	}
	for i, mj := range mf.Mapping {
		where := fmt.Sprintf("mapping[%d]", i)
		if mj == nil {
			return nil, mapErr(where, "null")
		}
		if len(mj.Paths) == 0 {
			return nil, mapErr(where+".paths", "empty: give at least one pattern, such as \"corp-*\" or \"*\"")
		}
		for _, p := range mj.Paths {
			if p == "" {
				return nil, mapErr(where+".paths", "an empty pattern matches nothing")
			}
			if _, err := path.Match(p, ""); err != nil {
				return nil, mapErr(where+".paths", "bad pattern %q: %v", p, err)
			}
		}
		if len(mj.Repositories) == 0 {
			return nil, mapErr(where+".repositories", "empty")
		}
		seen := map[string]bool{}
		for _, r := range mj.Repositories {
			if _, ok := mf.Repositories[r]; !ok {
				return nil, mapErr(where+".repositories", "unknown repository %q: not in the map's \"repositories\"", r)
			}
			if seen[r] {
				return nil, mapErr(where+".repositories", "%q is listed twice", r)
			}
			seen[r] = true
		}
		if mj.Threshold < 1 || mj.Threshold > len(mj.Repositories) {
			return nil, mapErr(where+".threshold", "%d: want 1 to %d (the number of its repositories)", mj.Threshold, len(mj.Repositories))
		}
		m.Mappings = append(m.Mappings, Mapping{Index: i, Paths: slices.Clone(mj.Paths), Repositories: slices.Clone(mj.Repositories),
			Threshold: mj.Threshold, Terminating: mj.Terminating})
	}
	return m, nil
}

// Route returns the mappings that may decide name, in the map's order:
// every one whose patterns match, up to and including the first
// terminating one. Empty means no mapping matches.
func (m *Map) Route(name string) []Mapping {
	var out []Mapping
	for _, mp := range m.Mappings {
		if !mp.Matches(name) {
			continue
		}
		out = append(out, mp)
		if mp.Terminating {
			break
		}
	}
	return out
}

// Reaches reports whether name could be looked up in repository repo:
// a mapping on name's route lists it.
func (m *Map) Reaches(name, repo string) bool {
	for _, mp := range m.Route(name) {
		if slices.Contains(mp.Repositories, repo) {
			return true
		}
	}
	return false
}
