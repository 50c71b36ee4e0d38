package simple

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
)

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

// jsonFileIn is a PEP 691 file as read. Fields whose JSON type varies are
// raw and decoded by hand.
type jsonFileIn struct {
	Filename         *string           `json:"filename"`
	URL              *string           `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	Yanked           json.RawMessage   `json:"yanked"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
	Size             json.RawMessage   `json:"size"`
	UploadTime       *string           `json:"upload-time"`
}

type jsonPageIn struct {
	Meta     *jsonMeta    `json:"meta"`
	Name     *string      `json:"name"`
	Files    []jsonFileIn `json:"files"`
	Versions []string     `json:"versions"`
}

// ParseJSON parses a PEP 691 project page (API 1.x, with PEP 700 fields)
// fetched from pageURL, an absolute http(s) URL that relative file URLs
// resolve against. It reads at most maxBytes (DefaultMaxPageBytes if
// maxBytes <= 0) and fails with ErrPageTooLarge beyond that.
//
// The page must be one JSON object with meta.api-version 1.x and a valid
// project name; anything after the object is an error. Unknown keys are
// ignored, as PEP 691 requires. A file whose filename is unsafe
// (SafeFilename) or is not the last segment of its URL, whose URL is not
// http(s), or whose filename was already seen is skipped; a file with a filename or url of the wrong type fails
// the page. Hashes of unknown algorithms or malformed hex are dropped.
// yanked may be a boolean or a reason string (an empty reason means
// yanked); core-metadata (or legacy dist-info-metadata) true gives an empty
// map, an object its valid hashes (nil if none are valid), false nil.
func ParseJSON(r io.Reader, pageURL *url.URL, maxBytes int64) (*Page, error) {
	fail := func(err error) (*Page, error) {
		return nil, fmt.Errorf("parse project page %s: %w", pageURL.Redacted(), err)
	}
	if err := checkPageURL(pageURL); err != nil {
		return nil, fmt.Errorf("parse project page: %w", err)
	}
	data, err := readLimited(r, maxBytes)
	if err != nil {
		return fail(err)
	}
	var in jsonPageIn
	if err := decodeOneJSON(data, &in); err != nil {
		return fail(err)
	}
	if in.Meta == nil {
		return fail(errors.New("no meta.api-version"))
	}
	if err := checkAPIVersion(in.Meta.APIVersion); err != nil {
		return fail(err)
	}
	if in.Name == nil || !packaging.ValidProjectName(*in.Name) {
		return fail(errors.New("missing or invalid project name"))
	}
	p := &Page{Name: packaging.NormalizeName(*in.Name), Meta: strings.TrimSpace(in.Meta.APIVersion), Files: []File{}}
	if in.Versions != nil {
		p.Versions = make([]string, len(in.Versions))
		for i, v := range in.Versions {
			p.Versions[i] = cleanText(v)
		}
	}
	seen := map[string]bool{}
	for i, jf := range in.Files {
		if jf.Filename == nil || jf.URL == nil {
			return fail(fmt.Errorf("file %d: filename and url are required", i))
		}
		f, ok, err := fileFromJSON(pageURL, jf)
		if err != nil {
			return fail(fmt.Errorf("file %q: %w", truncate(*jf.Filename, 80), err))
		}
		if ok && !seen[f.Filename] {
			seen[f.Filename] = true
			p.Files = append(p.Files, f)
		}
	}
	return p, nil
}

// decodeOneJSON decodes exactly one JSON value from data into v.
func decodeOneJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the top-level value")
	}
	return nil
}

func fileFromJSON(base *url.URL, jf jsonFileIn) (File, bool, error) {
	if !packaging.SafeFilename(*jf.Filename) {
		return File{}, false, nil
	}
	u, _, name, ok := resolveFileURL(base, *jf.URL)
	if !ok || name != *jf.Filename {
		// pip names a file after its URL; a different "filename" would
		// make the page say one thing to us and another to pip.
		return File{}, false, nil
	}
	f := File{Filename: *jf.Filename, URL: u.String(), Hashes: map[string]string{}, Size: -1}
	for alg, hex := range jf.Hashes {
		if alg, hex, ok := normalizeHash(alg, hex); ok {
			f.Hashes[alg] = hex
		}
	}
	if jf.RequiresPython != nil {
		f.RequiresPython = cleanText(*jf.RequiresPython)
	}
	if len(jf.Yanked) > 0 {
		var b bool
		var s string
		switch {
		case json.Unmarshal(jf.Yanked, &b) == nil:
			f.Yanked = b
		case json.Unmarshal(jf.Yanked, &s) == nil:
			f.Yanked, f.YankedReason = true, cleanText(s)
		case string(jf.Yanked) == "null":
		default:
			return File{}, false, errors.New("yanked is neither a boolean nor a string")
		}
	}
	meta := jf.CoreMetadata
	if len(meta) == 0 || string(meta) == "null" {
		meta = jf.DistInfoMetadata
	}
	cm, err := parseCoreMetadataJSON(meta)
	if err != nil {
		return File{}, false, err
	}
	f.CoreMetadata = cm
	if len(jf.Size) > 0 && string(jf.Size) != "null" {
		var n int64
		if err := json.Unmarshal(jf.Size, &n); err != nil || n < 0 {
			return File{}, false, errors.New("size is not a non-negative integer")
		}
		f.Size = n
	}
	if jf.UploadTime != nil {
		f.UploadTime = cleanText(*jf.UploadTime)
	}
	return f, true, nil
}

