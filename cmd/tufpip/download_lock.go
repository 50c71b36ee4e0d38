package main

// download --lock: the files a lock pins for the target, each verified
// against TUF and against the hash the lock pins for it.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/lockfile"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// lockPins is what a file chosen from a lock must match: one of pins
// (every algorithm of it), or anything when the package pins no hash
// and --allow-unhashed accepted that.
type lockPins struct {
	label string
	pins  []lockfile.File
	any   bool
}

// algorithms are the pinned algorithms tufpip can compute, sorted.
func (lp *lockPins) algorithms() []string {
	seen := map[string]bool{}
	var algs []string
	for _, p := range lp.pins {
		for a := range p.Hashes {
			if !seen[a] && newDigest(a) != nil {
				seen[a] = true
				algs = append(algs, a)
			}
		}
	}
	sort.Strings(algs)
	return algs
}

// check compares sums, computed over the verified bytes of filename,
// with the pins.
func (lp *lockPins) check(filename string, sums map[string]string) error {
	if lp.any {
		return nil
	}
	for _, p := range lp.pins {
		if len(p.Hashes) == 0 {
			// Pinned without a hash, accepted by --allow-unhashed.
			return nil
		}
		if digestsMatch(p.Hashes, sums) {
			return nil
		}
	}
	e := &lockHashError{label: lp.label, filename: filename}
	for _, p := range lp.pins {
		algs := make([]string, 0, len(p.Hashes))
		for a := range p.Hashes {
			algs = append(algs, a)
		}
		sort.Strings(algs)
		for _, a := range algs {
			if _, ok := sums[a]; !ok {
				e.unknownAlg = a
				return e
			}
		}
		if e.alg == "" {
			e.alg = algs[0]
			e.pinned, e.got = p.Hashes[e.alg], sums[e.alg]
		}
	}
	return e
}

// lockHashError: the verified bytes of a locked file do not have the hash
// the lock pins, or the lock pins it only with an algorithm tufpip cannot
// compute.
type lockHashError struct {
	label, filename  string
	alg, pinned, got string
	unknownAlg       string
}

func (e *lockHashError) Error() string {
	if e.unknownAlg != "" {
		return fmt.Sprintf("%s: hash algorithm %q cannot be checked (tufpip computes sha256, sha384, sha512 and blake2b-256)", e.label, e.unknownAlg)
	}
	return fmt.Sprintf("%s: the lock pins %s:%s, but the file the repository signed has %s:%s: the lock does not pin what the repository signed", e.label, e.alg, shortHash(e.pinned), e.alg, shortHash(e.got))
}

// lockRefusal is a locked package refused before anything is fetched
// (no hash, a file or version the repository did not sign).
type lockRefusal struct{ msg string }

func (e *lockRefusal) Error() string { return e.msg }

// downloadLocked reads the --lock files and returns the packages to
// download for the target: the project itself (uv's root) is left out,
// and a package whose marker does not hold is skipped with a line. A
// package the lock takes from outside the verified index fails the
// download (errSilent) unless --allow-unverified-sources, which leaves it
// out with a warning.
func downloadLocked(g *globals, o *downloadOptions, env packaging.Environment, envDesc string) ([]lockedPackage, error) {
	locked, err := readLocks(&o.locks)
	if err != nil {
		return nil, err
	}
	proxy, err := url.Parse(o.sources.proxy(g))
	if err != nil {
		return nil, usagef("invalid --proxy-url: %v", err)
	}
	var problems []string
	var active []lockedPackage
	versions := map[string]lockedPackage{}
	for _, lp := range locked {
		if lp.Root {
			continue
		}
		if problem := lockSourceProblem(lp, proxy); problem != "" {
			if o.sources.allowUnverified {
				if !g.quiet {
					fmt.Fprintf(g.stderr, "tufpip: warning: %s: %s (allowed by --allow-unverified-sources; not downloaded)\n", httpx.SafeLine(lp.label()), httpx.SafeLine(problem))
				}
				continue
			}
			problems = append(problems, lp.label()+": "+problem)
			continue
		}
		if lp.Marker != "" {
			m, err := packaging.ParseMarker(lp.Marker)
			if err != nil {
				return nil, usagef("%s: marker %q: %v", lp.label(), lp.Marker, err)
			}
			ok, err := m.Evaluate(env.Markers)
			if err != nil {
				return nil, usagef("%s: %v", lp.label(), err)
			}
			if !ok {
				if !g.quiet {
					fmt.Fprintf(g.stderr, "tufpip: skipping %s: marker `%s` does not hold for %s\n", httpx.SafeLine(lp.label()), httpx.SafeLine(m.String()), envDesc)
				}
				continue
			}
		}
		if prev, ok := versions[lp.Project]; ok && prev.Version != lp.Version {
			return nil, usagef("%s and %s both hold for %s: an installer takes one version of a project", lp.label(), prev.label(), envDesc).withHint("download with one lock file, or a target (--python-version, --platform) for which the lock's markers choose one version")
		}
		versions[lp.Project] = lp
		active = append(active, lp)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(g.stderr, "tufpip: %s\n", httpx.SafeLine(p))
		}
		fmt.Fprintf(g.stderr, "tufpip: nothing was written to %s: %s of the locks would make the installer fetch from outside the verified index\n", o.dir, plural(len(problems), "package"))
		writeHint(g.stderr, fmt.Sprintf("tufpip verified only what the repository's index serves. Lock through the tufpip proxy (%s), or pass --allow-unverified-sources to leave such packages out with a warning", o.sources.proxy(g)))
		return nil, errSilent
	}
	return active, nil
}

