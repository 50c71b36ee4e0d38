package updater_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufpip/tufpip/integration/repogen"
	"github.com/tufpip/tufpip/updater"
)

// Tests of the downloads a refresh starts before the step that verifies
// them (tufRefresh.run): timestamp.json beside the root probe, the
// looked-up path's hash bin beside targets.json.

// reqLog records when each request to a test server started and ended, on
// one clock of events (a counter), so that tests can say which requests
// overlapped and which came strictly after which.
type reqLog struct {
	mu     sync.Mutex
	clock  int
	events []reqEvent
}

type reqEvent struct {
	path       string
	start, end int // end is 0 while in flight
}

func (l *reqLog) begin(path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock++
	l.events = append(l.events, reqEvent{path: path, start: l.clock})
	return len(l.events) - 1
}

func (l *reqLog) finish(i int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock++
	l.events[i].end = l.clock
}

func (l *reqLog) take() []reqEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.events
	l.events = nil
	return ev
}

// one returns the only request whose path matches re.
func one(t *testing.T, ev []reqEvent, re string) reqEvent {
	t.Helper()
	var found []reqEvent
	for _, e := range ev {
		if regexp.MustCompile(re).MatchString(e.path) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d requests match %s, want 1: %v", len(found), re, ev)
	}
	return found[0]
}

// overlapServer serves r and holds the answer to a request matching
// holdUntil's key until a request matching its value has arrived (at most
// 2 s): with the requests sent one after another the held one's partner
// never arrives while it waits. rewrite, if set, may replace a body.
type overlapServer struct {
	log       reqLog
	holdUntil map[*regexp.Regexp]*regexp.Regexp
	mu        sync.Mutex
	arrived   map[*regexp.Regexp]chan struct{}
	rewrite   func(path string, body []byte) []byte
}

func newOverlapServer(t *testing.T, r *repogen.Repo, hold map[string]string) (*overlapServer, string) {
	t.Helper()
	s := &overlapServer{holdUntil: map[*regexp.Regexp]*regexp.Regexp{}, arrived: map[*regexp.Regexp]chan struct{}{}}
	for held, partner := range hold {
		p := regexp.MustCompile(partner)
		s.holdUntil[regexp.MustCompile(held)] = p
		s.arrived[p] = make(chan struct{})
	}
	files := repogen.NewHandler(r.Dir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		i := s.log.begin(req.URL.Path)
		defer s.log.finish(i)
		s.mu.Lock()
		for p, ch := range s.arrived {
			if p.MatchString(req.URL.Path) && ch != nil {
				close(ch)
				s.arrived[p] = nil
			}
		}
		s.mu.Unlock()
		for held, partner := range s.holdUntil {
			if held.MatchString(req.URL.Path) {
				s.mu.Lock()
				ch := s.arrived[partner]
				s.mu.Unlock()
				if ch != nil {
					select {
					case <-ch:
					case <-time.After(2 * time.Second):
					}
				}
			}
		}
		if s.rewrite == nil {
			files.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		files.ServeHTTP(rec, req)
		body := s.rewrite(req.URL.Path, rec.Body.Bytes())
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL + "/"
}

// A cold lookup makes five metadata requests in three rounds: the root
// probe and timestamp.json together, then the snapshot, then targets.json
// and the path's bin together. Each held answer waits for its partner's
// request, which only a client that overlaps them sends in time; and
// nothing is requested before the role it depends on has been answered.
func TestColdLookupSequenceOverlaps(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 8}, repogen.SyntheticProjects(3))
	if err != nil {
		t.Fatal(err)
	}
	w := firstWheel(t, r)
	bin := r.BinFor(w.Path)
	binRE := `^/metadata/\d+\.` + bin + `\.json$`
	srv, base := newOverlapServer(t, r, map[string]string{
		`^/metadata/2\.root\.json$`:      `^/metadata/timestamp\.json$`,
		`^/metadata/\d+\.targets\.json$`: binRE,
	})
	dir := t.TempDir()
	u := newUpdater(t, base, r.TrustedRoot(), dir)
	ti, err := u.Target(context.Background(), w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if ti.Role != bin || ti.Length != w.Length {
		t.Fatalf("Target = %+v, want %s's %d bytes", ti, bin, w.Length)
	}
	ev := srv.log.take()
	if len(ev) != 5 {
		t.Fatalf("%d requests, want 5: %v", len(ev), ev)
	}
	probe := one(t, ev, `^/metadata/2\.root\.json$`)
	ts := one(t, ev, `^/metadata/timestamp\.json$`)
	snap := one(t, ev, `^/metadata/\d+\.snapshot\.json$`)
	targets := one(t, ev, `^/metadata/\d+\.targets\.json$`)
	b := one(t, ev, binRE)
	if ts.start > probe.end {
		t.Errorf("timestamp.json requested after the root probe was answered: %v", ev)
	}
	if b.start > targets.end {
		t.Errorf("the bin requested after targets.json was answered: %v", ev)
	}
	if snap.start < probe.end || snap.start < ts.end {
		t.Errorf("snapshot requested before the root probe and timestamp were answered: %v", ev)
	}
	if targets.start < snap.end || b.start < snap.end {
		t.Errorf("targets.json or the bin requested before the snapshot was answered: %v", ev)
	}
	// What the sequential workflow leaves on disk, no more.
	for _, name := range []string{"root.json", "timestamp.json", "snapshot.json", "targets.json", filepath.Join("delegated", bin+".json")} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not saved: %v", name, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "delegated", "*")); len(m) != 1 {
		t.Errorf("delegated directory holds %v, want just %s", m, bin)
	}
}

