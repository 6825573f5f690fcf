package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
)

type phase int32

const (
	phaseSetup phase = iota
	phaseWarmup
	phaseSample
	phaseDone
)

// PB is one loop of operations: B's own (Loop) or one worker's of
// RunParallel. Write `for pb.Next() { op }`: everything before the first
// call and after the last is untimed setup and teardown.
type PB struct {
	// The fast path reads only these: while i < n there is nothing to do
	// but count. The engine folds everything else (warmup, per-op timing,
	// the end of a batch, a parallel worker's counter) into making i reach
	// n, so every other case takes the slow path.
	i, n int64
	b    *B
	w    *worker // nil for B's own loop
}

// Next reports whether to do one more operation. Its fast path is one
// compare and one increment, written to be inlined (as testing.B.Loop's).
func (pb *PB) Next() bool {
	if pb.i < pb.n {
		pb.i++
		return true
	}
	return pb.next()
}

func (pb *PB) next() bool {
	if pb.w != nil {
		return pb.w.next()
	}
	return pb.b.loopSlow()
}

// ID is the worker's index, 0..n-1 (0 for B's own loop).
func (pb *PB) ID() int {
	if pb.w == nil {
		return 0
	}
	return pb.w.id
}

// Observe records one per-op duration of a phase (a spawn's first byte,
// say). Outside the timed samples it is ignored.
func (pb *PB) Observe(ph results.Phase, d time.Duration) {
	if pb.w != nil {
		pb.w.observe(ph, d)
		return
	}
	pb.b.Observe(ph, d)
}

// B is handed to a Scenario's Run; it owns all timing.
type B struct {
	loop PB // B's own loop; Loop is loop.Next

	ctx context.Context
	cfg Config

	phase phase
	perOp bool  // each op timed on its own (op >= PerOpThreshold)
	batch int64 // ops per sample
	// external: ops are timed by the workload itself (ReportOpTime), not
	// by this process's clock; extSum is the batch's reported total.
	external bool
	// openLoop: the workload runs on its own schedule (OpenLoop).
	openLoop bool
	extSum   time.Duration
	done     int64 // per-op mode: ops ended in this batch
	start    time.Time
	last     time.Time
	hist     *hdrhistogram.Histogram

	warmStart time.Time
	warmOps   int64
	warmPrev  time.Duration // when the previous warm-up op ended
	// The second half of the warmup: it began at warmMid, after warmMidOp
	// ops (with the op that crossed the midpoint); warmGap is its longest
	// op (the longest gap between two consecutive op ends).
	warmHalf  bool
	warmMid   time.Duration
	warmMidOp int64
	warmGap   time.Duration

	sampleStart time.Time // first timed batch
	sampleEnd   time.Time
	samples     []results.Sample
	values      []float64

	dists    map[results.Phase]*hdrhistogram.Histogram
	distSum  map[results.Phase]float64
	metrics  map[results.Metric]float64
	warnings []results.Warning
	bytes    int64

	usage0, usage1 sys.Usage
	track          []int // live child pids whose CPU is ours, not foreign load

	par *parallel // set by RunParallel with n > 1

	peakReset bool // VmHWM was reset before the timed region

	hooksStarted bool
	hookErr      error
	err          error
	stopReason   string

	// The watchdog's view (read from its goroutine): the last progress
	// (UnixNano) and the phase.
	stamp    atomic.Int64
	stamped  int64 // the loop's last store to stamp (progressAt; the loop's goroutine only)
	phaseNow atomic.Int32
	parNow   atomic.Pointer[parallel]
}

func newB(ctx context.Context, cfg Config) *B {
	b := &B{ctx: ctx, cfg: cfg, metrics: map[results.Metric]float64{}}
	b.loop.b = b
	return b
}

// Context returns the benchmark's context (cancelled on interrupt).
func (b *B) Context() context.Context { return b.ctx }

// Loop reports whether the scenario should do one more operation. Call it as
// `for b.Loop() { op }`; everything before the first call and after the last
// is untimed setup and teardown.
func (b *B) Loop() bool { return b.loop.Next() }

