package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// sleepy is a fake scenario whose op takes about d.
type sleepy struct {
	d    time.Duration
	fail int // fail after this many ops (0: never)
	ops  int
}

func (s *sleepy) Name() results.Name { return "Fake/op=sleep/size=1" }
func (s *sleepy) Run(ctx context.Context, b *B) error {
	for b.Loop() {
		s.ops++
		if s.fail > 0 && s.ops >= s.fail {
			return errors.New("boom")
		}
		t := time.Now()
		for time.Since(t) < s.d {
		}
		b.Observe(fakePhase, s.d/2)
	}
	return nil
}

type spin struct{}

func (spin) Name() results.Name { return "Fake/op=spin" }
func (spin) Run(ctx context.Context, b *B) error {
	x := 0
	for b.Loop() {
		x++
	}
	_ = x
	return nil
}

const fakePhase results.Phase = "phase"

func quickCfg() Config {
	return Config{Budget: 150 * time.Millisecond, Warmup: 10 * time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 8}
}

func TestEngineInvariants(t *testing.T) {
	for _, s := range []Scenario{&sleepy{d: 20 * time.Microsecond}, spin{}} {
		t.Run(string(s.Name()), func(t *testing.T) {
			res, err := Run(context.Background(), s, quickCfg())
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != "" {
				t.Fatalf("error: %s", res.Error)
			}
			m := res.Summary
			if m.N != len(res.Samples) || m.N < 8 {
				t.Fatalf("n=%d samples=%d, want equal and >= min samples 8", m.N, len(res.Samples))
			}
			var iters int64
			for _, smp := range res.Samples {
				if smp.Iters <= 0 || smp.NsPerOp <= 0 {
					t.Fatalf("bad sample %+v", smp)
				}
				iters += smp.Iters
			}
			if iters != res.Iterations {
				t.Fatalf("iterations %d != sum of sample iters %d", res.Iterations, iters)
			}
			if !(m.Min <= m.Median && m.Median <= m.Max) {
				t.Fatalf("min %v median %v max %v out of order", m.Min, m.Median, m.Max)
			}
			if !(m.P50 <= m.P90 && m.P90 <= m.P99 && m.P99 <= m.P999) {
				t.Fatalf("percentiles out of order: %+v", m)
			}
			if m.CI95High == 0 || !(m.CI95Low <= m.Median && m.Median <= m.CI95High) {
				t.Fatalf("CI [%v, %v] does not contain median %v", m.CI95Low, m.CI95High, m.Median)
			}
			if res.Scenario != "Fake" || res.Params["op"] == "" {
				t.Fatalf("name not parsed: %q %v", res.Scenario, res.Params)
			}
			if res.WarmupOps < 1 {
				t.Fatal("no warmup")
			}
			if _, ok := res.Metrics[results.MetricParentUser]; !ok {
				t.Fatalf("no rusage metrics: %v", res.Metrics)
			}
		})
	}
}

func TestPerOpModeChosenForLongOps(t *testing.T) {
	res, _ := Run(context.Background(), &sleepy{d: 50 * time.Microsecond}, quickCfg())
	if res.PercentileSource != "per-op" {
		t.Fatalf("percentile source %q, want per-op for a 50µs op", res.PercentileSource)
	}
	d, ok := res.Distributions[fakePhase]
	if !ok || int64(d.N) != res.Iterations {
		t.Fatalf("phase distribution has %d ops, want %d (timed ops only)", d.N, res.Iterations)
	}
	res, _ = Run(context.Background(), spin{}, quickCfg())
	if res.PercentileSource != "batch" {
		t.Fatalf("percentile source %q, want batch for a ns op", res.PercentileSource)
	}
}

func TestFailingScenarioKeepsReason(t *testing.T) {
	res, err := Run(context.Background(), &sleepy{d: time.Microsecond, fail: 3}, quickCfg())
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != "boom" {
		t.Fatalf("error %q, want boom", res.Error)
	}
}

type panicky struct{}

func (panicky) Name() results.Name                  { return "Fake/op=panic" }
func (panicky) Run(ctx context.Context, b *B) error { panic("oops") }

func TestPanicBecomesFailure(t *testing.T) {
	res, err := Run(context.Background(), panicky{}, quickCfg())
	if err != nil || !strings.Contains(res.Error, "oops") {
		t.Fatalf("err=%v res.Error=%q", err, res.Error)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, spin{}, quickCfg())
	if err == nil {
		t.Fatal("want context error")
	}
}