func parseCoreMetadataJSON(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return map[string]string{}, nil
		}
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New("core-metadata is neither a boolean nor an object of hashes")
	}
	if len(m) == 0 {
		return map[string]string{}, nil
	}
	out := map[string]string{}
	for alg, hex := range m {
		if alg, hex, ok := normalizeHash(alg, hex); ok {
			out[alg] = hex
		}
	}
	if len(out) == 0 {
		// Hashes were promised but none can be checked: treat the
		// metadata as unavailable rather than unverifiable.
		return nil, nil
	}
	return out, nil
}

type jsonFileOut struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   string            `json:"requires-python,omitempty"`
	CoreMetadata     any               `json:"core-metadata,omitempty"`
	DistInfoMetadata any               `json:"dist-info-metadata,omitempty"`
	Yanked           any               `json:"yanked"`
	Size             *int64            `json:"size,omitempty"`
	UploadTime       string            `json:"upload-time,omitempty"`
}

type jsonPageOut struct {
	Meta     jsonMeta      `json:"meta"`
	Name     string        `json:"name"`
	Files    []jsonFileOut `json:"files"`
	Versions []string      `json:"versions"`
}

// RenderJSON writes p as a PEP 691 page of API version 1.1: meta, name,
// files (filename, url, hashes, requires-python, core-metadata but never
// the legacy dist-info-metadata (PEP 714), yanked as false, true or the
// reason, PEP 700 size and upload-time when known) and versions (p.Versions, or derived
// from the filenames when nil). Only valid hashes are written. Nothing is
// written if p is invalid: see Validate.
func (p *Page) RenderJSON(w io.Writer) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("render project page: %w", err)
	}
	out := jsonPageOut{Meta: jsonMeta{APIVersion: APIVersion}, Name: p.Name, Files: []jsonFileOut{}, Versions: p.Versions}
	if out.Versions == nil {
		out.Versions = versionsFromFiles(p.Files)
	}
	for _, f := range p.Files {
		jf := jsonFileOut{Filename: f.Filename, URL: f.URL, Hashes: validHashes(f.Hashes), RequiresPython: f.RequiresPython, Yanked: false, UploadTime: f.UploadTime}
		if f.Yanked {
			jf.Yanked = true
			if f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			}
		}
		if f.CoreMetadata != nil {
			var cm any = true
			if len(f.CoreMetadata) > 0 {
				cm = validHashes(f.CoreMetadata)
			}
			// PEP 714: JSON carries only core-metadata. pip 22.3 to
			// 23.1 crash on a dist-info-metadata object in JSON.
			jf.CoreMetadata = cm
		}
		if f.Size >= 0 {
			jf.Size = &f.Size
		}
		out.Files = append(out.Files, jf)
	}
	return writeJSON(w, out)
}

// validHashes returns the known, well-formed hashes of h, normalized.
func validHashes(h map[string]string) map[string]string {
	out := map[string]string{}
	for alg, hex := range h {
		if alg, hex, ok := normalizeHash(alg, hex); ok {
			out[alg] = hex
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Readable "<" in requires-python; the content type is JSON, so no
	// browser will sniff it as HTML.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

type jsonProjectListIn struct {
	Meta     *jsonMeta `json:"meta"`
	Projects []struct {
		Name *string `json:"name"`
	} `json:"projects"`
}

type jsonProjectOut struct {
	Name string `json:"name"`
}

type jsonProjectListOut struct {
	Meta     jsonMeta         `json:"meta"`
	Projects []jsonProjectOut `json:"projects"`
}

// ParseProjectListJSON parses a PEP 691 root page. Invalid names and names
// that normalize to one already seen are skipped.
func ParseProjectListJSON(r io.Reader, maxBytes int64) (*ProjectList, error) {
	data, err := readLimited(r, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("parse project list: %w", err)
	}
	var in jsonProjectListIn
	if err := decodeOneJSON(data, &in); err != nil {
		return nil, fmt.Errorf("parse project list: %w", err)
	}
	if in.Meta == nil {
		return nil, errors.New("parse project list: no meta.api-version")
	}
	if err := checkAPIVersion(in.Meta.APIVersion); err != nil {
		return nil, fmt.Errorf("parse project list: %w", err)
	}
	pl := &ProjectList{Projects: []string{}}
	seen := map[string]bool{}
	for _, pr := range in.Projects {
		if pr.Name == nil || !packaging.ValidProjectName(*pr.Name) || seen[packaging.NormalizeName(*pr.Name)] {
			continue
		}
		seen[packaging.NormalizeName(*pr.Name)] = true
		pl.Projects = append(pl.Projects, *pr.Name)
	}
	return pl, nil
}

// RenderJSON writes the list as a PEP 691 root page of API version 1.1.
func (pl *ProjectList) RenderJSON(w io.Writer) error {
	if err := pl.validate(); err != nil {
		return fmt.Errorf("render project list: %w", err)
	}
	out := jsonProjectListOut{Meta: jsonMeta{APIVersion: APIVersion}, Projects: []jsonProjectOut{}}
	for _, n := range pl.Projects {
		out.Projects = append(out.Projects, jsonProjectOut{Name: n})
	}
	return writeJSON(w, out)
}
