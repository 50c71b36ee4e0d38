package index

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRequiresDist(t *testing.T) {
	md := "Metadata-Version: 2.1\r\nName: app\r\nVersion: 1.0\r\n" +
		"Requires-Dist: Lib_One>=1.0\r\n" +
		"requires-dist: docs-tool ; extra == \"docs\"\r\n" +
		"Requires-Dist: win-only; sys_platform == \"win32\"\r\n" +
		"Requires-Dist: lib-one[x] (<2)\r\n" +
		"Requires-Dist: long-name\r\n  >=2\r\n" +
		"Requires-Dist: not valid !!\r\n" +
		"Summary: x\r\n\r\n" +
		"Requires-Dist: in-the-body\r\n"
	names, err := RequiresDist(strings.NewReader(md))
	want := []string{"lib-one", "win-only", "long-name", "docs-tool"}
	if !slices.Equal(names, want) {
		t.Errorf("RequiresDist = %q, want %q", names, want)
	}
	if err == nil {
		t.Errorf("an invalid Requires-Dist was not reported")
	}
}

// Do runs one fetch for concurrent callers; a caller that goes away does
// not cancel it for the others.
func TestPageCacheDoCollapsesAndDetaches(t *testing.T) {
	pc := &PageCache{TTL: time.Minute}
	var calls atomic.Int32
	release := make(chan struct{})
	fetch := func(ctx context.Context, name string) (*VerifiedPage, bool, error) {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		vp := &VerifiedPage{Name: name}
		pc.Put(vp)
		return vp, false, nil
	}
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, _, err := pc.Do(leaderCtx, "lib", fetch)
		leaderErr <- err
	}()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	got := make([]*VerifiedPage, 5)
	for i := range got {
		wg.Go(func() {
			vp, _, err := pc.Do(context.Background(), "lib", fetch)
			if err != nil {
				t.Errorf("follower: %v", err)
			}
			got[i] = vp
		})
	}
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the leader whose ctx ended: %v, want context.Canceled", err)
	}
	time.Sleep(20 * time.Millisecond) // followers are waiting
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
	for _, vp := range got {
		if vp == nil || vp.Name != "lib" {
			t.Fatalf("a follower got %v", vp)
		}
	}
	if _, ok := pc.Get("lib"); !ok {
		t.Errorf("the fetch, detached from the leader, did not memoize the page")
	}
}

// The pool runs at most Workers verifications at once, each name once,
// and a file starts at most PerRequest of them.
func TestPrefetcherBounded(t *testing.T) {
	pc := &PageCache{TTL: time.Minute}
	var running, peak atomic.Int32
	var mu sync.Mutex
	seen := map[string]int{}
	pf := &Prefetcher{Pages: pc, Workers: 2, PerRequest: 8,
		Verify: func(ctx context.Context, name string) (*VerifiedPage, bool, error) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			seen[name]++
			mu.Unlock()
			if name == "dep-3" {
				return nil, false, errors.New("failed verification")
			}
			vp := &VerifiedPage{Name: name}
			pc.Put(vp)
			return vp, false, nil
		}}
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("Dep_%d", i))
	}
	pf.Enqueue(context.Background(), names...)
	pf.Enqueue(context.Background(), names[:3]...) // queued or done already
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := pf.Stats()
		if st.Verified+st.Failed == 8 && st.Running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prefetch did not finish: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := pf.Stats()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d verifications at once, want at most 2", p)
	}
	if st.Verified != 7 || st.Failed != 1 || st.Dropped != 2 {
		t.Errorf("stats %+v, want 7 verified, 1 failed, 2 dropped over the budget", st)
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s verified %d times", name, n)
		}
	}
	if _, ok := pc.Get("dep-3"); ok {
		t.Errorf("a failed prefetch left a page in the cache")
	}
	if _, ok := pc.Get("dep-9"); ok {
		t.Errorf("a name over the budget was prefetched")
	}
	// A failure is not remembered: asked again, it is tried again.
	pf.Enqueue(context.Background(), "dep-3")
	for pf.Stats().Failed < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("dep-3 was not tried again")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