// loopSlow is everything but counting: the warmup, per-op timing, the end
// of a batch. It leaves loop.i == loop.n whenever the next call must come
// back here.
func (b *B) loopSlow() bool {
	switch b.phase {
	case phaseSetup:
		b.progress()
		if b.cfg.Warmup == 0 && b.cfg.Estimate > 0 {
			// A later visit of a long op: its cost is known and one op is
			// warm-up enough; sampling starts with this first op.
			b.beginSampling(float64(b.cfg.Estimate.Nanoseconds()))
			return true
		}
		b.setPhase(phaseWarmup)
		b.warmStart = time.Now()
		return true
	case phaseWarmup:
		return b.warmup()
	case phaseSample:
		if b.external {
			// (The workload times these ops: this clock costs them nothing.)
			if b.done++; b.done < b.batch {
				b.progress()
				return true
			}
			return b.endBatch(time.Now())
		}
		if b.perOp {
			// One clock read per op: it ends this op, starts the next, and
			// is the watchdog's sign of progress.
			now := time.Now()
			_ = b.hist.RecordValue(max(1, now.Sub(b.last).Nanoseconds()))
			b.last = now
			if b.done++; b.done < b.batch {
				b.progressAt(now)
				return true
			}
			return b.endBatch(now)
		}
		return b.endBatch(time.Now())
	}
	return false
}

func (b *B) warmup() bool {
	now := time.Now()
	b.progressAt(now)
	b.warmOps++
	el := now.Sub(b.warmStart)
	if b.ctx.Err() != nil {
		b.setPhase(phaseDone)
		return false
	}
	if !b.warmHalf && el >= b.cfg.Warmup/2 {
		// The op that crossed the midpoint is the second half's: a stall
		// across the midpoint is then left out of it like any other.
		b.warmHalf = true
		b.warmMid, b.warmMidOp = b.warmPrev, b.warmOps-1
	}
	if b.warmHalf {
		b.warmGap = max(b.warmGap, el-b.warmPrev)
	}
	b.warmPrev = el
	if el < b.cfg.Warmup {
		return true
	}
	b.beginSampling(b.estimate(el))
	return true
}

// estimate is the cost of one op from the second half of the warmup: the
// first ops pay for cold caches, page faults and a peer still starting.
// Its longest op is left out of it (its time and one op): a thread
// descheduled in the second half, or a GC, charges its whole absence to
// the one op it split, which for a sub-ns op timed through the slow path
// would estimate milliseconds over a few ops and time it op by op (seen
// under a loaded CI). And never more than the whole warmup's mean: both
// only over-estimate the op. Where leaving that op out leaves none (the
// op that crossed the midpoint lasted until the end), the first half's
// mean stands, unless earlier visits know better.
func (b *B) estimate(warm time.Duration) float64 {
	est := float64(warm.Nanoseconds()) / float64(b.warmOps)
	n := b.warmOps - b.warmMidOp
	switch {
	case b.warmHalf && n >= 2:
		est = min(est, float64((warm-b.warmMid-b.warmGap).Nanoseconds())/float64(n-1))
	case b.cfg.Estimate > 0:
		// A short re-warm saw too few ops to say: keep the earlier visits'.
		est = float64(b.cfg.Estimate.Nanoseconds())
	case b.warmHalf && n == 1 && b.warmMidOp > 0:
		est = min(est, float64(b.warmMid.Nanoseconds())/float64(b.warmMidOp))
	}
	return max(est, 1e-3)
}

// beginSampling sizes the batches from the warmup's estimate and starts the
// first timed batch.
func (b *B) beginSampling(est float64) {
	// Multiply before dividing (as testing.B does), then pad 20% so that a
	// batch reaches the sample time even if warmup ran a little fast.
	n := int64(float64(b.cfg.SampleTime.Nanoseconds()) * 1.2 / est)
	b.batch = max(1, min(n, 1e9))
	b.perOp = est >= float64(b.cfg.PerOpThreshold.Nanoseconds())
	if b.perOp {
		b.hist = newHist()
	}
	b.setPhase(phaseSample)
	if !b.openLoop {
		runtime.GC()
	}
	b.beginTimedRegion()
	b.startBatch()
	b.sampleStart = b.start
}

