package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/tufpip/tufpip/cache"
	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

type downloadOptions struct {
	dir      string
	reqFiles []string
	all      bool
	pre      bool
	jobs     int
	target   targetOptions
	formats  *formatControl
	sources  sourceOptions
	mapFile  string
	locks    lockOptions
	// terminal overrides the check whether stderr is a terminal (tests).
	terminal *bool
}

func newDownloadCmd(g *globals) *cobra.Command {
	o := &downloadOptions{formats: newFormatControl()}
	cmd := &cobra.Command{
		Use:   "download PROJECT[==VERSION]... [-r requirements.txt] [-d DIR]",
		Short: "Download verified distribution files to a directory, like pip download --no-deps",
		Long: `Download the files of each requirement to DIR, after TUF has verified them:
every byte is checked against the length and hashes the repository signed
while it streams into tufpip's cache, and only then copied to DIR.

Requirements are PEP 508 names with optional version specifiers
("requests", "requests==2.31.0", "requests>=2,<3"). Without a version the
newest final release is taken, skipping yanked files and files whose
Requires-Python excludes the target; an exact pin (==VERSION) may name a
yanked release, as pip allows. Dependencies are not followed: pin them all
(e.g. with pip-compile) and pass the file with -r.

By default, as "pip download --no-deps", one file per requirement: the
best-ranked wheel for the target interpreter and platform, else the sdist.
--all takes every file of the chosen release.

The target is the python3 on PATH (its version, implementation and
platform, including the glibc version on Linux), or Python 3.12 on this OS
and architecture if there is none; --python-version, --implementation and
--platform (repeatable, pip's spelling, e.g. manylinux_2_17_x86_64,
win_amd64, macosx_11_0_arm64) override it. Environment markers
("pkg==1.0; sys_platform == 'win32'") are evaluated for the target, and a
requirement whose marker does not hold is skipped.

-r FILE reads a pip requirements file in which every requirement is pinned
with ==VERSION. A line that would make pip, installing from the same file,
fetch from outside the verified index (--index-url or --extra-index-url
other than the tufpip proxy's, --find-links, a URL, path or NAME @ URL
requirement, -e) fails the download (exit 1) unless
--allow-unverified-sources is given; then each is a warning and such
requirements are not downloaded. Each --hash must agree with the verified bytes: a file is
taken only if one of its digests is listed (the signed hashes, or the
sha256/sha384/sha512 tufpip computes over the verified bytes when the
repository signs only blake2b-256). A line with a --hash puts the whole
file in hash-checking mode, as in pip.

--lock FILE downloads what a lock file pins instead (repeatable; the
formats and --lock-format as in "tufpip verify --lock"): for each locked
package whose marker holds for the target (others are skipped with a
line), the best-ranked of its locked wheels for the target, else its
locked sdist (--only-binary and --no-binary apply; --all takes every
locked file). Each file must be one the repository signed for that
project and version, and its verified bytes must have every hash the lock
pins for it. Pipfile.lock names no files: the choice is among the
release's signed files, steered by the pinned hashes, and the file taken
must have one of them. A package that pins no hash fails unless
--allow-unhashed; one the lock takes from another index, git, a path or a
URL fails unless --allow-unverified-sources, which leaves it out with a
warning. uv's entry for the project itself is skipped.

All or nothing: files are verified into the cache first; if any fails,
nothing is written to DIR. A file already in DIR that matches the signed
length and hashes is left alone ("already verified"). Up to --jobs files
download at once, with a progress bar when stderr is a terminal (none with
--quiet).

In the dists-only layout no page is signed: the file list, Requires-Python
and yanked marks come from an unverified page, so a mirror can hide
releases or mark them yanked, but every file taken is still verified.

--map FILE (several repositories, TAP 4; see docs/multirepo.md) routes
each project through the map file: files come from the consensus page of
the first matching mapping (threshold repositories with identical length
and hashes), and a name under a terminating mapping is never looked up
anywhere else (dependency confusion):
  tufpip download --map map.json corp-auth==1.2 -d wheelhouse/

Output: one line per file, "verified NAME (N bytes, sha256 HEX)".
Exit codes: 0 every file verified and written; 1 a file or release was
refused (tampered, not signed, hash not in the requirements file or not
the one the lock pins, a locked package without hashes) or a
requirements line or lock entry points outside the verified index; 2 usage
error, no matching release, or the repository could not be trusted or
reached (expired or invalid metadata, network).`,
		Example: `  tufpip download requests==2.31.0 -d wheelhouse/
  tufpip download -r requirements.txt -d wheelhouse/ --only-binary :all:
  tufpip download numpy --python-version 3.12 --platform manylinux_2_17_x86_64 --all
  tufpip download --lock poetry.lock -d wheelhouse/ --python-version 3.12 --platform win_amd64`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDownload(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.dir, "dest", "d", ".", "directory to write files to (created if missing)")
	f.StringArrayVarP(&o.reqFiles, "requirement", "r", nil, "pip requirements file of pinned requirements, - for standard input (repeatable)")
	f.BoolVar(&o.all, "all", false, "take every file of the chosen release, not just the best one for the target")
	f.BoolVar(&o.pre, "pre", false, "consider pre-releases and development versions")
	f.IntVarP(&o.jobs, "jobs", "j", 4, "download this many files at once")
	f.StringVar(&o.target.pythonVersion, "python-version", "", "target Python version X.Y[.Z] (default: python3 on PATH, else "+defaultPythonVersion+")")
	f.StringArrayVar(&o.target.platforms, "platform", nil, "target platform tag, best first (repeatable; default: this machine's)")
	f.StringVar(&o.target.implementation, "implementation", "", "target implementation tag: cp or pp (default: python3's, else cp)")
	f.Var(&formatFlag{fc: o.formats, noBin: true}, "no-binary", "do not take wheels: :all:, :none: or comma-separated projects")
	f.Var(&formatFlag{fc: o.formats}, "only-binary", "do not take sdists: :all:, :none: or comma-separated projects")
	f.StringVar(&o.mapFile, "map", "", mapFlagHelp)
	o.sources.addFlags(f)
	o.locks.addFlags(f, "download the files for the target of")
	return cmd
}

// dlItem is one file to put in the destination directory.
type dlItem struct {
	req  packaging.Requirement
	vp   *index.VerifiedPage
	file index.VerifiedFile
	dest string
	// lock is set for a file of a --lock: what its bytes must match.
	lock *lockPins

	present bool         // already in dest with the signed bytes
	ent     *cache.Entry // verified bytes, when not present
	size    int64
	sha256  string
	err     error
}

// runDownload: read the requirements, keep those whose markers hold for
// the target, resolve them to files, verify every file into the cache
// (or find it verified in DIR), and only when all verified, write them.
func runDownload(ctx context.Context, g *globals, o *downloadOptions, args []string) error {
	if err := checkDownloadArgs(g, o, args); err != nil {
		return err
	}
	env, envDesc, err := o.target.environment(ctx, g.probePython)
	if err != nil {
		return err
	}
	g.logger.Debug("download target", "target", envDesc)
	var active []packaging.Requirement
	var locked []lockedPackage
	if len(o.locks.files) > 0 {
		if locked, err = downloadLocked(g, o, env, envDesc); err != nil {
			return err
		}
		if len(locked) == 0 {
			return usagef("the lock files lock no package for %s", envDesc).withHint("lock the project with its tool first, or check the target (--python-version, --platform)")
		}
	} else if active, err = downloadActive(g, o, args, env, envDesc); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return usagef("creating destination: %v", err)
	}
	pages, client, err := downloadSources(ctx, g, o)
	if err != nil {
		return err
	}

	var items []*dlItem
	var failures []dlFailure
	if locked != nil {
		items, failures, err = resolveLockDownloads(ctx, g, pages, locked, env, o)
	} else {
		items, failures, err = resolveDownloads(ctx, g, pages, active, env, o)
	}
	if err != nil {
		return err
	}
	defer closeEntries(items)
	toFetch, total := planDownloads(items)
	progress := &byteProgress{}
	if len(toFetch) > 0 && !g.quiet && isTerminal(g.stderr, o.terminal) {
		progress.start(g.stderr, total, len(toFetch))
	}
	err = fetchDownloads(ctx, client, toFetch, o.jobs, progress)
	progress.finish()
	if err != nil {
		if repositoryError(err) {
			return asRepositoryError(g, err)
		}
		return err
	}
	count := len(failures) + len(items)
	if failures = append(failures, itemFailures(items)...); len(failures) > 0 {
		return reportDownloadFailures(g, o, failures, count)
	}
	return writeDownloads(g, o, items)
}

