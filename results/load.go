package results

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Open-loop (latency under load) vocabulary. A load benchmark offers
// operations on a fixed schedule, t_k = t0 + k/R (or Poisson arrivals of
// mean rate R), whether or not earlier ones finished; its main figure is
// each operation's latency from its SCHEDULED start to its end, so a stall
// delays every operation scheduled during it (no coordinated omission).
const (
	ScenarioLoad      = "Load"      // IPC messages on a schedule, echoed by the child
	ScenarioSpawnLoad = "SpawnLoad" // children started on a schedule

	KeyRate     = "rate"     // offered rate per second
	KeyArrivals = "arrivals" // constant or poisson

	// Extra parameters of a load benchmark (not in its name).
	ParamVerdict   = "verdict"    // VerdictOK, VerdictSLO, VerdictBehind or VerdictSaturated
	ParamSLO       = "slo"        // the objective checked, "none" when none
	ParamWindow    = "window"     // in-flight messages (children) allowed
	ParamSpinAhead = "spin_ahead" // the generator's busy-wait before each send
)

// Arrival processes.
const (
	ArrivalsConstant = "constant" // t_k = t0 + k/R
	ArrivalsPoisson  = "poisson"  // exponential gaps of mean 1/R (seeded)
)

// Verdicts of one load benchmark.
const (
	VerdictOK        = "ok"              // not saturated, within the SLO (if any), the schedule kept
	VerdictSLO       = "slo-exceeded"    // a latency (or lag) bound of the SLO was exceeded
	VerdictBehind    = "behind-schedule" // starts fell behind the schedule: lag p99 above the service time's p99 and LateBound (or the SLO's lag bound)
	VerdictSaturated = "saturated"       // latency grew through the run: the rate is beyond capacity
)

// Phases of a load operation, kept as distributions beside the main figure
// (latency from the scheduled start).
const (
	PhaseService Phase = "service" // actual start → end (what a closed loop measures)
	PhaseLag     Phase = "lag"     // actual − scheduled start (the generator's lateness, or a full window)
)

// Metrics of a load benchmark.
const (
	MetricOfferedRate   Metric = "offered_rate/s"    // the schedule's rate over the timed operations
	MetricSentRate      Metric = "sent_rate/s"       // the rate the generator actually started them at
	MetricAchievedRate  Metric = "achieved_rate/s"   // completions per second over the timed operations
	MetricWindowFull    Metric = "window_full_share" // share of starts that waited for the in-flight window
	MetricWindowWait    Metric = "window_wait_ns/op" // their wait, per op of the run
	MetricLateShare     Metric = "late_share"        // share of starts more than LateBound behind schedule
	MetricLatencyGrowth Metric = "latency_growth_ns" // floor of latency at the end minus at the start
	MetricLagGrowth     Metric = "lag_growth_ns"     // the same for the lag
	MetricQueueAtEnd    Metric = "queue_at_end"      // scheduled but unfinished when the measurement ended
	MetricPeakInFlight  Metric = "peak_in_flight"    // most operations in flight at once
	MetricHarness       Metric = "harness_ns/op"     // the generator's pacing and the recorder's CPU, per op (in parent_*)

	// A sweep's findings (LoadSweep.Metrics).
	MetricMaxRate        Metric = "max_rate/s"          // highest offered rate that passed, below the first that did not
	MetricMaxRatePerCore Metric = "max_rate_per_core/s" // max_rate ÷ cores_used
	MetricCoresUsed      Metric = "cores_used"          // CPU seconds per second at the max rate (parent+child−harness)
	MetricCPUPerOp       Metric = "cpu_ns/op"           // CPU per op at the max rate (parent+child−harness)
	MetricCPUBoundRate   Metric = "cpu_bound_rate/s"    // 1e9 ÷ the busier side's CPU per op: a core each, fully used
	MetricKneeRate       Metric = "knee_rate/s"         // lowest offered rate that did not pass (0: none)
	// MetricClosedLoop is the closed loop of the same workload in the run
	// (LoadSweep.ClosedLoop): its median time per op, the figure the
	// open loop's p50 at a low rate is read against.
	MetricClosedLoop Metric = "closed_loop_ns/op"
)

// WarnSaturated marks a load benchmark past its capacity: its percentiles
// are those of a growing queue (they depend on how long it ran).
const WarnSaturated WarningKind = "saturated"

// WarnSchedule marks a load benchmark whose starts fell behind their
// schedule: the offered rate was not the rate applied.
const WarnSchedule WarningKind = "behind-schedule"

