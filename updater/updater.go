// Package updater is tufpip's only door to go-tuf: it bootstraps trust in
// a repository's root, runs the TUF client workflow, looks up signed
// target info (hash bins included) and verifies artifacts as they stream.
//
// go-tuf's trusted metadata is not safe for concurrent use and its
// reference time is fixed when a refresh starts. This package wraps it in
// epochs: one refresh (go-tuf's Updater.Refresh, step for step, with a
// faster snapshot check; see refresh.go), then read-only lookups under a
// mutex, replaced by a new epoch when the freshness window passes or the
// timestamp nears expiry.
package updater

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"golang.org/x/sync/singleflight"

	"github.com/tufpip/tufpip/updater/httpx"
)

// Limits bound what a repository may make us download and walk.
type Limits struct {
	RootMaxLength      int64
	TimestampMaxLength int64
	SnapshotMaxLength  int64
	TargetsMaxLength   int64
	MaxRootRotations   int64
	MaxDelegations     int

	// Slow-retrieval bounds for each metadata file: it must arrive whole
	// within MetadataTimeout, never stall for MetadataIdle, and keep an
	// average of MetadataMinRate bytes/s once MetadataRateGrace has passed.
	MetadataTimeout   time.Duration
	MetadataIdle      time.Duration
	MetadataMinRate   float64
	MetadataRateGrace time.Duration
}

// DefaultLimits suit PEP 458 at PyPI scale: a 16,384-bin snapshot is
// about 0.85 MB.
func DefaultLimits() Limits {
	return Limits{
		RootMaxLength:      512 << 10,
		TimestampMaxLength: 16 << 10,
		SnapshotMaxLength:  4 << 20,
		TargetsMaxLength:   8 << 20,
		MaxRootRotations:   256,
		MaxDelegations:     32,
		MetadataTimeout:    2 * time.Minute,
		MetadataIdle:       30 * time.Second,
		MetadataMinRate:    2048,
		MetadataRateGrace:  10 * time.Second,
	}
}

// withDefaults fills each zero field of l from DefaultLimits, so that a
// test may set one bound and keep the others.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.RootMaxLength = cmp.Or(l.RootMaxLength, d.RootMaxLength)
	l.TimestampMaxLength = cmp.Or(l.TimestampMaxLength, d.TimestampMaxLength)
	l.SnapshotMaxLength = cmp.Or(l.SnapshotMaxLength, d.SnapshotMaxLength)
	l.TargetsMaxLength = cmp.Or(l.TargetsMaxLength, d.TargetsMaxLength)
	l.MaxRootRotations = cmp.Or(l.MaxRootRotations, d.MaxRootRotations)
	l.MaxDelegations = cmp.Or(l.MaxDelegations, d.MaxDelegations)
	l.MetadataTimeout = cmp.Or(l.MetadataTimeout, d.MetadataTimeout)
	l.MetadataIdle = cmp.Or(l.MetadataIdle, d.MetadataIdle)
	l.MetadataMinRate = cmp.Or(l.MetadataMinRate, d.MetadataMinRate)
	l.MetadataRateGrace = cmp.Or(l.MetadataRateGrace, d.MetadataRateGrace)
	return l
}

// DefaultRefreshTimeout is Config.RefreshTimeout's default: a refresh
// fetches a handful of files, each bounded by its own slow-retrieval
// limits (2 minutes at most).
const DefaultRefreshTimeout = 5 * time.Minute

