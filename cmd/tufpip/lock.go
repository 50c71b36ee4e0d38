package main

// verify --lock: every file a lock file pins must be one the repository
// signed for that project and version, with the pinned hashes.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/lockfile"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater/httpx"
)

// lockOptions are the flags of verify about lock files.
type lockOptions struct {
	files         []string
	format        string
	allowUnhashed bool
}

// addFlags adds the flags; what says what is done with each lock file
// ("check", "download the files of").
func (lo *lockOptions) addFlags(fs *pflag.FlagSet, what string) {
	var names []string
	for _, f := range lockfile.Formats() {
		names = append(names, string(f))
	}
	fs.StringArrayVar(&lo.files, "lock", nil, what+" a lock file (pylock.toml, pylock.NAME.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock) (repeatable)")
	fs.StringVar(&lo.format, "lock-format", "", "read every --lock as this format instead of guessing from its name: "+strings.Join(names, ", "))
	fs.BoolVar(&lo.allowUnhashed, "allow-unhashed", false, "accept locked packages that pin no hash (their files must still be signed)")
}

// lockedPackage is a package of a lock file.
type lockedPackage struct {
	file string
	lockfile.Package
}

// label is "NAME==VERSION (FILE)", or the source for a package without
// version.
func (lp lockedPackage) label() string {
	v := lp.Version
	if v == "" {
		return lp.Name + " (" + lp.file + ")"
	}
	return lp.Name + "==" + v + " (" + lp.file + ")"
}

// readLocks parses the lock files. A file that does not parse, or whose
// format cannot be told, is a usage error naming it.
func readLocks(lo *lockOptions) ([]lockedPackage, error) {
	var out []lockedPackage
	for _, path := range lo.files {
		var format lockfile.Format
		var err error
		if lo.format != "" {
			format, err = lockfile.ParseFormat(lo.format)
		} else {
			format, err = lockfile.FormatOf(path)
		}
		if err != nil {
			return nil, usagef("%s: %v", path, err).withHint("%s", lockFormatHint())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("reading lock file: %v", err)
		}
		lock, err := lockfile.Parse(format, data)
		if err != nil {
			return nil, usagef("%s: not a readable %s lock: %v", path, format, err).withHint("regenerate the lock with its tool, or pass --lock-format if the file name misleads")
		}
		for _, p := range lock.Packages {
			out = append(out, lockedPackage{file: path, Package: p})
		}
	}
	return out, nil
}

func lockFormatHint() string {
	var names []string
	for _, f := range lockfile.Formats() {
		names = append(names, string(f))
	}
	return "name the file as its tool does (pylock.toml, uv.lock, poetry.lock, pdm.lock, Pipfile.lock) or pass --lock-format " + strings.Join(names, "|")
}

// lockSourceProblem is why a locked package points its installer outside
// the verified index, or "" when it does not.
func lockSourceProblem(lp lockedPackage, proxy *url.URL) string {
	switch {
	case lp.Source != "":
		return "locked from " + httpx.RedactText(lp.Source) + ", not from an index: " + lockOutsideIndex
	case lp.Index != "" && !sameIndex(lp.Index, proxy):
		return "locked from " + httpx.RedactText(lp.Index) + ", an index other than the tufpip proxy (" + httpx.RedactedURL(proxy) + "): " + lockOutsideIndex
	}
	return ""
}

// lockOutsideIndex is the end of a source problem's message.
const lockOutsideIndex = "the installer would fetch from outside the verified index"

// locked checks one locked package: its files must be signed files of
// its release with the pinned hashes; then its source must be the proxy
// (or --allow-unverified-sources given).
func (v *verifier) locked(ctx context.Context, lp lockedPackage, lo *lockOptions, so *sourceOptions, proxy *url.URL) (verifyResult, error) {
	res := verifyResult{Name: lp.label(), Path: lp.file, Requirement: lp.Name + "==" + lp.Version}
	problem := lockSourceProblem(lp, proxy)
	if problem != "" && so.allowUnverified {
		if !v.g.quiet {
			fmt.Fprintf(v.g.stderr, "tufpip: warning: %s: %s (allowed by --allow-unverified-sources; not verified)\n", httpx.SafeLine(lp.label()), httpx.SafeLine(problem))
		}
		if lp.Source != "" {
			res.Status, res.Detail = statusVerified, " (not from an index: not verified, allowed by --allow-unverified-sources)"
			return res, nil
		}
	}
	if lp.Source != "" {
		res.fail("source", "%s", problem)
		return res, nil
	}
	if !lp.Hashed() && !lo.allowUnhashed {
		what := "pins no hash"
		if len(lp.Files) > 0 {
			what = "pins a file without a hash"
		}
		res.fail("unhashed", "%s: an installer would accept any bytes for it (--allow-unhashed accepts this)", what)
		return res, nil
	}
	vp, err := v.pages.Page(ctx, lp.Project)
	if err != nil {
		if v.multi && !errors.Is(err, context.Canceled) {
			res.failMap(err)
			return res, nil
		}
		if !noProject(err) && (repositoryError(err) || errors.Is(err, context.Canceled)) {
			return res, err
		}
		res.failPage(lp.Project, err)
		return res, nil
	}
	req := packaging.Requirement{Name: lp.Name, Project: lp.Project}
	if req.Specifier, err = packaging.ParseSpecifierSet("==" + lp.Version); err != nil {
		res.fail("version", "version %q is not a PEP 440 version", lp.Version)
		return res, nil
	}
	files, omitted := vp.ReleaseFiles(req)
	if len(files) == 0 {
		if len(omitted) == 0 {
			res.fail("not-signed", "version %s is not signed by the repository (it signed no file of this release)", lp.Version)
		} else {
			res.failNoFiles(omitted)
		}
		return res, nil
	}
	for _, f := range files {
		res.Files = append(res.Files, f.Filename)
	}
	digests := make([]map[string]string, len(files))
	for i, f := range files {
		digests[i] = vp.SignedDigests(f)
	}
	checked := 0
	for _, pf := range lp.Files {
		failed, err := v.lockedFile(ctx, lp, pf, files, digests, &res)
		if failed || err != nil {
			return res, err
		}
		if len(pf.Hashes) > 0 {
			checked++
		}
	}
	if problem != "" && !so.allowUnverified {
		res.fail("source", "%s", problem)
		return res, nil
	}
	res.Status = statusVerified
	verb := "match"
	if checked == 1 {
		verb = "matches"
	}
	res.Detail = fmt.Sprintf(" (%s pinned, %s %s the signed digest)", plural(len(lp.Files), "file"), plural(checked, "hash"), verb)
	if len(lp.Files) == 0 {
		res.Detail = fmt.Sprintf(" (no file pinned; %s signed, not checked: --allow-unhashed)", plural(len(files), "file"))
	}
	return res, nil
}

