package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

type verifyOptions struct {
	reqFiles []string
	asJSON   bool
	junit    string
	jobs     int
	sources  sourceOptions
	locks    lockOptions
	mapFile  string
}

func newVerifyCmd(g *globals) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify FILE|DIR... | -r requirements.txt | --lock LOCKFILE",
		Short: "Prove that files on disk, or a requirements file, match what the repository signed",
		Long: `Check distribution files on disk against the repository's TUF metadata.
A directory stands for every .whl, .tar.gz and .zip file in it (not
recursive). Nothing is downloaded for files, and nothing is ever written
next to them.

For each file, its name gives the project and version. In the layouts that
sign distributions (pep458, simple-path, dists-only) the file's target path
is Warehouse's "<b2[0:2]>/<b2[2:4]>/<b2[4:]>/<filename>", where b2 is the
blake2b-256 of the file itself: tufpip computes it, looks that target up in
the signed hash bins, and then checks the length and every signed hash. No
index page is needed, so this works --offline from cached metadata. A file
whose content is not signed is then looked up by name on the project's
verified index page to say what differs. In the index-only layout the
verified page's hashes are used.

-r FILE checks a pip requirements file instead (nothing is downloaded into
your directories): every requirement must pin a version (==VERSION) that
the repository signed files for, and every --hash value must be the digest
of one of those signed files. When the repository signs neither that
algorithm nor a verified page listing it (dists-only with blake2b-256
only), the file is fetched into tufpip's verified cache to compute it.
A line that would make pip, installing from the same file, fetch from
outside the verified index fails as "FILE:LINE: ...: pip would fetch from
outside the verified index": --index-url or --extra-index-url naming
anything but the tufpip proxy (--proxy-url, by default
` + defaultProxyURL + `), --find-links/-f, a URL, path or NAME @ URL
requirement, -e. --allow-unverified-sources accepts them with a warning
each (what they name is not verified) and checks the rest; --no-index is
fine, and --trusted-host for a host other than the proxy's is a warning.

--lock FILE checks a lock file (repeatable): PEP 751 pylock.toml and
pylock.NAME.toml, uv.lock, poetry.lock, pdm.lock (also the older
[metadata.files] form) and Pipfile.lock; the format comes from the file
name, or from --lock-format pylock|uv|poetry|pdm|pipenv. Every locked
package, whatever its markers or platform (a lock is for every
platform), must be a version the repository signed, every file it pins
one of that release's signed files, and every pinned hash that file's
signed digest (sha256 is computed over the verified bytes, fetched into
the cache, where only blake2b-256 is signed). Pipfile.lock pins hashes
without file names: each must be the digest of some signed file of the
release. A package that pins no hash fails unless --allow-unhashed. A
package the lock takes from an index other than the proxy (--proxy-url),
or from git, a path or a URL, fails as "the installer would fetch from
outside the verified index" unless --allow-unverified-sources. uv's
entry for the project itself is skipped: it is built, not fetched.

--map FILE (several repositories, TAP 4; see docs/multirepo.md) checks
files, pins and locked packages against the consensus page of each
project's mapping: a file must be listed by threshold repositories of
the mapping with identical length and hashes (a disagreement fails, naming them). It needs
the network, so not with --offline.

Output: "ok      NAME" or "FAILED  NAME: <what is wrong>" per file (per
locked package: NAME==VERSION (LOCKFILE)), then
"N verified, M failed". --json prints a report instead (per file: name,
path, status, error, target path, signed length and hashes, signing role,
snapshot version); --junit FILE also writes JUnit XML for CI systems.

--offline verifies from cached metadata only and refuses if it has
expired; the hash bins needed must have been fetched before (by any
command run online). -r needs index pages, so it cannot run offline.

Exit codes:
  0  every file (and requirement, and locked package) verified
  1  a file, requirement or locked package failed verification, or a
     requirements line or lock entry points outside the verified index
  2  usage error (including a lock file that does not parse), or nothing
     could be decided: the repository's metadata
     did not verify, has expired, or could not be reached
  130, 143  interrupted (SIGINT, SIGTERM)`,
		Example: `  tufpip verify dist/
  tufpip verify --json --junit report.xml dist/*.whl
  tufpip verify -r requirements.txt
  tufpip verify --lock poetry.lock --junit report.xml
  tufpip --offline verify wheelhouse/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.reqFiles, "requirement", "r", nil, "check a pip requirements file of pinned requirements, - for standard input (repeatable)")
	f.BoolVar(&o.asJSON, "json", false, "print a JSON report on standard output")
	f.StringVar(&o.junit, "junit", "", "also write a JUnit XML report to this file")
	f.IntVarP(&o.jobs, "jobs", "j", min(runtime.NumCPU(), 8), "verify this many files at once")
	f.StringVar(&o.mapFile, "map", "", mapFlagHelp)
	o.sources.addFlags(f)
	o.locks.addFlags(f, "check")
	return cmd
}

// Statuses in reports.
const (
	statusVerified = "verified"
	statusFailed   = "failed"
	statusError    = "error" // could not be checked
)

// verifyResult is one file or requirement in the report.
type verifyResult struct {
	Name        string `json:"name"`
	Path        string `json:"path,omitempty"`
	Requirement string `json:"requirement,omitempty"`
	Line        int    `json:"line,omitempty"`
	Status      string `json:"status"`
	Error       string `json:"error,omitempty"`
	// Check names what failed: "filename", "not-signed", "project" (a
	// file listed on the page belongs to another project), "length", a
	// hash algorithm, "hash" (a requirement's --hash), "consensus" (with
	// --map: the repositories disagree or too few vouch), "read" or
	// "lookup".
	Check           string            `json:"check,omitempty"`
	Target          string            `json:"target,omitempty"`
	Length          int64             `json:"length,omitempty"`
	Hashes          map[string]string `json:"hashes,omitempty"`
	Role            string            `json:"role,omitempty"`
	SnapshotVersion int64             `json:"snapshot_version,omitempty"`
	// Files lists, for a requirement, the signed files of the release.
	Files []string `json:"files,omitempty"`
	// Detail says what was checked, for the text output.
	Detail string `json:"-"`

	elapsed time.Duration
}

func (r *verifyResult) fill(ti updater.TargetInfo) {
	r.Target, r.Length, r.Hashes, r.Role, r.SnapshotVersion = ti.Path, ti.Length, ti.Hashes, ti.Role, ti.SnapshotVersion
}

func (r *verifyResult) fail(check, format string, a ...any) {
	r.Status, r.Check, r.Error = statusFailed, check, fmt.Sprintf(format, a...)
}

type verifyReport struct {
	Repository string `json:"repository"`
	// Map is the map file (--map); Repository then lists its
	// repositories.
	Map          string         `json:"map,omitempty"`
	MetadataURL  string         `json:"metadata_url"`
	Layout       string         `json:"layout"`
	Offline      bool           `json:"offline"`
	Verified     int            `json:"verified"`
	Failed       int            `json:"failed"`
	Files        []verifyResult `json:"files"`
	Requirements []verifyResult `json:"requirements,omitempty"`
	// Locked are the packages of --lock files.
	Locked []verifyResult `json:"locked,omitempty"`
}

type verifier struct {
	g      *globals
	s      *session // nil with --map
	client verifiedOpener
	pages  *index.PageOnce
	// multi: a map file's resolver gives the pages (--map); every file
	// is checked against its project's consensus page.
	multi bool
}

// runVerify: gather the files and requirements, check that the layout
// and --offline allow verifying them, verify each (jobs at a time), then
// print the report and choose the exit code.
func runVerify(ctx context.Context, g *globals, o *verifyOptions, args []string) error {
	if o.jobs < 1 {
		return usagef("invalid --jobs %d: want at least 1", o.jobs)
	}
	paths, err := distributionPaths(args)
	if err != nil {
		return err
	}
	reqs, sources, err := readRequirements(g, o.reqFiles)
	if err != nil {
		return err
	}
	problems := judgeSources(g, &o.sources, sources)
	locked, err := readLocks(&o.locks)
	if err != nil {
		return err
	}
	if len(paths) == 0 && len(reqs) == 0 && len(problems) == 0 && len(locked) == 0 {
		if len(o.locks.files) > 0 {
			return usagef("the lock files lock no package").withHint("lock the project with its tool first")
		}
		return usagef("nothing to verify").withHint("name files or directories (tufpip verify dist/), or pass -r requirements.txt or --lock FILE")
	}
	v, rep, err := newVerifier(ctx, g, o, len(paths), len(reqs)+len(locked))
	if err != nil {
		return err
	}
	err = v.all(ctx, &rep, paths, reqs, o.jobs)
	if err == nil {
		err = v.allLocked(ctx, &rep, locked, o)
	}
	if err != nil {
		if repositoryError(err) {
			return asRepositoryError(g, err)
		}
		return err
	}
	rep.addSourceProblems(problems)
	code := rep.tally()
	if o.junit != "" {
		if err := writeJUnit(o.junit, &rep); err != nil {
			return fmt.Errorf("writing JUnit report: %w", err)
		}
	}
	if err := printVerifyReport(g.stdout, &rep, o.asJSON, g.quiet, code); err != nil {
		return err
	}
	if len(problems) > 0 {
		writeHint(g.stderr, sourcesHint(&o.sources, g))
	}
	return verifyOutcome(code, &rep)
}

// newVerifier opens the repository (or, with --map, the map file's
// repositories) and starts the report.
func newVerifier(ctx context.Context, g *globals, o *verifyOptions, files, reqs int) (*verifier, verifyReport, error) {
	if o.mapFile != "" {
		if g.offline {
			return nil, verifyReport{}, usagef("verify --map needs the network: files and requirements are checked against the consensus of the repositories' verified index pages, which --offline cannot fetch")
		}
		ms, err := g.openMapSessions(ctx, o.mapFile)
		if err != nil {
			return nil, verifyReport{}, err
		}
		r := ms.resolver(g, false)
		v := &verifier{g: g, client: r, pages: &index.PageOnce{Client: r}, multi: true}
		return v, verifyReport{Repository: ms.names(), Map: o.mapFile}, nil
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return nil, verifyReport{}, err
	}
	if err := checkVerifiable(g.offline, s.rc, s.site, files, reqs); err != nil {
		return nil, verifyReport{}, err
	}
	client := s.client()
	v := &verifier{g: g, s: s, client: client, pages: &index.PageOnce{Client: client}}
	return v, verifyReport{Repository: s.rc.Name, MetadataURL: s.rc.MetadataURL, Layout: s.rc.Layout, Offline: g.offline}, nil
}

// checkVerifiable refuses what the repository's layout and --offline
// cannot verify: requirements need index pages, and so do files where
// only pages are signed.
func checkVerifiable(offline bool, rc repoConfig, site index.Site, files, reqs int) error {
	switch {
	case offline && reqs > 0:
		return usagef("verify -r and --lock need the repository's index pages, which --offline cannot fetch")
	case offline && !site.DistsSigned() && files > 0:
		return usagef("the %s layout signs index pages, not files: verifying files needs the pages, which --offline cannot fetch", rc.Layout)
	case (reqs > 0 || !site.DistsSigned()) && site.IndexURL == nil:
		return usagef("repository %q has no index URL (--index-url)", rc.Name)
	}
	return nil
}

// all verifies every file and requirement into rep, jobs at a time. The
// error is returned only when nothing can be decided (see file).
func (v *verifier) all(ctx context.Context, rep *verifyReport, paths []string, reqs []packaging.Requirement, jobs int) error {
	rep.Files, rep.Requirements = make([]verifyResult, len(paths)), make([]verifyResult, len(reqs))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(jobs)
	for i, p := range paths {
		eg.Go(func() error {
			start := time.Now()
			res, err := v.file(ectx, p)
			res.elapsed = time.Since(start)
			rep.Files[i] = res
			return err
		})
	}
	for i, r := range reqs {
		eg.Go(func() error {
			start := time.Now()
			res, err := v.requirement(ectx, r)
			res.elapsed = time.Since(start)
			rep.Requirements[i] = res
			return err
		})
	}
	return eg.Wait()
}

// addSourceProblems reports each requirements-file line that points pip
// outside the verified index as a failed requirement.
func (rep *verifyReport) addSourceProblems(problems []sourceProblem) {
	for _, p := range problems {
		res := verifyResult{Name: p.where(), Path: p.file, Requirement: p.text(), Line: p.Line}
		res.fail("source", "%s: %s", p.text(), p.reason())
		rep.Requirements = append(rep.Requirements, res)
	}
}

// results are the files, then the requirements.
func (rep *verifyReport) results() []verifyResult {
	return append(append(append([]verifyResult{}, rep.Files...), rep.Requirements...), rep.Locked...)
}

// tally counts the verified and failed results and returns the exit
// code: a failed check is exit 1 and wins over one that could not be
// checked (exit 2).
func (rep *verifyReport) tally() int {
	code := exitOK
	for _, res := range rep.results() {
		switch res.Status {
		case statusVerified:
			rep.Verified++
		case statusFailed:
			rep.Failed++
			code = exitFailed
		default:
			rep.Failed++
			if code == exitOK {
				code = exitUsage
			}
		}
	}
	return code
}

// printVerifyReport writes the JSON report, or a line per result and the
// counts (with --quiet only failures, and the counts if any failed).
func printVerifyReport(out io.Writer, rep *verifyReport, asJSON, quiet bool, code int) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, res := range rep.results() {
		switch {
		case res.Status == statusVerified && !quiet:
			fmt.Fprintf(out, "ok      %s%s\n", httpx.SafeLine(res.Name), httpx.SafeLine(res.Detail))
		case res.Status == statusFailed:
			fmt.Fprintf(out, "FAILED  %s: %s\n", httpx.SafeLine(res.Name), httpx.SafeLine(res.Error))
		case res.Status == statusError:
			fmt.Fprintf(out, "FAILED  %s: not checked: %s\n", httpx.SafeLine(res.Name), httpx.SafeLine(res.Error))
		}
	}
	if !quiet || code != exitOK {
		fmt.Fprintf(out, "%d verified, %d failed\n", rep.Verified, rep.Failed)
	}
	return nil
}

// verifyOutcome is the error that carries code to reportError: failures
// were printed already; what could not be checked gets a summary.
func verifyOutcome(code int, rep *verifyReport) error {
	switch code {
	case exitFailed:
		return errSilent
	case exitUsage:
		return usagef("%d of %d could not be checked", rep.Failed, rep.Failed+rep.Verified).withHint("see the lines above; with --offline, run once online so the metadata needed is cached")
	}
	return nil
}

// distExtensions are the files a directory argument stands for.
var distExtensions = []string{".whl", ".tar.gz", ".zip"}

// distributionPaths expands arguments: files as given, directories to
// their distribution files, sorted.
func distributionPaths(args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if !fi.IsDir() {
			paths = append(paths, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		var found []string
		for _, e := range ents {
			if !e.Type().IsRegular() && e.Type()&os.ModeSymlink == 0 {
				continue
			}
			for _, ext := range distExtensions {
				if strings.HasSuffix(e.Name(), ext) && !strings.HasPrefix(e.Name(), ".") {
					found = append(found, filepath.Join(a, e.Name()))
					break
				}
			}
		}
		if len(found) == 0 {
			return nil, usagef("%s has no distribution files (.whl, .tar.gz, .zip)", a)
		}
		sort.Strings(found)
		paths = append(paths, found...)
	}
	return paths, nil
}

// file verifies one file. The error is returned only when nothing can be
// decided about any file (the repository's metadata failed, or the run
// was interrupted); everything else is in the result.
func (v *verifier) file(ctx context.Context, path string) (verifyResult, error) {
	name := filepath.Base(path)
	res := verifyResult{Name: name, Path: path}
	d, err := packaging.ParseFilename(name)
	if err != nil {
		res.fail("filename", "not a wheel or sdist file name, so not something the repository signs (%v)", err)
		return res, nil
	}
	if v.multi || !v.s.site.DistsSigned() {
		return v.fileFromPage(ctx, path, d, res, nil)
	}
	f, err := os.Open(path)
	if err != nil {
		res.fail("read", "%v", err)
		return res, nil
	}
	sums, n, err := digestsOf(f, updater.HashBLAKE2b256)
	f.Close()
	if err != nil {
		res.fail("read", "%v", err)
		return res, nil
	}
	target := index.WarehouseTarget(sums[updater.HashBLAKE2b256], name)
	ti, err := v.s.up.Target(ctx, target)
	switch {
	case err == nil:
		res.fill(ti)
		if complete, err := ti.VerifyDigests(n, sums); complete {
			// Everything signed was computed in the first pass.
			return v.result(path, err, res), nil
		}
		return v.check(path, ti, res), nil
	case errors.Is(err, updater.ErrNotSigned):
		return v.fileFromPage(ctx, path, d, res, err)
	case repositoryError(err), errors.Is(err, context.Canceled):
		return res, err
	}
	res.Status, res.Check, res.Error = statusError, "lookup", errorLine(err)
	if v.g.offline {
		res.Error = "offline: " + res.Error
	}
	return res, nil
}

// check streams the file at path through verification against ti.
func (v *verifier) check(path string, ti updater.TargetInfo, res verifyResult) verifyResult {
	_, _, err := verifyFile(path, ti)
	return v.result(path, err, res)
}

// result turns the outcome of verifying the file at path into res.
func (v *verifier) result(path string, err error, res verifyResult) verifyResult {
	var mm *updater.MismatchError
	switch {
	case err == nil:
		res.Status = statusVerified
	case errors.As(err, &mm):
		what := "signed " + mm.Want + ", file has " + mm.Got
		if mm.Check == "length" {
			got := mm.Got
			if fi, err := os.Stat(path); err == nil {
				got = fmt.Sprint(fi.Size())
			}
			what = "signed " + mm.Want + " bytes, file has " + got
		}
		res.fail(mm.Check, "does not match what the repository signed: %s mismatch: %s", mm.Check, what)
	default:
		res.fail("read", "%v", err)
	}
	return res
}

// fileFromPage verifies a file against the project's verified page: in
// the index-only layout always, otherwise to explain a file whose content
// is not signed (notSigned, the direct lookup's error).
func (v *verifier) fileFromPage(ctx context.Context, path string, d packaging.Dist, res verifyResult, notSigned error) (verifyResult, error) {
	unknown := func(why string) (verifyResult, error) {
		res.fail("not-signed", "not signed by the repository: %s", why)
		return res, nil
	}
	if notSigned != nil && (v.g.offline || v.s.site.IndexURL == nil) {
		return unknown("no signed file has this name and content (offline: the index page that would tell an unknown file from a modified one was not fetched)")
	}
	vp, err := v.pages.Page(ctx, d.Project)
	switch {
	case err == nil:
	case v.multi && !errors.Is(err, context.Canceled):
		res.failMap(err)
		return res, nil
	case errors.Is(err, index.ErrProjectNotFound), errors.Is(err, updater.ErrNotSigned):
		return unknown(fmt.Sprintf("unknown file: the repository has no project %q", d.Project))
	case notSigned == nil && (repositoryError(err) || errors.Is(err, context.Canceled)):
		return res, err
	case notSigned != nil && errors.Is(err, context.Canceled):
		return res, err
	case notSigned != nil:
		return unknown(fmt.Sprintf("no signed file has this name and content (the index page could not be checked: %s)", errorLine(err)))
	default:
		res.fail("not-signed", "%s", errorLine(err))
		return res, nil
	}
	for _, vf := range vp.Files {
		if vf.Filename == res.Name {
			res.fill(vf.Target)
			return v.check(path, vf.Target, res), nil
		}
	}
	for _, om := range vp.Omitted {
		if om.Filename == res.Name && om.Consensus {
			res.fail("consensus", "refused by the map file: %s", om.Reason)
			return res, nil
		}
		if om.Filename == res.Name && om.Foreign {
			res.fail("project", "not a file of %s: %s", d.Project, om.Reason)
			return res, nil
		}
		if om.Filename == res.Name {
			return unknown("the index lists it, but " + om.Reason)
		}
	}
	if vp.Mapping > 0 {
		// Only the mapping's repositories were asked: say which.
		return unknown(fmt.Sprintf("unknown file: %s's page, taken from %s (mapping %d of the map file), has no file of this name", d.Project, strings.Join(vp.Repositories, ", "), vp.Mapping))
	}
	return unknown(fmt.Sprintf("unknown file: %s has no signed file of this name", d.Project))
}

// requirement checks that a pinned requirement names signed files and that
// its --hash values are digests of those files.
func (v *verifier) requirement(ctx context.Context, req packaging.Requirement) (verifyResult, error) {
	res := verifyResult{Name: req.NameSpec(), Requirement: req.NameSpec(), Line: req.Line}
	vp, err := v.pages.Page(ctx, req.Project)
	if err != nil {
		if v.multi && !errors.Is(err, context.Canceled) {
			res.failMap(err)
			return res, nil
		}
		if !noProject(err) && (repositoryError(err) || errors.Is(err, context.Canceled)) {
			return res, err
		}
		res.failPage(req.Project, err)
		return res, nil
	}
	files, omitted := vp.ReleaseFiles(req)
	if len(files) == 0 {
		res.failNoFiles(omitted)
		return res, nil
	}
	for _, f := range files {
		res.Files = append(res.Files, f.Filename)
	}
	res.Status = statusVerified
	res.Detail = fmt.Sprintf(" (%s)", plural(len(files), "signed file"))
	if !req.HasHashes() {
		return res, nil
	}
	digests := make([]map[string]string, len(files))
	for i, f := range files {
		digests[i] = vp.SignedDigests(f)
	}
	if len(req.UnmatchedHashes(digests)) > 0 {
		// Some listed algorithm is not signed for some file: compute it
		// over the verified bytes (fetched into the cache).
		if failed, err := v.computeMissing(ctx, req, files, digests, &res); failed || err != nil {
			return res, err
		}
	}
	if unmatched := unmatchedHashes(req, digests); len(unmatched) > 0 {
		res.fail("hash", "%s match no file the repository signed for this release (%s: %s)", strings.Join(unmatched, ", "), plural(len(files), "signed file"), strings.Join(res.Files, ", "))
		return res, nil
	}
	res.Detail = fmt.Sprintf(" (%s, %s)", plural(len(files), "signed file"), hashesMatch(req))
	return res, nil
}

// failPage records why a requirement failed when its project's verified
// page could not be had (for an error not about the repository as a
// whole).
func (r *verifyResult) failPage(project string, err error) {
	if noProject(err) {
		r.fail("not-signed", "the repository has no project %q", project)
		return
	}
	r.fail("not-signed", "%s", errorLine(err))
}

// failMap records why a map file's repositories gave no page of a
// project (--map): a repository's metadata or network failure leaves
// it unchecked (exit 2) and fails only the projects mapped to it;
// anything else (no mapping matches, too few vouched) fails it.
func (r *verifyResult) failMap(err error) {
	if repositoryError(err) {
		r.Status, r.Check, r.Error = statusError, "lookup", errorLine(err)
		return
	}
	r.fail("not-signed", "%s", errorLine(err))
}

// noProject: the repository has no page for the project, or none signed,
// so it does not vouch for the project at all.
func noProject(err error) bool {
	return errors.Is(err, index.ErrProjectNotFound) || errors.Is(err, updater.ErrNotSigned)
}

// failNoFiles records why a release has no signed file: the index lists
// another project's file, or a file the repository did not sign, or
// nothing.
func (r *verifyResult) failNoFiles(omitted []index.Omission) {
	switch {
	case len(omitted) > 0 && omitted[0].Consensus:
		// Not enough of the map file's repositories agree (--map).
		r.fail("consensus", "%s: refused by the map file: %s", omitted[0].Filename, omitted[0].Reason)
	case len(omitted) > 0 && omitted[0].Foreign:
		// Another project's file (index.CheckOwner).
		r.fail("project", "%s: %s", omitted[0].Filename, omitted[0].Reason)
	case len(omitted) > 0:
		r.fail("not-signed", "the index lists %s, but it is not signed by the repository (%s)", omitted[0].Filename, omitted[0].Reason)
	default:
		r.fail("not-signed", "the repository signed no file of this release")
	}
}

// computeMissing fetches into the verified cache each file for which an
// algorithm of req's --hash values is not signed, and adds the digests
// computed over its verified bytes to digests. failed says res records a
// file that could not be read; the error is one about the repository.
func (v *verifier) computeMissing(ctx context.Context, req packaging.Requirement, files []index.VerifiedFile, digests []map[string]string, res *verifyResult) (failed bool, err error) {
	for i, f := range files {
		if !missingAlgorithm(req, digests[i]) {
			continue
		}
		ent, err := v.client.Open(ctx, f)
		if err != nil {
			if repositoryError(err) || errors.Is(err, context.Canceled) {
				return false, err
			}
			res.fail("read", "%s: %s", f.Filename, errorLine(err))
			return true, nil
		}
		sums, err := entryDigests(ent, req.HashAlgorithms())
		ent.Close()
		if err != nil {
			res.fail("read", "%s: %v", f.Filename, err)
			return true, nil
		}
		for a, h := range sums {
			digests[i][a] = h
		}
	}
	return false, nil
}

// missingAlgorithm reports whether some algorithm of req's --hash values
// has no digest in have.
func missingAlgorithm(req packaging.Requirement, have map[string]string) bool {
	for _, alg := range req.HashAlgorithms() {
		if _, ok := have[alg]; !ok {
			return true
		}
	}
	return false
}

// entryDigests computes algs over a verified cache entry's bytes.
func entryDigests(ent *cache.Entry, algs []string) (map[string]string, error) {
	file := ent.File()
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	sums, _, err := digestsOf(file, algs...)
	return sums, err
}

// hashesMatch renders "1 hash matches", "3 hashes match".
func hashesMatch(req packaging.Requirement) string {
	n := 0
	for _, hs := range req.Hashes {
		n += len(hs)
	}
	matches := plural(n, "hash") + " match"
	if n == 1 {
		matches += "es"
	}
	return matches
}

// plural renders "1 file", "2 files", "2 hashes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "sh") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unmatchedHashes returns, as "--hash=ALG:DIGEST…" for messages, the
// --hash values that are no file's digest (packaging decides which).
func unmatchedHashes(req packaging.Requirement, digests []map[string]string) []string {
	var out []string
	for _, h := range req.UnmatchedHashes(digests) {
		out = append(out, "--hash="+h.Alg+":"+shortHash(h.Digest))
	}
	return out
}

// ---- JUnit XML ----

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// writeJUnit writes one test case per file and requirement to path,
// atomically.
func writeJUnit(path string, rep *verifyReport) error {
	suite := junitSuite{
		Name:      "tufpip verify",
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"repository", rep.Repository}, {"metadata_url", rep.MetadataURL},
			{"layout", rep.Layout}, {"offline", fmt.Sprint(rep.Offline)},
		},
	}
	var total time.Duration
	add := func(class string, r verifyResult) {
		c := junitCase{Classname: class, Name: r.Name, File: r.Path, Time: seconds(r.elapsed)}
		if r.Target != "" {
			c.SystemOut = fmt.Sprintf("target %s, %d bytes, signed by %s (snapshot v%d)", r.Target, r.Length, r.Role, r.SnapshotVersion)
		}
		switch r.Status {
		case statusFailed:
			c.Failure = &junitMessage{Message: r.Error, Type: r.Check, Text: r.Error}
			suite.Failures++
		case statusError:
			c.Error = &junitMessage{Message: r.Error, Type: r.Check, Text: r.Error}
			suite.Errors++
		}
		suite.Tests++
		total += r.elapsed
		suite.Cases = append(suite.Cases, c)
	}
	for _, r := range rep.Files {
		add("tufpip.verify.files", r)
	}
	for _, r := range rep.Requirements {
		add("tufpip.verify.requirements", r)
	}
	for _, r := range rep.Locked {
		add("tufpip.verify.locks", r)
	}
	suite.Time = seconds(total)
	doc := junitSuites{Name: "tufpip verify", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: suite.Time, Suites: []junitSuite{suite}}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	buf.WriteString("\n")
	return copyAtomic(path, &buf)
}
