package bench

import (
	"context"
	"fmt"
	"time"
)

// OpTimeoutError ends a benchmark in which no op finished in time.
type OpTimeoutError struct {
	Timeout time.Duration
	Phase   string // setup, an op, teardown
}

func (e *OpTimeoutError) Error() string {
	return fmt.Sprintf("no progress for %s (the per-op timeout, --op-timeout) during %s: its processes were killed", e.Timeout, e.Phase)
}

// progress marks that the loop made progress now: an op ended, or a
// batch. The fast path never calls it; the slow path does, at least once
// per batch (~10 ms), so the watchdog reads a recent stamp.
func (b *B) progress() { b.stamp.Store(time.Now().UnixNano()) }

// progressAt is progress from the loop's own goroutine at a clock reading
// it already took (the one that timed an op): no clock read of its own
// inside a timed op, and a store to the watchdog's stamp at most once a
// millisecond (the watchdog ticks at a quarter of the op timeout, seconds).
// Batch ends store their reading always (endBatch).
func (b *B) progressAt(now time.Time) {
	if ns := now.UnixNano(); ns-b.stamped >= int64(time.Millisecond) {
		b.stamped = ns
		b.stamp.Store(ns)
	}
}

// watch starts the benchmark's watchdog: when outer is cancelled (an
// interrupt) it aborts at once; when no op has finished for OpTimeout it
// cancels the benchmark with an OpTimeoutError and aborts. stop ends it.
func (b *B) watch(outer context.Context, cancel context.CancelCauseFunc) (stop func()) {
	b.progress()
	done := make(chan struct{})
	exited := make(chan struct{})
	tick := min(b.cfg.OpTimeout/4, time.Second)
	go func() {
		defer close(exited)
		t := time.NewTicker(tick)
		defer t.Stop()
		var lastOps int64
		for {
			select {
			case <-done:
				return
			case <-outer.Done():
				b.abort()
				return
			case <-t.C:
			}
			if p := b.parNow.Load(); p != nil {
				// RunParallel's workers count every op on their own lines.
				if n := p.total(); n != lastOps {
					lastOps = n
					b.progress()
				}
			}
			idle := time.Since(time.Unix(0, b.stamp.Load()))
			if idle >= b.cfg.OpTimeout {
				cancel(&OpTimeoutError{Timeout: b.cfg.OpTimeout, Phase: phaseName(phase(b.phaseNow.Load()))})
				b.abort()
				return
			}
		}
	}()
	return func() { close(done); <-exited }
}

func (b *B) abort() {
	if b.cfg.Abort != nil {
		b.cfg.Abort()
	}
}

func phaseName(p phase) string {
	switch p {
	case phaseSetup:
		return "setup (before the first op)"
	case phaseWarmup:
		return "the warm-up"
	case phaseSample:
		return "an op"
	}
	return "teardown (after the last op)"
}
