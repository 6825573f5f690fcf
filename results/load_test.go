package results

import (
	"math"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/internal/units"
)

// step is a load benchmark at rate with the given verdict and figures.
func step(family string, rate string, verdict string, p99 float64, m map[Metric]float64) Benchmark {
	n := Name(strings.Replace(family, "/cores=1", "/rate="+rate+"/cores=1", 1))
	b := Benchmark{Name: n, Scenario: n.Base(), Params: n.Params(), Unit: "ns/op", Metrics: m,
		Samples: []Sample{{Iters: 10, NsPerOp: p99 / 2}}, Summary: Summary{N: 1, P50: p99 / 2, P99: p99, P999: 2 * p99},
		Distributions: map[Phase]Summary{PhaseLag: {P99: 100}, PhaseService: {P99: p99}}}
	b.Params[ParamVerdict] = verdict
	b.Params[ParamSLO] = "p99=50µs"
	return b
}

const fam = "Load/transport=pipe/mode=raw/size=64/placement=cross-core/arrivals=constant/cores=1"

func TestLoadSweepsFindsTheKnee(t *testing.T) {
	cost := map[Metric]float64{MetricParentUser: 3000, MetricParentSys: 5000, MetricHarness: 2000, MetricChildUser: 1000, MetricChildSys: 3000, MetricAchievedRate: 20000}
	s := &Set{Benchmarks: []Benchmark{
		{Name: "RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1", Scenario: "RoundTrip"},
		step(fam, "20000", VerdictOK, 40e3, cost), // out of order on purpose
		step(fam, "1000", VerdictOK, 30e3, nil),
		step(fam, "50000", VerdictSLO, 80e3, nil),
		step(fam, "100000", VerdictSaturated, 5e6, nil),
		step(fam, "200000", VerdictOK, 30e3, nil), // a fluke past the knee: not the max
		{Name: Name(strings.Replace(fam, "/cores=1", "/rate=500000/cores=1", 1)), Scenario: ScenarioLoad, Skipped: "beyond saturation"},
	}}
	sw := LoadSweeps(s)
	if len(sw) != 1 {
		t.Fatalf("%d sweeps, want 1: %+v", len(sw), sw)
	}
	w := sw[0]
	if w.Family != fam || w.Finding != FindingMaxFound || w.SLO != "p99=50µs" || w.MaxAt != Name(strings.Replace(fam, "/cores=1", "/rate=20000/cores=1", 1)) {
		t.Fatalf("sweep %+v", w)
	}
	m := w.Metrics
	// cpu/op = parent 8 µs − harness 2 µs + child 4 µs = 10 µs; at 20k/s
	// that is 0.2 cores; 20k/s ÷ 0.2 = 100k/s per core; the busier side
	// (parent, 6 µs) bounds the pair at 1/6µs.
	want := map[Metric]float64{MetricMaxRate: 20000, MetricKneeRate: 50000, MetricCPUPerOp: 10000, MetricCoresUsed: 0.2, MetricMaxRatePerCore: 100000, MetricCPUBoundRate: 1e9 / 6000}
	for k, v := range want {
		if math.Abs(m[k]-v) > 1e-6*v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if len(w.Steps) != 6 || w.Steps[0].Rate != 1000 || w.Steps[5].Verdict != "skipped" || w.Steps[2].P99 != 80e3 {
		t.Fatalf("steps %+v", w.Steps)
	}
	if !strings.Contains(w.Text, "max sustainable rate 20k/s") || !strings.Contains(w.Text, "50k/s was slo-exceeded") {
		t.Fatalf("text %q", w.Text)
	}
}

func TestLoadSweepsFindings(t *testing.T) {
	none := LoadSweeps(&Set{Benchmarks: []Benchmark{step(fam, "1000", VerdictSLO, 90e3, nil), step(fam, "2000", VerdictSaturated, 1e7, nil)}})
	if w := none[0]; w.Finding != FindingNonePassed || w.Metrics[MetricMaxRate] != 0 || w.MaxAt != "" || !strings.Contains(w.Text, "no rate passed: the lowest, 1k/s, was slo-exceeded") {
		t.Fatalf("none passed: %+v", w)
	}
	all := LoadSweeps(&Set{Benchmarks: []Benchmark{step(fam, "1000", VerdictOK, 9e3, nil), step(fam, "2000", VerdictOK, 9e3, nil)}})
	if w := all[0]; w.Finding != FindingAllPassed || w.Metrics[MetricMaxRate] != 2000 || !strings.Contains(w.Text, "lower bound") {
		t.Fatalf("all passed: %+v", w)
	}
	// A step that failed has no figures: it is no evidence that the rate
	// cannot be sustained (this used to say none-passed, as if it were the
	// knee). Alone, it is no data, and the text names it.
	failed := failedStep("1000", "boom")
	if w := LoadSweeps(&Set{Benchmarks: []Benchmark{failed}})[0]; w.Finding != FindingNoData || !strings.Contains(w.Text, "1k/s failed: boom") {
		t.Fatalf("failed step: %+v", w)
	}
	if LoadSweeps(&Set{}) != nil {
		t.Fatal("sweeps from no load benchmark")
	}
}

// failedStep is a step that produced no figures, for the reason why.
func failedStep(rate, why string) Benchmark {
	b := step(fam, rate, "", 0, nil)
	b.Error, b.Samples, b.Summary, b.Distributions = why, nil, Summary{}, nil
	delete(b.Params, ParamVerdict)
	return b
}

// A failed step (interrupted, out of the run's time) is not the knee: below
// the first step that did not pass it leaves the max unknown, and the
// finding says so and names it; above the knee it changes nothing.
func TestLoadSweepsFailedStepIsNotTheKnee(t *testing.T) {
	const interrupted, outOfTime = "interrupted before its first visit", "the run's time budget ended before its first visit"
	cases := []struct {
		name     string
		steps    []Benchmark
		finding  string
		max      float64 // -1: no max_rate
		knee     float64 // 0: no knee_rate
		contains []string
	}{
		{"a gap between two passing steps",
			[]Benchmark{step(fam, "1000", VerdictOK, 9e3, nil), failedStep("3000", outOfTime), step(fam, "10000", VerdictOK, 9e3, nil)},
			FindingIncomplete, -1, 0, []string{"incomplete: 3k/s failed: " + outOfTime, "every rate that ran passed", "passed: 1k/s, 10k/s"}},
		{"the lowest step interrupted",
			[]Benchmark{failedStep("1000", interrupted), step(fam, "3000", VerdictOK, 9e3, nil)},
			FindingIncomplete, -1, 0, []string{"1k/s failed: " + interrupted, "passed: 3k/s"}},
		{"a gap below the knee",
			[]Benchmark{step(fam, "1000", VerdictOK, 9e3, nil), failedStep("3000", interrupted), step(fam, "10000", VerdictOK, 9e3, nil), step(fam, "30000", VerdictSaturated, 5e6, nil)},
			FindingIncomplete, -1, 30000, []string{"3k/s failed: " + interrupted, "below the first rate that did not pass (30k/s was saturated"}},
		{"the top step out of time",
			[]Benchmark{step(fam, "1000", VerdictOK, 9e3, nil), step(fam, "3000", VerdictOK, 9e3, nil), failedStep("10000", outOfTime)},
			FindingIncomplete, -1, 0, []string{"10k/s failed", "passed: 1k/s, 3k/s"}},
		{"a failed step above the knee changes nothing",
			[]Benchmark{step(fam, "1000", VerdictOK, 9e3, nil), step(fam, "3000", VerdictSLO, 90e3, nil), failedStep("10000", interrupted)},
			FindingMaxFound, 1000, 3000, []string{"max sustainable rate 1k/s", "3k/s was slo-exceeded"}},
		{"the lowest measured step failing its SLO above a failed one",
			[]Benchmark{failedStep("1000", interrupted), step(fam, "3000", VerdictSLO, 90e3, nil)},
			FindingIncomplete, -1, 3000, []string{"1k/s failed", "(3k/s was slo-exceeded"}},
		{"every step failed",
			[]Benchmark{failedStep("1000", interrupted), failedStep("3000", interrupted)},
			FindingNoData, -1, 0, []string{"no step produced figures (1k/s failed: " + interrupted + ")"}},
	}
	for _, c := range cases {
		w := LoadSweeps(&Set{Benchmarks: c.steps})[0]
		maxRate, hasMax := w.Metrics[MetricMaxRate]
		if w.Finding != c.finding || (c.max < 0) == hasMax || (hasMax && maxRate != c.max) || w.Metrics[MetricKneeRate] != c.knee {
			t.Errorf("%s: finding %q, metrics %v; want %q, max %v, knee %v", c.name, w.Finding, w.Metrics, c.finding, c.max, c.knee)
		}
		if c.max < 0 && w.MaxAt != "" {
			t.Errorf("%s: max at %s", c.name, w.MaxAt)
		}
		for _, want := range c.contains {
			if !strings.Contains(w.Text, want) {
				t.Errorf("%s: text %q lacks %q", c.name, w.Text, want)
			}
		}
	}
}

func TestLoadSetRoundTrip(t *testing.T) {
	s := fixture()
	s.Benchmarks = append(s.Benchmarks, step(fam, "1000", VerdictOK, 9e3, nil))
	s.LoadSweeps = LoadSweeps(s)
	var buf strings.Builder
	if err := Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal([]byte(buf.String()))
	if err != nil || len(back.LoadSweeps) != 1 || back.LoadSweeps[0].Metrics[MetricMaxRate] != 1000 {
		t.Fatalf("load_sweeps did not round-trip: %v %+v", err, back.LoadSweeps)
	}
	for _, key := range []string{`"load_sweeps"`, `"max_rate/s"`, `"finding": "all-passed"`, `"steps"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("no %s in the document", key)
		}
	}
	// Load samples are mean latencies at a fixed rate: no ops/s in the
	// benchmark format.
	var bench strings.Builder
	if err := WriteBench(&bench, &Set{Benchmarks: []Benchmark{step(fam, "1000", VerdictOK, 9e3, nil)}}); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, l := range strings.Split(bench.String(), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			lines++
			if strings.Contains(l, "ops/s") {
				t.Fatalf("a load sample carries ops/s: %s", l)
			}
		}
	}
	if lines != 1 {
		t.Fatalf("%d benchmark lines:\n%s", lines, bench.String())
	}
}

// The sweep's text prints rates and durations as the CLI's messages and
// tables do (results cannot import the helpers, so it keeps copies).
func TestLoadFormatsAsTheCLI(t *testing.T) {
	for _, v := range []float64{1, 50, 100, 999, 1000, 1500, 2000, 2500.5, 3000, 20000, 123456, 300000, 999999, 1e6, 1.5e6, 1234567, 5e6, 10e6} {
		if got, want := fmtRate(v), units.CompactRate(v); got != want {
			t.Errorf("rate %v: %q, the CLI prints %q", v, got, want)
		}
	}
	for _, v := range []float64{0, 1, 12.3, 423, 999, 1000, 4230, 58e3, 85.7e6, 311e6, 1.39e6, 999e6, 1e9, 1.667e9, 123e9, -5e3} {
		if got, want := fmtNS(v), human.Dur(v); got != want {
			t.Errorf("%v ns: %q, the CLI prints %q", v, got, want)
		}
	}
}

// LoadCosts costs any step with the sweep's own figures: at the max
// rate's step they are the sweep's; without CPU figures there are none.
func TestLoadCostsAreTheSweeps(t *testing.T) {
	cost := map[Metric]float64{MetricParentUser: 3000, MetricParentSys: 5000, MetricHarness: 2000, MetricChildUser: 1000, MetricChildSys: 3000}
	s := &Set{Benchmarks: []Benchmark{step(fam, "20000", VerdictOK, 40e3, cost), step(fam, "50000", VerdictSLO, 80e3, nil)}}
	sw := LoadSweeps(s)[0]
	got := LoadCosts(&s.Benchmarks[0])
	for _, k := range []Metric{MetricCPUPerOp, MetricCoresUsed, MetricMaxRatePerCore, MetricCPUBoundRate} {
		if got[k] != sw.Metrics[k] || got[k] <= 0 {
			t.Errorf("%s = %v, the sweep's %v", k, got[k], sw.Metrics[k])
		}
	}
	if c := LoadCosts(&s.Benchmarks[1]); c != nil {
		t.Errorf("costs without CPU figures: %v", c)
	}
}

// A sweep names the closed loop of its workload when the run measured it,
// and records its median: the figure the open loop's p50 at a low rate is
// read against. A closed loop of another placement or size is not it.
func TestLoadSweepsNameTheirClosedLoop(t *testing.T) {
	closed := func(name string, median float64) Benchmark {
		n := Name(name)
		return Benchmark{Name: n, Scenario: n.Base(), Params: n.Params(), Unit: "ns/op",
			Samples: []Sample{{Iters: 10, NsPerOp: median}}, Summary: Summary{N: 1, Median: median, P50: median}}
	}
	spawnFam := "SpawnLoad/mode=spawn/cmd=true/arrivals=poisson/cores=1"
	s := &Set{Benchmarks: []Benchmark{
		closed("RoundTrip/transport=pipe/mode=raw/size=64/placement=same-core/cores=1", 999),
		closed("RoundTrip/transport=pipe/mode=raw/size=65536/placement=cross-core/cores=1", 999),
		closed("RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1", 58000),
		closed("Spawn/mode=spawn/cmd=true/cores=1", 700e3),
		step(fam, "1000", VerdictOK, 90e3, nil),
		step(spawnFam, "100", VerdictOK, 2e6, nil),
		step(strings.Replace(fam, "transport=pipe", "transport=unix", 1), "1000", VerdictOK, 90e3, nil),
	}}
	for _, tc := range []struct {
		family, want string
		median       float64
	}{
		{fam, "RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1", 58000},
		{spawnFam, "Spawn/mode=spawn/cmd=true/cores=1", 700e3},
	} {
		if got := ClosedLoopOf(Name(tc.family)); got != Name(tc.want) {
			t.Errorf("ClosedLoopOf(%s) = %s, want %s", tc.family, got, tc.want)
		}
	}
	sw := LoadSweeps(s)
	if len(sw) != 3 {
		t.Fatalf("%d sweeps", len(sw))
	}
	if sw[0].ClosedLoop != ClosedLoopOf(fam) || sw[0].Metrics[MetricClosedLoop] != 58000 {
		t.Errorf("pipe sweep: closed %q %v", sw[0].ClosedLoop, sw[0].Metrics[MetricClosedLoop])
	}
	if sw[1].Metrics[MetricClosedLoop] != 700e3 {
		t.Errorf("spawn sweep: closed %q %v", sw[1].ClosedLoop, sw[1].Metrics[MetricClosedLoop])
	}
	if _, ok := sw[2].Metrics[MetricClosedLoop]; ok || sw[2].ClosedLoop != "" {
		t.Errorf("unix sweep has a closed loop the run did not measure: %q", sw[2].ClosedLoop)
	}
	// Sweeps saved without it get it from the run; one that has it keeps it.
	saved := []LoadSweep{{Family: Name(fam)}, {Family: Name(spawnFam), ClosedLoop: "Spawn/x", Metrics: map[Metric]float64{MetricClosedLoop: 1}}}
	AttachClosedLoops(s, saved)
	if saved[0].Metrics[MetricClosedLoop] != 58000 || saved[1].Metrics[MetricClosedLoop] != 1 {
		t.Errorf("attached: %+v", saved)
	}
}
