package repogen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"
)

// packagesHref is how a project page (simple/<name>/index.html) reaches the
// files tree: the same relative link the reference fixture uses, so the
// repository works wherever it is served.
const packagesHref = "../../packages/"

// renderProjectHTML renders a PEP 503 page byte for byte in the layout of
// the reference fixture (Warehouse's template), with the PEP 592, 658 and
// 714 attributes where they apply.
func renderProjectHTML(name string, files []*fileState) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n")
	b.WriteString("    <meta name=\"pypi:repository-version\" content=\"1.1\">\n")
	fmt.Fprintf(&b, "    <title>Links for %s</title>\n", html.EscapeString(name))
	b.WriteString("  </head>\n  <body>\n")
	fmt.Fprintf(&b, "    <h1>Links for %s</h1>\n", html.EscapeString(name))
	for _, f := range files {
		fmt.Fprintf(&b, "    <a href=\"%s#sha256=%s\"", html.EscapeString(packagesHref+f.Path), f.Hashes[HashSHA256])
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.RequiresPython))
		}
		if f.Yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(f.YankedReason))
		}
		if f.CoreMetadata != nil {
			v := "sha256=" + f.CoreMetadata.Hashes[HashSHA256]
			fmt.Fprintf(&b, " data-core-metadata=\"%s\" data-dist-info-metadata=\"%s\"", v, v)
		}
		fmt.Fprintf(&b, ">%s</a><br />\n", html.EscapeString(f.Filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   string            `json:"requires-python,omitempty"`
	CoreMetadata     any               `json:"core-metadata"`
	DistInfoMetadata any               `json:"dist-info-metadata"`
	Yanked           any               `json:"yanked"`
	Size             int64             `json:"size"`
	UploadTime       string            `json:"upload-time"`
}

type jsonProject struct {
	Meta     jsonMeta   `json:"meta"`
	Name     string     `json:"name"`
	Versions []string   `json:"versions"`
	Files    []jsonFile `json:"files"`
}

// renderProjectJSON renders the PEP 691 (API 1.1, with PEP 700's versions,
// size and upload-time) form of a project page.
func renderProjectJSON(name string, files []*fileState) []byte {
	p := jsonProject{Meta: jsonMeta{APIVersion: "1.1"}, Name: name, Versions: []string{}, Files: []jsonFile{}}
	for _, f := range files {
		jf := jsonFile{
			Filename:         f.Filename,
			URL:              packagesHref + f.Path,
			Hashes:           map[string]string{HashSHA256: f.Hashes[HashSHA256]},
			RequiresPython:   f.RequiresPython,
			CoreMetadata:     false,
			DistInfoMetadata: false,
			Yanked:           false,
			Size:             f.Length,
			UploadTime:       f.UploadTime.UTC().Format("2006-01-02T15:04:05.000000Z"),
		}
		if f.CoreMetadata != nil {
			h := map[string]string{HashSHA256: f.CoreMetadata.Hashes[HashSHA256]}
			jf.CoreMetadata, jf.DistInfoMetadata = h, h
		}
		if f.Yanked {
			if f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			} else {
				jf.Yanked = true
			}
		}
		p.Files = append(p.Files, jf)
		if !slices.Contains(p.Versions, f.Version) {
			p.Versions = append(p.Versions, f.Version)
		}
	}
	slices.SortFunc(p.Versions, compareVersions)
	return marshalJSONPage(p)
}

// renderRootHTML is the PEP 503 project list at simple/index.html.
func renderRootHTML(names []string) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n")
	b.WriteString("    <meta name=\"pypi:repository-version\" content=\"1.1\">\n")
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range names {
		e := html.EscapeString(n)
		fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a><br />\n", e, e)
	}
	b.WriteString("  </body>\n</html>\n")
	return []byte(b.String())
}

// renderRootJSON is the PEP 691 project list at simple/index.json.
func renderRootJSON(names []string) []byte {
	type proj struct {
		Name string `json:"name"`
	}
	v := struct {
		Meta     jsonMeta `json:"meta"`
		Projects []proj   `json:"projects"`
	}{Meta: jsonMeta{APIVersion: "1.1"}, Projects: []proj{}}
	for _, n := range names {
		v.Projects = append(v.Projects, proj{n})
	}
	return marshalJSONPage(v)
}

// marshalJSONPage encodes without HTML escaping so ">=3.8" stays readable.
func marshalJSONPage(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("repogen: encoding a page cannot fail: %v", err))
	}
	return b.Bytes()
}