// A refresh with no path to look up (Refresh, Status) guesses no bin:
// four requests, the probe and timestamp.json together.
func TestRefreshSequenceWithoutHint(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, repogen.SyntheticProjects(2))
	if err != nil {
		t.Fatal(err)
	}
	srv, base := newOverlapServer(t, r, map[string]string{`^/metadata/2\.root\.json$`: `^/metadata/timestamp\.json$`})
	u := newUpdater(t, base, r.TrustedRoot(), t.TempDir())
	if err := u.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := srv.log.take()
	var paths []string
	for _, e := range ev {
		paths = append(paths, e.path)
	}
	if len(ev) != 4 {
		t.Fatalf("requests %v, want the probe, timestamp, snapshot, targets", paths)
	}
	probe, ts := one(t, ev, `^/metadata/2\.root\.json$`), one(t, ev, `^/metadata/timestamp\.json$`)
	if ts.start > probe.end {
		t.Errorf("timestamp.json requested after the root probe was answered: %v", ev)
	}
	if got := strings.Join(paths[2:], " "); got != "/metadata/1.snapshot.json /metadata/1.targets.json" {
		t.Errorf("then %s, want the snapshot, then targets", got)
	}
}

// A wrong guess of the bin is downloaded and never used: the server
// answers the guessed bin's first request with a forgery, the verified
// delegation sends the lookup to the right bin, and a later lookup of a
// target in the guessed bin fetches it anew (had the forgery been kept,
// it would fail verification there).
func TestWrongBinGuessUnused(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, repogen.SyntheticProjects(6))
	if err != nil {
		t.Fatal(err)
	}
	w := firstWheel(t, r)
	right := r.BinFor(w.Path)
	var wrong, other string // another bin, and a target it signs
	for p, ts := range r.Targets() {
		if ts.Bin != right {
			wrong, other = ts.Bin, p
			break
		}
	}
	if wrong == "" {
		t.Fatal("every target is in one bin")
	}
	wrongRE := regexp.MustCompile(`^/metadata/\d+\.` + wrong + `\.json$`)
	srv, base := newOverlapServer(t, r, nil)
	var forged atomic.Int32
	srv.rewrite = func(path string, body []byte) []byte {
		if wrongRE.MatchString(path) && forged.CompareAndSwap(0, 1) {
			return bytes.Replace(body, []byte(`"version": 1`), []byte(`"version": 7`), 1)
		}
		return body
	}
	dir := t.TempDir()
	u := newUpdater(t, base, r.TrustedRoot(), dir)
	var guessed []string
	updater.SetBinGuess(u, func(roles []string, path string) string {
		guessed = append(guessed, path)
		return wrong
	})
	ctx := context.Background()
	ti, err := u.Target(ctx, w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if ti.Role != right || ti.Length != w.Length {
		t.Fatalf("Target = %+v, want %s's %d bytes", ti, right, w.Length)
	}
	if len(guessed) != 1 || guessed[0] != w.Path || forged.Load() != 1 {
		t.Fatalf("guessed for %v, forged %d answers: the wrong guess was not downloaded", guessed, forged.Load())
	}
	if _, err := os.Stat(filepath.Join(dir, "delegated", wrong+".json")); err == nil {
		t.Fatal("the wrongly guessed bin was saved")
	}
	var fetched []string
	for _, e := range srv.log.take() {
		fetched = append(fetched, e.path)
	}
	if strings.Count(strings.Join(fetched, " "), "."+right+".json") != 1 {
		t.Fatalf("requests %v: want the right bin once", fetched)
	}
	ti, err = u.Target(ctx, other)
	if err != nil {
		t.Fatalf("target in the wrongly guessed bin: %v", err)
	}
	if ti.Role != wrong {
		t.Fatalf("Target(%s).Role = %s, want %s", other, ti.Role, wrong)
	}
	if ev := srv.log.take(); len(ev) != 1 || !wrongRE.MatchString(ev[0].path) {
		t.Fatalf("requests %v: want %s fetched anew", ev, wrong)
	}
}

