package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ipcbench/ipcbench/results"
)

type phase int

const (
	phaseSetup phase = iota
	phaseWarmup
	phaseSample
	phaseDone
)

// B is handed to a Scenario's Run; it owns all timing.
type B struct {
	ctx  context.Context
	cfg  Config
	name string

	phase phase
	// batch state; the hot path of Loop touches only these.
	perOp bool
	i, n  int64
	start time.Time
	last  time.Time
	hist  *hdrhistogram.Histogram

	warmStart time.Time
	warmOps   int64
	warmMid   time.Duration // when the second half of the warmup began
	warmMidOp int64

	sampleStart time.Time // first timed batch
	sampleEnd   time.Time
	samples     []results.Sample
	values      []float64

	dists    map[string]*hdrhistogram.Histogram
	distSum  map[string]float64
	metrics  map[string]float64
	warnings []string
	bytes    int64

	usage0 usageSnap
	usage1 usageSnap
	track  []int // live child pids whose CPU is ours, not foreign load

	par *parallelState // set by Parallel

	peakReset bool // VmHWM was reset before the timed region

	hooksStarted bool
	hookErr      error
	err          error
	stopReason   string
}

func newB(ctx context.Context, cfg Config, name string) *B {
	return &B{ctx: ctx, cfg: cfg, name: name, metrics: map[string]float64{}}
}

// Context returns the benchmark's context (cancelled on interrupt).
func (b *B) Context() context.Context { return b.ctx }

// Loop reports whether the scenario should do one more operation. Call it as
// `for b.Loop() { op }`; everything before the first call and after the last
// is untimed setup and teardown.
func (b *B) Loop() bool {
	if b.phase == phaseSample {
		if b.perOp {
			// One clock read per op: it ends this op and starts the next.
			now := time.Now()
			d := now.Sub(b.last).Nanoseconds()
			b.last = now
			if d < 1 {
				d = 1
			}
			_ = b.hist.RecordValue(d)
		}
		b.i++
		if b.i < b.n {
			return true
		}
		return b.endBatch()
	}
	return b.loopSlow()
}

func (b *B) loopSlow() bool {
	switch b.phase {
	case phaseSetup:
		b.phase = phaseWarmup
		b.warmStart = time.Now()
		return true
	case phaseWarmup:
		b.warmOps++
		el := time.Since(b.warmStart)
		if b.ctx.Err() != nil {
			b.phase = phaseDone
			return false
		}
		if b.warmMidOp == 0 && el >= b.cfg.Warmup/2 {
			b.warmMid, b.warmMidOp = el, b.warmOps
		}
		if el < b.cfg.Warmup {
			return true
		}
		b.beginSampling(el)
		return true
	}
	return false
}

// beginSampling sizes the batches from the warmup's estimate and starts the
// first timed batch.
func (b *B) beginSampling(warm time.Duration) {
	// Estimate from the second half of the warmup only: the first ops pay
	// for cold caches, page faults and a peer still starting up.
	est := float64(warm.Nanoseconds()) / float64(b.warmOps)
	if n := b.warmOps - b.warmMidOp; b.warmMidOp > 0 && n >= 2 {
		est = float64((warm - b.warmMid).Nanoseconds()) / float64(n)
	}
	// Multiply before dividing (as testing.B does), then pad 20% so that a
	// batch reaches the sample time even if warmup ran a little fast.
	n := int64(float64(b.cfg.SampleTime.Nanoseconds()) * 1.2 / est)
	b.n = max(1, min(n, 1e9))
	b.perOp = est >= float64(b.cfg.PerOpThreshold.Nanoseconds())
	if b.perOp {
		b.hist = hdrhistogram.New(1, 100e9, 3)
	}
	b.phase = phaseSample
	runtime.GC()
	b.peakReset = resetPeakRSS()
	b.startHooks()
	b.usage0 = snapUsage(b.track)
	b.start = time.Now()
	b.sampleStart = b.start
	b.last = b.start
	b.i = 0
}

func (b *B) endBatch() bool {
	now := time.Now()
	if b.perOp {
		now = b.last
	}
	ns := float64(now.Sub(b.start).Nanoseconds()) / float64(b.n)
	b.samples = append(b.samples, results.Sample{Iters: b.n, NsPerOp: ns})
	b.values = append(b.values, ns)
	if stop := b.shouldStop(now); stop != "" {
		b.stopReason = stop
		b.sampleEnd = now
		b.usage1 = snapUsage(b.track)
		b.stopHooks()
		b.phase = phaseDone
		return false
	}
	b.i = 0
	b.start = time.Now()
	b.last = b.start
	return true
}