// downloadActive reads the requirements and keeps those whose markers
// hold for the target, printing a line for each skipped.
func downloadActive(g *globals, o *downloadOptions, args []string, env packaging.Environment, envDesc string) ([]packaging.Requirement, error) {
	reqs, err := downloadRequirements(g, o, args)
	if err != nil {
		return nil, err
	}
	active, skipped, err := requirementsFor(reqs, env.Markers)
	if !g.quiet {
		for _, r := range skipped {
			fmt.Fprintf(g.stderr, "tufpip: skipping %s: marker `%s` does not hold for %s\n", httpx.SafeLine(requirementLabel(r)), httpx.SafeLine(r.Marker.String()), envDesc)
		}
	}
	return active, err
}

// checkDownloadArgs refuses what can be refused before reading anything.
func checkDownloadArgs(g *globals, o *downloadOptions, args []string) error {
	switch {
	case len(args) == 0 && len(o.reqFiles) == 0 && len(o.locks.files) == 0:
		return usagef("nothing to download").withHint("name requirements (tufpip download requests==2.31.0), or pass -r requirements.txt or --lock FILE")
	case len(o.locks.files) > 0 && (len(args) > 0 || len(o.reqFiles) > 0):
		return usagef("--lock cannot be combined with requirements or -r").withHint("a lock pins every package already: download it on its own, or run download once per input")
	case o.jobs < 1:
		return usagef("invalid --jobs %d: want at least 1", o.jobs)
	case g.offline:
		return usagef("download needs the network: --offline cannot fetch index pages or files")
	}
	return nil
}