// Config describes one repository and how to trust it.
type Config struct {
	// MetadataURL is where the repository publishes TUF metadata.
	MetadataURL string
	// MetadataDir holds the trusted metadata between runs, under
	// unversioned names (root.json, timestamp.json, ...).
	MetadataDir string
	// DelegatedDir holds the verified delegated targets roles (bins), each
	// as <path-escaped role name>.json. Default: the "delegated"
	// subdirectory of MetadataDir, so that no role name can reach the
	// top-level roles' files or tufpip's state files. The conformance
	// client sets MetadataDir itself, the layout its suite expects: safe
	// too, since delegated roles named like top-level roles are refused.
	DelegatedDir string
	// BootstrapRoot is the root to start from when MetadataDir holds none
	// (or an older one): shipped, embedded or trusted on first use.
	BootstrapRoot []byte
	// HTTPClient fetches metadata; NewHTTPClient's by default.
	HTTPClient *http.Client
	// Window is how long trusted metadata is reused before the repository
	// is asked again. Within it, a new process answers lookups from the
	// verified files in MetadataDir without re-reading the snapshot; an
	// in-process epoch is reused. 0 disables reuse across processes (an
	// in-process epoch then lives until Refresh or near expiry).
	Window time.Duration
	// ExpiryMargin: an epoch whose earliest expiry is closer than this is
	// replaced. Default 1 minute.
	ExpiryMargin time.Duration
	// RefreshTimeout bounds one run of the TUF workflow. A refresh is
	// shared by every caller that needs it at the time and runs detached
	// from any one caller's context (a client that hangs up must not fail
	// the others); each caller waits on its own. Default 5 minutes.
	RefreshTimeout time.Duration
	// Offline answers only from MetadataDir, never the network; expired
	// metadata is still refused.
	Offline bool
	// Now is the clock; time.Now by default (see ClockFromEnv).
	Now func() time.Time
	// Lock serializes refreshes across processes sharing MetadataDir.
	Lock func(ctx context.Context) (unlock func() error, err error)
	// Limits bound what the repository may make us download and walk;
	// each zero field takes DefaultLimits' value.
	Limits Limits
	Logger *slog.Logger
}

// Updater answers "what did the repository sign for this path?". It is
// safe for concurrent use.
type Updater struct {
	cfg Config

	mu  sync.Mutex
	cur *epoch

	sf singleflight.Group
	// refreshWaiting, when set (by tests), is called once a caller of
	// refresh is registered with the shared refresh and about to wait.
	refreshWaiting func()
	// guessBin names the hash bin a refresh downloads beside targets.json
	// for the path being looked up (guessSuccinctBin; tests swap it).
	guessBin func(snapshotMeta map[string]*metadata.MetaFiles, targetPath string) string
}

// New checks cfg and returns an Updater. It does no network I/O.
func New(cfg Config) (*Updater, error) {
	if cfg.MetadataURL == "" {
		return nil, errors.New("no metadata URL configured")
	}
	if !strings.HasSuffix(cfg.MetadataURL, "/") {
		cfg.MetadataURL += "/"
	}
	if cfg.MetadataDir == "" {
		return nil, errors.New("no metadata directory configured")
	}
	if cfg.DelegatedDir == "" {
		cfg.DelegatedDir = filepath.Join(cfg.MetadataDir, "delegated")
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = DefaultRefreshTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = httpx.NewClient(httpx.Options{Logger: cfg.Logger})
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExpiryMargin == 0 {
		cfg.ExpiryMargin = time.Minute
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.MetadataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating metadata directory: %w", err)
	}
	return &Updater{cfg: cfg, guessBin: guessSuccinctBin}, nil
}

// Config returns the configuration in use, defaults filled in.
func (u *Updater) Config() Config { return u.cfg }

// ClockFromEnv returns time.Now, unless FAKETIME is set: libfaketime
// fakes the clock through libc, which Go bypasses, so then "now" is read
// from `date +%s`, which does go through libc.
func ClockFromEnv() func() time.Time {
	if os.Getenv("FAKETIME") == "" {
		return time.Now
	}
	return func() time.Time {
		out, err := exec.Command("date", "+%s").Output()
		if err != nil {
			return time.Now()
		}
		s, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			return time.Now()
		}
		return time.Unix(s, 0)
	}
}

// Refresh runs the full TUF client workflow now (root rotation,
// timestamp, snapshot, targets) and makes the result the current epoch.
func (u *Updater) Refresh(ctx context.Context) error {
	if u.cfg.Offline {
		_, err := u.loadDiskEpoch(ctx, true)
		return err
	}
	_, err := u.refresh(ctx, "")
	return err
}