func TestMinSamplesRespected(t *testing.T) {
	cfg := quickCfg()
	cfg.MinSamples = 15
	cfg.Budget = time.Millisecond // budget far too small: min samples still win
	res, _ := Run(context.Background(), &sleepy{d: 10 * time.Microsecond}, cfg)
	// The budget never cuts below the minimum; only the runaway bound
	// (3 × 15 × 2 ms here) may, on a machine so loaded that fifteen 2 ms
	// samples took over 90 ms, and then the result must say so.
	if n := len(res.Samples); n < 15 && !res.HasWarning(results.WarnBound) && !res.HasWarning(results.WarnFewSamples) {
		t.Fatalf("%d samples, want >= 15 or a bound warning; warnings %v", n, res.Warnings)
	}
}

// TestRunawayBoundWarns: ops far slower than the budget end at the runaway
// bound, below the minimum, and the result says why as well as how few.
func TestRunawayBoundWarns(t *testing.T) {
	cfg := quickCfg()
	cfg.MinSamples, cfg.Budget, cfg.SampleTime = 15, time.Millisecond, time.Millisecond
	res, err := Run(context.Background(), &sleepy{d: 30 * time.Millisecond}, cfg)
	if err != nil || res.Error != "" {
		t.Fatalf("%v %s", err, res.Error)
	}
	// The bound is max(10 ms, 3 × 15 × 1 ms) = 45 ms: two 30 ms ops pass it.
	if n := len(res.Samples); n < 1 || n >= 15 || !res.HasWarning(results.WarnBound) || !res.HasWarning(results.WarnFewSamples) {
		t.Fatalf("%d samples, warnings %v", n, res.Warnings)
	}
}

func TestSkipper(t *testing.T) {
	res, err := Run(context.Background(), skipper{}, quickCfg())
	if err != nil || res.Skipped != "no" || len(res.Samples) != 0 {
		t.Fatalf("err=%v res=%+v", err, res)
	}
}

type skipper struct{ spin }

func (skipper) SkipReason() string { return "no" }

func TestTimerOverheadPositive(t *testing.T) {
	if TimerOverhead() <= 0 {
		t.Fatal("timer overhead must be positive")
	}
}

type par struct{ n int }

func (p par) Name() results.Name { return "Fake/op=parallel" }
func (p par) Run(ctx context.Context, b *B) error {
	return b.RunParallel(p.n, func(pb *PB) error {
		for pb.Next() {
			t := time.Now()
			for time.Since(t) < 20*time.Microsecond {
			}
			pb.Observe(fakePhase, time.Microsecond)
		}
		return nil
	})
}

func TestParallelInvariants(t *testing.T) {
	res, err := Run(context.Background(), par{n: 2}, quickCfg())
	if err != nil || res.Error != "" {
		t.Fatalf("%v %s", err, res.Error)
	}
	var iters int64
	for _, s := range res.Samples {
		iters += s.Iters
	}
	if iters != res.Iterations || res.Summary.N < 8 {
		t.Fatalf("iterations %d vs %d; n=%d", iters, res.Iterations, res.Summary.N)
	}
	m := res.Summary
	if !(m.P50 <= m.P90 && m.P90 <= m.P99 && m.P99 <= m.P999) {
		t.Fatalf("percentiles out of order %+v", m)
	}
	if res.Distributions[fakePhase].N == 0 {
		t.Fatal("no merged phase distribution")
	}
}

type parFail struct{}

func (parFail) Name() results.Name { return "Fake/op=parfail" }
func (parFail) Run(ctx context.Context, b *B) error {
	return b.RunParallel(3, func(pb *PB) error {
		n := 0
		for pb.Next() {
			n++
			if pb.ID() == 1 && n == 5 {
				return errors.New("pair broke")
			}
			time.Sleep(100 * time.Microsecond)
		}
		return nil
	})
}

func TestParallelFailure(t *testing.T) {
	res, _ := Run(context.Background(), parFail{}, quickCfg())
	if !strings.Contains(res.Error, "worker 1 of 3: pair broke") {
		t.Fatalf("error %q", res.Error)
	}
}

