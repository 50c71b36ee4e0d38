package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockExcludes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	unlock, err := Lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + ".lock"); err != nil {
		t.Fatalf("lock file not next to the locked path: %v", err)
	}

	for _, lockFn := range []struct {
		name string
		fn   func(context.Context, string) (func() error, error)
		want string
	}{{"Lock", Lock, "waiting for lock on "}, {"RLock", RLock, "waiting for shared lock on "}} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := lockFn.fn(ctx, dir)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s while locked: %v, want deadline exceeded", lockFn.name, err)
		}
		msg := err.Error()
		want := lockFn.want + dir + ".lock"
		if !strings.Contains(msg, want) || !strings.Contains(msg, fmt.Sprintf("held by pid %d", os.Getpid())) {
			t.Errorf("error %q should name the lock file and the holder", msg)
		}
	}

	// A waiter waits while the lock is held, and gets it as soon as it
	// is released. released is set before the unlock: a waiter that got
	// the lock before it was set never waited. A correct lock passes
	// however the goroutines are scheduled; a lock that does not make
	// the waiter wait fails (the waiter returns within the grace period,
	// released still false).
	var released atomic.Bool
	got := make(chan error, 1)
	go func() {
		u, err := Lock(context.Background(), dir)
		if err == nil && !released.Load() {
			err = errors.New("the waiter got the lock while it was held")
		}
		if err == nil {
			err = u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("waiter returned while the lock was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	released.Store(true)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}

func TestRLockShares(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.lock") // an explicit lock file
	ctx := context.Background()
	u1, err := RLock(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := RLock(ctx, p)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := os.Stat(p + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Error("a path ending in .lock got another .lock appended")
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := Lock(tctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exclusive lock while shared held: %v", err)
	} else if strings.Contains(err.Error(), "held by") {
		t.Errorf("shared holders record no pid, but error says %q", err)
	}
	u1()
	u2()
	u, err := Lock(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	u()
}

func TestLockCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, filepath.Join(t.TempDir(), "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with cancelled ctx: %v", err)
	}
	if _, err := Lock(context.Background(), filepath.Join(t.TempDir(), "missing", "x")); err == nil ||
		!strings.Contains(err.Error(), "taking lock on") {
		t.Errorf("Lock in a missing directory: %v", err)
	}
}

// helperLock holds the lock named by helperDirEnv until stdin closes.
func helperLock() int {
	unlock, err := Lock(context.Background(), os.Getenv(helperDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if err := unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startLockHolder runs a helper process that takes the lock on path.
func startLockHolder(t *testing.T, path string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=lock", helperDirEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper did not lock: %q, %v", line, err)
	}
	return cmd, stdin
}

func TestLockAcrossProcesses(t *testing.T) {
	for _, how := range []string{"release", "crash"} {
		t.Run(how, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "repo")
			cmd, stdin := startLockHolder(t, path)

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_, err := Lock(ctx, path)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lock while another process holds it: %v", err)
			}
			if want := fmt.Sprintf("held by pid %d", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the holder (%s)", err, want)
			}
			ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
			_, err = RLock(ctx, path)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("RLock while another process holds it: %v", err)
			}

			if how == "release" {
				stdin.Close()
			} else {
				cmd.Process.Kill() // the kernel drops a dead process's locks
			}
			ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			unlock, err := Lock(ctx, path)
			if err != nil {
				t.Fatalf("Lock after the holder went away: %v", err)
			}
			unlock()
		})
	}
}