// A bin downloaded beside targets.json and tampered with is refused with
// the error a bin downloaded after it gets, and is not saved.
func TestTamperedAheadBinRefused(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, repogen.SyntheticProjects(3))
	if err != nil {
		t.Fatal(err)
	}
	w := firstWheel(t, r)
	bin := r.BinFor(w.Path)
	binRE := regexp.MustCompile(`^/metadata/\d+\.` + bin + `\.json$`)
	srv, base := newOverlapServer(t, r, nil)
	srv.rewrite = func(path string, body []byte) []byte {
		if binRE.MatchString(path) {
			return bytes.Replace(body, []byte(`"length": `), []byte(`"length": 1`), 1)
		}
		return body
	}
	ctx := context.Background()
	lookup := func(refreshFirst bool) (error, []reqEvent) {
		dir := t.TempDir()
		u := newUpdater(t, base, r.TrustedRoot(), dir)
		if refreshFirst {
			if err := u.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, err := u.Target(ctx, w.Path)
		if m, _ := filepath.Glob(filepath.Join(dir, "delegated", "*")); len(m) != 0 {
			t.Errorf("tampered bin saved: %v", m)
		}
		return err, srv.log.take()
	}
	ahead, aheadReqs := lookup(false)
	after, _ := lookup(true)
	if n := len(aheadReqs); n != 5 {
		t.Fatalf("cold lookup made %d requests, want 5 (the bin once, beside targets.json): %v", n, aheadReqs)
	}
	one(t, aheadReqs, binRE.String())
	var me *updater.MetadataError
	if ahead == nil || !errors.As(ahead, &me) || me.Role != bin {
		t.Fatalf("tampered bin fetched ahead: err = %v, want a MetadataError about %s", ahead, bin)
	}
	if after == nil || ahead.Error() != after.Error() {
		t.Fatalf("tampered bin:\n fetched ahead: %v\n fetched after: %v", ahead, after)
	}
}

