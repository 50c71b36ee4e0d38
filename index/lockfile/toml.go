package lockfile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// decodeTOML decodes data into v, turning the parser's error into a
// ParseError with its line.
func decodeTOML(data []byte, v any) error {
	if _, err := toml.Decode(string(data), v); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if msg == "" {
				msg = strings.TrimPrefix(pe.Error(), "toml: ")
			}
			return &ParseError{Line: pe.Position.Line, Err: fmt.Errorf("not valid TOML: %s", msg)}
		}
		// A value of the wrong type: "toml: line N (last key "k"): ...".
		if m := decodeLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &ParseError{Line: line, Err: fmt.Errorf("unexpected value: %s", m[2])}
		}
		return &ParseError{Err: fmt.Errorf("not valid TOML: %v", err)}
	}
	return nil
}

var decodeLine = regexp.MustCompile(`^toml: line (\d+) (.*)$`)

// ---- PEP 751 pylock.toml ----

type pylockFile struct {
	LockVersion *string         `toml:"lock-version"`
	Packages    []pylockPackage `toml:"packages"`
}

type pylockPackage struct {
	Name      string          `toml:"name"`
	Version   string          `toml:"version"`
	Marker    string          `toml:"marker"`
	Index     string          `toml:"index"`
	VCS       map[string]any  `toml:"vcs"`
	Directory map[string]any  `toml:"directory"`
	Archive   *pylockFileRef  `toml:"archive"`
	Sdist     *pylockFileRef  `toml:"sdist"`
	Wheels    []pylockFileRef `toml:"wheels"`
}

type pylockFileRef struct {
	Name   string            `toml:"name"`
	URL    string            `toml:"url"`
	Path   string            `toml:"path"`
	Hashes map[string]string `toml:"hashes"`
}