// downloadRequirements parses the requirements named on the command line
// and in -r files. A file line that would make pip fetch from outside the
// verified index is reported here and fails the download (errSilent)
// unless --allow-unverified-sources accepts it.
func downloadRequirements(g *globals, o *downloadOptions, args []string) ([]packaging.Requirement, error) {
	var reqs []packaging.Requirement
	for _, a := range args {
		r, err := packaging.ParseRequirement(a)
		if err != nil {
			return nil, usageError{err: err}
		}
		reqs = append(reqs, r)
	}
	fromFiles, sources, err := readRequirements(g, o.reqFiles)
	if err != nil {
		return nil, err
	}
	if problems := judgeSources(g, &o.sources, sources); len(problems) > 0 {
		// pip, installing from the same file, would take files from
		// there too: downloading only the verified ones would give a
		// false sense of safety.
		for _, p := range problems {
			fmt.Fprintf(g.stderr, "tufpip: %s\n", httpx.SafeLine(p.Error()))
		}
		fmt.Fprintf(g.stderr, "tufpip: nothing was written to %s: %s of the requirements would make pip fetch from outside the verified index\n", o.dir, plural(len(problems), "line"))
		writeHint(g.stderr, sourcesHint(&o.sources, g))
		return nil, errSilent
	}
	reqs = append(reqs, fromFiles...)
	if err := checkDuplicates(reqs); err != nil {
		return nil, err
	}
	return reqs, nil
}

// requirementsFor splits reqs into those whose environment marker holds
// for the target and those skipped, in order. A marker that cannot be
// evaluated stops the split there (what was skipped before it is
// returned).
func requirementsFor(reqs []packaging.Requirement, markers map[string]string) (active, skipped []packaging.Requirement, err error) {
	for _, r := range reqs {
		ok, err := r.Marker.Evaluate(markers)
		if err != nil {
			return nil, skipped, usagef("%s: %v", requirementLabel(r), err)
		}
		if !ok {
			skipped = append(skipped, r)
			continue
		}
		active = append(active, r)
	}
	return active, skipped, nil
}

