// Package bench is ipcbench's measuring engine.
//
// A Scenario is a workload with every parameter fixed. Its Run method does
// its own setup, then loops `for b.Loop() { op }` (or, for N concurrent
// workers, `b.RunParallel(n, func(pb *PB) error { for pb.Next() { op } })`),
// then tears down; the B owns all timing, as testing.B does: an untimed
// warmup that also estimates the cost of one operation, then timed samples,
// each a batch of N operations between two clock reads, until the median's
// 95% confidence interval is narrow enough (adaptive stop), bounded by a
// time budget and a minimum sample count. Where one operation is long
// enough that two clock reads do not distort it, each operation is also
// timed on its own into an HDR histogram for percentiles.
//
// Around the timed region the engine takes rusage deltas (this process,
// reaped children, and tracked live children) and /proc/stat, so every
// result carries its CPU cost per operation and a warning when other
// processes took a share of the CPUs while it was measured (the load
// guard). Hooks (the profiler) see the timed region's start and end.
//
// The engine never starts processes itself (internal/child does) and
// never prints: a Run returns a results.Benchmark.
package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// Scenario is one benchmark: a workload with every parameter fixed.
type Scenario interface {
	// Name is "Base/key=value/...", e.g. "RoundTrip/transport=unix/size=64/mode=raw".
	Name() results.Name
	// Run sets up, loops `for b.Loop() { op }` (or b.RunParallel), and tears down.
	Run(ctx context.Context, b *B) error
}

// Skipper is implemented by scenarios that can tell, before running, that
// they cannot or must not run here (e.g. busy polling on one core).
type Skipper interface {
	SkipReason() string
}

// ParamsReporter is implemented by scenarios with parameters that do not
// belong in the name (a full command line, say).
type ParamsReporter interface {
	ExtraParams() map[string]string
}

// ChildProfiler is implemented by scenarios whose children are ipcbench
// roles that live for the whole benchmark, so a hook that finds no child
// profile knows a child died before it could write one.
type ChildProfiler interface {
	ProfilesChildren() bool
}

// Config controls sampling. Its zero value means the defaults; Run copies
// it and never mutates the caller's value.
type Config struct {
	Budget        time.Duration // time for timed samples per benchmark (default 2s)
	Warmup        time.Duration // untimed warmup (default Budget/10, at most 200ms)
	SampleTime    time.Duration // target duration of one sample batch (default 10ms)
	MinSamples    int           // samples taken before the adaptive stop may end (default 10)
	MaxSamples    int           // hard cap on samples (default 2000)
	TargetCIWidth float64       // stop when (ci95_high-ci95_low)/median <= this (default 0.02)
	// PerOpThreshold: operations estimated at least this long are also timed
	// one by one (default 100 × the measured clock-read cost, at least 2µs).
	PerOpThreshold time.Duration
	// TimerOverhead is the measured cost of one clock read (see
	// TimerOverhead); 0 means measure it once on first use.
	TimerOverhead time.Duration
	// LoadWarnShare: warn when others used more than this share of the allowed CPUs (default 0.10).
	LoadWarnShare float64
	// Visit makes Run one visit of a run measured in rounds (see Rounds):
	// it samples for Budget (at least one sample) with no adaptive stop,
	// and leaves judging the figure to the merge of all visits.
	Visit bool
	// Estimate is the cost of one op known from an earlier visit; with it
	// the warmup only re-warms (Warmup may then be short, even zero).
	Estimate time.Duration
	// OpTimeout ends a benchmark in which no op finished for this long
	// (setup and teardown included): a hung command, a stopped child. Its
	// context is cancelled and Abort called. Default 10s.
	OpTimeout time.Duration
	// Abort, when set, is called when the benchmark must end at once (an
	// interrupt, an op timeout): it kills what the scenario started, so
	// that waits on children return (internal/child.KillAll).
	Abort func()
	// Labels are added to the pprof labels of everything measured.
	Labels map[string]string
	// Hooks run around the timed region (profilers).
	Hooks []Hook
}

// Info describes the benchmark a Hook observes.
type Info struct {
	Name results.Name
	// ChildrenProfile: the scenario's children are ipcbench roles that live
	// for the whole benchmark and profile themselves when asked.
	ChildrenProfile bool
}

// Hook observes a benchmark: Begin before its setup (children it starts
// see what Begin arranged), Start just before the first timed sample, Stop
// right after the last one (so a profiler covers the timed region only),
// End once the result is complete (children have exited), where it may add
// warnings to the result.
type Hook interface {
	Begin(info Info) error
	Start() error
	Stop() error
	End(res *results.Benchmark)
}

