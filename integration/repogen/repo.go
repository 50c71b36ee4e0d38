package repogen

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Directory layout of a generated repository.
const (
	metadataDir     = "metadata"
	packagesDir     = "packages"
	simpleDir       = "simple"
	stateDir        = ".repogen"
	trustedRootFile = "trusted-root.json"
	stateFile       = "state.json"
	keysFile        = "keys.json"
	historyDir      = "history"
	backupDir       = "backup"
	stateFormat     = 1
)

// Repo is a generated repository on disk plus the private state needed to
// change it the way a real repository (or an attacker) would. Its methods
// are safe for concurrent use within one process; two processes must not
// mutate the same repository at once.
type Repo struct {
	mu     sync.Mutex
	dir    string
	now    func() time.Time
	st     *state
	keys   keyring
	root   []*signingKey
	online *signingKey
	bins   binScheme
	// phantomsByBin lists phantom target numbers per bin index; built on
	// first use because it costs a hash per phantom.
	phantomsByBin [][]int32
}

// state is everything in .repogen/state.json.
type state struct {
	Format        int                      `json:"format"`
	Settings      settings                 `json:"settings"`
	RootVersion   int64                    `json:"root_version"`
	RootThreshold int                      `json:"root_threshold"`
	Roles         map[string]*roleState    `json:"roles"`
	Projects      map[string]*projectState `json:"projects"`
	Custom        []*customTarget          `json:"custom_targets,omitempty"`
	Attacks       []attackRecord           `json:"attacks,omitempty"`
}

// roleState is the version and expiry the legitimate repository last
// signed a role with.
type roleState struct {
	Version int64     `json:"version"`
	Expires time.Time `json:"expires"`
}

type projectState struct {
	Name  string       `json:"name"`
	Files []*fileState `json:"files"`
}

type fileState struct {
	Filename string `json:"filename"`
	Version  string `json:"version"`
	Kind     string `json:"kind"`
	// Path is relative to packages/: the Warehouse tree path, which is
	// also the target path when distributions are targets.
	Path   string            `json:"path"`
	Length int64             `json:"length"`
	Hashes map[string]string `json:"hashes"`
	// CoreMetadata is the PEP 658 <file>.metadata beside a wheel.
	CoreMetadata   *blobState `json:"core_metadata,omitempty"`
	RequiresPython string     `json:"requires_python,omitempty"`
	Yanked         bool       `json:"yanked,omitempty"`
	YankedReason   string     `json:"yanked_reason,omitempty"`
	UploadTime     time.Time  `json:"upload_time"`
}

type blobState struct {
	Length int64             `json:"length"`
	Hashes map[string]string `json:"hashes"`
}

// customTarget is a target added with AddTarget, possibly with a hostile
// path that no file on disk can have.
type customTarget struct {
	Path   string            `json:"path"`
	Length int64             `json:"length"`
	Hashes map[string]string `json:"hashes"`
}

// attackRecord remembers a file an attack replaced, removed or created, so
// Heal can put the legitimate repository back.
type attackRecord struct {
	Path    string `json:"path"`
	Backup  string `json:"backup,omitempty"`
	Existed bool   `json:"existed"`
}

// TargetSummary is what the repository signed for one target path.
type TargetSummary struct {
	Length int64
	// Hashes maps algorithm name to lower-case hex digest.
	Hashes map[string]string
	// Bin is the delegated role that signs the target.
	Bin string
}

// FileInfo describes one distribution file of the repository.
type FileInfo struct {
	Project  string // PEP 503 normalized name
	Version  string
	Filename string
	Kind     string // "wheel" or "sdist"
	// Path is relative to packages/ (the Warehouse tree path); it is the
	// target path unless the index layout is index-only.
	Path   string
	Length int64
	// Hashes has hex blake2b-256, sha256 and sha512 of the file, whatever
	// the signed target info carries.
	Hashes map[string]string
	// MetadataPath is the PEP 658 file beside a wheel, relative to
	// packages/; empty for sdists.
	MetadataPath   string
	RequiresPython string
	Yanked         bool
	YankedReason   string
}

