package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/ipcbench/ipcbench/internal/child"
)

// interruptError ends a run stopped by a signal; the exit status is
// 128 + the signal's number (130 for SIGINT, 143 SIGTERM, 129 SIGHUP).
type interruptError struct{ sig syscall.Signal }

func (e interruptError) Error() string { return "interrupted by " + sigName(e.sig) }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// catchSignals makes SIGINT, SIGTERM and SIGHUP (a closed terminal) end
// the run cleanly: the first cancels ctx and kills every child at once
// (the run then saves what it measured); a second ends the process at once.
// Only `run` (and `gate`) catch them: other commands die as any program.
func catchSignals(ctx context.Context, stderr io.Writer) (context.Context, func() *interruptError, func()) {
	ctx, cancel := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	var mu sync.Mutex
	var got *interruptError
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				sig := s.(syscall.Signal)
				mu.Lock()
				first := got == nil
				if first {
					got = &interruptError{sig}
				}
				mu.Unlock()
				if first {
					// Cancel before killing: whatever the kill makes a
					// benchmark see (a child's EOF) must read as the
					// interrupt, not as a failure of the benchmark.
					cancel()
					child.KillAll()
					continue
				}
				child.KillAll()
				fmt.Fprintf(stderr, "\nipcbench: %s again: exiting at once (nothing more is saved)\n", sigName(sig))
				os.Exit(128 + int(sig))
			}
		}
	}()
	which := func() *interruptError {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	return ctx, which, func() { signal.Stop(sigs); close(done); cancel() }
}

// guard makes this process the subreaper of its descendants and starts
// the run's guardian (see child.Guard); the returned func ends both
// cleanly.
func guard(stderr io.Writer) func() {
	if err := child.BecomeSubreaper(); err != nil {
		fmt.Fprintln(stderr, "ipcbench: warning: "+err.Error()+": a command's background children may outlive it")
	}
	stop, err := child.Guard()
	if err != nil {
		fmt.Fprintln(stderr, "ipcbench: warning: "+err.Error()+": if ipcbench is killed, its children's children may survive")
		return func() { child.KillAll(); child.ReapOrphans() }
	}
	return func() { stop(); child.ReapOrphans() }
}
