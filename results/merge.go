package results

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines the visits of one benchmark, in the order of their
// rounds, into its result.
//
// A run visits every benchmark several times, in a shuffled order, each
// visit short (randomized multiple interleaved trials), because the
// batches of one visit are not independent of the minute they ran in: a
// confidence interval built from them describes that minute, and a rerun
// minutes later falls outside it more often than not. So the figure is
// the median of the visits' medians and its 95% CI is the
// distribution-free interval across those round medians: it holds the
// drift between minutes that a rerun would see. Everything measured
// within visits is kept: every sample (marked with its round), per-op
// percentiles from the merged per-op histograms, phases, costs per op.
//
// A visit that failed ends the benchmark: the merge carries its error
// and the figures of the visits before it.
func Merge(visits []Benchmark) Benchmark {
	if len(visits) == 0 {
		return Benchmark{}
	}
	out := visits[0]
	out.Samples, out.Warnings, out.Metrics, out.Distributions = nil, nil, nil, nil
	out.Iterations, out.WarmupOps, out.DurationNS, out.Rounds = 0, 0, 0, 0
	out.Params = maps.Clone(visits[0].Params)
	if out.Skipped != "" {
		return out
	}
	var medians []float64
	var used []Benchmark // visits with samples
	for i := range visits {
		v := &visits[i]
		maps.Copy(out.Params, v.Params)
		out.Iterations += v.Iterations
		out.WarmupOps += v.WarmupOps
		out.DurationNS += v.DurationNS
		if v.Error != "" {
			out.Error = v.Error
		}
		if len(v.Samples) == 0 {
			continue
		}
		for _, s := range v.Samples {
			s.Round = i + 1
			out.Samples = append(out.Samples, s)
		}
		medians = append(medians, Summarize(v.Values()).Median)
		used = append(used, *v)
	}
	out.Rounds = len(used)
	out.Warnings = mergeWarnings(visits)
	if len(out.Samples) == 0 {
		out.Metrics = mergeMetrics(visits, 0)
		return out
	}
	out.Summary = Summarize(out.Values())
	if len(medians) > 1 {
		across := Summarize(medians)
		out.Summary.Median = across.Median
		out.Summary.CI95Low, out.Summary.CI95High = across.CI95Low, across.CI95High
	}
	out.Summary.P50 = out.Summary.Median
	out.PercentileSource = "batch"
	if h := mergeHists(used, func(b *Benchmark) string { return b.Summary.Hist }); h != nil {
		out.PercentileSource = "per-op"
		ph := HistSummary(h)
		out.Summary.P50, out.Summary.P90, out.Summary.P99, out.Summary.P999 = ph.P50, ph.P90, ph.P99, ph.P999
		out.Summary.Hist = ph.Hist
	}
	out.Distributions = mergeDists(used)
	out.LoadShare = mergeLoad(used)
	out.Metrics = mergeMetrics(used, out.Summary.Median)
	return out
}

// mergeHists decodes and merges one histogram of every visit; nil when a
// visit has none (percentiles of batch means then stand).
func mergeHists(visits []Benchmark, get func(*Benchmark) string) *hdrhistogram.Histogram {
	var m *hdrhistogram.Histogram
	for i := range visits {
		h, err := DecodeHist(get(&visits[i]))
		if err != nil || h == nil {
			return nil
		}
		if m == nil {
			m = NewHist()
		}
		m.Merge(h)
	}
	return m
}

func mergeDists(visits []Benchmark) map[Phase]Summary {
	phases := map[Phase]bool{}
	for _, v := range visits {
		for ph := range v.Distributions {
			phases[ph] = true
		}
	}
	if len(phases) == 0 {
		return nil
	}
	out := map[Phase]Summary{}
	for ph := range phases {
		var sum float64
		var with []Benchmark
		for _, v := range visits {
			if d, ok := v.Distributions[ph]; ok {
				sum += d.Sum
				with = append(with, v)
			}
		}
		if h := mergeHists(with, func(b *Benchmark) string { return b.Distributions[ph].Hist }); h != nil {
			d := HistSummary(h)
			d.Sum = sum
			out[ph] = d
		} else {
			out[ph] = with[len(with)-1].Distributions[ph]
		}
	}
	return out
}