// BenchmarkLoop is the engine's own cost per op: the loop's fast path (a
// counter compare, inlined), amortised batch ends, nothing else. The
// README's claim that timing adds at most 1% to an op rests on this figure
// and on the clock read's cost (TimerOverhead) paid once per batch.
func BenchmarkLoop(b *testing.B) {
	cfg := Config{Budget: 200 * time.Millisecond, Warmup: 20 * time.Millisecond, SampleTime: time.Millisecond, MinSamples: 10}
	for b.Loop() {
		res, err := Run(context.Background(), spin{}, cfg)
		if err != nil || res.Error != "" {
			b.Fatal(err, res.Error)
		}
		b.ReportMetric(res.Summary.Median, "engine-ns/op")
	}
}

// BenchmarkParallelNext is a RunParallel worker's cost per op (its slow
// path publishes every op to the sampler on the worker's cache line).
func BenchmarkParallelNext(b *testing.B) {
	cfg := Config{Budget: 200 * time.Millisecond, Warmup: 20 * time.Millisecond, SampleTime: time.Millisecond, MinSamples: 10}
	for b.Loop() {
		res, err := Run(context.Background(), parSpin{}, cfg)
		if err != nil || res.Error != "" {
			b.Fatal(err, res.Error)
		}
		b.ReportMetric(res.Summary.Median*2, "worker-ns/op")
	}
}

type parSpin struct{}

func (parSpin) Name() results.Name { return "Fake/op=parspin" }
func (parSpin) Run(ctx context.Context, b *B) error {
	return b.RunParallel(2, func(pb *PB) error {
		for pb.Next() {
		}
		return nil
	})
}

// reported is a scenario whose ops are timed elsewhere: each takes a few
// µs here but reports 1 ms, as a Node driver's hrtime would.
type reported struct{}

func (reported) Name() results.Name { return "Fake/op=reported" }
func (reported) Run(ctx context.Context, b *B) error {
	i := 0
	for b.Loop() {
		i++
		b.ReportOpTime(time.Millisecond + time.Duration(i%3)*time.Microsecond)
	}
	return nil
}

func TestReportOpTime(t *testing.T) {
	res, err := Run(context.Background(), reported{}, quickCfg())
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	m := res.Summary
	if m.Median < 1e6 || m.Median > 1.003e6 || m.P50 < 1e6 || m.P999 > 1.01e6 || res.PercentileSource != "per-op" {
		t.Fatalf("figures must be the reported durations: %+v (%s)", m, res.PercentileSource)
	}
	var iters int64
	for _, s := range res.Samples {
		iters += s.Iters
	}
	if iters != res.Iterations || iters < 8 {
		t.Fatalf("iterations %d vs %d", iters, res.Iterations)
	}
}

// hang is a scenario whose op never returns until aborted.
type hang struct {
	at      string // "setup", "op"
	aborted chan struct{}
}

func (h hang) Name() results.Name { return results.Name("Fake/op=hang/at=" + h.at) }
func (h hang) Run(ctx context.Context, b *B) error {
	if h.at == "setup" {
		<-h.aborted
		return errors.New("setup gave up")
	}
	n := 0
	for b.Loop() {
		if n++; n == 50 {
			<-h.aborted // as a blocked read returns when its child is killed
			return errors.New("read: EOF")
		}
	}
	return nil
}

func TestOpTimeout(t *testing.T) {
	for _, at := range []string{"setup", "op"} {
		t.Run(at, func(t *testing.T) {
			h := hang{at: at, aborted: make(chan struct{})}
			cfg := quickCfg()
			cfg.OpTimeout = 200 * time.Millisecond
			var once sync.Once
			cfg.Abort = func() { once.Do(func() { close(h.aborted) }) }
			res, err := Run(context.Background(), h, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Error, "no progress for 200ms (the per-op timeout") {
				t.Fatalf("error %q must name the timeout, not the symptom", res.Error)
			}
		})
	}
}

