package testenv

import (
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how the test ended.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
	runtime.Goexit() // as testing.T does
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = true
	r.msg = format
	runtime.Goexit()
}

func TestMissingPrerequisite(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		fail, skip bool
	}{
		{"true", true, false},
		{"TRUE", true, false},
		{" true\n", true, false},
		{"", false, true},
		{"false", false, true},
		{"1", false, true},
	} {
		t.Run(tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				MissingPrerequisite(r, "faketime not installed: %v", "x")
			}()
			<-done
			if r.failed != tc.fail || r.skipped != tc.skip {
				t.Errorf("CI=%q: failed %v skipped %v, want %v %v", tc.ci, r.failed, r.skipped, tc.fail, tc.skip)
			}
		})
	}
}