// mergeLoad is the foreign CPU share over the visits, weighted by the
// time each took (DurationNS). Not by TimedNS: an open loop's latencies
// overlap, and a saturated step's queueing would weigh its visits by how
// long their operations waited rather than how long the machine was
// watched.
func mergeLoad(visits []Benchmark) float64 {
	var w, s float64
	for _, v := range visits {
		t := float64(v.DurationNS)
		if t <= 0 {
			t = TimedNS(&v) // a result without its duration (older files)
		}
		w += t
		s += t * v.LoadShare
	}
	if w == 0 {
		return 0
	}
	return s / w
}

// TimedNS is the time a result's samples cover, Σ iters × ns/op: the
// ops' own time where this process timed them; where the workload did
// (an open loop's latencies, which overlap) it need not be any span of
// time that passed.
func TimedNS(b *Benchmark) float64 {
	var t float64
	for _, s := range b.Samples {
		t += float64(s.Iters) * s.NsPerOp
	}
	return t
}

// peakMetrics are high-water marks: the merge keeps the largest.
var peakMetrics = []Metric{MetricParentPeak, MetricChildPeak, MetricParentGrowth, MetricPeakInFlight}

// mergeMetrics: costs per op are weighted by each visit's ops; peaks are
// the largest; rates follow the merged median where the engine derived
// them from the visit's median, else (a scenario's own MB/s, an open
// loop's achieved_rate/s, any metric per second) they are the median of
// the visits' rates, as the figure is the median of theirs: weighted by
// ops, one visit that carried a burst (23,564/s at an offered 1k/s, seen)
// outweighs all the others.
func mergeMetrics(visits []Benchmark, median float64) map[Metric]float64 {
	keys := map[Metric]bool{}
	for _, v := range visits {
		for k := range v.Metrics {
			keys[k] = true
		}
	}
	if len(keys) == 0 {
		return nil
	}
	out := map[Metric]float64{}
	for k := range keys {
		var vals, weights []float64
		derived := true
		for _, v := range visits {
			x, ok := v.Metrics[k]
			if !ok {
				continue
			}
			vals = append(vals, x)
			weights = append(weights, float64(max(1, v.Iterations)))
			if k == MetricMBPerSec && !(v.BytesPerOp > 0 && v.Summary.Median > 0 && closeTo(x, float64(v.BytesPerOp)*1e3/v.Summary.Median)) {
				derived = false
			}
		}
		switch {
		case slices.Contains(peakMetrics, k):
			out[k] = slices.Max(vals)
		case k == MetricOpsPerSec && median > 0 && !visits[0].IsLoad():
			// (An open loop's figure is a latency: its ops/s is the rate it
			// carried, not 1/latency.)
			out[k] = 1e9 / median
		case k == MetricMBPerSec && derived && median > 0:
			out[k] = float64(visits[0].BytesPerOp) * 1e3 / median
		case isRate(k) || k == MetricBytesPerOp:
			out[k] = Summarize(vals).Median
		default:
			var s, w float64
			for i := range vals {
				s += vals[i] * weights[i]
				w += weights[i]
			}
			out[k] = s / w
		}
	}
	return out
}

// isRate: a metric per second (ops/s, MB/s, achieved_rate/s, ...).
func isRate(k Metric) bool { return strings.HasSuffix(string(k), "/s") }