// refresh runs the TUF workflow once for every caller that asks while it
// runs. It runs detached from the callers' contexts, under its own
// timeout, so that one caller giving up (a pip that hangs up on the
// proxy) does not fail the refresh for the others; each caller stops
// waiting when its own ctx is done. hint, if not "", is the target path
// the caller looks up next: the refresh that starts fetches its hash bin
// beside targets.json (see tufRefresh.hint); callers that join a running
// refresh do not change what it fetches.
func (u *Updater) refresh(ctx context.Context, hint string) (*epoch, error) {
	detached := context.WithoutCancel(ctx)
	ch := u.sf.DoChan("\x00refresh", func() (any, error) {
		rctx, cancel := context.WithTimeout(detached, u.cfg.RefreshTimeout)
		defer cancel()
		e, err := u.newOnlineEpoch(rctx, hint)
		if err != nil {
			return nil, err
		}
		u.mu.Lock()
		u.cur = e
		u.mu.Unlock()
		return e, nil
	})
	if u.refreshWaiting != nil {
		u.refreshWaiting()
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*epoch), nil
	}
}

// current returns an epoch that may be used now, building one if needed
// (hint as for refresh).
func (u *Updater) current(ctx context.Context, hint string) (*epoch, error) {
	now := u.cfg.Now()
	u.mu.Lock()
	e := u.cur
	u.mu.Unlock()
	if e != nil && e.usable(now, u.cfg) {
		return e, nil
	}
	if u.cfg.Offline {
		return u.loadDiskEpoch(ctx, true)
	}
	if e == nil && u.cfg.Window > 0 {
		if de, err := u.loadDiskEpoch(ctx, false); err == nil {
			return de, nil
		} else {
			u.cfg.Logger.Debug("cached metadata not reusable, refreshing", "reason", err)
		}
	}
	return u.refresh(ctx, hint)
}

// Target returns what the repository signed for targetPath. Errors:
// ErrNotSigned (wrapped) when no role lists it; *MetadataError when the
// metadata fails verification; *NetworkError when the repository cannot
// be reached.
func (u *Updater) Target(ctx context.Context, targetPath string) (TargetInfo, error) {
	if err := ValidTargetPath(targetPath); err != nil {
		return TargetInfo{}, fmt.Errorf("%q: %w: %v", targetPath, ErrNotSigned, err)
	}
	e, err := u.current(ctx, targetPath)
	if err != nil {
		return TargetInfo{}, err
	}
	ti, err := e.lookup(ctx, targetPath)
	var stale *staleError
	if errors.As(err, &stale) && !u.cfg.Offline {
		// The disk epoch could not answer (a bin not cached or out of
		// date): do the full workflow once.
		u.cfg.Logger.Debug("cached metadata incomplete, refreshing", "reason", err)
		if e, err = u.refresh(ctx, targetPath); err != nil {
			return TargetInfo{}, err
		}
		ti, err = e.lookup(ctx, targetPath)
	}
	return ti, err
}

// TrustedTarget answers like Target, but only from the metadata this
// Updater already trusts, never refreshing: the current epoch, even when
// its freshness window has passed. It is what the repository signed as of
// the newest metadata verified, for deciding whether something verified
// earlier still stands when the repository cannot be asked. snapshot is
// that metadata's snapshot version, also when the path is not signed.
// Expired metadata is refused; a bin the epoch has not loaded yet is
// fetched (and verified) as in Target, and fails if the repository is
// unreachable.
func (u *Updater) TrustedTarget(ctx context.Context, targetPath string) (ti TargetInfo, snapshot int64, err error) {
	u.mu.Lock()
	e := u.cur
	u.mu.Unlock()
	if e == nil {
		return TargetInfo{}, 0, errors.New("no metadata trusted yet in this process")
	}
	snapshot = e.status.Roles["snapshot"].Version
	if err := ValidTargetPath(targetPath); err != nil {
		return TargetInfo{}, snapshot, fmt.Errorf("%q: %w: %v", targetPath, ErrNotSigned, err)
	}
	now := u.cfg.Now()
	for _, role := range []string{"root", "timestamp", "snapshot", "targets"} {
		if rs := e.status.Roles[role]; !rs.Expires.IsZero() && !now.Before(rs.Expires) {
			return TargetInfo{}, snapshot, &MetadataError{Role: role, Err: fmt.Errorf("%w: trusted %s version %d expired at %s", ErrExpired, role, rs.Version, rs.Expires.Format(time.RFC3339))}
		}
	}
	ti, err = e.lookup(ctx, targetPath)
	return ti, snapshot, err
}

