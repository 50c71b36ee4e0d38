package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

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

func TestReportErrorHintLine(t *testing.T) {
	var b bytes.Buffer
	code := reportError(&b, usagef("%s already exists; not overwriting it", "pip.conf").withHint("add this to it by hand:\n%s", "[global]\nindex-url = X"))
	want := "tufpip: pip.conf already exists; not overwriting it\nhint: add this to it by hand:\n[global]\nindex-url = X\n"
	if code != exitUsage || b.String() != want {
		t.Errorf("reportError = %d, %q; want %d, %q", code, b.String(), exitUsage, want)
	}
}
