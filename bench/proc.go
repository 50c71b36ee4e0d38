package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result of one process run.
type result struct {
	wall   time.Duration
	maxRSS int64 // bytes
	out    []byte
}

// timeBin is GNU time, when installed. A child's ru_maxrss as Go's
// os/exec reports it is not the child's own: Go starts children with
// vfork semantics, so until exec the child counts the parent's pages
// (hundreds of MiB here). GNU time's child starts from a small process.
var timeBin, _ = exec.LookPath("/usr/bin/time")

// run runs a program to completion and reports its wall time and peak RSS
// (via GNU time where available, else wait4's rusage, which overstates a
// small child of a big parent).
func run(env []string, name string, args ...string) (result, error) {
	var rssFile string
	if timeBin != "" {
		f, err := os.CreateTemp("", "bench-rss-")
		if err != nil {
			return result{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		args = append([]string{"-f", "%M", "-o", rssFile, name}, args...)
		name = timeBin
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{wall: time.Since(start), out: out.Bytes()}
	if rssFile != "" {
		data, _ := os.ReadFile(rssFile)
		f := strings.Fields(string(data))
		if len(f) > 0 {
			kb, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			r.maxRSS = kb << 10
		}
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out.Bytes(), errb.Bytes())
	}
	return r, nil
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// dirSize is the apparent size and file count of a tree.
func dirSize(dir string) (int64, int) {
	var size int64
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			size += fi.Size()
			n++
		}
		return nil
	})
	return size, n
}

// vmHWM is a live process's peak RSS, from /proc.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func kib(n int64) string {
	if n >= 10<<20 {
		return mib(n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}