// allHashes returns the hex digests of data under every supported
// algorithm; the signed target info then picks the configured ones.
func allHashes(data []byte) map[string]string {
	b2 := blake2b.Sum256(data)
	s256 := sha256.Sum256(data)
	s512 := sha512.Sum512(data)
	return map[string]string{
		HashBlake2b256: hex.EncodeToString(b2[:]),
		HashSHA256:     hex.EncodeToString(s256[:]),
		HashSHA512:     hex.EncodeToString(s512[:]),
	}
}

// warehousePath is Warehouse's files path for a file with blake2b-256 b2:
// the path commits to the content.
func warehousePath(b2, filename string) string {
	return b2[0:2] + "/" + b2[2:4] + "/" + b2[4:] + "/" + filename
}

// Generate writes a new repository to opts.Dir from synthetic project specs
// and from the wheels and sdists found (recursively) in distDirs, signs it
// and returns it ready to serve.
func Generate(opts Options, projects []ProjectSpec, distDirs ...string) (*Repo, error) {
	o, err := normalizeOptions(opts)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("repogen: %w", err)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("repogen: %s is not empty (use Open for an existing repository)", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("repogen: %w", err)
	}
	for _, d := range []string{metadataDir, packagesDir, simpleDir, filepath.Join(stateDir, historyDir)} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("repogen: %w", err)
		}
	}
	r := &Repo{
		dir: dir,
		now: o.Now,
		st: &state{
			Format:        stateFormat,
			Settings:      settingsFrom(o),
			RootVersion:   1,
			RootThreshold: o.RootThreshold,
			Roles:         map[string]*roleState{},
			Projects:      map[string]*projectState{},
		},
	}
	r.bins = newBinScheme(r.st.Settings)
	if err := r.initKeys(o.KeyType, o.RootKeys); err != nil {
		return nil, err
	}
	for _, spec := range projects {
		if err := r.addProjectSpec(spec); err != nil {
			return nil, err
		}
	}
	for _, d := range distDirs {
		if err := r.addDistDir(d); err != nil {
			return nil, err
		}
	}
	for _, p := range r.st.Projects {
		if err := r.writePages(p); err != nil {
			return nil, err
		}
	}
	if err := r.writeRootIndex(); err != nil {
		return nil, err
	}
	if err := r.publishInitial(); err != nil {
		return nil, err
	}
	if err := r.saveKeys(); err != nil {
		return nil, err
	}
	if err := r.save(); err != nil {
		return nil, err
	}
	return r, nil
}

// Open reloads a repository written by Generate, possibly in another
// process, so that it can be mutated further. Its clock is time.Now.
func Open(dir string) (*Repo, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("repogen: %w", err)
	}
	r := &Repo{dir: dir, now: time.Now, st: &state{}}
	if err := readJSON(filepath.Join(dir, stateDir, stateFile), r.st); err != nil {
		return nil, fmt.Errorf("repogen: failed to open repository: %w", err)
	}
	if r.st.Format != stateFormat {
		return nil, fmt.Errorf("repogen: %s has state format %d, want %d", dir, r.st.Format, stateFormat)
	}
	if err := readJSON(filepath.Join(dir, stateDir, keysFile), &r.keys); err != nil {
		return nil, fmt.Errorf("repogen: failed to open repository keys: %w", err)
	}
	for _, sk := range r.keys.Root {
		k, err := sk.load()
		if err != nil {
			return nil, fmt.Errorf("repogen: %w", err)
		}
		r.root = append(r.root, k)
	}
	if r.online, err = r.keys.Online.load(); err != nil {
		return nil, fmt.Errorf("repogen: %w", err)
	}
	if r.st.Roles == nil || r.st.Projects == nil {
		return nil, fmt.Errorf("repogen: %s: incomplete state", dir)
	}
	r.bins = newBinScheme(r.st.Settings)
	return r, nil
}

