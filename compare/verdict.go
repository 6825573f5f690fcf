package compare

import (
	"fmt"
	"math"

	"github.com/ipcbench/ipcbench/results"
)

// HigherIsBetter reports whether larger values of a figure in unit are
// improvements (MB/s, ops/s); time and costs per op are better lower.
func HigherIsBetter(unit string) bool { return results.Metric(unit).HigherIsBetter() }

// orient turns a log ratio into badness: positive is worse.
func orient(x float64, higherIsBetter bool) float64 {
	if higherIsBetter {
		return -x
	}
	return x
}

// Rel is a log ratio as a relative change: Rel(ln 1.07) = 0.07.
func Rel(x float64) float64 { return math.Expm1(x) }

// relInterval is a log-scale interval as relative changes.
func relInterval(iv Interval) Interval {
	return Interval{Est: Rel(iv.Est), Lo: Rel(iv.Lo), Hi: Rel(iv.Hi), Level: iv.Level, OK: iv.OK}
}

// Outcome is a gate's verdict on one benchmark, or on the whole gate.
type Outcome string

// Outcomes.
const (
	// Pass: the whole CI of the change lies below +T (inside ±T, or an
	// improvement).
	Pass Outcome = "pass"
	// Regression: the whole CI lies beyond +T, significant after Holm's
	// correction across the gate's benchmarks. A point estimate alone
	// never fails a gate.
	Regression Outcome = "regression"
	// Inconclusive: anything else; the MDE says what the run could resolve.
	Inconclusive Outcome = "inconclusive"
	// ArmFailed and Interrupted are whole-gate outcomes: a partial gate
	// never passes.
	ArmFailed   Outcome = "arm-failed"
	Interrupted Outcome = "interrupted"
)

// Exit statuses of `ipcbench gate`, documented in README.md.
const (
	ExitPass         = 0
	ExitRegression   = 1
	ExitUsage        = 2
	ExitInconclusive = 3
	ExitArmFailed    = 4
	// ExitInterrupted is an interrupt without a known signal (a cancelled
	// context), read as Ctrl-C; signal N ends a gate with ExitSignal(N).
	ExitInterrupted = 130
)

// ExitSignal is the exit status of a gate ended by signal number sig:
// 128+sig, as a shell reports a process killed by it (SIGINT 130, SIGTERM
// 143, SIGHUP 129), so that a CI runner's cancel (SIGTERM) reads as one.
func ExitSignal(sig int) int { return 128 + sig }

// ExitCode is the exit status for a gate outcome; inconclusivePass maps
// inconclusive to 0 (--inconclusive=pass). Interrupted maps to
// ExitInterrupted; a gate that knows its signal uses ExitSignal (see
// GateReport.Finish).
func ExitCode(o Outcome, inconclusivePass bool) int {
	switch o {
	case Pass:
		return ExitPass
	case Regression:
		return ExitRegression
	case Inconclusive:
		if inconclusivePass {
			return ExitPass
		}
		return ExitInconclusive
	case Interrupted:
		return ExitInterrupted
	}
	return ExitArmFailed
}

// Plan is a gate's statistical design: the margin, the confidence and the
// sequential stages.
type Plan struct {
	// MaxRegression is the margin T (0.05 = 5%): changes smaller than T
	// are not worth failing a build for. Per benchmark T is raised to its
	// measured noise floor.
	MaxRegression float64
	// Confidence is the two-sided confidence of a gate's intervals
	// before the split across looks (0.95).
	Confidence float64
	// Stages are the round counts at which the gate looks (10, 20, 40).
	// The error rate is split evenly across them (Bonferroni over looks:
	// each look's interval has level 1 - (1-Confidence)/len(Stages)), so
	// stopping at any look keeps the overall rates.
	Stages []int
}

// DefaultPlan is the gate's default design.
func DefaultPlan() Plan {
	return Plan{MaxRegression: 0.05, Confidence: 0.95, Stages: []int{10, 20, 40}}
}