// LateBound is how far behind its schedule a start must be to count in
// late_share.
const LateBound = 1e6 // ns

// Sweep findings.
const (
	FindingMaxFound   = "max-found"   // some rates passed, a higher one did not: max_rate is the knee's lower side
	FindingAllPassed  = "all-passed"  // every rate passed: max_rate is a lower bound
	FindingNonePassed = "none-passed" // even the lowest rate did not pass: max_rate is 0
	FindingNoData     = "no-data"     // no step produced figures (all failed or skipped)
	// FindingIncomplete: a step failed (an error, interrupted, out of the
	// run's time) below the first step that did not pass, or anywhere when
	// every step that ran passed: the max cannot be told, so no max_rate.
	FindingIncomplete = "incomplete"
)

// LoadSweep is the finding of one family of load benchmarks (the same
// workload at several offered rates): the max sustainable rate and what
// it costs. It is derived from the benchmarks (LoadSweeps) and saved with
// the run for readers that do not want to derive it.
type LoadSweep struct {
	// Family is the steps' name without the rate, e.g.
	// "Load/transport=pipe/mode=raw/size=64/placement=cross-core/arrivals=constant/cores=1".
	Family   Name              `json:"family"`
	Scenario string            `json:"scenario"`
	Params   map[string]string `json:"params"`
	SLO      string            `json:"slo"` // as checked by the steps; "none": saturation only
	Finding  string            `json:"finding"`
	Text     string            `json:"text"`
	// MaxAt names the step at the max rate ("" when none passed).
	MaxAt Name `json:"max_at,omitempty"`
	// ClosedLoop names the closed loop of the same workload when the run
	// measured it (see ClosedLoopOf); its median is MetricClosedLoop.
	ClosedLoop Name               `json:"closed_loop,omitempty"`
	Metrics    map[Metric]float64 `json:"metrics"`
	Steps      []LoadStep         `json:"steps"`
}

// LoadStep is one offered rate of a sweep, as the sweep table shows it;
// the full figures are in the benchmark Name.
type LoadStep struct {
	Name     Name    `json:"name"`
	Rate     float64 `json:"rate"`
	Verdict  string  `json:"verdict"` // ok, slo-exceeded, behind-schedule, saturated, skipped, failed
	Why      string  `json:"why,omitempty"`
	Achieved float64 `json:"achieved_rate,omitempty"`
	P50      float64 `json:"p50,omitempty"`
	P99      float64 `json:"p99,omitempty"`
	P999     float64 `json:"p999,omitempty"`
	LagP99   float64 `json:"lag_p99,omitempty"`
}

// IsLoad reports whether b is an open-loop benchmark (its samples are
// latencies at an offered rate, not the time per op of a closed loop).
func (b *Benchmark) IsLoad() bool {
	return (b.Scenario == ScenarioLoad || b.Scenario == ScenarioSpawnLoad) && b.Name.Param(KeyRate) != ""
}

// LoadSweeps derives every family's finding from the load benchmarks of
// s, families in the order they first appear.
func LoadSweeps(s *Set) []LoadSweep {
	byFamily := map[Name][]*Benchmark{}
	var order []Name
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		if !b.IsLoad() {
			continue
		}
		f := b.Name.Without(KeyRate)
		if _, ok := byFamily[f]; !ok {
			order = append(order, f)
		}
		byFamily[f] = append(byFamily[f], b)
	}
	var out []LoadSweep
	for _, f := range order {
		out = append(out, sweepOf(f, byFamily[f]))
	}
	AttachClosedLoops(s, out)
	return out
}

// AttachClosedLoops names, in each sweep that has none yet, the closed
// loop of its workload that s measured (ClosedLoopOf) and records its
// median (MetricClosedLoop): for sweeps saved by a version that did not.
func AttachClosedLoops(s *Set, sweeps []LoadSweep) {
	closed := map[Name]*Benchmark{}
	for i := range s.Benchmarks {
		if b := &s.Benchmarks[i]; b.OK() && !b.IsLoad() {
			closed[b.Name] = b
		}
	}
	for i := range sweeps {
		sw := &sweeps[i]
		if sw.ClosedLoop != "" {
			continue
		}
		if c := closed[ClosedLoopOf(sw.Family)]; c != nil && c.Summary.Median > 0 {
			sw.ClosedLoop = c.Name
			if sw.Metrics == nil {
				sw.Metrics = map[Metric]float64{}
			}
			sw.Metrics[MetricClosedLoop] = c.Summary.Median
		}
	}
}

