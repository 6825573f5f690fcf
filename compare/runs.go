package compare

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// CompareSchemaVersion is the version of `ipcbench compare --format json`.
const CompareSchemaVersion = 1

// KindCompare names the compare document.
const KindCompare = "ipcbench-compare"

// Options shape a comparison of two saved runs.
type Options struct {
	// Threshold: only changes whose whole interval lies beyond ±Threshold
	// get a verdict. Two saved runs of one machine drift apart by more
	// than their own intervals say (samples of one run share the minute
	// they ran in), so this is the drift allowance (default 0.15: the
	// drift measured between runs minutes apart on a shared 2-core VM).
	Threshold float64
	// Confidence of the intervals and of Holm's family (0.95).
	Confidence float64
	// AllowEnvMismatch gives verdicts across machines and conditions.
	AllowEnvMismatch bool
}

// DefaultOptions are compare's defaults.
func DefaultOptions() Options { return Options{Threshold: 0.15, Confidence: 0.95} }

// Figure is one run's figure for a benchmark, as that run recorded it.
type Figure struct {
	Median float64 `json:"median"`
	CILow  float64 `json:"ci_low,omitempty"` // 0: no finite bound recorded
	CIHigh float64 `json:"ci_high,omitempty"`
	N      int     `json:"n"` // samples (batches), or rounds when Basis is rounds
}

// Row is one benchmark present in both runs.
type Row struct {
	Name           results.Name `json:"name"`
	Unit           string       `json:"unit"`
	HigherIsBetter bool         `json:"higher_is_better"`
	// Basis is what the statistics ran on: "rounds" (per-round medians,
	// each round minutes apart) or "batches" (the batches of one run,
	// which share the minute they ran in).
	Basis string `json:"basis"`
	Old   Figure `json:"old"`
	New   Figure `json:"new"`
	// Change is new vs old as a relative change of the figure, the
	// two-sample Hodges-Lehmann shift of the log values with its
	// Mann-Whitney interval.
	Change Interval `json:"-"`
	P      float64  `json:"p"` // Mann-Whitney, two-sided, against no change, before Holm
	// PBeyond is the one-sided Mann-Whitney p that the change lies beyond
	// the threshold: above +T or below -T (relative changes of the
	// figure, as printed), whichever the data point to, before Holm. It is
	// the test behind the verdict, and the dual of the interval: below
	// (1-confidence)/2 exactly when the interval lies beyond that bound.
	PBeyond float64 `json:"p_beyond"`
	// Verdict: "faster", "slower", "~" (no change beyond the threshold
	// that survives Holm), "?" (too few values for an interval at this
	// confidence: no verdict either way), "" when refused.
	Verdict string `json:"verdict"`
	up      bool   // PBeyond is for a rise of the figure (else a fall)
}

// Unpaired is a benchmark not compared, and why.
type Unpaired struct {
	Name results.Name `json:"name"`
	Why  string       `json:"why"`
}

// RunInfo identifies a run in a comparison.
type RunInfo struct {
	Label     string    `json:"label"` // the path given
	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	Hostname  string    `json:"hostname"`
	CPUModel  string    `json:"cpu_model"`
}

// Comparison is `ipcbench compare`'s finding.
type Comparison struct {
	SchemaVersion int       `json:"schema_version"`
	Kind          string    `json:"kind"`
	Old           RunInfo   `json:"old"`
	New           RunInfo   `json:"new"`
	EnvDiffs      []EnvDiff `json:"env_diffs,omitempty"`
	// Refused is why no verdict is given ("" when verdicts are given).
	Refused    string     `json:"refused,omitempty"`
	Threshold  float64    `json:"threshold"`
	Confidence float64    `json:"confidence"`
	Rows       []Row      `json:"benchmarks"`
	OnlyOld    []Unpaired `json:"only_old,omitempty"`
	OnlyNew    []Unpaired `json:"only_new,omitempty"`
	// NotCompared are benchmarks in both that failed or were skipped in one.
	NotCompared []Unpaired `json:"not_compared,omitempty"`
	Notes       []string   `json:"notes,omitempty"`
}