// Check validates a plan.
func (p Plan) Check() error {
	if !(p.MaxRegression > 0 && p.MaxRegression < 10) {
		return fmt.Errorf("compare: margin %g must be positive (0.05 = 5%%)", p.MaxRegression)
	}
	if !(p.Confidence > 0 && p.Confidence < 1) {
		return fmt.Errorf("compare: confidence %g must be between 0 and 1", p.Confidence)
	}
	if len(p.Stages) == 0 {
		return fmt.Errorf("compare: a gate needs at least one stage")
	}
	prev := 0
	for _, s := range p.Stages {
		if s <= prev {
			return fmt.Errorf("compare: stages %v must be increasing round counts", p.Stages)
		}
		prev = s
	}
	if p.Stages[0] < 2 {
		return fmt.Errorf("compare: the first stage needs at least 2 rounds")
	}
	return nil
}

// LookLevel is the two-sided confidence level of each look's interval.
func (p Plan) LookLevel() float64 { return 1 - (1-p.Confidence)/float64(len(p.Stages)) }

// Series is one benchmark's paired observations in a gate: per round, the
// two arms' round medians (in the benchmark's unit).
type Series struct {
	Name   results.Name
	Unit   string
	Base   []float64
	Head   []float64
	Rounds []int // the round each pair was measured in
}

// Add records one round's pair. Non-positive values cannot be logged and
// are refused (a round median is a time or a rate, never zero).
func (s *Series) Add(round int, base, head float64) error {
	if !(base > 0) || !(head > 0) || math.IsInf(base, 0) || math.IsInf(head, 0) {
		return fmt.Errorf("compare: %s round %d: medians %g and %g must be positive and finite", s.Name, round, base, head)
	}
	s.Base = append(s.Base, base)
	s.Head = append(s.Head, head)
	s.Rounds = append(s.Rounds, round)
	return nil
}

// LogRatios are ln(head/base) per round.
func (s *Series) LogRatios() []float64 {
	d := make([]float64, len(s.Base))
	for i := range d {
		d[i] = math.Log(s.Head[i]) - math.Log(s.Base[i])
	}
	return d
}

// Verdict is a gate's finding on one benchmark.
type Verdict struct {
	Name           results.Name `json:"name"`
	Unit           string       `json:"unit"`
	HigherIsBetter bool         `json:"higher_is_better"`
	Rounds         int          `json:"rounds"`
	BaseMedian     float64      `json:"base_median"` // median of the base arm's round medians
	HeadMedian     float64      `json:"head_median"`
	// Change is head vs base as a relative change of the figure (+0.07:
	// 7% larger), the Hodges-Lehmann estimate of the paired log ratios
	// and its Wilcoxon signed-rank interval at the look's level.
	Change Interval `json:"-"`
	// Threshold is T for this benchmark: max(margin, noise floor).
	Threshold  float64 `json:"threshold"`
	NoiseFloor float64 `json:"noise_floor,omitempty"`
	// MDE is the half-width of the interval as a relative change: changes
	// closer than this to T cannot be decided by this run.
	MDE float64 `json:"mde"`
	// PRegression is the one-sided signed-rank p-value of "the change is
	// at most +T" (before Holm's correction).
	PRegression float64 `json:"p_regression"`
	Outcome     Outcome `json:"verdict"`
	Reason      string  `json:"reason"`
	// DecidedAt is the round count of the look that decided it (0: not
	// decided before the gate ended).
	DecidedAt int `json:"decided_at_rounds,omitempty"`
	// RegressedAt is the round count of the first look that called it a
	// regression (0: none did). In a gate it is DecidedAt when the outcome
	// is a regression; in an exhaustive (A/A) gate, whose verdicts are
	// never frozen, a later look may have un-called it, and a real gate,
	// which stops at the first look calling a regression, would have
	// failed all the same: the false alarm counts (NoiseFromAA).
	RegressedAt int `json:"regression_at_rounds,omitempty"`
}

