package results

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// visit is one visit with n samples around median m, and a per-op histogram.
func visit(m float64, n int, warn ...Warning) Benchmark {
	b := Benchmark{Name: "RoundTrip/transport=pipe/cores=1", Scenario: ScenarioRoundTrip, Params: map[string]string{KeyTransport: "pipe"}, Unit: "ns/op"}
	h := NewHist()
	for i := 0; i < n; i++ {
		v := m * (1 + 0.01*float64(i%3-1))
		b.Samples = append(b.Samples, Sample{Iters: 10, NsPerOp: v})
		b.Iterations += 10
		for k := 0; k < 10; k++ {
			_ = h.RecordValue(int64(v))
		}
	}
	b.Summary = Summarize(b.Values())
	b.Summary.Hist = EncodeHist(h)
	b.PercentileSource = "per-op"
	b.Metrics = map[Metric]float64{MetricOpsPerSec: 1e9 / b.Summary.Median, MetricParentUser: m / 10, MetricParentPeak: m}
	b.Warnings = warn
	return b
}

func TestMergeTakesTheCIAcrossRounds(t *testing.T) {
	medians := []float64{1000, 1100, 950, 1050, 1200, 990}
	var vs []Benchmark
	for _, m := range medians {
		vs = append(vs, visit(m, 5))
	}
	m := Merge(vs)
	if m.Rounds != 6 || len(m.Samples) != 30 || m.Iterations != 300 {
		t.Fatalf("rounds %d samples %d iterations %d", m.Rounds, len(m.Samples), m.Iterations)
	}
	for i, s := range m.Samples {
		if s.Round != i/5+1 {
			t.Fatalf("sample %d marked round %d", i, s.Round)
		}
	}
	// The median of the six round medians, and with six the distribution-free
	// 95% CI is their range (order statistics 1 and 6, 96.9%).
	if m.Summary.Median != 1025 || m.Summary.CI95Low != 950 || m.Summary.CI95High != 1200 {
		t.Fatalf("median %v CI [%v, %v], want 1025 [950, 1200]", m.Summary.Median, m.Summary.CI95Low, m.Summary.CI95High)
	}
	if m.PercentileSource != "per-op" || m.Summary.Hist == "" || m.Summary.P99 < 1200 || m.Summary.P50 > m.Summary.P99 {
		t.Fatalf("per-op percentiles from the merged histograms: %+v", m.Summary)
	}
	if got := m.Metrics[MetricOpsPerSec]; math.Abs(got-1e9/1025) > 1e-6 {
		t.Fatalf("ops/s %v must follow the merged median", got)
	}
	if got := m.Metrics[MetricParentPeak]; got != 1200 {
		t.Fatalf("peak %v must be the largest", got)
	}
	if got, want := m.Metrics[MetricParentUser], (1000+1100+950+1050+1200+990)/60.0; math.Abs(got-want) > 1e-9 {
		t.Fatalf("cost per op %v, want the ops-weighted mean %v", got, want)
	}
}

func TestMergeWarnings(t *testing.T) {
	busy := Warning{Kind: WarnBusy, Text: "busy machine: 40%"}
	var vs []Benchmark
	for i := 0; i < 6; i++ {
		var w []Warning
		if i == 0 {
			w = append(w, busy, Warning{Kind: WarnNoisy, Text: "noisy within a visit"}, Warning{Kind: WarnPlacement, Text: "placement: shared"})
		}
		w = append(w, Warning{Kind: WarnPlacement, Text: "placement: shared"})
		vs = append(vs, visit(1000, 5, w...))
	}
	m := Merge(vs)
	if m.HasWarning(WarnBusy) || m.HasWarning(WarnNoisy) {
		t.Fatalf("one busy round in six cannot move a median of rounds; visit-level noise is judged anew: %v", m.Warnings)
	}
	if n := len(m.Warnings); n != 1 || m.Warnings[0].Kind != WarnPlacement {
		t.Fatalf("repeated warnings kept once: %v", m.Warnings)
	}
	vs[1].Warnings = append(vs[1].Warnings, busy)
	if m := Merge(vs); !m.HasWarning(WarnBusy) || !strings.Contains(m.Warnings[len(m.Warnings)-1].Text, "2 of 6 rounds") {
		t.Fatalf("a third of the rounds busy must warn: %v", m.Warnings)
	}
}

// TestMergeScheduleWarnings: each visit of a load step past its capacity
// says it fell behind, with its own figures; the merge says it once.
func TestMergeScheduleWarnings(t *testing.T) {
	var vs []Benchmark
	for i := range 4 {
		var w []Warning
		if i > 0 {
			w = append(w, Warning{Kind: WarnSchedule, Text: fmt.Sprintf("starts fell behind: lag p99 %dms", i)})
		}
		vs = append(vs, visit(1000, 5, w...))
	}
	m := Merge(vs)
	if len(m.Warnings) != 1 || m.Warnings[0].Text != "starts fell behind: lag p99 3ms (in 3 of 4 rounds; the figures are the last one's)" {
		t.Fatalf("one schedule warning, the last visit's: %v", m.Warnings)
	}
}

