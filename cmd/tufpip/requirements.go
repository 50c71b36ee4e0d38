package main

// What download and verify share: reading requirements files, the target
// interpreter and platform, format control (--only-binary/--no-binary),
// and hashing files.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

// readRequirements parses the requirements files at paths ("-" is
// standard input). Every requirement must pin one version exactly: -r is
// for lock files, where "latest" would make the result depend on the day.
// It also returns the lines that would make pip fetch from somewhere
// (index and find-links options, URLs, paths, editable installs), for
// judgeSources.
func readRequirements(g *globals, paths []string) ([]packaging.Requirement, []fileSource, error) {
	var reqs []packaging.Requirement
	var sources []fileSource
	for _, p := range paths {
		var r io.Reader
		name := p
		if p == "-" {
			r, name = g.stdin, "standard input"
		} else {
			f, err := os.Open(p)
			if err != nil {
				return nil, nil, usagef("reading requirements: %v", err)
			}
			defer f.Close()
			r = f
		}
		rf, err := packaging.ParseRequirements(r, 0)
		if err != nil {
			ue := usagef("%s: %v", name, err)
			if errors.Is(err, packaging.ErrUnsupportedRequirement) {
				ue = ue.withHint("tufpip takes name==version requirements with --hash options; remove or resolve the line")
			}
			return nil, nil, ue
		}
		for _, src := range rf.Sources {
			sources = append(sources, fileSource{file: name, Source: src})
		}
		for _, req := range rf.Requirements {
			if _, ok := req.Pin(); !ok {
				return nil, nil, usagef("%s: line %d: %s is not pinned", name, req.Line, req.NameSpec()).withHint("requirements files for tufpip pin every project with ==VERSION (pip-compile or \"pip freeze\" write them)")
			}
			reqs = append(reqs, req)
		}
	}
	return reqs, sources, nil
}

// ---- where pip would fetch from ----

// outsideIndex is why a requirements-file line is refused: tufpip checked
// what the verified index serves, but pip, reading the same file, would
// also take files from where the line points.
const outsideIndex = "pip would fetch from outside the verified index"

// defaultProxyURL is where "tufpip proxy" serves by default.
const defaultProxyURL = "http://127.0.0.1:8458/simple/"

// sourceOptions are the flags of download and verify about requirements
// lines that point pip elsewhere.
type sourceOptions struct {
	// allowUnverified turns refusals into warnings.
	allowUnverified bool
	// proxyURL is the tufpip proxy's index URL, which --index-url and
	// --extra-index-url may name.
	proxyURL string
}

func (so *sourceOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&so.allowUnverified, "allow-unverified-sources", false,
		"accept requirements-file lines that make pip fetch from outside the verified index (--index-url/--extra-index-url elsewhere, --find-links, URLs, paths, -e), with a warning each")
	fs.StringVar(&so.proxyURL, "proxy-url", "",
		"the tufpip proxy's index URL, which a requirements file may name with --index-url (default: from [proxy] listen in the config file, else "+defaultProxyURL+")")
}

// proxy returns the proxy URL to accept: the flag, else the config file's
// [proxy] listen, else the default.
func (so *sourceOptions) proxy(g *globals) string {
	if so.proxyURL != "" {
		return so.proxyURL
	}
	if t, ok := g.configFile["proxy"].(map[string]any); ok {
		if l, ok := t["listen"].(string); ok && l != "" {
			return "http://" + l + "/simple/"
		}
	}
	return defaultProxyURL
}

// fileSource is a Source and the file it came from.
type fileSource struct {
	file string
	packaging.Source
}

// where is "FILE:LINE".
func (fs fileSource) where() string { return fmt.Sprintf("%s:%d", fs.file, fs.Line) }

// text is the line's option and value as messages show them: the
// password of every URL masked, and the whole quoted when it holds a
// character a terminal would act on or hide (controls, bidi overrides):
// a requirements file may come from someone else's pull request.
// Redaction and what counts as such a character are httpx's (RedactText,
// EscapeLine: the rules every message follows); quoting the value, so a
// reader sees where the hostile text starts and ends, is a choice of
// words, and cmd's. strconv.Quote escapes exactly what EscapeLine does,
// so the SafeLine that messages go through later leaves it unchanged.
func (fs fileSource) text() string {
	t := fs.Value
	if fs.Option != "" {
		t = strings.TrimSpace(fs.Option + " " + fs.Value)
	}
	t = httpx.RedactText(t)
	if httpx.EscapeLine(t) != t {
		return strconv.Quote(t)
	}
	return t
}

