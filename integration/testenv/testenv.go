// Package testenv holds what tests share about the environment they run
// in. It imports only the standard library, so any test package can use
// it.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI: CI=true (any case), as set
// by GitHub Actions, GitLab CI and .ci/run.
func InCI() bool { return strings.EqualFold(strings.TrimSpace(os.Getenv("CI")), "true") }

// MissingPrerequisite ends a test whose prerequisite (a program, a
// fixture, a kernel feature) is missing: in CI it fails, because there a
// missing prerequisite must never pass as a skipped test; elsewhere it
// skips. The message says what is missing.
func MissingPrerequisite(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("missing prerequisite in CI: "+format, args...)
	}
	t.Skipf(format, args...)
}