func (b *B) shouldStop(now time.Time) string {
	if b.ctx.Err() != nil {
		return "interrupted"
	}
	n := len(b.samples)
	if n >= b.cfg.MaxSamples {
		return "max-samples"
	}
	if n < b.cfg.MinSamples {
		// The budget does not cut below the minimum, but a runaway (10× the
		// budget, or 3× what the minimum should take) does, so one very slow
		// op cannot hang the run.
		if now.Sub(b.sampleStart) > max(10*b.cfg.Budget, 3*time.Duration(b.cfg.MinSamples)*b.cfg.SampleTime) {
			return "budget"
		}
		return ""
	}
	if now.Sub(b.sampleStart) >= b.cfg.Budget {
		return "budget"
	}
	// Checking every sample is O(n log n) but happens outside the timed batch.
	if n%2 == 0 || n == b.cfg.MinSamples {
		if results.Summarize(b.values).CIWidth() <= b.cfg.TargetCIWidth {
			return "ci"
		}
	}
	return ""
}

// Observe records one per-op duration in the named distribution (e.g. a
// spawn's "first_byte"). Outside the timed samples it is ignored.
func (b *B) Observe(name string, d time.Duration) {
	if b.phase != phaseSample {
		return
	}
	if b.dists == nil {
		b.dists = map[string]*hdrhistogram.Histogram{}
		b.distSum = map[string]float64{}
	}
	h := b.dists[name]
	if h == nil {
		h = hdrhistogram.New(1, 100e9, 3)
		b.dists[name] = h
	}
	_ = h.RecordValue(max(1, d.Nanoseconds()))
	b.distSum[name] += float64(d.Nanoseconds())
}

// Timing reports whether the current operation is in a timed sample (not warmup).
func (b *B) Timing() bool { return b.phase == phaseSample }

// ReportMetric attaches a per-op figure to the result (unit like "MB/s" or
// "child_user_ns/op"). A later report of the same unit replaces it.
func (b *B) ReportMetric(v float64, unit string) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	b.metrics[unit] = v
}

// SetBytes records the payload one operation moves; MB/s is derived from it.
func (b *B) SetBytes(n int64) { b.bytes = n }

// Warn attaches a warning to the result.
func (b *B) Warn(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, args...))
}

// TrackProcess makes a live child's CPU time count as this benchmark's own
// (not as foreign load) and exposes its rusage-free CPU figures. Call it
// before the first Loop.
func (b *B) TrackProcess(pid int) { b.track = append(b.track, pid) }

// TimedOps is the number of operations in timed samples so far.
func (b *B) TimedOps() int64 {
	if b.par != nil {
		var n int64
		for _, s := range b.samples {
			n += s.Iters
		}
		return n
	}
	var n int64
	for _, s := range b.samples {
		n += s.Iters
	}
	if b.phase == phaseSample {
		n += b.i
	}
	return n
}

// TotalOps is every operation the scenario did, warmup included.
func (b *B) TotalOps() int64 { return b.warmOps + b.TimedOps() }

func (b *B) startHooks() {
	for _, h := range b.cfg.Hooks {
		if err := h.Start(b.name); err != nil && b.hookErr == nil {
			b.hookErr = err
		}
	}
	b.hooksStarted = true
}

func (b *B) stopHooks() {
	if !b.hooksStarted {
		return
	}
	b.hooksStarted = false
	for _, h := range b.cfg.Hooks {
		if err := h.Stop(b.name); err != nil && b.hookErr == nil {
			b.hookErr = err
		}
	}
}

func (b *B) finish(runErr error) {
	if b.phase == phaseSample {
		// The scenario left the loop early (an error in its op): close the
		// books on what was timed.
		b.sampleEnd = time.Now()
		b.usage1 = snapUsage(b.track)
		b.stopHooks()
	}
	b.phase = phaseDone
	b.err = runErr
}