func TestMergeFailureAndJudge(t *testing.T) {
	vs := []Benchmark{visit(1000, 5), visit(1010, 5)}
	vs = append(vs, Benchmark{Name: vs[0].Name, Error: "child died"})
	m := Merge(vs)
	if m.Error != "child died" || m.Rounds != 2 {
		t.Fatalf("error %q rounds %d", m.Error, m.Rounds)
	}
	ok := Merge(vs[:2])
	Judge(&ok, Judgement{NoisyCIWidth: 0.2, MinSamples: 6, MinRounds: 6})
	if !ok.HasWarning(WarnFewSamples) || !strings.Contains(ok.Warnings[0].Text, "only 2 rounds (wanted 6)") {
		t.Fatalf("too few rounds must be said: %v", ok.Warnings)
	}
	var wide []Benchmark
	for _, m := range []float64{1000, 1500, 700, 1300, 900, 1100} {
		wide = append(wide, visit(m, 5))
	}
	w := Merge(wide)
	Judge(&w, Judgement{NoisyCIWidth: 0.2, MinSamples: 6, MinRounds: 6})
	if !w.HasWarning(WarnNoisy) || !strings.Contains(w.Warnings[0].Text, "across 6 rounds") {
		t.Fatalf("a ±40%% CI must be noisy, saying why: %v", w.Warnings)
	}
	if !w.Weak() {
		t.Fatal("noisy is weak")
	}
}

// Each visit's clock warning holds its own figures: the merge keeps one,
// the worst visit's, and says in how many rounds.
func TestMergeClockWarningsOnce(t *testing.T) {
	var vs []Benchmark
	for i, share := range []float64{0.02, 0.05, 0.03, 0, 0.04, 0.02} {
		v := visit(1000, 5)
		v.Metrics[MetricTimerShare] = share
		if share > 0.01 {
			v.Warnings = []Warning{{Kind: WarnClock, Text: fmt.Sprintf("clock reads cost %.1f%% of each op (visit %d)", 100*share, i)}}
		}
		vs = append(vs, v)
	}
	m := Merge(vs)
	var clock []Warning
	for _, w := range m.Warnings {
		if w.Kind == WarnClock {
			clock = append(clock, w)
		}
	}
	if len(clock) != 1 || clock[0].Text != "clock reads cost 5.0% of each op (visit 1) (in 5 of 6 rounds)" {
		t.Fatalf("want the worst round's clock warning once, saying in how many rounds: %v", clock)
	}
	vs[3].Warnings = []Warning{{Kind: WarnClock, Text: "clock reads cost 1.5% of each op (visit 3)"}}
	if m := Merge(vs); len(m.Warnings) != 1 || m.Warnings[0].Text != "clock reads cost 5.0% of each op (visit 1)" {
		t.Fatalf("in every round: %v", m.Warnings)
	}
}

// A load benchmark's rates are the median of its visits' rates: one visit
// that carried a burst (many more ops) does not outweigh the others.
func TestMergeRatesAreMedians(t *testing.T) {
	var vs []Benchmark
	for i, achieved := range []float64{1000, 1002, 23564, 998, 1001, 999} {
		v := visit(50e3, 5)
		v.Name, v.Scenario = "Load/transport=pipe/rate=1k", ScenarioLoad
		if i == 2 {
			v.Iterations *= 100
		}
		v.Metrics[MetricOfferedRate] = 1000
		v.Metrics[MetricAchievedRate] = achieved
		v.Metrics[MetricSentRate] = achieved
		v.Metrics[MetricOpsPerSec] = achieved
		vs = append(vs, v)
	}
	m := Merge(vs)
	for _, k := range []Metric{MetricAchievedRate, MetricSentRate, MetricOpsPerSec} {
		if got := m.Metrics[k]; got != 1000.5 {
			t.Fatalf("%s %v, want the median of the visits' 1000.5", k, got)
		}
	}
	if got := m.Metrics[MetricOfferedRate]; got != 1000 {
		t.Fatalf("offered %v", got)
	}
}

// TestMergeLoadByDuration: the foreign CPU share of the merged result
// weighs each visit by the time it took, not by its operations' summed
// latencies (an open loop's overlap and queue).
func TestMergeLoadByDuration(t *testing.T) {
	a, b := visit(1000, 5), visit(1e6, 5) // b's latencies sum 1000× a's
	a.DurationNS, a.LoadShare = 1e9, 0.4
	b.DurationNS, b.LoadShare = 1e9, 0
	if got := Merge([]Benchmark{a, b}).LoadShare; math.Abs(got-0.2) > 1e-9 {
		t.Fatalf("load share %v, want 0.2 (two visits of 1 s each)", got)
	}
}
