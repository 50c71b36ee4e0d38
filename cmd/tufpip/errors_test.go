package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/index/multirepo"
	"github.com/tufpip/tufpip/updater"
)

func TestDescribeHints(t *testing.T) {
	hinted := usagef("no repository configured").withHint("register one with %q", "tufpip init")
	for _, tc := range []struct {
		name      string
		err       error
		msg, hint string
		code      int
	}{
		{"usage, no hint", usagef("invalid --jobs %d: want at least 1", 0), "invalid --jobs 0: want at least 1", "", exitUsage},
		{"usage with hint", hinted, "no repository configured", `register one with "tufpip init"`, exitUsage},
		{"wrapped keeps the hint", fmt.Errorf("opening session: %w", hinted), "opening session: no repository configured", `register one with "tufpip init"`, exitUsage},
		{"hint is escaped", usagef("m").withHint("a\x1b[31mb"), "m", `a\x1b[31mb`, exitUsage},
		{"typed error's hint", fmt.Errorf("x: %w", updater.ErrNotSigned), "x: " + updater.ErrNotSigned.Error(), "the repository has not signed this file or page, so tufpip will not serve it", exitFailed},
		{"plain error", errors.New("boom"), "boom", "", exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, hint, code := describe(tc.err)
			if msg != tc.msg || hint != tc.hint || code != tc.code {
				t.Errorf("describe = %q, %q, %d; want %q, %q, %d", msg, hint, code, tc.msg, tc.hint, tc.code)
			}
		})
	}
}

// TestDescribeMapRefusals: a map file's refusal of a target gets a hint
// about the map, not the single repository's; one caused by a
// repository's failure keeps that failure's hint.
func TestDescribeMapRefusals(t *testing.T) {
	mp := multirepo.Mapping{Index: 0, Paths: []string{"*/*"}, Repositories: []string{"mirror", "public"}, Threshold: 2, Terminating: true}
	refused := func(cause error) error {
		return &multirepo.NotResolvedError{Project: "p/p.html", Terminated: true, Tried: []*multirepo.ConsensusError{{
			Mapping: mp, Target: "p/p.html", Reason: "the repositories disagree on its length and hashes: …",
			Failures: []multirepo.RepoFailure{{Repository: "public", Err: cause}}}}}
	}
	notSigned := fmt.Errorf("p/p.html: %w", updater.ErrNotSigned)
	expired := &updater.MetadataError{Role: "timestamp", Err: updater.ErrExpired}
	for _, tc := range []struct {
		name      string
		err       error
		hint, not string
		code      int
	}{
		{"refused by the mapping", refused(notSigned), "the map file gives it only to the repositories of the mapping named above", "the repository has not signed", exitFailed},
		{"a repository expired", refused(expired), "the repository's signed metadata has expired", "the map file gives it", exitUsage},
		{"unmapped", &multirepo.UnmappedError{Project: "a/b/c"}, "add a mapping whose paths match it", "the repository has not signed", exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, hint, code := describe(tc.err)
			if !strings.Contains(hint, tc.hint) || strings.Contains(hint, tc.not) || code != tc.code {
				t.Errorf("describe = %q, %q, %d; want a hint with %q (not %q), exit %d", msg, hint, code, tc.hint, tc.not, tc.code)
			}
			if n := strings.Count(msg, "mapping 1 (*/*)"); tc.name != "unmapped" && n != 1 {
				t.Errorf("%q names mapping 1 (*/*) %d times, want once", msg, n)
			}
		})
	}
}

func TestReportErrorHintLine(t *testing.T) {
	var b bytes.Buffer
	code := reportError(&b, usagef("%s already exists; not overwriting it", "pip.conf").withHint("add this to it by hand:\n%s", "[global]\nindex-url = X"))
	want := "tufpip: pip.conf already exists; not overwriting it\nhint: add this to it by hand:\n[global]\nindex-url = X\n"
	if code != exitUsage || b.String() != want {
		t.Errorf("reportError = %d, %q; want %d, %q", code, b.String(), exitUsage, want)
	}
}