// ClosedLoopOf names the closed loop of the workload a load family
// offers at a rate: the round trip (RoundTrip) of a Load's transport,
// mode, size and placement, the one-at-a-time start (Spawn) of a
// SpawnLoad's mode and command, on one core. At a low offered rate the
// open loop's p50 should come near its median, unless the machine charges
// for the idle time between operations (docs: "Open vs closed loop").
func ClosedLoopOf(family Name) Name {
	base := ScenarioRoundTrip
	if family.Base() == ScenarioSpawnLoad {
		base = ScenarioSpawn
	}
	rest := strings.TrimPrefix(string(family.Without(KeyArrivals, KeyRate)), family.Base())
	return Name(base + rest)
}

func stepOf(b *Benchmark) LoadStep {
	rate, _ := strconv.ParseFloat(b.Name.Param(KeyRate), 64)
	st := LoadStep{Name: b.Name, Rate: rate}
	switch {
	case b.Skipped != "":
		st.Verdict, st.Why = "skipped", b.Skipped
		return st
	case b.Error != "":
		st.Verdict, st.Why = "failed", b.Error
		return st
	case !b.OK():
		st.Verdict, st.Why = "failed", "no figures"
		return st
	}
	st.Verdict = b.Params[ParamVerdict]
	if st.Verdict == "" {
		st.Verdict = "unknown"
	}
	st.Achieved = b.Metrics[MetricAchievedRate]
	st.P50, st.P99, st.P999 = b.Summary.P50, b.Summary.P99, b.Summary.P999
	st.LagP99 = b.Distributions[PhaseLag].P99
	return st
}

func sweepOf(family Name, steps []*Benchmark) LoadSweep {
	slices.SortStableFunc(steps, func(a, b *Benchmark) int {
		ra, _ := strconv.ParseFloat(a.Name.Param(KeyRate), 64)
		rb, _ := strconv.ParseFloat(b.Name.Param(KeyRate), 64)
		return cmp.Compare(ra, rb)
	})
	sw := LoadSweep{Family: family, Scenario: family.Base(), Params: family.Params(), SLO: "none", Metrics: map[Metric]float64{}}
	// The knee is the first step measured and not ok. A failed step (it
	// has no figures) and a skipped one are no evidence either way: they
	// neither pass nor make the knee, but a failed one below the knee
	// leaves the max unknown.
	var maxB *Benchmark
	var knee, failed *LoadStep
	var passed []string
	for _, b := range steps {
		st := stepOf(b)
		sw.Steps = append(sw.Steps, st)
		if slo := b.Params[ParamSLO]; slo != "" && st.Verdict != "skipped" && st.Verdict != "failed" {
			sw.SLO = slo
		}
		if knee != nil {
			continue
		}
		switch st.Verdict {
		case VerdictOK:
			maxB = b
			passed = append(passed, fmtRate(st.Rate)+"/s")
		case "skipped":
			// Beyond a saturated step, or not runnable here: no evidence.
		case "failed":
			if failed == nil {
				failed = &sw.Steps[len(sw.Steps)-1]
			}
		default:
			knee = &sw.Steps[len(sw.Steps)-1]
		}
	}
	if knee != nil {
		sw.Metrics[MetricKneeRate] = knee.Rate
	}
	switch {
	case maxB == nil && knee == nil:
		sw.Finding = FindingNoData
		sw.Text = "no step produced figures"
		if failed != nil {
			sw.Text += fmt.Sprintf(" (%s/s %s)", fmtRate(failed.Rate), describe(failed))
		}
	case failed != nil:
		sw.Finding = FindingIncomplete
		below := "every rate that ran passed"
		if knee != nil {
			below = fmt.Sprintf("below the first rate that did not pass (%s/s was %s)", fmtRate(knee.Rate), describe(knee))
		}
		sw.Text = fmt.Sprintf("incomplete: %s/s %s, %s: the max sustainable rate cannot be told", fmtRate(failed.Rate), describe(failed), below)
		if len(passed) > 0 {
			sw.Text += "; passed: " + strings.Join(passed, ", ")
		}
	case maxB == nil:
		sw.Finding = FindingNonePassed
		sw.Metrics[MetricMaxRate] = 0
		sw.Text = fmt.Sprintf("no rate passed: the lowest, %s/s, was %s", fmtRate(knee.Rate), describe(knee))
	default:
		st := stepOf(maxB)
		sw.MaxAt = maxB.Name
		sw.Metrics[MetricMaxRate] = st.Rate
		costs(maxB, st.Rate, sw.Metrics)
		if knee == nil {
			sw.Finding = FindingAllPassed
			sw.Text = fmt.Sprintf("every rate passed up to %s/s (p99 %s): the knee lies beyond the sweep, the max is a lower bound", fmtRate(st.Rate), fmtNS(st.P99))
		} else {
			sw.Finding = FindingMaxFound
			sw.Text = fmt.Sprintf("max sustainable rate %s/s (p99 %s); %s/s was %s", fmtRate(st.Rate), fmtNS(st.P99), fmtRate(knee.Rate), describe(knee))
		}
	}
	if sw.SLO != "none" {
		sw.Text += " [SLO " + sw.SLO + "]"
	}
	return sw
}