// Runs compares two saved runs benchmark by benchmark. It fails only when
// the runs share no benchmark that ran in both (ErrNoCommon).
func Runs(old, new *results.Set, oldLabel, newLabel string, opt Options) (*Comparison, error) {
	if !(opt.Confidence > 0 && opt.Confidence < 1) {
		return nil, fmt.Errorf("compare: confidence %g must be between 0 and 1", opt.Confidence)
	}
	if !(opt.Threshold >= 0) {
		return nil, fmt.Errorf("compare: threshold %g must not be negative", opt.Threshold)
	}
	c := &Comparison{
		SchemaVersion: CompareSchemaVersion, Kind: KindCompare,
		Old: runInfo(old, oldLabel), New: runInfo(new, newLabel),
		Threshold: opt.Threshold, Confidence: opt.Confidence,
		EnvDiffs: EnvDiffs(old, new),
	}
	if why := refusal(c.EnvDiffs); why != "" && !opt.AllowEnvMismatch {
		c.Refused = why + "; timings of different machines or conditions differ by more than any change worth gating (pass --allow-env-mismatch to see verdicts anyway)"
	}
	oldBy := map[results.Name]*results.Benchmark{}
	for i := range old.Benchmarks {
		oldBy[old.Benchmarks[i].Name] = &old.Benchmarks[i]
	}
	newBy := map[results.Name]bool{}
	var ps []float64
	for i := range new.Benchmarks {
		nb := &new.Benchmarks[i]
		newBy[nb.Name] = true
		ob, ok := oldBy[nb.Name]
		if !ok {
			c.OnlyNew = append(c.OnlyNew, Unpaired{nb.Name, "only in " + newLabel})
			continue
		}
		if why := notComparable(ob, nb, oldLabel, newLabel); why != "" {
			c.NotCompared = append(c.NotCompared, Unpaired{nb.Name, why})
			continue
		}
		row, err := compareOne(ob, nb, opt.Confidence, opt.Threshold)
		if err != nil {
			c.NotCompared = append(c.NotCompared, Unpaired{nb.Name, err.Error()})
			continue
		}
		c.Rows = append(c.Rows, row)
		ps = append(ps, row.PBeyond)
	}
	for i := range old.Benchmarks {
		if n := old.Benchmarks[i].Name; !newBy[n] {
			c.OnlyOld = append(c.OnlyOld, Unpaired{n, "only in " + oldLabel})
		}
	}
	if len(c.Rows) == 0 {
		return c, fmt.Errorf("compare: %w: %s and %s share no benchmark that ran in both (%d and %d benchmarks)", ErrNoCommon, oldLabel, newLabel, len(old.Benchmarks), len(new.Benchmarks))
	}
	// Holm across the table, on the test of the verdict itself: a change
	// beyond the threshold (ShiftGreater against +T or -T), not a change
	// from zero. Then the verdicts, as a family, err with probability at
	// most 1-confidence; testing against zero and then asking the
	// uncorrected interval to clear the threshold controlled neither.
	// Each row's p is the smaller of two one-sided tests, each at half the
	// error rate as the two-sided interval's ends are (as the gate does).
	sig := Holm(ps, (1-opt.Confidence)/2)
	basis := map[string]int{}
	for i := range c.Rows {
		r := &c.Rows[i]
		basis[r.Basis]++
		if c.Refused != "" {
			continue
		}
		switch {
		case !r.Change.OK:
			r.Verdict = "?" // no interval: neither a change nor its absence is shown
		case !sig[i]:
			r.Verdict = "~"
		case r.up != r.HigherIsBetter: // a higher time, a lower MB/s
			r.Verdict = "slower"
		default:
			r.Verdict = "faster"
		}
	}
	c.Notes = notes(c, basis, old, new)
	return c, nil
}

// notes say what a verdict between two saved runs is worth.
func notes(c *Comparison, basis map[string]int, old, new *results.Set) []string {
	var n []string
	apart := new.StartedAt.Sub(old.StartedAt).Abs().Round(time.Second)
	if c.Refused == "" {
		n = append(n, fmt.Sprintf("A verdict between two saved runs is only as strong as the drift between them allows (these started %s apart): "+
			"the intervals measure each run's own noise, not how far the machine moved between runs, so changes within ±%s (--threshold) are shown as ~. "+
			"To decide whether a change is slower, measure both in one job, interleaved: ipcbench gate.", apart, pct0(c.Threshold)))
	}
	if basis["batches"] > 0 {
		n = append(n, fmt.Sprintf("%d benchmark(s) compared on batches: the batches of one run ran in the same minute and are not independent of it, so their p-values overstate the evidence (two identical runs have shown \"significant\" ±40%%).", basis["batches"]))
	}
	if basis["rounds"] > 0 {
		n = append(n, fmt.Sprintf("%d benchmark(s) compared on per-round medians: they cover the drift within each run, still not the drift between runs.", basis["rounds"]))
	}
	n = append(n, fmt.Sprintf("A verdict needs the change above +%s or below -%s by a Mann-Whitney test against that bound (p_beyond; the test of the %s interval shown), "+
		"significant at %s (two-sided) after Holm's correction over %d benchmarks; p is the test against no change, before Holm.",
		pct0(c.Threshold), pct0(c.Threshold), pct0(c.Confidence), trimFloat(1-c.Confidence), len(c.Rows)))
	if q := countVerdict(c.Rows, "?"); q > 0 {
		n = append(n, fmt.Sprintf("%d benchmark(s) marked ? have too few values for a %s interval: no verdict either way.", q, pct0(c.Confidence)))
	}
	for _, r := range []struct {
		s     *results.Set
		label string
	}{{old, c.Old.Label}, {new, c.New.Label}} {
		if r.s.Partial != "" {
			n = append(n, fmt.Sprintf("%s is a partial run (%s): its figures stand on what it measured before it stopped.", r.label, r.s.Partial))
		}
	}
	return n
}