// Defaults returns c with every zero field replaced by its default.
func (c Config) Defaults() Config {
	if c.Budget <= 0 {
		c.Budget = 2 * time.Second
	}
	if c.Warmup < 0 || (c.Warmup == 0 && c.Estimate <= 0) {
		c.Warmup = min(c.Budget/10, 200*time.Millisecond)
	}
	if c.SampleTime <= 0 {
		c.SampleTime = 10 * time.Millisecond
	}
	if c.MinSamples <= 0 {
		c.MinSamples = 10
	}
	if c.MaxSamples <= 0 {
		c.MaxSamples = 2000
	}
	c.MaxSamples = max(c.MaxSamples, c.MinSamples)
	if c.TargetCIWidth <= 0 {
		c.TargetCIWidth = 0.02
	}
	if c.TimerOverhead <= 0 {
		c.TimerOverhead = TimerOverhead()
	}
	if c.PerOpThreshold <= 0 {
		c.PerOpThreshold = max(100*c.TimerOverhead, 2*time.Microsecond)
	}
	if c.LoadWarnShare <= 0 {
		c.LoadWarnShare = 0.10
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 10 * time.Second
	}
	return c
}

// ErrNoSamples is recorded when a scenario returned without timing anything.
var ErrNoSamples = errors.New("scenario took no samples")

// Run runs one scenario and returns its result. A failing scenario is not an
// error of Run: the returned Benchmark carries the reason in Error. Run
// returns an error only when ctx was cancelled.
func Run(ctx context.Context, s Scenario, cfg Config) (results.Benchmark, error) {
	res, _, err := run(ctx, s, cfg)
	return res, err
}

// runStats is what a run measured about its own sampling, beside the
// result: what Rounds plans the next visits with.
type runStats struct {
	// span is the timed region's wall time, from the first sample's start
	// to the last one's end (0 when nothing was timed). For ops timed by
	// the workload (ReportOpTime) it is the only measure of the sampling's
	// duration: their samples sum latencies, which overlap in an open loop
	// and need not add up to the time that passed.
	span time.Duration
	// external: the ops were timed by the workload (ReportOpTime).
	external bool
}

func run(ctx context.Context, s Scenario, cfg Config) (results.Benchmark, runStats, error) {
	cfg = cfg.Defaults()
	name := s.Name()
	res := results.Benchmark{Name: name, Scenario: name.Base(), Params: name.Params(), Unit: "ns/op"}
	if sk, ok := s.(Skipper); ok {
		if why := sk.SkipReason(); why != "" {
			res.Skipped = why
			return res, runStats{}, nil
		}
	}
	b := newB(ctx, cfg)
	info := Info{Name: name}
	if cp, ok := s.(ChildProfiler); ok {
		info.ChildrenProfile = cp.ProfilesChildren()
	}
	for _, h := range cfg.Hooks {
		b.hookError(h.Begin(info))
	}
	t0 := time.Now()
	outer := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	stopWatch := b.watch(outer, cancel)
	var runErr error
	pprof.Do(ctx, pprof.Labels(labels(name, cfg.Labels)...), func(ctx context.Context) {
		b.ctx = ctx
		runErr = safeRun(ctx, s, b)
	})
	stopWatch()
	if to, ok := context.Cause(ctx).(*OpTimeoutError); ok && outer.Err() == nil {
		// Whatever the scenario said (a killed child's EOF), the cause is
		// the timeout.
		runErr = to
	}
	cancel(nil)
	b.finish(runErr)
	b.result(&res)
	if pr, ok := s.(ParamsReporter); ok {
		maps.Copy(res.Params, pr.ExtraParams())
	}
	res.DurationNS = time.Since(t0).Nanoseconds()
	for _, h := range cfg.Hooks {
		h.End(&res)
	}
	st := runStats{external: b.external}
	if !b.sampleStart.IsZero() && b.sampleEnd.After(b.sampleStart) {
		st.span = b.sampleEnd.Sub(b.sampleStart)
	}
	if outer.Err() != nil {
		// Whatever the scenario said, the cause is the interrupt.
		res.Error = fmt.Sprintf("interrupted after %d samples", len(res.Samples))
		return res, st, outer.Err()
	}
	return res, st, nil
}

// labels are the pprof labels of a benchmark: its scenario and parameters,
// then the run's own.
func labels(name results.Name, extra map[string]string) []string {
	l := []string{"scenario", name.Base()}
	params := name.Params()
	for _, k := range slices.Sorted(maps.Keys(params)) {
		l = append(l, k, params[k])
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		l = append(l, k, extra[k])
	}
	return l
}

// safeRun turns a panic in a scenario into that benchmark's failure rather
// than the end of the whole run.
func safeRun(ctx context.Context, s Scenario, b *B) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.Run(ctx, b)
}