// LoadCosts are the CPU figures of one load step at its offered rate, the
// ones a sweep reports for its max rate (LoadSweep.Metrics): the pair's
// CPU per op without the harness (the generator's pacing and the
// recorder) as MetricCPUPerOp, the cores that uses at the rate as
// MetricCoresUsed, the rate per core (rate ÷ cores used) as
// MetricMaxRatePerCore and the two-process bound as MetricCPUBoundRate.
// They hold for a step that carried its rate (a passing one); nil when
// the step's CPU was not measured. A reader that judges steps by its own
// bound (a capacity report's p99 target) costs the step it picks with the
// same figures as the sweep.
func LoadCosts(b *Benchmark) map[Metric]float64 {
	rate, err := strconv.ParseFloat(b.Name.Param(KeyRate), 64)
	if err != nil || rate <= 0 {
		return nil
	}
	m := map[Metric]float64{}
	costs(b, rate, m)
	if len(m) == 0 {
		return nil
	}
	return m
}

// costs fills the CPU figures of the step at the max rate: the pair's CPU
// per op without the harness (the generator's pacing and the recorder),
// the cores that uses at the rate achieved, and the two-process bound.
func costs(b *Benchmark, rate float64, m map[Metric]float64) {
	mt := b.Metrics
	if _, ok := mt[MetricParentUser]; !ok {
		return
	}
	parent := max(0, mt[MetricParentUser]+mt[MetricParentSys]-mt[MetricHarness])
	child := mt[MetricChildUser] + mt[MetricChildSys]
	cpu := parent + child
	if cpu <= 0 {
		return
	}
	// At a passing step the rate achieved is the rate offered (it was not
	// saturated): cores used at the max rate, and the rate per core.
	m[MetricCPUPerOp] = cpu
	m[MetricCoresUsed] = cpu * rate / 1e9
	m[MetricMaxRatePerCore] = rate / m[MetricCoresUsed]
	m[MetricCPUBoundRate] = 1e9 / max(parent, child)
}

func describe(st *LoadStep) string {
	switch st.Verdict {
	case VerdictSLO, VerdictBehind, VerdictSaturated:
		return fmt.Sprintf("%s (p99 %s, p99.9 %s)", st.Verdict, fmtNS(st.P99), fmtNS(st.P999))
	case "failed":
		return "failed: " + st.Why
	}
	return st.Verdict
}

// fmtRate and fmtNS print a rate and a duration as the CLI does in its
// messages and tables: the same as internal/units.CompactRate (10M, 20k,
// 1.5k, 2500.5) and internal/human.Dur (423ns, 4.23µs, 1.23ms, 1.23s),
// copied because results imports nothing of ours (ARCHITECTURE.md);
// TestLoadFormatsAsTheCLI holds them equal.
func fmtRate(v float64) string {
	trim := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch {
	case v >= 1e6 && math.Round(v/1e3) == v/1e3:
		return trim(v/1e6) + "M"
	case v >= 1e3 && math.Round(v) == v:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// fmtNS prints a duration in ns compactly, for the texts results writes
// (sweep findings, warnings): 12ns, 4.5µs, 1.23ms, 2.00s.
func fmtNS(ns float64) string {
	a := math.Abs(ns)
	switch {
	case ns == 0:
		return "0"
	case a < 1e3:
		return sig3(ns) + "ns"
	case a < 1e6:
		return sig3(ns/1e3) + "µs"
	case a < 1e9:
		return sig3(ns/1e6) + "ms"
	}
	return sig3(ns/1e9) + "s"
}

// sig3 prints v with three significant figures (at most two decimals).
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