// sourceProblem is a line pip would follow out of the verified index.
type sourceProblem struct {
	fileSource
	what string // "an index", "find-links", "an editable install", ...
}

// Error is the message users read: "FILE:LINE: OPTION VALUE: <what>: pip
// would fetch from outside the verified index".
func (p sourceProblem) Error() string {
	return fmt.Sprintf("%s: %s: %s", p.where(), p.text(), p.reason())
}

// reason is the message without the location.
func (p sourceProblem) reason() string { return p.what + ": " + outsideIndex }

// judgeSources sorts the lines of sources: those pip can follow without
// leaving the verified index (--index-url or --extra-index-url naming the
// tufpip proxy, --no-index) pass silently; --trusted-host for another host
// is a warning (it names no source, but pip would skip TLS checks for
// it); the rest are returned as problems, or, with
// --allow-unverified-sources, printed as warnings.
func judgeSources(g *globals, so *sourceOptions, sources []fileSource) []sourceProblem {
	proxy, _ := url.Parse(so.proxy(g))
	var problems []sourceProblem
	for _, src := range sources {
		var what string
		switch src.Option {
		case "--no-index":
			continue
		case "-i", "--index-url", "--extra-index-url":
			if sameIndex(src.Value, proxy) {
				continue
			}
			what = "an index other than the tufpip proxy (" + httpx.RedactedURL(proxy) + ")"
		case "-f", "--find-links":
			what = "a find-links location"
		case "-e", "--editable":
			what = "an editable install"
		case "--trusted-host":
			if proxy != nil && (strings.EqualFold(src.Value, proxy.Host) || strings.EqualFold(src.Value, proxy.Hostname())) {
				continue
			}
			if !g.quiet {
				fmt.Fprintf(g.stderr, "tufpip: warning: %s: %s: pip would skip TLS certificate checks for this host; it names no source, so it is not refused\n", httpx.SafeLine(src.where()), httpx.SafeLine(src.text()))
			}
			continue
		case "":
			what = "a URL, path or direct reference instead of NAME==VERSION"
		default:
			what = "an option that points pip elsewhere"
		}
		p := sourceProblem{fileSource: src, what: what}
		if so.allowUnverified {
			if !g.quiet {
				fmt.Fprintf(g.stderr, "tufpip: warning: %s (allowed by --allow-unverified-sources; not verified)\n", httpx.SafeLine(p.Error()))
			}
			continue
		}
		problems = append(problems, p)
	}
	return problems
}