// Status describes the trusted metadata of the current epoch, building
// one if there is none.
func (u *Updater) Status(ctx context.Context) (Status, error) {
	e, err := u.current(ctx, "")
	if err != nil {
		return Status{}, err
	}
	st := e.status
	st.MetadataURL = httpx.RedactURL(st.MetadataURL) // shown on status pages
	return st, nil
}

// FetchStats reports what the current epoch fetched.
func (u *Updater) FetchStats() (requests, bytes int64) {
	u.mu.Lock()
	e := u.cur
	u.mu.Unlock()
	if e == nil || e.fetcher == nil {
		return 0, 0
	}
	return e.fetcher.requests.Load(), e.fetcher.bytes.Load()
}

// RoleStatus is one role's trusted version and expiry.
type RoleStatus struct {
	Version   int64     `json:"version"`
	Expires   time.Time `json:"expires"`
	Keys      int       `json:"keys,omitempty"`
	Threshold int       `json:"threshold,omitempty"`
}

// Status summarises the trusted metadata.
type Status struct {
	MetadataURL string                `json:"metadata_url"`
	Roles       map[string]RoleStatus `json:"roles"`
	Bins        int                   `json:"bins"`
	// ConsistentSnapshot is the root's flag: metadata and (generic TUF)
	// targets are fetched under versioned or hash-prefixed names.
	ConsistentSnapshot bool      `json:"consistent_snapshot"`
	BinPrefix          string    `json:"bin_prefix,omitempty"`
	BitLength          int       `json:"bit_length,omitempty"`
	RefreshedAt        time.Time `json:"refreshed_at"`
	// Source is "network" for a fresh refresh, "cache" when answered from
	// the metadata directory inside the freshness window or offline.
	Source string `json:"source"`
}

// readRoot picks the newest of the cached root and the bootstrap root.
func (u *Updater) readRoot() ([]byte, error) {
	cached, err := os.ReadFile(filepath.Join(u.cfg.MetadataDir, "root.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading cached root: %w", err)
	}
	boot := u.cfg.BootstrapRoot
	switch {
	case len(cached) == 0 && len(boot) == 0:
		return nil, ErrNoTrustedRoot
	case len(cached) == 0:
		return boot, nil
	case len(boot) == 0:
		return cached, nil
	}
	if rootVersion(boot) > rootVersion(cached) {
		return boot, nil
	}
	return cached, nil
}

func rootVersion(b []byte) int64 {
	var m struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if json.Unmarshal(b, &m) != nil {
		return -1
	}
	return m.Signed.Version
}

func (u *Updater) newOnlineEpoch(ctx context.Context, hint string) (*epoch, error) {
	if u.cfg.Lock != nil {
		unlock, err := u.cfg.Lock(ctx)
		if err != nil {
			return nil, fmt.Errorf("locking metadata directory: %w", err)
		}
		defer unlock()
	}
	root, err := u.readRoot()
	if err != nil {
		return nil, err
	}
	f := &tufFetcher{client: u.cfg.HTTPClient, limits: u.cfg.Limits}
	f.setContext(ctx)
	now := u.cfg.Now()
	tr, err := newTUFRefresh(u.cfg.MetadataURL, u.cfg.MetadataDir, root, f, u.cfg.Limits, now)
	if err != nil {
		var ve *metadata.ErrValue
		var te *metadata.ErrType
		if errors.Is(err, &metadata.ErrRepository{}) || errors.As(err, &ve) || errors.As(err, &te) || errors.As(err, new(*json.SyntaxError)) {
			return nil, &MetadataError{Role: "root", Err: fmt.Errorf("trusted root does not load: %w", err)}
		}
		return nil, fmt.Errorf("starting TUF client: %w", err)
	}
	tr.hint, tr.guessBin = hint, u.guessBin
	tr.binPath = func(role string) string { return delegatedPath(u.cfg, role) }
	tu, err := tr.run()
	if err != nil {
		return nil, classify(err, failedRole(err, tr.trusted, f.role()))
	}
	e := &epoch{tuf: tu, fetcher: f, cfg: u.cfg, refreshedAt: now, verified: map[[2]string]bool{}, predownloaded: tu.predownloaded}
	e.status = statusOf(tu.GetTrustedMetadataSet(), u.cfg.MetadataURL, now, "network")
	if err := writeDiskState(u.cfg.MetadataDir, tu.GetTrustedMetadataSet(), now, tu.snapshotNames); err != nil {
		u.cfg.Logger.Warn("could not record refresh state", "err", err)
	}
	f.setContext(nil)
	return e, nil
}