// resolveLockDownloads chooses, for each locked package, the files to
// download among those it pins (all of the release's signed files for
// a lock without file names, Pipfile.lock), the way download chooses
// among a release's files: the best wheel for the target, else the
// sdist, every one with --all. Every pinned file name must be a signed
// file of the release. Errors about one package become failures; errors
// about the repository are returned.
func resolveLockDownloads(ctx context.Context, g *globals, client index.Pager, locked []lockedPackage, env packaging.Environment, o *downloadOptions) ([]*dlItem, []dlFailure, error) {
	type result struct {
		items []*dlItem
		fail  *dlFailure
	}
	results := make([]result, len(locked))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(o.jobs)
	for i, lp := range locked {
		eg.Go(func() error {
			items, fail, err := resolveLocked(ectx, client, lp, env, o)
			results[i] = result{items, fail}
			return err
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
	for _, res := range results {
		if res.fail != nil {
			failures = append(failures, *res.fail)
			continue
		}
		for _, it := range res.items {
			if seen[it.file.Filename] {
				continue
			}
			seen[it.file.Filename] = true
			items = append(items, it)
		}
	}
	return items, failures, nil
}

// resolveLocked chooses one locked package's files.
func resolveLocked(ctx context.Context, client index.Pager, lp lockedPackage, env packaging.Environment, o *downloadOptions) ([]*dlItem, *dlFailure, error) {
	label := lp.label()
	refuse := func(format string, a ...any) ([]*dlItem, *dlFailure, error) {
		return nil, &dlFailure{label, &lockRefusal{fmt.Sprintf(format, a...)}, exitFailed}, nil
	}
	if !lp.Hashed() && !o.locks.allowUnhashed {
		what := "pins no hash"
		if len(lp.Files) > 0 {
			what = "pins a file without a hash"
		}
		return refuse("%s: an installer would accept any bytes for it (--allow-unhashed accepts this)", what)
	}
	req := packaging.Requirement{Name: lp.Name, Project: lp.Project}
	var err error
	if req.Specifier, err = packaging.ParseSpecifierSet("==" + lp.Version); err != nil {
		return nil, &dlFailure{label, fmt.Errorf("version %q is not a PEP 440 version", lp.Version), exitUsage}, nil
	}
	vp, err := client.Page(ctx, lp.Project)
	if err != nil {
		if repositoryError(err) || errors.Is(err, context.Canceled) {
			return nil, nil, err
		}
		if errors.Is(err, index.ErrProjectNotFound) || errors.Is(err, updater.ErrNotSigned) {
			return refuse("the repository has no project %q (%v)", lp.Project, err)
		}
		return nil, &dlFailure{label, err, exitUsage}, nil
	}
	files, omitted := vp.ReleaseFiles(req)
	if len(files) == 0 {
		if len(omitted) > 0 {
			return refuse("the repository lists files of version %s but has not signed them (%s: %s)", lp.Version, omitted[0].Filename, omitted[0].Reason)
		}
		return refuse("version %s is not signed by the repository (it signed no file of this release)", lp.Version)
	}
	signed := map[string]bool{}
	var names []string
	for _, f := range files {
		signed[f.Filename] = true
		names = append(names, f.Filename)
	}
	named := map[string]bool{}
	for _, pf := range lp.Files {
		if pf.Filename == "" {
			continue
		}
		if !signed[pf.Filename] {
			return refuse("%s is not a file the repository signed for %s %s (signed: %s)", pf.Filename, lp.Name, lp.Version, strings.Join(names, ", "))
		}
		named[pf.Filename] = true
	}
	// The files to choose from: those the lock names, or every signed
	// file of the release when it names none (Pipfile.lock pins hashes
	// only; its pinned hashes steer the choice, as pip's do).
	sub := *vp
	sub.Files, sub.Omitted = nil, nil
	for _, f := range files {
		if len(named) == 0 || named[f.Filename] {
			sub.Files = append(sub.Files, f)
		}
	}
	choose := req
	if len(named) == 0 {
		choose.Hashes = map[string][]string{}
		for _, pf := range lp.Files {
			for a, d := range pf.Hashes {
				choose.Hashes[a] = append(choose.Hashes[a], d)
			}
		}
	}
	bin, src := o.formats.allowed(lp.Project)
	sel, err := sub.Select(choose, packaging.SelectOptions{Env: env, AllFiles: o.all, OnlyBinary: !src, NoBinary: !bin})
	if err != nil {
		return nil, &dlFailure{label, fmt.Errorf("no locked file suits the target: %w", err), exitUsage}, nil
	}
	var items []*dlItem
	for _, f := range sel.Files {
		if !packaging.SafeFilename(f.Filename) {
			return nil, &dlFailure{f.Filename, errors.New("unsafe file name"), exitFailed}, nil
		}
		pins := &lockPins{label: label, any: len(lp.Files) == 0}
		for _, pf := range lp.Files {
			if pf.Filename == "" || pf.Filename == f.Filename {
				pins.pins = append(pins.pins, pf)
			}
		}
		items = append(items, &dlItem{req: req, vp: vp, file: f, dest: filepath.Join(o.dir, f.Filename), lock: pins})
	}
	return items, nil, nil
}