// downloadSources gives the verified pages and files: one repository's
// client, or with --map the map file's resolver over one client per
// repository.
func downloadSources(ctx context.Context, g *globals, o *downloadOptions) (index.Pager, verifiedOpener, error) {
	if o.mapFile != "" {
		ms, err := g.openMapSessions(ctx, o.mapFile)
		if err != nil {
			return nil, nil, err
		}
		r := ms.resolver(g, false)
		for name, src := range r.Sources {
			src.Client = downloadClient(ms.sessions[name])
		}
		return r, r, nil
	}
	s, err := g.openSession(ctx)
	if err != nil {
		return nil, nil, err
	}
	if s.site.IndexURL == nil {
		return nil, nil, usagef("repository %q has no index URL (--index-url)", s.rc.Name)
	}
	client := downloadClient(s)
	return client, client, nil
}

// downloadClient is the session's index client with a transport that
// feeds the progress bar from each file's context.
func downloadClient(s *session) *index.Client {
	hc := *s.http
	hc.Transport = &progressTransport{base: s.http.Transport}
	client := s.client()
	client.HTTP = &hc
	client.Parallel = 8
	return client
}

// planDownloads marks the items already in the destination with the
// signed bytes (and checks their --hash values), and returns the rest,
// to fetch, with their total signed length (for the progress bar).
func planDownloads(items []*dlItem) (toFetch []*dlItem, total int64) {
	for _, it := range items {
		if it.err != nil {
			continue
		}
		if sums, n, err := verifyFile(it.dest, it.file.Target, it.hashAlgorithms()...); err == nil {
			it.present, it.size = true, n
			it.err = it.checkHashes(sums)
			continue
		}
		toFetch = append(toFetch, it)
		if it.file.Target.Length > 0 {
			total += it.file.Target.Length
		}
	}
	return toFetch, total
}

// verifiedOpener opens a file verified into the artifact cache
// (*index.Client).
type verifiedOpener interface {
	Open(ctx context.Context, f index.VerifiedFile) (*cache.Entry, error)
}

// fetchDownloads verifies each item into the cache, jobs at a time, and
// hashes the verified bytes for the output and the --hash values. An
// error about one file is kept in its item; an error about the
// repository, or an interruption, stops everything and is returned.
func fetchDownloads(ctx context.Context, client verifiedOpener, toFetch []*dlItem, jobs int, progress *byteProgress) error {
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(jobs)
	for _, it := range toFetch {
		eg.Go(func() error {
			fctx := withFileProgress(ectx, progress, it.file.Target.Length)
			ent, err := client.Open(fctx, it.file)
			progress.fileDone(fctx)
			if err != nil {
				if repositoryError(err) || errors.Is(err, context.Canceled) {
					return err
				}
				it.err = err
				return nil
			}
			it.ent = ent
			it.err = it.hashEntry()
			return nil
		})
	}
	return eg.Wait()
}

// hashEntry computes the item's digests over its verified cache entry.
func (it *dlItem) hashEntry() error {
	f := it.ent.File()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sums, n, err := digestsOf(f, it.hashAlgorithms()...)
	if err != nil {
		return fmt.Errorf("hashing %s: %w", it.file.Filename, err)
	}
	it.size = n
	return it.checkHashes(sums)
}

// itemFailures lists the items that failed, as refused files (exit 1).
func itemFailures(items []*dlItem) []dlFailure {
	var failures []dlFailure
	for _, it := range items {
		if it.err != nil {
			failures = append(failures, dlFailure{it.file.Filename, it.err, exitFailed})
		}
	}
	return failures
}

func closeEntries(items []*dlItem) {
	for _, it := range items {
		if it.ent != nil {
			it.ent.Close()
		}
	}
}

// writeDownloads copies every verified item to the destination (those
// already there are left alone) and prints a line for each.
func writeDownloads(g *globals, o *downloadOptions, items []*dlItem) error {
	for _, it := range items {
		note := ""
		if it.present {
			note = ", already verified in " + o.dir
		} else if err := copyEntry(it.dest, it.ent); err != nil {
			return fmt.Errorf("writing %s: %w", it.dest, err)
		}
		if !g.quiet {
			fmt.Fprintf(g.stdout, "verified %s (%d bytes, sha256 %s%s)\n", httpx.SafeLine(it.file.Filename), it.size, it.sha256, httpx.SafeLine(note))
		}
	}
	return nil
}