// sameIndex reports whether raw names the index at proxy: same scheme,
// host and port (case-insensitive, default ports implied) and path, with
// or without the final slash.
func sameIndex(raw string, proxy *url.URL) bool {
	u, err := url.Parse(raw)
	if err != nil || proxy == nil || u.Host == "" {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.EqualFold(u.Scheme, proxy.Scheme) &&
		strings.EqualFold(u.Hostname(), proxy.Hostname()) && port(u) == port(proxy) &&
		strings.TrimSuffix(u.EscapedPath(), "/") == strings.TrimSuffix(proxy.EscapedPath(), "/") &&
		u.RawQuery == "" && u.Fragment == ""
}

// sourcesHint is what to do about refused lines.
func sourcesHint(so *sourceOptions, g *globals) string {
	return fmt.Sprintf("tufpip verified only what the repository's index serves. Remove the lines, point --index-url at the tufpip proxy (%s), or pass --allow-unverified-sources to accept them with a warning", so.proxy(g))
}

// requirementLabel names a requirement in messages: its text, and where it
// came from when that was a file.
func requirementLabel(r packaging.Requirement) string {
	if r.Line > 0 {
		return fmt.Sprintf("%s (line %d)", r.NameSpec(), r.Line)
	}
	return r.NameSpec()
}

// checkDuplicates refuses two requirements for one project, as pip does
// ("double requirement given").
func checkDuplicates(reqs []packaging.Requirement) error {
	seen := map[string]packaging.Requirement{}
	for _, r := range reqs {
		if prev, ok := seen[r.Project]; ok {
			return usagef("double requirement given: %s and %s", requirementLabel(prev), requirementLabel(r))
		}
		seen[r.Project] = r
	}
	return nil
}

// ---- the target interpreter and platform ----

// targetOptions are pip's --python-version, --platform and
// --implementation.
type targetOptions struct {
	pythonVersion  string
	platforms      []string
	implementation string
}

// defaultPythonVersion is the target when neither --python-version nor a
// python3 on PATH says otherwise.
const defaultPythonVersion = "3.12"

// hostPython is what the python3 on PATH says about itself.
type hostPython struct {
	Version  string   `json:"version"`  // "3.11.4"
	Impl     string   `json:"impl"`     // sys.implementation.name
	Platform string   `json:"platform"` // sysconfig.get_platform()
	Libc     []string `json:"libc"`     // platform.libc_ver()
	Machine  string   `json:"machine"`
}

const probeScript = `import json, platform, sys, sysconfig
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "impl": sys.implementation.name,
  "platform": sysconfig.get_platform(), "libc": list(platform.libc_ver()), "machine": platform.machine()}))`

// pythonProbe asks an interpreter about itself; nil when there is none.
// globals.probePython holds one so that tests can stand in for python3.
type pythonProbe func(context.Context) *hostPython

// askPython is the real pythonProbe: it asks python3 (TUFPIP_PYTHON
// overrides) about itself. It returns nil when there is none or it does
// not answer in time.
func askPython(ctx context.Context) *hostPython {
	exe := os.Getenv("TUFPIP_PYTHON")
	if exe == "" {
		var err error
		if exe, err = exec.LookPath("python3"); err != nil {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "-I", "-c", probeScript).Output()
	if err != nil {
		return nil
	}
	var hp hostPython
	if json.Unmarshal(out, &hp) != nil || hp.Version == "" {
		return nil
	}
	return &hp
}

// environment resolves the target: flags first, then the host's python3
// (asked through probe), then defaults (Python 3.12 on this OS and
// architecture). It also returns a one-line description for messages.
func (o targetOptions) environment(ctx context.Context, probe pythonProbe) (packaging.Environment, string, error) {
	var host *hostPython
	if o.pythonVersion == "" || len(o.platforms) == 0 || o.implementation == "" {
		host = probe(ctx)
	}
	py := o.pythonVersion
	if py == "" {
		py = defaultPythonVersion
		if host != nil {
			py = host.Version
		}
	}
	if _, err := packaging.CompatibleTags(py, []string{"any"}, "cp"); err != nil {
		return packaging.Environment{}, "", usagef("invalid --python-version %q: want X.Y or X.Y.Z", py)
	}
	impl := o.implementation
	if impl == "" {
		impl = "cp"
		if host != nil && host.Impl == "pypy" {
			impl = "pp"
		}
	}
	plats := packaging.ExpandPlatforms(o.platforms)
	if len(plats) == 0 {
		plats = hostPlatforms(host)
	}
	env, err := packaging.TargetEnvironment(py, impl, plats)
	if err != nil {
		return packaging.Environment{}, "", usageError{err: err}
	}
	desc := fmt.Sprintf("Python %s (%s) on %s", py, impl, plats[0])
	return env, desc, nil
}

// hostPlatforms returns the platform tags of the host python3, or of this
// OS and architecture when there is none or it says nothing usable. The
// tags are packaging's to compute; only asking the interpreter
// (askPython) is done here, because it runs a program.
func hostPlatforms(host *hostPython) []string {
	if host != nil {
		if plats := packaging.InterpreterPlatforms(host.Platform, host.Libc); plats != nil {
			return plats
		}
	}
	return packaging.DefaultPlatforms(runtime.GOOS, runtime.GOARCH)
}

// ---- --only-binary / --no-binary, as pip's FormatControl ----

type formatControl struct {
	noBinary, onlyBinary map[string]bool
}

// set applies one --no-binary (target = noBinary) or --only-binary value
// in command-line order, as pip's handle_mutual_excludes: comma-separated
// names, ":all:" for every project, ":none:" to clear.
func (fc *formatControl) set(value string, target, other map[string]bool) error {
	if strings.HasPrefix(value, "-") {
		return fmt.Errorf("%q: want :all:, :none: or project names", value)
	}
	names := strings.Split(value, ",")
	for {
		i := -1
		for j, n := range names {
			if n == ":all:" {
				i = j
				break
			}
		}
		if i < 0 {
			break
		}
		clear(other)
		clear(target)
		target[":all:"] = true
		names = names[i+1:]
		hasNone := false
		for _, n := range names {
			hasNone = hasNone || n == ":none:"
		}
		if !hasNone {
			return nil
		}
	}
	for _, n := range names {
		switch {
		case n == ":none:":
			clear(target)
		case packaging.ValidProjectName(n):
			n = packaging.NormalizeName(n)
			delete(other, n)
			target[n] = true
		default:
			return fmt.Errorf("%q: want :all:, :none: or project names", n)
		}
	}
	return nil
}

// allowed returns whether wheels and sdists of project may be taken.
func (fc *formatControl) allowed(project string) (binary, source bool) {
	switch {
	case fc.onlyBinary[project]:
		return true, false
	case fc.noBinary[project]:
		return false, true
	case fc.onlyBinary[":all:"]:
		return true, false
	case fc.noBinary[":all:"]:
		return false, true
	}
	return true, true
}

// formatFlag is the pflag.Value of --no-binary or --only-binary.
type formatFlag struct {
	fc     *formatControl
	noBin  bool
	values []string
}

func (f *formatFlag) String() string { return strings.Join(f.values, ",") }
func (f *formatFlag) Type() string   { return "names" }
func (f *formatFlag) Set(v string) error {
	f.values = append(f.values, v)
	if f.noBin {
		return f.fc.set(v, f.fc.noBinary, f.fc.onlyBinary)
	}
	return f.fc.set(v, f.fc.onlyBinary, f.fc.noBinary)
}

func newFormatControl() *formatControl {
	return &formatControl{noBinary: map[string]bool{}, onlyBinary: map[string]bool{}}
}

// ---- hashing ----

// newDigest returns a hash for alg: a TUF algorithm (updater.NewHash) or
// a --hash one (packaging.NewRequirementHash); nil for any other.
func newDigest(alg string) hash.Hash {
	if h := updater.NewHash(alg); h != nil {
		return h
	}
	return packaging.NewRequirementHash(alg)
}

// multiDigest computes several digests of one stream.
type multiDigest map[string]hash.Hash

func newMultiDigest(algs ...string) multiDigest {
	md := multiDigest{}
	for _, a := range algs {
		if h := newDigest(a); h != nil {
			md[a] = h
		}
	}
	return md
}

func (md multiDigest) Write(p []byte) (int, error) {
	for _, h := range md {
		h.Write(p)
	}
	return len(p), nil
}

func (md multiDigest) sums() map[string]string {
	out := map[string]string{}
	for a, h := range md {
		out[a] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// verifyFile streams the file at path through verification against ti,
// computing algs on the way, and returns their digests and the file's
// length. Mismatches are *updater.MismatchError.
func verifyFile(path string, ti updater.TargetInfo, algs ...string) (map[string]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	md := newMultiDigest(algs...)
	n, err := updater.VerifyCopy(md, f, ti)
	if err != nil {
		return nil, n, err
	}
	return md.sums(), n, nil
}

// digestsOf hashes r with algs in one pass.
func digestsOf(r io.Reader, algs ...string) (map[string]string, int64, error) {
	md := newMultiDigest(algs...)
	n, err := io.CopyBuffer(md, r, make([]byte, 256<<10))
	return md.sums(), n, err
}

// shortHash abbreviates a digest for messages.
func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// ---- classifying errors ----

// repositoryError reports whether err is about the repository as a whole
// (its metadata failed verification or expired, or it could not be
// reached) rather than about one file: then nothing can be decided about
// any file.
func repositoryError(err error) bool {
	var (
		me *updater.MetadataError
		ne *updater.NetworkError
		re *httpx.RedirectError
	)
	return errors.As(err, &me) || errors.As(err, &ne) || errors.As(err, &re) ||
		errors.Is(err, updater.ErrNoTrustedRoot)
}

// asRepositoryError makes err exit with code 2 (usage or repository
// error), keeping the words and hint reportError would give it, and
// saying so when --offline was the reason metadata could not be used.
func asRepositoryError(g *globals, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg, hint, _ := describe(err)
	if g.offline {
		if errors.Is(err, updater.ErrExpired) {
			msg = "offline: the cached metadata has expired: " + msg
			hint = "run without --offline (or \"tufpip refresh\") to fetch fresh signed metadata; tufpip never verifies against expired metadata"
		} else if !strings.Contains(msg, "offline") {
			msg = "offline: " + msg
			if hint == "" {
				hint = "run once without --offline so the metadata needed is cached"
			}
		}
	}
	return usageError{err: errors.New(msg), hint: hint}
}

// errorLine renders err for a per-file line: the message only.
func errorLine(err error) string {
	msg, _, _ := describe(err)
	return strings.ReplaceAll(msg, "\n", " ")
}
