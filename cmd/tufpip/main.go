// Command tufpip makes pip install only what a package repository has
// signed with TUF, as PEP 458 designs it for PyPI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	stopProfile := startCPUProfile(os.Getenv("TUFPIP_CPUPROFILE"))
	ctx, stop := notifyInterrupt(context.Background())
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole run to path, for
// measuring a command as a process (docs/performance.md); hidden, not
// documented in --help. An empty path profiles nothing.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tufpip: TUFPIP_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// interruptedError is the cause of the context main hands to Main when
// SIGINT or SIGTERM arrives; it decides the exit code (128 + the signal's
// number, as shells report a process killed by it).
type interruptedError struct{ sig syscall.Signal }

func (e interruptedError) Error() string { return e.sig.String() + " signal received" }

// Is makes the cause match context.Canceled, so code that checks for a
// cancelled run needs no special case.
func (e interruptedError) Is(target error) bool { return target == context.Canceled }

// notifyInterrupt is signal.NotifyContext with the signal kept in the
// cause. After the first signal the handler is removed, so a second Ctrl-C
// kills a run whose clean-up hangs.
func notifyInterrupt(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			sig, _ := s.(syscall.Signal)
			cancel(interruptedError{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