// Look evaluates every series at one look with the plan's per-look level:
// the HL estimate and signed-rank interval of ln(head/base), the
// regression test against +T with Holm's correction across all series
// (regressions are a union: one false alarm fails the gate), and pass when
// the interval's worse end is below +T (a conjunction of one-sided tests,
// which needs no multiplicity correction for "all passed": the
// intersection-union principle). floors raise T per benchmark.
func Look(series []*Series, plan Plan, floors map[results.Name]float64) []Verdict {
	level := plan.LookLevel()
	side := (1 - level) / 2 // each one-sided decision's error rate at this look
	out := make([]Verdict, len(series))
	pReg := make([]float64, len(series))
	for i, s := range series {
		v := &out[i]
		hib := HigherIsBetter(s.Unit)
		*v = Verdict{Name: s.Name, Unit: s.Unit, HigherIsBetter: hib, Rounds: len(s.Base)}
		v.NoiseFloor = floors[s.Name]
		v.Threshold = max(plan.MaxRegression, v.NoiseFloor)
		pReg[i] = math.NaN()
		v.PRegression = 1
		if len(s.Base) == 0 {
			v.Outcome, v.Reason = Inconclusive, "no rounds measured"
			v.Change = Interval{Level: level, Lo: math.Inf(-1), Hi: math.Inf(1)}
			v.MDE = math.Inf(1)
			continue
		}
		v.BaseMedian, v.HeadMedian = median(s.Base), median(s.Head)
		d := s.LogRatios()
		iv, err := SignedRankHL(d, level)
		if err != nil {
			v.Outcome, v.Reason = Inconclusive, err.Error()
			v.MDE = math.Inf(1)
			continue
		}
		v.Change = relInterval(iv)
		v.MDE = Rel(iv.HalfWidth())
		tau := math.Log1p(v.Threshold)
		bad := make([]float64, len(d))
		for j := range d {
			bad[j] = orient(d[j], hib)
		}
		if p, err := SignedRankGreater(bad, tau); err == nil {
			pReg[i], v.PRegression = p, p
		}
	}
	rej := Holm(pReg, side)
	for i := range out {
		v := &out[i]
		if v.Outcome != "" {
			continue
		}
		lo, hi := v.Change.Lo, v.Change.Hi // relative, raw direction
		if v.HigherIsBetter {
			lo, hi = -v.Change.Hi/(1+v.Change.Hi), -v.Change.Lo/(1+v.Change.Lo) // badness as relative: base/head - 1
		}
		T := v.Threshold
		switch {
		case math.IsInf(T, 1):
			v.Outcome = Inconclusive
			v.Reason = "too noisy to gate here: its calibration found no finite noise floor"
		case !v.Change.OK:
			v.Outcome = Inconclusive
			v.Reason = fmt.Sprintf("%d rounds are too few for a %s interval", v.Rounds, pct0(v.Change.Level))
		case rej[i]:
			v.Outcome = Regression
			v.Reason = fmt.Sprintf("the whole interval lies beyond +%s", pct0(T))
		case hi < T:
			v.Outcome = Pass
			switch {
			case hi < 0:
				v.Reason = "an improvement"
			case lo > -T:
				v.Reason = fmt.Sprintf("within ±%s", pct0(T))
			default:
				v.Reason = fmt.Sprintf("no regression beyond +%s", pct0(T))
			}
		case lo > T:
			v.Outcome = Inconclusive
			v.Reason = fmt.Sprintf("the interval lies beyond +%s but is not significant after Holm's correction over %d benchmarks", pct0(T), len(series))
		default:
			v.Outcome = Inconclusive
			v.Reason = fmt.Sprintf("the interval straddles +%s; this run resolves ±%s", pct0(T), pct1(v.MDE))
		}
	}
	return out
}

// Gate runs the sequential design over rounds: the caller measures rounds
// of the Undecided benchmarks up to NextStage, adds each round's pairs,
// and calls Look; verdicts reached at a look are final (their benchmarks
// need no more rounds), except in an exhaustive (A/A) gate.
type Gate struct {
	plan     Plan
	floors   map[results.Name]float64
	series   []*Series
	index    map[results.Name]int
	final    map[results.Name]Verdict
	regAt    map[results.Name]int // the first look calling a regression, by round count
	looks    int                  // looks taken
	exhaust  bool                 // never stop early (calibration)
	verdicts []Verdict
}

