package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
)

func normalize(name string) string { return packaging.NormalizeName(name) }

type pipenvFile struct {
	Meta *struct {
		Sources []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"sources"`
	} `json:"_meta"`
	Default map[string]pipenvPackage `json:"default"`
	Develop map[string]pipenvPackage `json:"develop"`
}

type pipenvPackage struct {
	Version  string   `json:"version"`
	Hashes   []string `json:"hashes"`
	Index    string   `json:"index"`
	Markers  string   `json:"markers"`
	Git      string   `json:"git"`
	Path     string   `json:"path"`
	File     string   `json:"file"`
	Editable bool     `json:"editable"`
}

// parsePipenv reads Pipfile.lock. It pins hashes, not file names: each
// hash becomes a File without Filename.
func parsePipenv(data []byte) ([]Package, error) {
	var f pipenvFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, &ParseError{Line: jsonLine(data, err), Err: fmt.Errorf("not valid JSON: %v", err)}
	}
	if f.Meta == nil {
		return nil, errors.New("not a Pipfile.lock: no _meta")
	}
	sources := map[string]string{}
	var first string
	for i, s := range f.Meta.Sources {
		sources[s.Name] = s.URL
		if i == 0 {
			first = s.URL
		}
	}
	var out []Package
	for _, group := range []map[string]pipenvPackage{f.Default, f.Develop} {
		names := make([]string, 0, len(group))
		for n := range group {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			pp := group[name]
			p := Package{Name: name, Marker: pp.Markers, Index: first}
			if pp.Index != "" {
				u, ok := sources[pp.Index]
				if !ok {
					return nil, fmt.Errorf("package %s: index %q is not one of _meta.sources", name, pp.Index)
				}
				p.Index = u
			}
			switch {
			case pp.Git != "":
				p.Source = "git " + pp.Git
			case pp.Path != "":
				p.Source = "path " + pp.Path
			case pp.File != "":
				p.Source = "file " + pp.File
			case pp.Version != "":
				v, ok := strings.CutPrefix(pp.Version, "==")
				if !ok || v == "" || strings.ContainsAny(v, "*,<>!~= ") {
					return nil, fmt.Errorf("package %s: version %q is not ==VERSION", name, pp.Version)
				}
				p.Version = v
			}
			for _, h := range pp.Hashes {
				alg, d, err := algHash(h)
				if err != nil {
					return nil, fmt.Errorf("package %s: %v", name, err)
				}
				p.Files = append(p.Files, File{Hashes: map[string]string{alg: d}})
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// jsonLine is the line of a JSON decoding error's offset, or 0.
func jsonLine(data []byte, err error) int {
	var off int64
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}