func TestInterruptAborts(t *testing.T) {
	h := hang{at: "op", aborted: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := quickCfg()
	var once sync.Once
	cfg.Abort = func() { once.Do(func() { close(h.aborted) }) }
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Run(ctx, h, cfg)
	if err == nil {
		t.Fatal("an interrupt is Run's error")
	}
}

// A per-op batch may last longer than the op timeout; its ops end all the
// while, and each one is progress the watchdog sees (with the clock
// reading that timed it).
func TestPerOpBatchLongerThanOpTimeout(t *testing.T) {
	// (An op timeout that a loaded machine's descheduling cannot reach:
	// the batch lasts about twice as long.)
	cfg := Config{Budget: 50 * time.Millisecond, Warmup: 10 * time.Millisecond, SampleTime: 800 * time.Millisecond,
		MinSamples: 1, OpTimeout: 500 * time.Millisecond}
	res, err := Run(context.Background(), &sleepy{d: 50 * time.Microsecond}, cfg)
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	if res.PercentileSource != "per-op" {
		t.Fatalf("percentile source %q: the test wants per-op mode", res.PercentileSource)
	}
}

// stalled is a sub-ns op whose thread stalls once in the warm-up: right
// after its midpoint, or across it.
type stalled struct {
	across bool
	stall  time.Duration
	done   *bool
}

func (s stalled) Name() results.Name { return "Fake/op=stalled" }
func (s stalled) Run(ctx context.Context, b *B) error {
	for b.Loop() {
		if *s.done || b.phase != phaseWarmup {
			continue
		}
		if s.across && !b.warmHalf && time.Since(b.warmStart) >= b.cfg.Warmup*2/5 ||
			!s.across && b.warmHalf {
			*s.done = true
			time.Sleep(s.stall)
		}
	}
	return nil
}

// One stall in the warm-up is one op's worth, left out of the estimate:
// a sub-ns op is still timed in batches, not op by op.
func TestWarmupStallLeftOut(t *testing.T) {
	for _, across := range []bool{false, true} {
		t.Run(fmt.Sprintf("across=%v", across), func(t *testing.T) {
			cfg := quickCfg()
			cfg.Warmup = 2 * time.Millisecond // 300 ms is then over 1 µs an op on the warm-up's whole mean
			for try := 0; ; try++ {
				done := false
				res, err := Run(context.Background(), stalled{across: across, stall: 300 * time.Millisecond, done: &done}, cfg)
				if err != nil || res.Error != "" {
					t.Fatal(err, res.Error)
				}
				if !done {
					// (Descheduled past the window the stall was meant for.)
					if try < 3 {
						continue
					}
					t.Skip("the stall never landed in the warm-up's second half")
				}
				if res.PercentileSource != "batch" {
					t.Fatalf("percentile source %q after a stall in the warm-up: a sub-ns op must be timed in batches", res.PercentileSource)
				}
				return
			}
		})
	}
}

// The first batch of a fast op is sized by the warm-up's slow path; the
// next are sized by it and reach the sample time. (Iters × ns/op is a
// batch's own duration: the assertion is on the sizing, and a loaded
// machine only makes batches longer.)
func TestBatchesGrowToSampleTime(t *testing.T) {
	cfg := quickCfg()
	res, err := Run(context.Background(), spin{}, cfg)
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	if len(res.Samples) < 4 {
		t.Fatalf("%d samples", len(res.Samples))
	}
	first := res.Samples[0].Iters
	var later []float64
	for _, s := range res.Samples[1:] {
		if s.Iters < first {
			t.Fatalf("batch of %d ops after a first one of %d: batches never shrink", s.Iters, first)
		}
		later = append(later, float64(s.Iters)*s.NsPerOp)
	}
	if last := res.Samples[len(res.Samples)-1].Iters; last <= first {
		t.Fatalf("batches stayed at %d ops", first)
	}
	if d := results.Summarize(later).Median; d < float64(cfg.SampleTime.Nanoseconds())/4 {
		t.Fatalf("later batches last %.0f ns (median), want about the %s sample time; iters %d first, %d last",
			d, cfg.SampleTime, first, res.Samples[len(res.Samples)-1].Iters)
	}
}

// briefReported ops are timed elsewhere as 50 ns each: shorter than a
// clock read here, which never times them.
type briefReported struct{}

func (briefReported) Name() results.Name { return "Fake/op=brief" }
func (briefReported) Run(ctx context.Context, b *B) error {
	for b.Loop() {
		t := time.Now()
		for time.Since(t) < 5*time.Microsecond {
		}
		b.ReportOpTime(50 * time.Nanosecond)
	}
	return nil
}

func TestReportOpTimePaysNoClockReads(t *testing.T) {
	res, err := Run(context.Background(), briefReported{}, quickCfg())
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	if res.Summary.Median != 50 {
		t.Fatalf("median %v, want the reported 50 ns", res.Summary.Median)
	}
	if _, ok := res.Metrics[results.MetricTimerShare]; ok || res.HasWarning(results.WarnClock) {
		t.Fatalf("timer share %v, warnings %v: the engine's clock reads are no part of ops timed by the workload",
			res.Metrics[results.MetricTimerShare], res.Warnings)
	}
}