// startBatch starts a batch: its first op begins when the caller returns true.
func (b *B) startBatch() {
	b.done = 0
	if !b.perOp && !b.external {
		b.loop.i, b.loop.n = 1, b.batch
	}
	// The clock read is the last thing before the batch's first op.
	b.start = time.Now()
	b.last = b.start
}

func (b *B) endBatch(now time.Time) bool {
	b.stamp.Store(now.UnixNano()) // progress, at the batch's closing clock read
	b.loop.i, b.loop.n = 0, 0
	ns := float64(now.Sub(b.start).Nanoseconds()) / float64(b.batch)
	if b.external {
		ns = float64(b.extSum.Nanoseconds()) / float64(b.batch)
		b.extSum = 0
	}
	b.samples = append(b.samples, results.Sample{Iters: b.batch, NsPerOp: ns})
	b.values = append(b.values, ns)
	if stop := b.shouldStop(now); stop != "" {
		b.endTimedRegion(now, stop)
		return false
	}
	if !b.external {
		b.grow(now.Sub(b.start))
	}
	b.startBatch()
	return true
}

// grow resizes the batches after one that fell short of half the sample
// time. The warm-up times every op through the slow path (a clock read
// each), so a fast op's first batch is sized for an op tens of times
// slower than its fast path and lasts a fraction of SampleTime; its sample
// stands, and the next batches are sized by it, as testing.B predicts N:
// multiply before dividing, +20%, at most 100× per step, at most 1e9. It
// never shrinks a batch: one that a stall made long says nothing of the op.
func (b *B) grow(took time.Duration) {
	st := b.cfg.SampleTime
	if took >= st/2 {
		return
	}
	n := float64(b.batch) * float64(st.Nanoseconds()) * 1.2 / float64(max(took.Nanoseconds(), 1))
	b.batch = max(b.batch+1, int64(min(n, 100*float64(b.batch), 1e9)))
}

// beginTimedRegion takes the readings the timed region is measured
// against and starts the hooks (profilers).
func (b *B) beginTimedRegion() {
	b.peakReset = sys.ResetPeakRSS()
	b.startHooks()
	b.usage0 = sys.ReadUsage(b.track)
}

func (b *B) endTimedRegion(now time.Time, why string) {
	b.stopReason = why
	b.sampleEnd = now
	b.usage1 = sys.ReadUsage(b.track)
	b.stopHooks()
	b.setPhase(phaseDone)
}

// setPhase moves to p, where the watchdog can see it.
func (b *B) setPhase(p phase) {
	b.phase = p
	b.phaseNow.Store(int32(p))
}

// shouldStop is the adaptive stop: the reason to stop after this sample, or "".
func (b *B) shouldStop(now time.Time) string {
	if b.ctx.Err() != nil {
		return "interrupted"
	}
	n := len(b.samples)
	if n >= b.cfg.MaxSamples {
		return "max-samples"
	}
	if b.cfg.Visit {
		// A visit samples for its budget, no more and no less (at least
		// one sample, however long an op); the merge of visits judges.
		if now.Sub(b.sampleStart) >= b.cfg.Budget && n >= b.cfg.MinSamples {
			return "budget"
		}
		return ""
	}
	if n < b.cfg.MinSamples {
		// The budget does not cut below the minimum, but a runaway (10× the
		// budget, or 3× what the minimum should take) does, so one very slow
		// op cannot hang the run.
		if now.Sub(b.sampleStart) > max(10*b.cfg.Budget, 3*time.Duration(b.cfg.MinSamples)*b.cfg.SampleTime) {
			return "bound"
		}
		return ""
	}
	if now.Sub(b.sampleStart) >= b.cfg.Budget {
		return "budget"
	}
	if b.openLoop {
		return ""
	}
	// Checking every sample is O(n log n) but happens outside the timed batch.
	if n%2 == 0 || n == b.cfg.MinSamples {
		if results.Summarize(b.values).CIWidth() <= b.cfg.TargetCIWidth {
			return "ci"
		}
	}
	return ""
}