func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// mergeWarnings keeps each warning once. Those that judge a single visit
// (noisy, too few samples) are dropped: the merged figure is judged anew
// (Judge). Busy-machine and steal warnings become one each, saying in how
// many rounds they happened. Clock-overhead warnings, whose text holds
// each visit's own figures, become one: the worst visit's (the largest
// timer share), saying in how many rounds when not in all. A load step's
// saturated and behind-schedule warnings, whose figures are each visit's,
// become one each: the last visit's, saying in how many rounds.
func mergeWarnings(visits []Benchmark) []Warning {
	var out []Warning
	seen := map[string]bool{}
	counts := map[WarningKind]int{}
	clockAt, worst := -1, -1.0
	lastAt := map[WarningKind]int{}
	for _, v := range visits {
		for _, w := range v.Warnings {
			switch w.Kind {
			case WarnNoisy, WarnFewSamples:
				continue
			case WarnBusy, WarnSteal:
				counts[w.Kind]++
				continue
			case WarnSaturated, WarnSchedule:
				counts[w.Kind]++
				if at, ok := lastAt[w.Kind]; ok {
					out[at] = w
				} else {
					lastAt[w.Kind] = len(out)
					out = append(out, w)
				}
				continue
			case WarnClock:
				counts[w.Kind]++
				if clockAt < 0 {
					clockAt = len(out)
					out = append(out, w)
				}
				if share := v.Metrics[MetricTimerShare]; share > worst {
					worst = share
					out[clockAt] = w
				}
				continue
			}
			if !seen[w.Text] {
				seen[w.Text] = true
				out = append(out, w)
			}
		}
	}
	rounds := len(visits)
	if n := counts[WarnClock]; clockAt >= 0 && n < rounds {
		out[clockAt].Text += fmt.Sprintf(" (in %d of %d rounds)", n, rounds)
	}
	for _, k := range []WarningKind{WarnSaturated, WarnSchedule} {
		if at, ok := lastAt[k]; ok && rounds > 1 {
			out[at].Text += fmt.Sprintf(" (in %d of %d rounds; the figures are the last one's)", counts[k], rounds)
		}
	}
	// The median of the rounds shrugs off a disturbed minority of them:
	// only a third or more of disturbed rounds can move it.
	if n := counts[WarnBusy]; n > 0 && 3*n >= rounds {
		out = append(out, Warning{Kind: WarnBusy, Text: fmt.Sprintf("busy machine: other processes used more than 10%% of the CPUs in %d of %d rounds; the figure may be inflated", n, rounds)})
	}
	if n := counts[WarnSteal]; n > 0 && 3*n >= rounds {
		out = append(out, Warning{Kind: WarnSteal, Text: fmt.Sprintf("hypervisor steal: the host took more than 5%% of CPU time in %d of %d rounds", n, rounds)})
	}
	return out
}

// Judgement is what a merged figure is judged against.
type Judgement struct {
	TargetCIWidth float64 // the precision sampling aimed at (relative CI width)
	NoisyCIWidth  float64 // wider than this: warned as noisy
	MinSamples    int
	MinRounds     int
}

// Judge adds the warnings that say how far to trust a merged figure: too
// few samples or rounds for a CI, and a CI so wide that differences of
// that size are not resolved. It says how wide and why.
func Judge(b *Benchmark, j Judgement) {
	if !b.OK() {
		return
	}
	n, r := len(b.Samples), max(1, b.Rounds)
	switch {
	case j.MinRounds > 1 && r < j.MinRounds:
		b.Warn(WarnFewSamples, fmt.Sprintf("only %d rounds (wanted %d): the time budget allowed no more; %s", r, j.MinRounds, ciSentence(b)))
	case n < j.MinSamples:
		b.Warn(WarnFewSamples, fmt.Sprintf("only %d samples (wanted %d): the time budget allowed no more (each op lasts %s); %s", n, j.MinSamples, fmtNS(b.Summary.Median), ciSentence(b)))
	}
	if w := b.Summary.CIWidth(); !math.IsInf(w, 1) && j.NoisyCIWidth > 0 && w > j.NoisyCIWidth {
		across := "between batches"
		if r > 1 {
			across = fmt.Sprintf("across %d rounds (the round medians moved that much between minutes)", r)
		}
		b.Warn(WarnNoisy, fmt.Sprintf("noisy: the median's 95%% CI is ±%.0f%% %s; differences under ~%.0f%% between figures are not resolved", 50*w, across, 100*w))
	}
}

func ciSentence(b *Benchmark) string {
	switch {
	case b.Summary.CI95High == 0:
		return "no confidence interval (it needs 6)"
	case b.Rounds == 1:
		return fmt.Sprintf("the CI, ±%.0f%% between the batches of one visit, does not hold the drift between minutes", 50*b.Summary.CIWidth())
	}
	return fmt.Sprintf("the CI is ±%.0f%%", 50*b.Summary.CIWidth())
}

// Weak reports whether b carries a warning that makes its figure weak for
// decisions (noisy, busy machine, steal, too few samples, a bound).
func (b *Benchmark) Weak() bool {
	return slices.ContainsFunc(b.Warnings, func(w Warning) bool { return slices.Contains(WeakKinds, w.Kind) })
}

// WarningKinds counts warnings by kind over the set (each benchmark once per kind).
func (s *Set) WarningKinds() map[WarningKind]int {
	out := map[WarningKind]int{}
	for i := range s.Benchmarks {
		seen := map[WarningKind]bool{}
		for _, w := range s.Benchmarks[i].Warnings {
			if !seen[w.Kind] {
				seen[w.Kind] = true
				out[w.Kind]++
			}
		}
	}
	return out
}

// KindList prints counts by kind: "9 noisy, 3 busy-machine".
func KindList(m map[WarningKind]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}