// NewGate starts a gate over the named benchmarks (in this order) with
// their units. floors may be nil. With exhaust, every stage is run even
// when every benchmark is decided (an A/A calibration wants them all).
func NewGate(plan Plan, names []results.Name, units []string, floors map[results.Name]float64, exhaust bool) (*Gate, error) {
	if err := plan.Check(); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("compare: a gate needs at least one benchmark")
	}
	g := &Gate{plan: plan, floors: floors, index: map[results.Name]int{}, final: map[results.Name]Verdict{}, regAt: map[results.Name]int{}, exhaust: exhaust}
	for i, n := range names {
		if _, dup := g.index[n]; dup {
			return nil, fmt.Errorf("compare: benchmark %s twice in one gate", n)
		}
		g.index[n] = i
		g.series = append(g.series, &Series{Name: n, Unit: units[i]})
	}
	return g, nil
}

// Add records a round's pair for a benchmark.
func (g *Gate) Add(name results.Name, round int, base, head float64) error {
	i, ok := g.index[name]
	if !ok {
		return fmt.Errorf("compare: %s is not in this gate", name)
	}
	return g.series[i].Add(round, base, head)
}

// Series is the benchmark's observations so far.
func (g *Gate) Series(name results.Name) *Series {
	if i, ok := g.index[name]; ok {
		return g.series[i]
	}
	return nil
}

// SeriesList is every benchmark's observations, in the gate's order.
func (g *Gate) SeriesList() []*Series { return g.series }

// NextStage is the round count of the next planned look, 0 when all
// looks were taken.
func (g *Gate) NextStage() int {
	if g.looks >= len(g.plan.Stages) {
		return 0
	}
	return g.plan.Stages[g.looks]
}

// Looks is the number of looks taken.
func (g *Gate) Looks() int { return g.looks }

// Look takes the next look with the rounds measured so far (normally
// NextStage of them; fewer when time ran out, which spends that look's
// share of the error rate all the same). It reports whether the gate is
// over: every benchmark decided (unless exhaust), or no look left.
func (g *Gate) Look() (over bool) {
	if g.looks >= len(g.plan.Stages) {
		return true
	}
	g.looks++
	vs := Look(g.series, g.plan, g.floors)
	stage := g.looks
	for i := range vs {
		n := vs[i].Name
		if f, ok := g.final[n]; ok && !g.exhaust {
			vs[i] = f
			continue
		}
		if vs[i].Outcome == Regression && g.regAt[n] == 0 {
			g.regAt[n] = vs[i].Rounds
		}
		vs[i].RegressedAt = g.regAt[n]
		if vs[i].Outcome != Inconclusive {
			vs[i].DecidedAt = vs[i].Rounds
			if !g.exhaust {
				g.final[n] = vs[i]
			}
		}
	}
	g.verdicts = vs
	if stage >= len(g.plan.Stages) {
		return true
	}
	return !g.exhaust && len(g.final) == len(g.series)
}

// Undecided lists the benchmarks that need more rounds.
func (g *Gate) Undecided() []results.Name {
	var out []results.Name
	for _, s := range g.series {
		if _, ok := g.final[s.Name]; !ok {
			out = append(out, s.Name)
		}
	}
	return out
}

// Verdicts are the findings of the last look (the frozen ones for
// benchmarks decided earlier); before any look, nil.
func (g *Gate) Verdicts() []Verdict { return g.verdicts }

// Overall is the gate's outcome from its verdicts: any regression fails
// it, any inconclusive leaves it inconclusive, else it passes. No verdicts
// (no look taken) is inconclusive: a gate that measured nothing never
// passes.
func Overall(vs []Verdict) Outcome {
	if len(vs) == 0 {
		return Inconclusive
	}
	out := Pass
	for _, v := range vs {
		switch v.Outcome {
		case Regression:
			return Regression
		case Pass:
		default:
			out = Inconclusive
		}
	}
	return out
}

func median(x []float64) float64 {
	s := sortedCopy(x)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pct0 and pct1 print a fraction as a percentage.
func pct0(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "∞"
	}
	return trimPct(fmt.Sprintf("%.1f", 100*f))
}
func pct1(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "∞"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

func trimPct(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + "%"
}