func statusOf(t metadataSet, url string, now time.Time, source string) Status {
	s := Status{MetadataURL: url, Roles: map[string]RoleStatus{}, RefreshedAt: now, Source: source}
	if t.Root != nil {
		rs := RoleStatus{Version: t.Root.Signed.Version, Expires: t.Root.Signed.Expires}
		if r := t.Root.Signed.Roles[metadata.ROOT]; r != nil {
			rs.Keys, rs.Threshold = len(r.KeyIDs), r.Threshold
		}
		s.Roles["root"] = rs
		s.ConsistentSnapshot = t.Root.Signed.ConsistentSnapshot
		for _, name := range []string{metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
			if r := t.Root.Signed.Roles[name]; r != nil {
				s.Roles[name] = RoleStatus{Keys: len(r.KeyIDs), Threshold: r.Threshold}
			}
		}
	}
	if t.Timestamp != nil {
		rs := s.Roles["timestamp"]
		rs.Version, rs.Expires = t.Timestamp.Signed.Version, t.Timestamp.Signed.Expires
		s.Roles["timestamp"] = rs
	}
	if t.Snapshot != nil {
		rs := s.Roles["snapshot"]
		rs.Version, rs.Expires = t.Snapshot.Signed.Version, t.Snapshot.Signed.Expires
		s.Roles["snapshot"] = rs
	}
	if tg := t.Targets[metadata.TARGETS]; tg != nil {
		rs := s.Roles["targets"]
		rs.Version, rs.Expires = tg.Signed.Version, tg.Signed.Expires
		s.Roles["targets"] = rs
		if d := tg.Signed.Delegations; d != nil {
			if sr := d.SuccinctRoles; sr != nil {
				s.Bins, s.BinPrefix, s.BitLength = 1<<sr.BitLength, sr.NamePrefix, sr.BitLength
			} else {
				s.Bins = len(d.Roles)
			}
		}
	}
	return s
}

// failedRole names the role a failed refresh is about: the one in flight
// (inFlight), except when go-tuf found the final root expired. It notices
// that while loading the timestamp, so the timestamp is in flight, and
// its error is a plain *metadata.ErrExpiredMetadata like any other
// role's: go-tuf gives no type or field naming the expired role, only
// message text. The trusted root's own expiry at the reference time is
// what go-tuf checked, so it decides here, not the message.
func failedRole(err error, t *trustedmetadata.TrustedMetadata, inFlight string) string {
	if errors.Is(err, &metadata.ErrExpiredMetadata{}) && t.Root != nil && t.Root.Signed.IsExpired(t.RefTime) {
		return metadata.ROOT
	}
	return inFlight
}

// classify turns go-tuf's errors into tufpip's three kinds.
func classify(err error, role string) error {
	if err == nil {
		return nil
	}
	var netErr *NetworkError
	var metaErr *MetadataError
	if errors.As(err, &netErr) || errors.As(err, &metaErr) {
		return err
	}
	var httpErr *metadata.ErrDownloadHTTP
	if errors.As(err, &httpErr) {
		return &NetworkError{URL: httpErr.URL, Err: &httpx.StatusError{StatusCode: httpErr.StatusCode}}
	}
	if errors.Is(err, &metadata.ErrExpiredMetadata{}) {
		return &MetadataError{Role: role, Err: fmt.Errorf("%w: %v", ErrExpired, err)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// Writing a verified role to the metadata directory failed (a full or
	// read-only disk): a local problem, not a verdict on the repository.
	var pathErr *fs.PathError
	var linkErr *os.LinkError
	if errors.As(err, &pathErr) || errors.As(err, &linkErr) {
		return fmt.Errorf("saving trusted %s: %w", role, err)
	}
	return &MetadataError{Role: role, Err: err}
}
