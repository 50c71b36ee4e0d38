package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tufpip/tufpip/index"
	"github.com/tufpip/tufpip/index/packaging"
	"github.com/tufpip/tufpip/updater"
)

func TestCheckVerifiable(t *testing.T) {
	idx, _ := url.Parse("https://example.org/simple/")
	pep458 := index.Site{Layout: index.LayoutPEP458, IndexURL: idx}
	indexOnly := index.Site{Layout: index.LayoutIndexOnly, IndexURL: idx}
	noIndex := index.Site{Layout: index.LayoutPEP458}
	rc := repoConfig{Name: "r", Layout: "index-only"}
	for _, tc := range []struct {
		name        string
		offline     bool
		site        index.Site
		files, reqs int
		want        string
	}{
		{"files online", false, pep458, 2, 0, ""},
		{"files offline, dists signed", true, pep458, 2, 0, ""},
		{"requirements offline", true, pep458, 0, 1, "verify -r and --lock need the repository's index pages"},
		{"files offline, only pages signed", true, indexOnly, 1, 0, "the index-only layout signs index pages, not files"},
		{"requirements offline, only pages signed", true, indexOnly, 0, 1, "verify -r and --lock need"},
		{"only pages signed, online", false, indexOnly, 1, 0, ""},
		{"requirements without an index URL", false, noIndex, 0, 1, `repository "r" has no index URL`},
		{"files without an index URL, dists signed", false, noIndex, 1, 0, ""},
		{"only pages signed, no index URL", false, index.Site{Layout: index.LayoutIndexOnly}, 1, 0, "has no index URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkVerifiable(tc.offline, rc, tc.site, tc.files, tc.reqs)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			case err != nil:
				if _, _, code := describe(err); code != exitUsage {
					t.Errorf("exit code %d, want %d", code, exitUsage)
				}
			}
		})
	}
}

func TestVerifyTally(t *testing.T) {
	v, f, e := verifyResult{Status: statusVerified}, verifyResult{Status: statusFailed}, verifyResult{Status: statusError}
	for _, tc := range []struct {
		name           string
		files, reqs    []verifyResult
		code           int
		verified, fail int
	}{
		{"all verified", []verifyResult{v, v}, []verifyResult{v}, exitOK, 3, 0},
		{"a failed file", []verifyResult{v, f}, nil, exitFailed, 1, 1},
		{"not checked", []verifyResult{v, e}, nil, exitUsage, 1, 1},
		{"failed wins over not checked", []verifyResult{e}, []verifyResult{f}, exitFailed, 0, 2},
		{"failed wins in any order", []verifyResult{f, e}, nil, exitFailed, 0, 2},
		{"nothing", nil, nil, exitOK, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := verifyReport{Files: tc.files, Requirements: tc.reqs}
			code := rep.tally()
			if code != tc.code || rep.Verified != tc.verified || rep.Failed != tc.fail {
				t.Errorf("tally = %d (%d verified, %d failed), want %d (%d, %d)", code, rep.Verified, rep.Failed, tc.code, tc.verified, tc.fail)
			}
			err := verifyOutcome(code, &rep)
			switch code {
			case exitOK:
				if err != nil {
					t.Errorf("outcome %v", err)
				}
			case exitFailed:
				if !errors.Is(err, errSilent) {
					t.Errorf("outcome %v, want errSilent", err)
				}
			case exitUsage:
				msg, hint, c := describe(err)
				if c != exitUsage || !strings.Contains(msg, "could not be checked") || !strings.HasPrefix(hint, "see the lines above") {
					t.Errorf("outcome %q %q %d", msg, hint, c)
				}
			}
		})
	}
}

func TestRequirementFailures(t *testing.T) {
	for _, tc := range []struct {
		name, check, msg string
		record           func(*verifyResult)
	}{
		{"no page", "not-signed", `the repository has no project "a"`, func(r *verifyResult) { r.failPage("a", index.ErrProjectNotFound) }},
		{"page not signed", "not-signed", `the repository has no project "a"`, func(r *verifyResult) { r.failPage("a", fmt.Errorf("x: %w", updater.ErrNotSigned)) }},
		{"page failed otherwise", "not-signed", "boom", func(r *verifyResult) { r.failPage("a", errors.New("boom")) }},
		{"foreign file", "project", "a-1.whl: belongs to b", func(r *verifyResult) {
			r.failNoFiles([]index.Omission{{Filename: "a-1.whl", Reason: "belongs to b", Foreign: true}})
		}},
		{"unsigned file", "not-signed", "the index lists a-1.whl, but it is not signed by the repository (not in the bins)", func(r *verifyResult) {
			r.failNoFiles([]index.Omission{{Filename: "a-1.whl", Reason: "not in the bins"}})
		}},
		{"no file", "not-signed", "the repository signed no file of this release", func(r *verifyResult) { r.failNoFiles(nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r verifyResult
			tc.record(&r)
			if r.Status != statusFailed || r.Check != tc.check || r.Error != tc.msg {
				t.Errorf("got %s/%s %q, want failed/%s %q", r.Status, r.Check, r.Error, tc.check, tc.msg)
			}
		})
	}
}

func TestHashesNeeded(t *testing.T) {
	parse := func(line string) packaging.Requirement {
		rf, err := packaging.ParseRequirements(strings.NewReader(line+"\n"), 0)
		if err != nil || len(rf.Requirements) != 1 {
			t.Fatal(rf, err)
		}
		return rf.Requirements[0]
	}
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	one := parse("a==1 --hash=sha256:" + h('a'))
	three := parse("a==1 --hash=sha256:" + h('a') + " --hash=sha256:" + h('b') + " --hash=sha512:" + strings.Repeat("c", 128))
	for _, tc := range []struct {
		name    string
		req     packaging.Requirement
		have    map[string]string
		missing bool
	}{
		{"signed", one, map[string]string{"sha256": h('a')}, false},
		{"only blake2b signed", one, map[string]string{"blake2b-256": h('f')}, true},
		{"one of two algorithms", three, map[string]string{"sha256": h('a')}, true},
		{"both", three, map[string]string{"sha256": h('a'), "sha512": "x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := missingAlgorithm(tc.req, tc.have); got != tc.missing {
				t.Errorf("missingAlgorithm = %v, want %v", got, tc.missing)
			}
		})
	}
	if got := hashesMatch(one); got != "1 hash matches" {
		t.Errorf("hashesMatch(one) = %q", got)
	}
	if got := hashesMatch(three); got != "3 hashes match" {
		t.Errorf("hashesMatch(three) = %q", got)
	}
}
