package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func (s *sleepy) Name() string { return "Fake/op=sleep/size=1" }
func (s *sleepy) Run(ctx context.Context, b *B) error {
	for b.Loop() {
		s.ops++
		if s.fail > 0 && s.ops >= s.fail {
			return errors.New("boom")
		}
		t := time.Now()
		for time.Since(t) < s.d {
		}
		b.Observe("phase", s.d/2)
	}
	return nil
}

type spin struct{}

func (spin) Name() string { return "Fake/op=spin" }
func (spin) Run(ctx context.Context, b *B) error {
	x := 0
	for b.Loop() {
		x++
	}
	_ = x
	return nil
}

func quickCfg() Config {
	return Config{Budget: 150 * time.Millisecond, Warmup: 10 * time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 8}
}

func TestEngineInvariants(t *testing.T) {
	for _, s := range []Scenario{&sleepy{d: 20 * time.Microsecond}, spin{}} {
		t.Run(s.Name(), func(t *testing.T) {
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
			if _, ok := res.Metrics["parent_user_ns/op"]; !ok {
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
	d, ok := res.Distributions["phase"]
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

func (panicky) Name() string                        { return "Fake/op=panic" }
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
	if len(res.Samples) < 15 {
		t.Fatalf("%d samples, want >= 15", len(res.Samples))
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

func TestParseName(t *testing.T) {
	base, p := ParseName("RoundTrip/transport=unix/size=64/mode=raw")
	if base != "RoundTrip" || p["transport"] != "unix" || p["size"] != "64" || p["mode"] != "raw" || len(p) != 3 {
		t.Fatalf("%q %v", base, p)
	}
}

func TestPlacements(t *testing.T) {
	cpus, err := AllowedCPUs()
	if err != nil || len(cpus) == 0 {
		t.Fatal(err)
	}
	topo := Topology(cpus)
	p, c, err := PlaceCPUs(SameCore, topo)
	if err != nil || p != c {
		t.Fatalf("same-core: %d %d %v", p, c, err)
	}
	p, c, err = PlaceCPUs(CrossCore, topo)
	if len(cpus) >= 2 && (err != nil || p == c) {
		t.Fatalf("cross-core on %d CPUs: %d %d %v", len(cpus), p, c, err)
	}
	if _, _, err := PlaceCPUs(CrossCore, topo[:1]); err == nil {
		t.Fatal("cross-core on one CPU must fail")
	}
	if _, _, err := PlaceCPUs("nowhere", topo); err == nil {
		t.Fatal("unknown placement must fail")
	}
}

func TestPinRestores(t *testing.T) {
	cpus, _ := AllowedCPUs()
	unpin, err := Pin(cpus[len(cpus)-1])
	if err != nil {
		t.Fatal(err)
	}
	now, _ := AllowedCPUs()
	if len(now) != 1 {
		t.Fatalf("pinned thread sees %v", now)
	}
	unpin()
}

func TestFingerprint(t *testing.T) {
	e := Fingerprint()
	if e.NumCPU < 1 || len(e.AllowedCPUs) < 1 || e.GoVersion == "" || e.Kernel == "" {
		t.Fatalf("incomplete fingerprint: %+v", e)
	}
	if len(e.Placements) == 0 || e.Placements[0] != SameCore {
		t.Fatalf("placements %v", e.Placements)
	}
}

type par struct{ n int }

func (p par) Name() string { return "Fake/op=parallel" }
func (p par) Run(ctx context.Context, b *B) error {
	return b.Parallel(p.n, func(w *Worker) error {
		for w.Next() {
			t := time.Now()
			for time.Since(t) < 20*time.Microsecond {
			}
			w.Observe("phase", time.Microsecond)
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
	if res.Distributions["phase"].N == 0 {
		t.Fatal("no merged phase distribution")
	}
}

type parFail struct{}

func (parFail) Name() string { return "Fake/op=parfail" }
func (parFail) Run(ctx context.Context, b *B) error {
	return b.Parallel(3, func(w *Worker) error {
		n := 0
		for w.Next() {
			n++
			if w.ID() == 1 && n == 5 {
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

func TestPlacePairsAndDefaultCores(t *testing.T) {
	topo := []results.CPUTopology{{CPU: 0, Core: 0}, {CPU: 1, Core: 1}, {CPU: 2, Core: 0, Siblings: []int{0}}, {CPU: 3, Core: 1, Siblings: []int{1}}}
	topo[0].Siblings, topo[1].Siblings = []int{2}, []int{3}
	pairs, note, err := PlacePairs(CrossCore, topo, 2)
	if err != nil || note != "" || pairs[0] != [2]int{0, 1} || pairs[1] != [2]int{2, 3} {
		t.Fatalf("cross-core x2: %v %q %v", pairs, note, err)
	}
	pairs, note, _ = PlacePairs(CrossCore, topo, 3)
	if note == "" || len(pairs) != 3 {
		t.Fatalf("cross-core x3 on 4 CPUs must say how it shared: %v %q", pairs, note)
	}
	pairs, _, _ = PlacePairs(SMTSibling, topo, 2)
	if pairs[0] != [2]int{0, 2} || pairs[1] != [2]int{1, 3} {
		t.Fatalf("smt pairs %v", pairs)
	}
	if _, _, err := PlacePairs(CrossSocket, topo, 1); err == nil {
		t.Fatal("cross-socket on one package accepted")
	}
	for _, c := range []struct {
		allowed int
		quota   float64
		want    string
	}{{1, 0, "[1]"}, {2, 0, "[1 2]"}, {16, 0, "[1 2 4 8 16]"}, {12, 0, "[1 2 4 8 12]"}, {16, 3.5, "[1 2 3]"}, {8, 0.5, "[1]"}} {
		if got := fmt.Sprint(DefaultCores(c.allowed, c.quota)); got != c.want {
			t.Errorf("DefaultCores(%d, %v) = %s, want %s", c.allowed, c.quota, got, c.want)
		}
	}
}