func (b *B) result(res results.Benchmark) results.Benchmark {
	res.Samples = b.samples
	res.WarmupOps = b.warmOps
	res.BytesPerOp = b.bytes
	for _, s := range b.samples {
		res.Iterations += s.Iters
	}
	if b.err != nil {
		res.Error = b.err.Error()
	} else if len(b.samples) == 0 && b.ctx.Err() == nil {
		res.Error = ErrNoSamples.Error()
	}
	if b.hookErr != nil {
		res.Warnings = append(res.Warnings, "profiling: "+b.hookErr.Error())
	}
	res.Warnings = append(res.Warnings, b.warnings...)
	if len(b.samples) == 0 {
		if len(b.metrics) > 0 {
			res.Metrics = b.metrics
		}
		return res
	}
	res.Summary = results.Summarize(b.values)
	res.PercentileSource = "batch"
	if b.perOp && b.hist != nil && b.hist.TotalCount() > 0 {
		res.PercentileSource = "per-op"
		res.Summary.P50 = float64(b.hist.ValueAtQuantile(50))
		res.Summary.P90 = float64(b.hist.ValueAtQuantile(90))
		res.Summary.P99 = float64(b.hist.ValueAtQuantile(99))
		res.Summary.P999 = float64(b.hist.ValueAtQuantile(99.9))
	}
	if len(b.dists) > 0 {
		res.Distributions = map[string]results.Summary{}
		for name, h := range b.dists {
			d := histSummary(h)
			d.Sum = b.distSum[name] // exact sum (single loop only; parallel: 0)
			res.Distributions[name] = d
		}
	}
	ops := float64(res.Iterations)
	m := b.metrics
	if res.Summary.Median > 0 {
		m["ops/s"] = 1e9 / res.Summary.Median
		if _, set := m["MB/s"]; b.bytes > 0 && !set {
			m["MB/s"] = float64(b.bytes) * 1e3 / res.Summary.Median
		}
	}
	// Cost per op from rusage deltas over the timed region.
	du := b.usage1.sub(b.usage0)
	if ops > 0 && b.usage1.ok && b.usage0.ok {
		m["parent_user_ns/op"] = float64(du.selfUser.Nanoseconds()) / ops
		m["parent_sys_ns/op"] = float64(du.selfSys.Nanoseconds()) / ops
		m["parent_vcsw/op"] = float64(du.selfNvcsw) / ops
		m["parent_ivcsw/op"] = float64(du.selfNivcsw) / ops
		if du.childUser+du.childSys > 0 || du.childNvcsw > 0 {
			// Children reaped inside the timed region (spawn): their whole cost.
			if _, set := m["child_user_ns/op"]; !set {
				m["child_user_ns/op"] = float64(du.childUser.Nanoseconds()) / ops
				m["child_sys_ns/op"] = float64(du.childSys.Nanoseconds()) / ops
				m["child_vcsw/op"] = float64(du.childNvcsw) / ops
				m["child_ivcsw/op"] = float64(du.childNivcsw) / ops
			}
		}
	}
	if b.bytes > 0 {
		mb := float64(b.bytes) / 1e6
		if u, ok := m["parent_user_ns/op"]; ok {
			m["parent_cpu_ns/MB"] = (u + m["parent_sys_ns/op"]) / mb
		}
		if u, ok := m["child_user_ns/op"]; ok {
			m["child_cpu_ns/MB"] = (u + m["child_sys_ns/op"]) / mb
		}
	}
	if kb := procStatusKB("VmHWM"); kb > 0 && b.peakReset {
		m["parent_peak_rss_bytes"] = float64(kb) * 1024
	}
	// Timer overhead: per-op mode pays one clock read per op, batch mode one
	// per batch. Either way it must be negligible against the figure.
	to := float64(b.cfg.TimerOverhead.Nanoseconds())
	perOpCost := to / float64(b.n)
	if b.perOp {
		perOpCost = to
	}
	opTime := res.Summary.Median
	if b.par != nil {
		// Parallel: the figure is aggregate ns/op; each worker's op lasts
		// workers × that, and only workers pay per-op clock reads.
		opTime *= float64(len(b.par.workers))
		if !b.perOp {
			perOpCost = 0
		}
	}
	if opTime > 0 {
		frac := perOpCost / opTime
		m["timer_overhead_share"] = frac
		if frac > 0.01 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("clock reads cost %.1f%% of each op (%.0f ns of %.0f ns): figure slightly inflated", 100*frac, perOpCost, opTime))
		}
	}
	res.LoadShare, res.Warnings = loadWarnings(du, b.sampleEnd.Sub(b.sampleStart), b.cfg.LoadWarnShare, res.Warnings)
	if len(b.samples) < 6 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("only %d samples: no confidence interval (needs 6)", len(b.samples)))
	} else if w := res.Summary.CIWidth(); w > b.cfg.TargetCIWidth && b.stopReason == "budget" {
		res.Warnings = append(res.Warnings, fmt.Sprintf("noisy: median's 95%% CI is ±%.1f%% (target ±%.1f%%) when the %s budget ran out", 50*w, 50*b.cfg.TargetCIWidth, b.cfg.Budget))
	}
	if b.stopReason == "interrupted" {
		res.Warnings = append(res.Warnings, "interrupted before the adaptive stop")
	}
	res.Metrics = m
	return res
}

// histSummary summarises a per-op histogram (all figures per op).
func histSummary(h *hdrhistogram.Histogram) results.Summary {
	return results.Summary{
		N:      int(h.TotalCount()),
		Mean:   h.Mean(),
		Median: float64(h.ValueAtQuantile(50)),
		Stddev: h.StdDev(),
		Min:    float64(h.Min()),
		Max:    float64(h.Max()),
		P50:    float64(h.ValueAtQuantile(50)),
		P90:    float64(h.ValueAtQuantile(90)),
		P99:    float64(h.ValueAtQuantile(99)),
		P999:   float64(h.ValueAtQuantile(99.9)),
	}
}
