package packaging

import (
	"fmt"
	"slices"
	"strings"
)

// Choosing a release and its files, the way "pip download --no-deps"
// does, in named steps: the files whose names match the requirement
// (matchFile), those of them the target can take (admit), the newest
// release among those (newestRelease), that release's files
// (releaseFiles), the ones the requirement's --hash values prefer
// (preferListedHashes), and the best-ranked one (bestFile).

// SelectOptions say which files of a project to take.
type SelectOptions struct {
	Env Environment
	// AllFiles takes every file of the chosen release, whatever its tags
	// or Requires-Python; the release itself is still chosen among those
	// with a file for Env.
	AllFiles bool
	// Pre admits pre-releases even when a final release matches.
	Pre bool
	// OnlyBinary refuses sdists; NoBinary refuses wheels.
	OnlyBinary, NoBinary bool
}

// Listing is what an index offers of one project, as release selection
// sees it: the files that may be chosen, and the files it listed but
// that were withheld (the caller could not vouch for them), which only
// explain a failure.
type Listing struct {
	// Project is the project's normalized name; files whose names name
	// another project are not chosen.
	Project  string
	Files    []Candidate
	Withheld []Withheld
}

// Candidate is a file that may be chosen.
type Candidate struct {
	Filename       string
	RequiresPython string
	// Yanked and YankedReason carry PEP 592.
	Yanked       bool
	YankedReason string
	// Digests are hex digests by algorithm that a requirement's --hash
	// values are compared with, to prefer the files they list (pip's
	// filter_unallowed_hashes). They only steer the choice: the caller
	// checks the chosen file's bytes.
	Digests map[string]string
}

// Withheld is a listed file that may not be chosen, and why.
type Withheld struct {
	Filename string
	Reason   string
	// Foreign says it was withheld because it is another project's;
	// Consensus, because the repositories of a map file did not agree
	// on it; otherwise it was withheld because it could not be verified.
	Foreign   bool
	Consensus bool
}

// Selection is the release chosen for a requirement and its files.
type Selection struct {
	Version string
	// Files are the chosen files as indexes into Listing.Files, in
	// filename order.
	Files []int
	// Yanked is set when an exact pin chose a yanked file (PEP 592
	// allows it); YankedReason is the reason the repository gave.
	Yanked       bool
	YankedReason string
}

// NoMatchError says why no file satisfies a requirement.
type NoMatchError struct {
	Requirement string
	// Unsigned is set when the index lists files that would satisfy the
	// requirement but they were withheld as not verifiable (the
	// repository did not sign them): a refusal, not a missing release.
	Unsigned bool
	// Foreign is set when the index lists files that would satisfy the
	// requirement but belong to another project: also a refusal.
	Foreign bool
	// Consensus is set when the repositories of a map file list files
	// that would satisfy the requirement but not enough of them agree
	// on those files: also a refusal.
	Consensus bool
	// Reasons say, per version, why its files were passed over.
	Reasons []string
}