func newHist() *hdrhistogram.Histogram { return results.NewHist() }

// Observe records one per-op duration of a phase (a spawn's first byte,
// say). Outside the timed samples it is ignored.
func (b *B) Observe(ph results.Phase, d time.Duration) {
	if b.phase != phaseSample {
		return
	}
	if b.dists == nil {
		b.dists = map[results.Phase]*hdrhistogram.Histogram{}
		b.distSum = map[results.Phase]float64{}
	}
	h := b.dists[ph]
	if h == nil {
		h = newHist()
		b.dists[ph] = h
	}
	_ = h.RecordValue(max(1, d.Nanoseconds()))
	b.distSum[ph] += float64(d.Nanoseconds())
}

// ReportOpTime gives the duration of the op just done as the workload
// measured it (a Node driver's process.hrtime, say), for ops timed in
// another process where this process's clock would add the cost of hearing
// about them. Once called, it must be called once for every op, before the
// next Loop; samples and per-op percentiles are then built from these
// durations alone.
func (b *B) ReportOpTime(d time.Duration) {
	if !b.external {
		b.external = true
		b.loop.i, b.loop.n = 0, 0 // every op through the slow path from now on
		if b.phase == phaseSample {
			b.startBatch() // the batch so far was timed by our clock: restart it
		}
	}
	if b.phase != phaseSample {
		return
	}
	if b.hist == nil {
		b.hist = newHist()
	}
	b.perOp = true
	_ = b.hist.RecordValue(max(1, d.Nanoseconds()))
	b.extSum += d
}

// OpenLoop declares a workload that runs on its own schedule (operations
// offered at a fixed rate by other goroutines, reported here afterwards):
// the engine must not pause it to collect garbage before the timed region
// (a stop-the-world would stall the generator and show as latency), and
// the median's confidence interval must not end it early, since its tail
// percentiles need the whole budget. Call it before the first Loop.
func (b *B) OpenLoop() { b.openLoop = true }

// Timing reports whether the current operation is in a timed sample (not warmup).
func (b *B) Timing() bool { return b.phase == phaseSample }

// ReportMetric attaches a per-op figure to the result. A later report of
// the same metric replaces it; NaN and infinities are dropped.
func (b *B) ReportMetric(v float64, m results.Metric) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	b.metrics[m] = v
}

// SetBytes records the payload one operation moves; MB/s is derived from it.
func (b *B) SetBytes(n int64) { b.bytes = n }

// Warn attaches a warning of the given kind to the result.
func (b *B) Warn(kind results.WarningKind, format string, args ...any) {
	b.warnings = append(b.warnings, results.Warning{Kind: kind, Text: fmt.Sprintf(format, args...)})
}

// TrackProcess makes a live child's CPU time count as this benchmark's own
// (not as foreign load). Call it before the first Loop.
func (b *B) TrackProcess(pid int) { b.track = append(b.track, pid) }

func (b *B) hookError(err error) {
	if err != nil && b.hookErr == nil {
		b.hookErr = err
	}
}

func (b *B) startHooks() {
	for _, h := range b.cfg.Hooks {
		b.hookError(h.Start())
	}
	b.hooksStarted = true
}

func (b *B) stopHooks() {
	if !b.hooksStarted {
		return
	}
	b.hooksStarted = false
	for _, h := range b.cfg.Hooks {
		b.hookError(h.Stop())
	}
}

func (b *B) finish(runErr error) {
	if b.phase == phaseSample {
		// The scenario left the loop early (an error in its op): close the
		// books on what was timed.
		b.endTimedRegion(time.Now(), b.stopReason)
	}
	b.setPhase(phaseDone)
	b.err = runErr
}