type dlFailure struct {
	name string
	err  error
	code int
}

// resolveDownloads turns requirements into the files to download. Errors
// about one requirement become failures; errors about the repository are
// returned.
func resolveDownloads(ctx context.Context, g *globals, client index.Pager, reqs []packaging.Requirement, env packaging.Environment, o *downloadOptions) ([]*dlItem, []dlFailure, error) {
	type result struct {
		sel *index.Selection
		vp  *index.VerifiedPage
		err error
	}
	results := make([]result, len(reqs))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(o.jobs)
	for i, r := range reqs {
		eg.Go(func() error {
			vp, err := client.Page(ectx, r.Project)
			if err != nil {
				if repositoryError(err) || errors.Is(err, context.Canceled) {
					return err
				}
				if !fromMap(err) && (errors.Is(err, index.ErrProjectNotFound) || errors.Is(err, updater.ErrNotSigned)) {
					// No page, or none signed: the repository does not
					// vouch for the project at all.
					err = fmt.Errorf("the repository has no project %q (%w)", r.Project, err)
				}
				results[i].err = err
				return nil
			}
			bin, src := o.formats.allowed(r.Project)
			sel, err := vp.Select(r, packaging.SelectOptions{
				Env: env, AllFiles: o.all, Pre: o.pre, OnlyBinary: !src, NoBinary: !bin,
			})
			if err != nil && vp.Mapping > 0 {
				// Say where the page came from: with a map file, the
				// repositories of one mapping only.
				err = fmt.Errorf("%w; %s's page was taken from %s (mapping %d of the map file)", err, vp.Name, strings.Join(vp.Repositories, ", "), vp.Mapping)
			}
			results[i] = result{sel, vp, err}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		if repositoryError(err) {
			return nil, nil, asRepositoryError(g, err)
		}
		return nil, nil, err
	}
	var items []*dlItem
	var failures []dlFailure
	seen := map[string]bool{}
	for i, res := range results {
		r := reqs[i]
		if res.err != nil {
			code := exitUsage
			var nm *packaging.NoMatchError
			if errors.As(res.err, &nm) && (nm.Unsigned || nm.Foreign || nm.Consensus) {
				code = exitFailed
			}
			failures = append(failures, dlFailure{requirementLabel(r), res.err, code})
			continue
		}
		if res.sel.Yanked && !g.quiet {
			reason := res.sel.YankedReason
			if reason == "" {
				reason = "no reason given"
			}
			fmt.Fprintf(g.stderr, "tufpip: warning: %s==%s is yanked (%s); taken because it is pinned exactly\n", httpx.SafeLine(r.Project), httpx.SafeLine(res.sel.Version), httpx.SafeLine(reason))
		}
		for _, f := range res.sel.Files {
			if seen[f.Filename] {
				continue
			}
			seen[f.Filename] = true
			if !packaging.SafeFilename(f.Filename) {
				failures = append(failures, dlFailure{f.Filename, errors.New("unsafe file name"), exitFailed})
				continue
			}
			items = append(items, &dlItem{req: r, vp: res.vp, file: f, dest: filepath.Join(o.dir, f.Filename)})
		}
	}
	return items, failures, nil
}

// hashAlgorithms are the digests to compute over the verified bytes:
// sha256 for the output line, and whatever the requirement's --hash
// values use.
func (it *dlItem) hashAlgorithms() []string {
	if it.lock != nil {
		return append([]string{updater.HashSHA256}, it.lock.algorithms()...)
	}
	return append([]string{updater.HashSHA256}, it.req.HashAlgorithms()...)
}

// checkHashes records sums (computed over the verified bytes) and checks
// them against the requirement's --hash values, if any.
func (it *dlItem) checkHashes(sums map[string]string) error {
	it.sha256 = sums[updater.HashSHA256]
	if it.lock != nil {
		return it.lock.check(it.file.Filename, sums)
	}
	if !it.req.HasHashes() {
		return nil
	}
	digests := it.vp.SignedDigests(it.file)
	for a, h := range sums {
		digests[a] = h
	}
	if it.req.CheckDigests(digests) != packaging.HashMatch {
		var got []string
		for _, a := range it.req.HashAlgorithms() {
			got = append(got, a+":"+digests[a])
		}
		return &hashNotListedError{req: requirementLabel(it.req), got: strings.Join(got, ", ")}
	}
	return nil
}

// hashNotListedError: the verified file's digest is not among the
// requirement's --hash values.
type hashNotListedError struct{ req, got string }

func (e *hashNotListedError) Error() string {
	return fmt.Sprintf("the signed file's digest (%s) is not among the --hash values of %s", e.got, e.req)
}

func reportDownloadFailures(g *globals, o *downloadOptions, failures []dlFailure, total int) error {
	code := exitUsage
	hints := map[string]bool{}
	var hintOrder []string
	for _, f := range failures {
		msg, hint, _ := describe(f.err)
		// "lib==1.1: lib==1.1: …" says the name once.
		msg = strings.TrimPrefix(msg, httpx.SafeLine(f.name)+": ")
		fmt.Fprintf(g.stderr, "tufpip: %s: %s\n", httpx.SafeLine(f.name), msg)
		var hn *hashNotListedError
		if errors.As(f.err, &hn) {
			hint = "the requirements file and the repository disagree: the file was not written. Regenerate the hashes only if you trust the new release"
		}
		var lh *lockHashError
		if errors.As(f.err, &lh) {
			hint = "the lock and the repository disagree: it was written through a mirror that served other bytes, or edited. Do not install from it; re-lock through tufpip proxy and review the diff"
		}
		if hint != "" && !hints[hint] {
			hints[hint] = true
			hintOrder = append(hintOrder, hint)
		}
		if f.code == exitFailed {
			code = exitFailed
		}
	}
	summary := fmt.Sprintf("nothing was written to %s: %d of %d failed", o.dir, len(failures), total)
	if code == exitFailed {
		fmt.Fprintf(g.stderr, "tufpip: %s\n", summary)
		for _, h := range hintOrder {
			writeHint(g.stderr, h)
		}
		return errSilent
	}
	return usageError{err: errors.New(summary), hint: strings.Join(hintOrder, "; ")}
}

// copyEntry copies the verified cache entry to dest (temp file, fsync,
// rename).
func copyEntry(dest string, ent *cache.Entry) error {
	f := ent.File()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return copyAtomic(dest, f)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer, override *bool) bool {
	if override != nil {
		return *override
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ---- progress ----

// byteProgress is one progress bar over all downloads; nil-safe, and a
// no-op until started.
type byteProgress struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

func (p *byteProgress) start(w io.Writer, total int64, files int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	desc := "downloading 1 file"
	if files != 1 {
		desc = fmt.Sprintf("downloading %d files", files)
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
}

func (p *byteProgress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && n > 0 {
		p.bar.Add64(n)
	}
}

func (p *byteProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// fileProgress counts one file's bytes, at most its length (retries and
// cache hits must not push the bar past its total).
type fileProgress struct {
	p      *byteProgress
	length int64
	seen   atomic.Int64
}

type fileProgressKey struct{}

func withFileProgress(ctx context.Context, p *byteProgress, length int64) context.Context {
	return context.WithValue(ctx, fileProgressKey{}, &fileProgress{p: p, length: length})
}

func (fp *fileProgress) add(n int64) {
	for {
		old := fp.seen.Load()
		next := min(old+n, fp.length)
		if next <= old || fp.seen.CompareAndSwap(old, next) {
			fp.p.add(next - old)
			return
		}
	}
}

// fileDone fills the bar up to the file's length (a cache hit downloads
// nothing).
func (p *byteProgress) fileDone(ctx context.Context) {
	if fp, ok := ctx.Value(fileProgressKey{}).(*fileProgress); ok {
		fp.add(fp.length)
	}
}

// progressTransport counts response bytes of requests whose context
// carries a fileProgress.
type progressTransport struct{ base http.RoundTripper }

func (t *progressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if fp, ok := req.Context().Value(fileProgressKey{}).(*fileProgress); ok && resp != nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, fp: fp}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	fp *fileProgress
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.fp.add(int64(n))
	return n, err
}
