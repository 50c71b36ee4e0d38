package index

import (
	"net/url"

	"github.com/tufpip/tufpip/index/simple"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// RenderablePage turns a verified page into one whose links point at
// filesBase (relative or absolute), with hashes taken only from verified
// data: the signed page, or the signed target info.
func RenderablePage(vp *VerifiedPage, filesBase string) *simple.Page {
	out := &simple.Page{Name: vp.Name, Versions: vp.Versions, Meta: simple.APIVersion}
	for _, vf := range vp.Files {
		f := vf.File
		f.URL = filesBase + url.PathEscape(vf.Filename)
		// pip prints these (a yanked release's reason, a Python
		// mismatch): no raw control characters from an unsigned page.
		f.YankedReason = httpx.EscapeLine(f.YankedReason)
		f.RequiresPython = httpx.EscapeLine(f.RequiresPython)
		hashes := map[string]string{}
		if vp.PageTarget != nil {
			for alg, h := range vf.File.Hashes {
				hashes[alg] = h
			}
		} else {
			// The page itself was not verified: its hashes mean nothing.
			f.RequiresPython, f.UploadTime = httpx.EscapeLine(vf.File.RequiresPython), vf.File.UploadTime
		}
		for _, alg := range []string{updater.HashSHA256, updater.HashSHA512} {
			if h, ok := vf.Target.Hashes[alg]; ok {
				hashes[alg] = h
			}
		}
		f.Hashes = hashes
		if vf.Target.Length >= 0 {
			f.Size = vf.Target.Length
		}
		f.CoreMetadata = nil
		if vf.Metadata != nil {
			f.CoreMetadata = map[string]string{}
			if h, ok := vf.Metadata.Hashes[updater.HashSHA256]; ok {
				f.CoreMetadata[updater.HashSHA256] = h
			}
		}
		out.Files = append(out.Files, f)
	}
	return out
}