func (e *NoMatchError) Error() string {
	msg := "no verified file matches " + e.Requirement
	switch {
	case e.Consensus:
		msg = e.Requirement + ": the map file's repositories list matching files but not enough of them agree on them"
	case e.Unsigned:
		msg = e.Requirement + ": the repository lists matching files but has not signed them"
	case e.Foreign:
		msg = e.Requirement + ": the index lists matching files, but they are not this project's"
	}
	if len(e.Reasons) > 0 {
		msg += " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	return msg
}

// SelectRelease chooses, from a listing, the release that satisfies req
// and the files to take from it, the way "pip download --no-deps" does:
// the newest version whose files suit opts.Env (pre-releases only when
// nothing else matches, the specifier names one, or opts.Pre), skipping
// yanked files unless req pins the version exactly (PEP 592), then the
// best-ranked compatible wheel, else the sdist (every file with
// opts.AllFiles). When req has hashes, files whose digests contradict
// them are passed over as pip does, as long as another file's digest
// matches (the caller must still check the chosen file's bytes against
// them).
func SelectRelease(l Listing, req Requirement, opts SelectOptions) (*Selection, error) {
	_, exact := req.Pin()
	var passed passedOver
	var cands []candidate
	for _, c := range matchingFiles(l, req) {
		rank, why := admit(l.Files[c.index], c.dist, exact, opts)
		if why != "" {
			passed.note(c.dist.Version, why)
			continue
		}
		c.rank = rank
		cands = append(cands, c)
	}
	chosen, ok := newestRelease(cands, exact, allowsPrereleases(req, opts))
	if !ok {
		return nil, noMatch(l, req, &passed)
	}
	files := releaseFiles(l, req, cands, chosen, exact, opts.AllFiles)
	files = preferListedHashes(l, req, files)
	if !opts.AllFiles {
		files = []candidate{bestFile(files)}
	}
	return selection(l, chosen, files), nil
}

// candidate is a listed file with what its name says.
type candidate struct {
	index   int // in Listing.Files
	dist    Dist
	version Version
	rank    int // Dist.Supported's rank; 0 with AllFiles
}

// matchFile reads filename as a file of project (ParseFilenameFor) and
// reports whether it is one of project's whose version satisfies req's
// specifier.
func matchFile(project, filename string, req Requirement) (Dist, Version, bool) {
	d, err := ParseFilenameFor(filename, project)
	if err != nil || d.Project != project {
		return Dist{}, Version{}, false
	}
	v, err := ParseVersion(d.Version)
	if err != nil || !req.Specifier.Contains(v) {
		return Dist{}, Version{}, false
	}
	return d, v, true
}

// MatchesFile reports whether filename, read as a file of project, is a
// file of a release that req admits, whatever its platform.
func (r Requirement) MatchesFile(project, filename string) bool {
	_, _, ok := matchFile(project, filename, r)
	return ok
}

// matchingFiles returns the listed files whose names match req, in
// listing order.
func matchingFiles(l Listing, req Requirement) []candidate {
	var out []candidate
	for i, f := range l.Files {
		if d, v, ok := matchFile(l.Project, f.Filename, req); ok {
			out = append(out, candidate{index: i, dist: d, version: v})
		}
	}
	return out
}

// admit decides whether the target may take file f (whose name says d):
// not yanked unless pinned exactly, allowed by --only-binary and
// --no-binary, meant for the target's Python, and, for a wheel, carrying
// one of the target's tags. It returns the file's rank among the
// target's tags (Dist.Supported), or why it is passed over.
func admit(f Candidate, d Dist, exact bool, opts SelectOptions) (rank int, why string) {
	switch {
	case f.Yanked && !exact:
		return 0, "yanked"
	case d.Kind == KindSdist && opts.OnlyBinary:
		return 0, "sdist refused by --only-binary"
	case d.Kind == KindWheel && opts.NoBinary:
		return 0, "wheel refused by --no-binary"
	case !MatchesPython(f.RequiresPython, opts.Env.PythonVersion):
		return 0, fmt.Sprintf("requires Python %s, target is %s", f.RequiresPython, opts.Env.PythonVersion)
	}
	rank, ok := d.Supported(opts.Env.Tags)
	if !ok {
		return 0, "no wheel for the target platform and Python"
	}
	return rank, ""
}

// allowsPrereleases reports whether pre-releases compete with final
// releases: with --pre, or when a clause of the specifier names a
// pre-release (as packaging's prereleases rule).
func allowsPrereleases(req Requirement, opts SelectOptions) bool {
	if opts.Pre {
		return true
	}
	for _, sp := range req.Specifier {
		if sp.Op != "===" && sp.v.IsPrerelease() {
			return true
		}
	}
	return false
}

// newestRelease picks the newest version among the candidates. Unless
// pre-releases are allowed, final releases win; when an inexact
// requirement matches only pre-releases, the newest of those is taken, as
// packaging does. An exact pin takes what its version is (the candidates
// all match it). ok is false when there is no candidate to take.
func newestRelease(cands []candidate, exact, allowPre bool) (Version, bool) {
	newest := func(admit func(Version) bool) (Version, bool) {
		var chosen *Version
		for _, c := range cands {
			if admit(c.version) && (chosen == nil || c.version.Compare(*chosen) > 0) {
				v := c.version
				chosen = &v
			}
		}
		if chosen == nil {
			return Version{}, false
		}
		return *chosen, true
	}
	if v, ok := newest(func(v Version) bool { return exact || allowPre || !v.IsPrerelease() }); ok {
		return v, true
	}
	if exact || allowPre {
		return Version{}, false
	}
	// Only pre-releases match: take them.
	return newest(func(Version) bool { return true })
}

// noMatch says why nothing could be chosen: why each version's files
// were passed over, and the withheld files that would have matched
// (making the failure a refusal, Unsigned or Foreign).
func noMatch(l Listing, req Requirement, passed *passedOver) *NoMatchError {
	e := &NoMatchError{Requirement: req.NameSpec()}
	for _, w := range l.Withheld {
		d, _, ok := matchFile(l.Project, w.Filename, req)
		if !ok {
			continue
		}
		switch {
		case w.Foreign:
			e.Foreign = true
		case w.Consensus:
			e.Consensus = true
		default:
			e.Unsigned = true
		}
		passed.note(d.Version, w.Filename+": "+w.Reason)
	}
	e.Reasons = passed.reasons()
	if len(e.Reasons) == 0 && len(l.Files) > 0 {
		e.Reasons = append(e.Reasons, "no release matches the version constraint")
	}
	return e
}

// releaseFiles returns the files of the chosen release: the admitted
// candidates of that version, or with allFiles every listed file of it
// (yanked ones only for an exact pin), compatible or not.
func releaseFiles(l Listing, req Requirement, cands []candidate, chosen Version, exact, allFiles bool) []candidate {
	var files []candidate
	if !allFiles {
		for _, c := range cands {
			if c.version.Compare(chosen) == 0 {
				files = append(files, c)
			}
		}
		return files
	}
	for _, c := range matchingFiles(l, req) {
		if c.version.Compare(chosen) == 0 && (!l.Files[c.index].Yanked || exact) {
			files = append(files, c)
		}
	}
	return files
}

// preferListedHashes is pip's filter_unallowed_hashes: when req has
// hashes and some file's digest is listed, the files whose digests
// contradict the list are dropped, those matching come first and those
// with no comparable digest after them. Otherwise files is returned as
// it is.
func preferListedHashes(l Listing, req Requirement, files []candidate) []candidate {
	if !req.HasHashes() {
		return files
	}
	var matched, rest []candidate
	for _, c := range files {
		switch req.CheckDigests(l.Files[c.index].Digests) {
		case HashMatch:
			matched = append(matched, c)
		case HashUnknown:
			rest = append(rest, c)
		}
	}
	if len(matched) == 0 {
		return files
	}
	return append(matched, rest...)
}

// bestFile returns the file pip would take: the best rank, then the
// highest build tag; among equals, the first. files is not empty.
func bestFile(files []candidate) candidate {
	best := files[0]
	for _, c := range files[1:] {
		if c.rank < best.rank || c.rank == best.rank && compareBuildTags(c.dist.BuildTag, best.dist.BuildTag) > 0 {
			best = c
		}
	}
	return best
}

// selection reports the chosen files in filename order, and whether any
// is yanked, with the first reason given.
func selection(l Listing, chosen Version, files []candidate) *Selection {
	slices.SortFunc(files, func(a, b candidate) int {
		return strings.Compare(l.Files[a.index].Filename, l.Files[b.index].Filename)
	})
	sel := &Selection{Version: chosen.String()}
	for _, c := range files {
		f := l.Files[c.index]
		sel.Files = append(sel.Files, c.index)
		if f.Yanked {
			sel.Yanked = true
			if sel.YankedReason == "" {
				sel.YankedReason = f.YankedReason
			}
		}
	}
	return sel
}

// passedOver records why files were passed over, per version, versions
// in the order first seen and each reason once.
type passedOver struct {
	order []string
	why   map[string][]string
}

func (p *passedOver) note(version, why string) {
	if p.why == nil {
		p.why = map[string][]string{}
	}
	if _, ok := p.why[version]; !ok {
		p.order = append(p.order, version)
	}
	if !slices.Contains(p.why[version], why) {
		p.why[version] = append(p.why[version], why)
	}
}

// reasons renders the record as "VERSION: REASON, REASON" per version.
func (p *passedOver) reasons() []string {
	var out []string
	for _, v := range p.order {
		out = append(out, v+": "+strings.Join(p.why[v], ", "))
	}
	return out
}

// compareBuildTags orders wheel build tags as pip does: by leading number,
// then by the rest; a missing tag sorts first.
func compareBuildTags(a, b string) int {
	na, ra := splitBuildTag(a)
	nb, rb := splitBuildTag(b)
	if c := cmpBigDecimal(na, nb); c != 0 {
		return c
	}
	return strings.Compare(ra, rb)
}

func splitBuildTag(t string) (num, rest string) {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num = strings.TrimLeft(t[:i], "0")
	if num == "" {
		num = "0"
	}
	if t == "" {
		num = ""
	}
	return num, t[i:]
}
