package multirepo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tufpip/tufpip/updater"
)

// fakeSigned answers target lookups from a table per repository and
// records which repositories were asked.
type fakeSigned struct {
	mu    sync.Mutex
	asked []string
	sigs  map[string]map[string]updater.TargetInfo
	fail  map[string]error
}

func (f *fakeSigned) lookup(_ context.Context, repo, path string) (updater.TargetInfo, error) {
	f.mu.Lock()
	f.asked = append(f.asked, repo)
	f.mu.Unlock()
	if err := f.fail[repo]; err != nil {
		return updater.TargetInfo{}, err
	}
	if t, ok := f.sigs[repo][path]; ok {
		return t, nil
	}
	return updater.TargetInfo{}, fmt.Errorf("%s: %w", path, updater.ErrNotSigned)
}

func TestMapTarget(t *testing.T) {
	m, err := Parse([]byte(`{"repositories": {"corp": [], "mirror": [], "public": []}, "mapping": [
	  {"paths": ["corp/*", "*/*/*/corp_*"], "repositories": ["corp"], "threshold": 1, "terminating": true},
	  {"paths": ["shared/*"], "repositories": ["mirror", "public"], "threshold": 2},
	  {"paths": ["*/*"], "repositories": ["public"], "threshold": 1}]}`), registered)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ti(10, "sha256", shaA), ti(10, "sha256", shaB)
	expired := &updater.MetadataError{Role: "timestamp", Err: updater.ErrExpired}
	tests := []struct {
		name   string
		path   string
		sigs   map[string]map[string]updater.TargetInfo
		fail   map[string]error
		from   string   // serving repository; "" = refused
		asked  []string // repositories asked, sorted
		is     error    // the refusal unwraps to it
		reason []string
	}{
		{"terminating corp", "corp/corp.html", map[string]map[string]updater.TargetInfo{"corp": {"corp/corp.html": a}, "public": {"corp/corp.html": b}},
			nil, "corp", []string{"corp"}, nil, nil},
		{"terminating: public never asked even when corp lacks it", "corp/new.html", map[string]map[string]updater.TargetInfo{"public": {"corp/new.html": b}},
			nil, "", []string{"corp"}, updater.ErrNotSigned, []string{"none of corp signed it; corp: not signed by the repository; mapping 1 is terminating"}},
		{"consensus agrees", "shared/x.html", map[string]map[string]updater.TargetInfo{"mirror": {"shared/x.html": a}, "public": {"shared/x.html": a}},
			nil, "mirror", []string{"mirror", "public"}, nil, nil},
		{"consensus disagrees, not terminating: */* decides", "shared/x.html", map[string]map[string]updater.TargetInfo{"mirror": {"shared/x.html": a}, "public": {"shared/x.html": b}},
			nil, "public", []string{"mirror", "public", "public"}, nil, nil},
		{"one of two signs it, fallthrough", "shared/y.html", map[string]map[string]updater.TargetInfo{"public": {"shared/y.html": a}},
			nil, "public", []string{"mirror", "public", "public"}, nil, nil},
		{"expired repository is the cause", "corp/corp.html", nil, map[string]error{"corp": expired},
			"", []string{"corp"}, updater.ErrExpired, []string{"corp: "}},
		{"unmapped", "a/b/c", nil, nil, "", nil, nil, []string{"no mapping of the map file matches it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSigned{sigs: tt.sigs, fail: tt.fail}
			st, err := m.Target(context.Background(), tt.path, f.lookup)
			slices.Sort(f.asked)
			if strings.Join(f.asked, ",") != strings.Join(tt.asked, ",") {
				t.Errorf("asked %v, want %v", f.asked, tt.asked)
			}
			if tt.from != "" {
				if err != nil {
					t.Fatal(err)
				}
				if st.Repository != tt.from {
					t.Errorf("served from %q, want %q", st.Repository, tt.from)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted from %s", st.Repository)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err %v does not unwrap to %v", err, tt.is)
			}
			for _, s := range tt.reason {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q lacks %q", err.Error(), s)
				}
			}
		})
	}

	// Disagreement with no fallthrough names both repositories.
	strict, err := Parse([]byte(`{"repositories": {"mirror": [], "public": []}, "mapping": [{"paths": ["*/*"], "repositories": ["mirror", "public"], "threshold": 2, "terminating": true}]}`), registered)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSigned{sigs: map[string]map[string]updater.TargetInfo{"mirror": {"p/p.html": a}, "public": {"p/p.html": b}}}
	_, err = strict.Target(context.Background(), "p/p.html", f.lookup)
	if !errors.Is(err, updater.ErrNotSigned) {
		t.Fatalf("err %v, want ErrNotSigned", err)
	}
	for _, s := range []string{"disagree", "mirror (10 bytes", "public (10 bytes", "the mapping needs 2 that agree"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err.Error(), s)
		}
	}
	// The message names the mapping once, where it starts.
	if n := strings.Count(err.Error(), "mapping 1 (*/*)"); n != 1 {
		t.Errorf("%q names mapping 1 (*/*) %d times, want once", err.Error(), n)
	}
	// Too few signers: the same.
	f = &fakeSigned{sigs: map[string]map[string]updater.TargetInfo{"mirror": {"p/p.html": a}}}
	_, err = strict.Target(context.Background(), "p/p.html", f.lookup)
	if err == nil || strings.Count(err.Error(), "mapping 1 (*/*)") != 1 || !strings.Contains(err.Error(), "only mirror vouch(es) for it; the mapping needs 2 of mirror, public") {
		t.Errorf("one of two signers: %v; want the mapping named once and who vouched", err)
	}
}