// A tampered timestamp fetched beside the root probe is refused as the
// timestamp, and nothing after it is requested or saved.
func TestTamperedAheadTimestampRefused(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, repogen.SyntheticProjects(2))
	if err != nil {
		t.Fatal(err)
	}
	srv, base := newOverlapServer(t, r, nil)
	srv.rewrite = func(path string, body []byte) []byte {
		if path == "/metadata/timestamp.json" {
			return bytes.Replace(body, []byte(`"version": `), []byte(`"version": 9`), 1)
		}
		return body
	}
	dir := t.TempDir()
	u := newUpdater(t, base, r.TrustedRoot(), dir)
	_, err = u.Target(context.Background(), firstWheel(t, r).Path)
	var me *updater.MetadataError
	if !errors.As(err, &me) || me.Role != "timestamp" || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("err = %v, want the timestamp's signature refused", err)
	}
	if ev := srv.log.take(); len(ev) != 2 {
		t.Fatalf("requests %v, want only the probe and timestamp", ev)
	}
	if _, err := os.Stat(filepath.Join(dir, "timestamp.json")); err == nil {
		t.Fatal("tampered timestamp saved")
	}
}

// When the root probe finds a new root, the timestamp fetched beside it
// is not used: timestamp.json is fetched again after the last probe, as
// the sequential order fetches it. Here the first answer is the timestamp
// from before an online key rotation (signed by the key the new root
// drops), which the new root refuses; the refetched one verifies.
func TestRootRotationRefetchesTimestamp(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, repogen.SyntheticProjects(2))
	if err != nil {
		t.Fatal(err)
	}
	root := r.TrustedRoot()
	oldTS, err := os.ReadFile(filepath.Join(r.Dir(), "metadata", "timestamp.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RotateOnlineKey(); err != nil {
		t.Fatal(err)
	}
	srv, base := newOverlapServer(t, r, map[string]string{`^/metadata/2\.root\.json$`: `^/metadata/timestamp\.json$`})
	var mu sync.Mutex
	served := 0
	srv.rewrite = func(path string, body []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		if path == "/metadata/timestamp.json" {
			if served++; served == 1 {
				return oldTS
			}
		}
		return body
	}
	u := newUpdater(t, base, root, t.TempDir())
	if err := u.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh after a root rotation: %v", err)
	}
	ev := srv.log.take()
	var tss []reqEvent
	for _, e := range ev {
		if e.path == "/metadata/timestamp.json" {
			tss = append(tss, e)
		}
	}
	probe3 := one(t, ev, `^/metadata/3\.root\.json$`)
	if len(tss) != 2 || tss[0].start > one(t, ev, `^/metadata/2\.root\.json$`).end || tss[1].start < probe3.end {
		t.Fatalf("requests %v: want timestamp.json beside the first probe and again after the last", ev)
	}
}

// Verified roles are written in the background while the next download
// runs, but a failed write still ends the refresh with that role's
// "saving trusted" error, writes nothing after it and leaves no
// temporary file. A directory where timestamp.json goes makes the write
// fail even for root.
func TestFailedSaveEndsRefresh(t *testing.T) {
	r, err := repogen.Generate(repogen.Options{Dir: filepath.Join(t.TempDir(), "repo"), BitLength: 4}, repogen.SyntheticProjects(2))
	if err != nil {
		t.Fatal(err)
	}
	srv, base := newOverlapServer(t, r, nil)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "timestamp.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	u := newUpdater(t, base, r.TrustedRoot(), dir)
	err = u.Refresh(context.Background())
	var me *updater.MetadataError
	if err == nil || errors.As(err, &me) || !strings.HasPrefix(err.Error(), "saving trusted timestamp: ") {
		t.Fatalf("err = %v, want saving trusted timestamp failed (not a verdict on the repository)", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "root.json timestamp.json" {
		t.Fatalf("metadata directory holds %s, want only root.json (and the obstacle)", got)
	}
	// The snapshot was being downloaded while timestamp.json was written;
	// targets never.
	for _, e := range srv.log.take() {
		if strings.Contains(e.path, "targets") {
			t.Fatalf("requested %s after the failed write", e.path)
		}
	}
}
