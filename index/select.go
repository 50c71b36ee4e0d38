package index

import (
	"strings"

	"github.com/tufpip/tufpip/index/packaging"
)

// Choosing files from a verified page: packaging decides which release
// and files pip would take (packaging.SelectRelease); this file says what
// of a verified page it may choose from and what its choice is worth.

// Selection is the release chosen for a requirement and its verified
// files.
type Selection struct {
	Version string
	// Files are in filename order.
	Files []VerifiedFile
	// Yanked is set when an exact pin chose a yanked file (PEP 592
	// allows it); YankedReason is the reason the repository gave.
	Yanked       bool
	YankedReason string
}

// Select chooses the release of vp that satisfies req and the files to
// take from it, the way "pip download --no-deps" does
// (packaging.SelectRelease), among vp's verified files. The files it left
// out explain a failure: a *packaging.NoMatchError is Unsigned or
// Foreign (or Consensus) when only they would have matched. The digests that steer the
// choice when req has --hash values are the signed ones (SignedDigests)
// and, as hints, the unverified page's; the caller must still check the
// chosen file's verified bytes against req's hashes.
func (vp *VerifiedPage) Select(req packaging.Requirement, opts packaging.SelectOptions) (*Selection, error) {
	sel, err := packaging.SelectRelease(vp.listing(), req, opts)
	if err != nil {
		return nil, err
	}
	out := &Selection{Version: sel.Version, Yanked: sel.Yanked, YankedReason: sel.YankedReason}
	for _, i := range sel.Files {
		out.Files = append(out.Files, vp.Files[i])
	}
	return out, nil
}

// listing is vp as release selection sees it.
func (vp *VerifiedPage) listing() packaging.Listing {
	l := packaging.Listing{Project: vp.Name}
	for _, f := range vp.Files {
		digests := vp.SignedDigests(f)
		for alg, h := range f.File.Hashes {
			if _, ok := digests[alg]; !ok {
				digests[alg] = h
			}
		}
		l.Files = append(l.Files, packaging.Candidate{Filename: f.Filename, RequiresPython: f.RequiresPython,
			Yanked: f.Yanked, YankedReason: f.YankedReason, Digests: digests})
	}
	for _, o := range vp.Omitted {
		l.Withheld = append(l.Withheld, packaging.Withheld{Filename: o.Filename, Reason: o.Reason, Foreign: o.Foreign, Consensus: o.Consensus})
	}
	return l
}

// SignedDigests returns the digests of f that verified data vouches for:
// its signed target info and, when the page itself was verified, the
// hashes the page lists. Keys are TUF algorithm names ("sha256",
// "blake2b-256").
func (vp *VerifiedPage) SignedDigests(f VerifiedFile) map[string]string {
	d := map[string]string{}
	if vp.PageTarget != nil {
		for alg, h := range f.File.Hashes {
			if alg == "blake2b_256" {
				alg = "blake2b-256"
			}
			d[alg] = h
		}
	}
	for alg, h := range f.Target.Hashes {
		d[alg] = strings.ToLower(h)
	}
	return d
}

// ReleaseFiles returns the verified files of vp whose version satisfies
// req, whatever their platform, and the files the page listed that would
// have satisfied it but were left out (not signed, or unverifiable).
func (vp *VerifiedPage) ReleaseFiles(req packaging.Requirement) (files []VerifiedFile, omitted []Omission) {
	for _, f := range vp.Files {
		if req.MatchesFile(vp.Name, f.Filename) {
			files = append(files, f)
		}
	}
	for _, o := range vp.Omitted {
		if req.MatchesFile(vp.Name, o.Filename) {
			omitted = append(omitted, o)
		}
	}
	return files, omitted
}