func countVerdict(rows []Row, v string) int {
	n := 0
	for _, r := range rows {
		if r.Verdict == v {
			n++
		}
	}
	return n
}

func trimFloat(f float64) string { return fmt.Sprintf("%g", math.Round(f*1e6)/1e6) }

func runInfo(s *results.Set, label string) RunInfo {
	return RunInfo{Label: label, RunID: s.RunID, StartedAt: s.StartedAt, Hostname: s.Env.Hostname, CPUModel: s.Env.CPUModel}
}

func notComparable(ob, nb *results.Benchmark, oldLabel, newLabel string) string {
	for _, x := range []struct {
		b     *results.Benchmark
		label string
	}{{ob, oldLabel}, {nb, newLabel}} {
		switch {
		case x.b.Failed():
			return "failed in " + x.label + ": " + x.b.Error
		case x.b.Skipped != "":
			return "skipped in " + x.label + ": " + x.b.Skipped
		case !x.b.OK():
			return "no samples in " + x.label
		}
	}
	if ob.Unit != nb.Unit {
		return fmt.Sprintf("units differ (%s vs %s)", ob.Unit, nb.Unit)
	}
	return ""
}

// compareOne is a row: per-round medians when both runs have rounds,
// else batch values; threshold is T, the bounds of the verdict's test.
func compareOne(ob, nb *results.Benchmark, conf, threshold float64) (Row, error) {
	r := Row{Name: nb.Name, Unit: nb.Unit, HigherIsBetter: HigherIsBetter(nb.Unit), Basis: "rounds"}
	ovals, nvals := RoundMedians(ob), RoundMedians(nb)
	if ovals == nil || nvals == nil {
		// Rounds are minutes apart and carry the drift within a run;
		// with one side lacking them, compare like with like.
		ovals, nvals, r.Basis = ob.Values(), nb.Values(), "batches"
	}
	r.Old = figure(ob, len(ovals))
	r.New = figure(nb, len(nvals))
	lo, ln := logs(ovals), logs(nvals)
	if lo == nil || ln == nil {
		return r, fmt.Errorf("non-positive values cannot be compared on a log scale")
	}
	iv, err := ShiftHL(lo, ln, conf)
	if err != nil {
		return r, err
	}
	r.Change = relInterval(iv)
	if r.P, err = MannWhitneyP(lo, ln); err != nil {
		return r, err
	}
	// The bounds are +T and -T on the figure, as printed: on the log
	// scale ln(1+T) and ln(1-T), not ±ln(1+T) (which called -13.5%, inside
	// ±15%, a change).
	pUp, err := ShiftGreater(lo, ln, math.Log1p(threshold))
	if err != nil {
		return r, err
	}
	pDown := 1.0 // a fall of 100% or more cannot happen
	if threshold < 1 {
		if pDown, err = ShiftGreater(ln, lo, -math.Log1p(-threshold)); err != nil {
			return r, err
		}
	}
	r.up = pUp <= pDown
	r.PBeyond = min(pUp, pDown)
	return r, nil
}

func figure(b *results.Benchmark, n int) Figure {
	return Figure{Median: b.Summary.Median, CILow: b.Summary.CI95Low, CIHigh: b.Summary.CI95High, N: n}
}

func logs(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if !(x > 0) || math.IsInf(x, 0) {
			return nil
		}
		out[i] = math.Log(x)
	}
	return out
}

// RoundMedians are a benchmark's per-round medians, in round order, when
// its samples carry at least two distinct rounds; nil otherwise.
func RoundMedians(b *results.Benchmark) []float64 {
	by := map[int][]float64{}
	for _, s := range b.Samples {
		by[s.Round] = append(by[s.Round], s.NsPerOp)
	}
	if b.Rounds < 2 || len(by) < 2 {
		return nil
	}
	keys := make([]int, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]float64, len(keys))
	for i, k := range keys {
		out[i] = median(by[k])
	}
	return out
}