// SetClock replaces the clock used for expiry dates and upload times.
func (r *Repo) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// Dir is the absolute path of the repository root: serve it, and find
// metadata/, simple/, packages/ and trusted-root.json in it.
func (r *Repo) Dir() string { return r.dir }

// TrustedRoot returns the root to ship to clients: version 1, the same
// bytes as metadata/1.root.json and trusted-root.json.
func (r *Repo) TrustedRoot() []byte {
	data, err := os.ReadFile(filepath.Join(r.dir, trustedRootFile))
	if err != nil {
		return nil
	}
	return data
}

// BinFor names the bin that signs targetPath (TAP 15: the top bit_length
// bits of sha256(targetPath)), e.g. "bins-0a", or "bin-0a" in the
// pep458-text layout.
func (r *Repo) BinFor(targetPath string) string {
	return r.bins.name(r.bins.index(targetPath))
}

// Bins lists every bin role name in order.
func (r *Repo) Bins() []string {
	out := make([]string, r.bins.count)
	for i := range out {
		out[i] = r.bins.name(i)
	}
	return out
}

// RootVersion is the newest legitimate root version.
func (r *Repo) RootVersion() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.RootVersion
}

// RoleVersion is the version the repository last signed role with (0 for
// an unknown role). Roles: "root", "targets", "snapshot", "timestamp",
// "bins" (pep458-text only) and every bin name.
func (r *Repo) RoleVersion(role string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if role == RoleRoot {
		return r.st.RootVersion
	}
	if rs, ok := r.st.Roles[role]; ok {
		return rs.Version
	}
	return 0
}

// PageTarget is the target path of a project's index page under the
// repository's index layout, or "" when pages are not targets.
func (r *Repo) PageTarget(project string) string {
	return pageTargetPath(r.st.Settings.IndexLayout, NormalizeName(project))
}

func pageTargetPath(layout, name string) string {
	switch layout {
	case IndexLayoutPEP458:
		return name + "/" + name + ".html"
	case IndexLayoutIndexOnly:
		return name
	case IndexLayoutSimplePath:
		return "simple/" + name + "/index.html"
	}
	return ""
}

func distsAreTargets(layout string) bool { return layout != IndexLayoutIndexOnly }

// Files lists every distribution file, by project then version.
func (r *Repo) Files() []FileInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []FileInfo
	for _, name := range r.projectNames() {
		for _, f := range r.st.Projects[name].Files {
			fi := FileInfo{
				Project: name, Version: f.Version, Filename: f.Filename, Kind: f.Kind,
				Path: f.Path, Length: f.Length, Hashes: cloneMap(f.Hashes),
				RequiresPython: f.RequiresPython, Yanked: f.Yanked, YankedReason: f.YankedReason,
			}
			if f.CoreMetadata != nil {
				fi.MetadataPath = f.Path + ".metadata"
			}
			out = append(out, fi)
		}
	}
	return out
}