// lockedFile checks one pinned file against the release's signed files
// (digests: theirs, by algorithm, filled in over verified bytes where an
// algorithm is not signed). failed says res records the failure.
func (v *verifier) lockedFile(ctx context.Context, lp lockedPackage, pf lockfile.File, files []index.VerifiedFile, digests []map[string]string, res *verifyResult) (failed bool, err error) {
	candidates := []int{}
	for i, f := range files {
		if pf.Filename == "" || f.Filename == pf.Filename {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		res.fail("not-signed", "%s is not a file the repository signed for %s %s (signed: %s)", pf.Filename, lp.Name, lp.Version, strings.Join(res.Files, ", "))
		return true, nil
	}
	if len(pf.Hashes) == 0 {
		return false, nil
	}
	algs := make([]string, 0, len(pf.Hashes))
	for a := range pf.Hashes {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	for _, i := range candidates {
		if err := v.fillDigests(ctx, files[i], algs, digests[i]); err != nil {
			if repositoryError(err) || errors.Is(err, context.Canceled) {
				return false, err
			}
			res.fail("read", "%s: %s", files[i].Filename, errorLine(err))
			return true, nil
		}
	}
	for _, i := range candidates {
		if digestsMatch(pf.Hashes, digests[i]) {
			return false, nil
		}
	}
	for _, a := range algs {
		if _, ok := digests[candidates[0]][a]; !ok {
			res.fail("hash", "hash algorithm %q cannot be checked (tufpip computes sha256, sha384, sha512 and blake2b-256)", a)
			return true, nil
		}
	}
	a := algs[0]
	if pf.Filename != "" {
		res.fail("hash", "%s: pinned %s:%s, but the repository signed %s:%s: the lock does not pin what the repository signed", pf.Filename, a, shortHash(pf.Hashes[a]), a, shortHash(digests[candidates[0]][a]))
		return true, nil
	}
	res.fail("hash", "pinned %s:%s matches no file the repository signed for %s %s (%s: %s)", a, shortHash(pf.Hashes[a]), lp.Name, lp.Version, plural(len(files), "signed file"), strings.Join(res.Files, ", "))
	return true, nil
}

// digestsMatch: every pinned algorithm is present in have with the same
// digest.
func digestsMatch(pinned, have map[string]string) bool {
	for a, d := range pinned {
		if have[a] != d {
			return false
		}
	}
	return true
}

// fillDigests adds to have the digests of algs it lacks, computed over
// f's verified bytes (fetched into tufpip's cache).
func (v *verifier) fillDigests(ctx context.Context, f index.VerifiedFile, algs []string, have map[string]string) error {
	var missing []string
	for _, a := range algs {
		if _, ok := have[a]; !ok && newDigest(a) != nil {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	ent, err := v.client.Open(ctx, f)
	if err != nil {
		return err
	}
	defer ent.Close()
	sums, err := entryDigests(ent, missing)
	if err != nil {
		return err
	}
	for a, h := range sums {
		have[a] = h
	}
	return nil
}

// allLocked checks every locked package into rep, jobs at a time; the
// project being locked itself (uv's root) is skipped: it is built from
// the working tree.
func (v *verifier) allLocked(ctx context.Context, rep *verifyReport, locked []lockedPackage, o *verifyOptions) error {
	proxy, _ := url.Parse(o.sources.proxy(v.g))
	var todo []lockedPackage
	for _, lp := range locked {
		if !lp.Root {
			todo = append(todo, lp)
		}
	}
	rep.Locked = make([]verifyResult, len(todo))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(o.jobs)
	for i, lp := range todo {
		eg.Go(func() error {
			start := time.Now()
			res, err := v.locked(ectx, lp, &o.locks, &o.sources, proxy)
			res.elapsed = time.Since(start)
			rep.Locked[i] = res
			return err
		})
	}
	return eg.Wait()
}