func parsePyLock(data []byte) ([]Package, error) {
	var f pylockFile
	if err := decodeTOML(data, &f); err != nil {
		return nil, err
	}
	if f.LockVersion == nil {
		return nil, fmt.Errorf("not a PEP 751 lock: no lock-version")
	}
	if major, _, _ := strings.Cut(*f.LockVersion, "."); major != "1" {
		return nil, fmt.Errorf("PEP 751 lock-version %q is not supported (want 1.x)", *f.LockVersion)
	}
	var out []Package
	for _, pp := range f.Packages {
		p := Package{Name: pp.Name, Version: pp.Version, Marker: pp.Marker, Index: pp.Index}
		switch {
		case pp.VCS != nil:
			p.Source = "a VCS checkout (" + fmt.Sprint(pp.VCS["url"]) + ")"
		case pp.Directory != nil:
			p.Source = "a local directory (" + fmt.Sprint(pp.Directory["path"]) + ")"
		case pp.Archive != nil:
			p.Source = "an archive URL or path (" + firstOf(pp.Archive.URL, pp.Archive.Path) + ")"
		}
		refs := pp.Wheels
		if pp.Sdist != nil {
			refs = append(refs, *pp.Sdist)
		}
		for _, r := range refs {
			hs, err := hashTable(r.Hashes)
			if err != nil {
				return nil, fmt.Errorf("package %s: %v", pp.Name, err)
			}
			name := r.Name
			if name == "" {
				name = urlFilename(firstOf(r.URL, r.Path))
			}
			p.Files = append(p.Files, File{Filename: name, URL: r.URL, Hashes: hs})
		}
		out = append(out, p)
	}
	return out, nil
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// ---- uv.lock ----

type uvFile struct {
	Version  *int        `toml:"version"`
	Packages []uvPackage `toml:"package"`
}

type uvPackage struct {
	Name    string            `toml:"name"`
	Version string            `toml:"version"`
	Source  map[string]string `toml:"source"`
	Sdist   *uvFileRef        `toml:"sdist"`
	Wheels  []uvFileRef       `toml:"wheels"`
}

type uvFileRef struct {
	URL      string `toml:"url"`
	Path     string `toml:"path"`
	Filename string `toml:"filename"`
	Hash     string `toml:"hash"`
}

func parseUV(data []byte) ([]Package, error) {
	var f uvFile
	if err := decodeTOML(data, &f); err != nil {
		return nil, err
	}
	if f.Version == nil {
		return nil, fmt.Errorf("not a uv.lock: no version")
	}
	if *f.Version != 1 {
		return nil, fmt.Errorf("uv.lock version %d is not supported (want 1)", *f.Version)
	}
	var out []Package
	for _, up := range f.Packages {
		p := Package{Name: up.Name, Version: up.Version}
		kinds := make([]string, 0, len(up.Source))
		for k := range up.Source {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		switch {
		case up.Source["registry"] != "":
			p.Index = up.Source["registry"]
		case (up.Source["virtual"] == "." || up.Source["editable"] == "."):
			p.Root = true
		case len(kinds) > 0:
			p.Source = kinds[0] + " " + up.Source[kinds[0]]
		default:
			return nil, fmt.Errorf("package %s has no source", up.Name)
		}
		refs := up.Wheels
		if up.Sdist != nil {
			refs = append(refs, *up.Sdist)
		}
		for _, r := range refs {
			fl := File{URL: r.URL, Filename: firstOf(r.Filename, urlFilename(firstOf(r.URL, r.Path)))}
			if r.Hash != "" {
				alg, d, err := algHash(r.Hash)
				if err != nil {
					return nil, fmt.Errorf("package %s: %v", up.Name, err)
				}
				fl.Hashes = map[string]string{alg: d}
			}
			p.Files = append(p.Files, fl)
		}
		out = append(out, p)
	}
	return out, nil
}

// ---- poetry.lock ----

type poetryFile struct {
	Packages []poetryPackage `toml:"package"`
	Metadata struct {
		LockVersion *string `toml:"lock-version"`
		// Files is lock-version 1.x's table of files per package name.
		Files map[string][]poetryFileRef `toml:"files"`
	} `toml:"metadata"`
}

type poetryPackage struct {
	Name    string          `toml:"name"`
	Version string          `toml:"version"`
	Markers any             `toml:"markers"`
	Files   []poetryFileRef `toml:"files"`
	Source  struct {
		Type string `toml:"type"`
		URL  string `toml:"url"`
	} `toml:"source"`
}

type poetryFileRef struct {
	File string `toml:"file"`
	URL  string `toml:"url"`
	Hash string `toml:"hash"`
}

// PyPIIndex is where Poetry takes a package whose lock entry names no
// source.
const PyPIIndex = "https://pypi.org/simple/"

func parsePoetry(data []byte) ([]Package, error) {
	var f poetryFile
	if err := decodeTOML(data, &f); err != nil {
		return nil, err
	}
	if f.Metadata.LockVersion == nil {
		return nil, fmt.Errorf("not a poetry.lock: no [metadata] lock-version")
	}
	var out []Package
	for _, pp := range f.Packages {
		p := Package{Name: pp.Name, Version: pp.Version}
		if s, ok := pp.Markers.(string); ok {
			p.Marker = s
		}
		switch pp.Source.Type {
		case "":
			p.Index = PyPIIndex
		case "legacy":
			p.Index = pp.Source.URL
		default:
			p.Source = pp.Source.Type + " " + pp.Source.URL
		}
		refs := pp.Files
		if len(refs) == 0 {
			refs = f.Metadata.Files[pp.Name]
		}
		files, err := hashedRefs(pp.Name, refs, func(r poetryFileRef) (string, string, string) { return r.File, r.URL, r.Hash })
		if err != nil {
			return nil, err
		}
		p.Files = files
		out = append(out, p)
	}
	return out, nil
}

// hashedRefs turns {file|url, hash="ALG:HEX"} entries into Files.
func hashedRefs[T any](pkg string, refs []T, get func(T) (file, url, hash string)) ([]File, error) {
	var out []File
	for _, r := range refs {
		file, u, h := get(r)
		fl := File{Filename: file, URL: u}
		if fl.Filename == "" && u != "" {
			fl.Filename = urlFilename(u)
		}
		if fl.Filename == "" {
			return nil, fmt.Errorf("package %s: a file entry has neither file nor url", pkg)
		}
		if h != "" {
			alg, d, err := algHash(h)
			if err != nil {
				return nil, fmt.Errorf("package %s: %v", pkg, err)
			}
			fl.Hashes = map[string]string{alg: d}
		}
		out = append(out, fl)
	}
	return out, nil
}

// ---- pdm.lock ----

type pdmFile struct {
	Packages []pdmPackage `toml:"package"`
	Metadata struct {
		LockVersion *string `toml:"lock_version"`
		// Files is lock_version 4.0's table keyed "NAME VERSION".
		Files map[string][]pdmFileRef `toml:"files"`
	} `toml:"metadata"`
}

type pdmPackage struct {
	Name     string       `toml:"name"`
	Version  string       `toml:"version"`
	Marker   string       `toml:"marker"`
	Files    []pdmFileRef `toml:"files"`
	Git      string       `toml:"git"`
	URL      string       `toml:"url"`
	Path     string       `toml:"path"`
	Editable any          `toml:"editable"`
}

type pdmFileRef struct {
	File string `toml:"file"`
	URL  string `toml:"url"`
	Hash string `toml:"hash"`
}

func parsePDM(data []byte) ([]Package, error) {
	var f pdmFile
	if err := decodeTOML(data, &f); err != nil {
		return nil, err
	}
	if f.Metadata.LockVersion == nil {
		return nil, fmt.Errorf("not a pdm.lock: no [metadata] lock_version")
	}
	// Index the old table by normalized "name version".
	old := map[string][]pdmFileRef{}
	for k, refs := range f.Metadata.Files {
		name, version, _ := strings.Cut(k, " ")
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		key := normalize(name) + " " + version
		old[key] = append(old[key], refs...)
	}
	var out []Package
	for _, pp := range f.Packages {
		p := Package{Name: pp.Name, Version: pp.Version, Marker: pp.Marker}
		switch {
		case pp.Git != "":
			p.Source = "git " + pp.Git
		case pp.URL != "":
			p.Source = "url " + pp.URL
		case pp.Path != "":
			p.Source = "path " + pp.Path
		}
		refs := pp.Files
		if len(refs) == 0 {
			refs = old[normalize(pp.Name)+" "+pp.Version]
		}
		files, err := hashedRefs(pp.Name, refs, func(r pdmFileRef) (string, string, string) { return r.File, r.URL, r.Hash })
		if err != nil {
			return nil, err
		}
		p.Files = files
		out = append(out, p)
	}
	return out, nil
}