// Targets returns every signed target, phantoms included, by target path.
func (r *Repo) Targets() map[string]TargetSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]TargetSummary{}
	add := func(p string, length int64, hashes map[string]string) {
		h := map[string]string{}
		for _, alg := range r.st.Settings.Hashes {
			h[alg] = hashes[alg]
		}
		out[p] = TargetSummary{Length: length, Hashes: h, Bin: r.BinFor(p)}
	}
	for p, t := range r.realTargets() {
		add(p, t.length, t.hashes)
	}
	for i := range r.st.Settings.PhantomTargets {
		t := r.phantomTarget(i)
		add(t.path, t.length, t.hashes)
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (r *Repo) projectNames() []string {
	names := make([]string, 0, len(r.st.Projects))
	for n := range r.st.Projects {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (r *Repo) initKeys(keyType string, rootKeys int) error {
	for range rootKeys {
		k, err := generateKey(keyType)
		if err != nil {
			return fmt.Errorf("repogen: %w", err)
		}
		r.root = append(r.root, k)
	}
	k, err := generateKey(keyType)
	if err != nil {
		return fmt.Errorf("repogen: %w", err)
	}
	r.online = k
	return nil
}

// saveKeys writes the private keys; they live beside the repository
// because it is a test fixture, never a real one.
func (r *Repo) saveKeys() error {
	r.keys.Root = r.keys.Root[:0]
	for _, k := range r.root {
		sk, err := k.store()
		if err != nil {
			return err
		}
		r.keys.Root = append(r.keys.Root, sk)
	}
	sk, err := r.online.store()
	if err != nil {
		return err
	}
	r.keys.Online = sk
	if err := writeJSONAtomic(filepath.Join(r.dir, stateDir, keysFile), &r.keys, 0o600); err != nil {
		return fmt.Errorf("repogen: failed to save keys: %w", err)
	}
	return nil
}

func (r *Repo) retireKeys(keys ...*signingKey) error {
	for _, k := range keys {
		sk, err := k.store()
		if err != nil {
			return err
		}
		r.keys.Retired = append(r.keys.Retired, sk)
	}
	return nil
}

func (r *Repo) save() error {
	if err := writeJSONAtomic(filepath.Join(r.dir, stateDir, stateFile), r.st, 0o644); err != nil {
		return fmt.Errorf("repogen: failed to save state: %w", err)
	}
	return nil
}

// addProjectSpec builds and stores every file of a synthetic project.
func (r *Repo) addProjectSpec(spec ProjectSpec) error {
	if err := spec.validate(); err != nil {
		return fmt.Errorf("repogen: %w", err)
	}
	for _, rel := range spec.Releases {
		dists, err := buildRelease(spec.Name, rel)
		if err != nil {
			return fmt.Errorf("repogen: %w", err)
		}
		for _, d := range dists {
			if err := r.addDist(spec.Name, d, rel.Yanked, rel.YankedReason); err != nil {
				return err
			}
		}
	}
	return nil
}

// addDistDir adds every .whl and .tar.gz under dir.
func (r *Repo) addDistDir(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (strings.HasSuffix(p, ".whl") || strings.HasSuffix(p, ".tar.gz")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("repogen: failed to read distributions: %w", err)
	}
	return r.addDistFiles(paths)
}

func (r *Repo) addDistFiles(paths []string) error {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("repogen: %w", err)
		}
		project, d, err := readRealDist(filepath.Base(p), data)
		if err != nil {
			return fmt.Errorf("repogen: %w", err)
		}
		if err := r.addDist(project, d, false, ""); err != nil {
			return err
		}
	}
	return nil
}

// addDist stores one file in the Warehouse tree (plus its .metadata) and
// records it. Like PyPI, a file name can be uploaded once per project.
func (r *Repo) addDist(project string, d builtDist, yanked bool, reason string) error {
	name := NormalizeName(project)
	p := r.st.Projects[name]
	if p == nil {
		p = &projectState{Name: name}
		r.st.Projects[name] = p
	}
	for _, f := range p.Files {
		if f.Filename == d.filename {
			return fmt.Errorf("repogen: %s already has a file %s", name, d.filename)
		}
	}
	hashes := allHashes(d.data)
	f := &fileState{
		Filename:       d.filename,
		Version:        d.version,
		Kind:           d.kind,
		Path:           warehousePath(hashes[HashBlake2b256], d.filename),
		Length:         int64(len(d.data)),
		Hashes:         hashes,
		RequiresPython: d.requiresPython,
		Yanked:         yanked,
		YankedReason:   reason,
		UploadTime:     r.now().UTC().Truncate(time.Second),
	}
	full := filepath.Join(r.dir, packagesDir, filepath.FromSlash(f.Path))
	if err := writeFileAtomic(full, d.data, 0o644); err != nil {
		return fmt.Errorf("repogen: failed to store %s: %w", d.filename, err)
	}
	if d.coreMetadata != nil {
		f.CoreMetadata = &blobState{Length: int64(len(d.coreMetadata)), Hashes: allHashes(d.coreMetadata)}
		if err := writeFileAtomic(full+".metadata", d.coreMetadata, 0o644); err != nil {
			return fmt.Errorf("repogen: failed to store %s.metadata: %w", d.filename, err)
		}
	}
	p.Files = append(p.Files, f)
	slices.SortStableFunc(p.Files, func(a, b *fileState) int {
		if c := compareVersions(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.Filename, b.Filename)
	})
	return nil
}

// projectPage renders a project's page, the bytes every form of it holds.
func (r *Repo) projectPage(p *projectState) []byte {
	return renderProjectHTML(p.Name, p.Files)
}

// writePages writes every served form of a project page: index.html,
// index.json and Warehouse's hashed <blake2b>.<name>.html. Old hashed pages
// stay, as they do on a CDN.
func (r *Repo) writePages(p *projectState) error {
	page := r.projectPage(p)
	b2 := allHashes(page)[HashBlake2b256]
	files := map[string][]byte{
		"index.html":                page,
		"index.json":                renderProjectJSON(p.Name, p.Files),
		b2 + "." + p.Name + ".html": page,
	}
	for name, data := range files {
		if err := r.writeLegit(simpleDir+"/"+p.Name+"/"+name, data); err != nil {
			return fmt.Errorf("repogen: failed to write page of %s: %w", p.Name, err)
		}
	}
	return nil
}

// hashedPageName is the file name of the current hashed page.
func (r *Repo) hashedPageName(p *projectState) string {
	return allHashes(r.projectPage(p))[HashBlake2b256] + "." + p.Name + ".html"
}

func (r *Repo) writeRootIndex() error {
	names := r.projectNames()
	for name, data := range map[string][]byte{"index.html": renderRootHTML(names), "index.json": renderRootJSON(names)} {
		if err := r.writeLegit(simpleDir+"/"+name, data); err != nil {
			return fmt.Errorf("repogen: failed to write project list: %w", err)
		}
	}
	return nil
}

// realTarget is a signed target that exists as bytes on disk (or, for
// AddTarget's hostile names, only in the metadata).
type realTarget struct {
	length int64
	hashes map[string]string
}

// realTargets computes every non-phantom target from the release list:
// pages are re-rendered, so the signed hashes are those of the legitimate
// pages even after TamperPage changed the served ones.
func (r *Repo) realTargets() map[string]realTarget {
	layout := r.st.Settings.IndexLayout
	out := map[string]realTarget{}
	for _, name := range r.projectNames() {
		p := r.st.Projects[name]
		if distsAreTargets(layout) {
			for _, f := range p.Files {
				out[f.Path] = realTarget{f.Length, f.Hashes}
				if f.CoreMetadata != nil {
					out[f.Path+".metadata"] = realTarget{f.CoreMetadata.Length, f.CoreMetadata.Hashes}
				}
			}
		}
		if tp := pageTargetPath(layout, name); tp != "" {
			page := r.projectPage(p)
			out[tp] = realTarget{int64(len(page)), allHashes(page)}
		}
	}
	for _, c := range r.st.Custom {
		out[c.Path] = realTarget{c.Length, c.Hashes}
	}
	return out
}

// safeRel turns a slash-separated path relative to base into a file path,
// refusing anything that would leave base.
func safeRel(base, rel string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) || path.Clean(rel) != rel {
		return "", fmt.Errorf("repogen: %q is not a clean relative path", rel)
	}
	return filepath.Join(base, filepath.FromSlash(rel)), nil
}
