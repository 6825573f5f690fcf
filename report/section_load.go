package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// Latency under load: benchmarks (Load, SpawnLoad) with a
// results.KeyRate parameter (the offered operations per second) and
// otherwise the parameters of the workload they load; the Summary holds
// the per-op latency measured from each operation's intended start (so
// queueing is counted), and results.MetricAchievedRate the rate actually
// carried. results.LoadSweeps derives the run's own findings from them.

// loadPoint is one offered rate of a loaded workload.
type loadPoint struct {
	b       *results.Benchmark
	offered float64
}

// loadFamilies groups a series' load benchmarks as results.LoadSweeps
// does (by the name without the rate), each sorted by offered rate. Steps
// that did not run are kept: a failed step ends a sweep.
func loadFamilies(s *series) (keys []results.Name, fams map[results.Name][]loadPoint) {
	fams = map[results.Name][]loadPoint{}
	for _, b := range s.benches {
		r, err := strconv.ParseFloat(b.Name.Param(results.KeyRate), 64)
		if err != nil || r <= 0 || !b.IsLoad() {
			continue
		}
		k := b.Name.Without(results.KeyRate)
		if fams[k] == nil {
			keys = append(keys, k)
		}
		fams[k] = append(fams[k], loadPoint{b, r})
	}
	for _, k := range keys {
		slices.SortStableFunc(fams[k], func(a, b loadPoint) int { return cmp.Compare(a.offered, b.offered) })
	}
	return keys, fams
}

// loadName names a load family in answers and charts: its workload's
// parameters ("pipe raw 64B cross-core constant"), and its cores when
// several pairs ran.
func loadName(k results.Name) string {
	name := shortName(k.Without(results.KeyCores))
	if c := k.Param(results.KeyCores); c != "" && c != "1" {
		name += " cores=" + c
	}
	return name
}

// sustained reports whether a load point carried its offered rate (99%)
// within a bound on a percentile (no bound: the rate alone).
func sustained(p loadPoint, pct string, bound float64) bool {
	if a, ok := p.b.Metrics[results.MetricAchievedRate]; ok && a < 0.99*p.offered {
		return false
	}
	v := p.b.Params[results.ParamVerdict]
	if bound > 0 {
		// The report's own bound replaces the run's --slo, but not its
		// saturation verdict: a saturated step's percentiles are those of a
		// queue that grew through the run (they depend on how long it
		// ran), so a low p99 there proves nothing about the rate.
		if v == results.VerdictSaturated {
			return false
		}
		lat := percentile(p.b.Summary, cmp.Or(pct, "p99"))
		return p.b.PercentileSource == "per-op" && lat > 0 && lat <= bound
	}
	// No bound of the report's own: the run's verdict, which holds its
	// --slo (and saturation), is the one to keep to.
	return v == "" || v == results.VerdictOK
}

// runSLO is the objective the steps of a family were checked against by
// the run ("" when none).
func runSLO(pts []loadPoint) string {
	for _, p := range pts {
		if s := p.b.Params[results.ParamSLO]; s != "" && s != "none" {
			return s
		}
	}
	return ""
}

// loadMax is what a family carried.
type loadMax struct {
	best  *loadPoint                 // the highest offered rate carried; nil: none
	knee  *loadPoint                 // the first step that was not; nil: none
	costs map[results.Metric]float64 // results.LoadCosts of best; nil: its CPU was not measured
	left  []string                   // steps the answers refuse, named: "1.00M/s (noisy)"
}

// perCore is the rate one core carries at best's step: rate ÷ the cores
// of CPU parent and child used there (the run's max_rate_per_core/s when
// best is the sweep's max), 0 when unknown.
func (m loadMax) perCore() float64 { return m.costs[results.MetricMaxRatePerCore] }

// loadMax finds the highest offered rate a family carried below the first
// step that did not, the rule of results.LoadSweeps, judged by the run's
// verdict or, with a bound, by the report's own. It is costed with
// results.LoadCosts, so that with no bound and no refused step its figures
// are the run's own load_sweeps (max_rate_per_core/s, cores_used).
//
// A step that failed the rate or the bound is the knee even when it is
// refused (noisy): its failure can only lower the answer. A step that
// passed but is refused is passed over, and named in the answer: a noisy
// step must neither carry the answer nor vanish from it.
func (in *Input) loadMax(pts []loadPoint, pct string, bound float64) loadMax {
	var m loadMax
	for i := range pts {
		p := &pts[i]
		if p.b.Skipped != "" {
			continue // beyond saturation, or not runnable here: no evidence
		}
		if !p.b.OK() || !sustained(*p, pct, bound) {
			m.knee = p
			break
		}
		if why := in.refusal(p.b); why != "" {
			m.left = append(m.left, fmt.Sprintf("%s/s (%s)", Count(p.offered), reasonKind(why)))
			continue
		}
		m.best = p
	}
	if m.best != nil {
		m.costs = results.LoadCosts(m.best.b)
	}
	return m
}

// kneeText says why the knee's step did not count.
func kneeText(p *loadPoint) string {
	switch {
	case p.b.Failed():
		return "failed"
	case !p.b.OK():
		return "no figures"
	}
	var why []string
	if a, ok := p.b.Metrics[results.MetricAchievedRate]; ok && a < 0.99*p.offered {
		why = append(why, "achieved "+Count(a)+"/s")
	}
	if v := p.b.Params[results.ParamVerdict]; v != "" && v != results.VerdictOK {
		why = append(why, v)
	}
	if p.b.Summary.P99 > 0 {
		why = append(why, "p99 "+Dur(p.b.Summary.P99))
	}
	return strings.Join(why, ", ")
}

// leftClause names the steps a loadMax passed over ("" when none).
func (m loadMax) leftClause() string {
	if len(m.left) == 0 {
		return ""
	}
	return "; left out, refused for answers: " + strings.Join(m.left, ", ")
}

type loadResult struct {
	text  string
	short string // what it carried, in a few words, for naming it beside another
	need  int    // cores the rate needs under load; 0: unknown
	none  bool   // no offered rate was carried
}

// loadMatches reports whether a load family loads the workload of b: a
// round trip (Load) or a spawn (SpawnLoad) with b's parameters.
func loadMatches(k results.Name, b *results.Benchmark) bool {
	base := map[string]string{results.ScenarioLoad: results.ScenarioRoundTrip, results.ScenarioSpawnLoad: results.ScenarioSpawn}[k.Base()]
	if base == "" || base != b.Name.Base() {
		return false
	}
	return maps.Equal(k.Without(results.KeyArrivals, results.KeyCores).Params(), b.Name.Without(results.KeyCores).Params())
}

// loadVerdict answers a target from latency-under-load data measured on
// the same workload as b (same transport, mode, size, placement, …). Where
// several families match (constant and Poisson arrivals, or several core
// counts), the answer is the harshest (none carried, else the most cores),
// and the others are named with what they carried.
func loadVerdict(in *Input, s *series, b *results.Benchmark, t Target, rate float64) (loadResult, bool) {
	keys, fams := loadFamilies(s)
	var all []loadResult
	for _, k := range keys {
		if loadMatches(k, b) {
			all = append(all, in.loadFamilyVerdict(fams[k], loadName(k), t, rate))
		}
	}
	if len(all) == 0 {
		return loadResult{}, false
	}
	worst := slices.MaxFunc(all, func(a, b loadResult) int {
		if a.none != b.none {
			if a.none {
				return 1
			}
			return -1
		}
		// An unknown need (0) ranks below any known one.
		return cmp.Compare(a.need, b.need)
	})
	// MaxFunc keeps the first of equals: the run's order decides ties.
	out := worst
	var others []string
	for _, r := range all {
		if r.text != worst.text {
			others = append(others, r.short)
		}
	}
	if len(others) > 0 {
		out.text += " (the harshest of the matching load families; " + strings.Join(others, "; ") + ")"
	}
	return out, true
}

// boundPhrase is the bound a family's steps were judged by: the target's
// own, else the run's SLO, else none ("").
func boundPhrase(pts []loadPoint, t Target) string {
	if t.Bound > 0 {
		return fmt.Sprintf("with %s ≤ %s", t.Pct, Dur(t.Bound))
	}
	if slo := runSLO(pts); slo != "" {
		return "within the run's SLO (" + slo + ")"
	}
	return ""
}

// loadFamilyVerdict is loadVerdict's answer from one load family.
func (in *Input) loadFamilyVerdict(pts []loadPoint, name string, t Target, rate float64) loadResult {
	m := in.loadMax(pts, t.Pct, t.Bound)
	bound := ""
	if b := boundPhrase(pts, t); b != "" {
		bound = " " + b
	}
	if m.best == nil {
		return loadResult{text: fmt.Sprintf("under load (%s): no offered rate was carried%s%s", name, bound, m.leftClause()), none: true,
			short: name + ": none carried"}
	}
	text := fmt.Sprintf("under load (%s): %s/s was carried%s", name, Count(m.best.offered), bound)
	short := fmt.Sprintf("%s: %s/s carried", name, Count(m.best.offered))
	per := m.perCore()
	if per <= 0 {
		return loadResult{text: text + "; its CPU was not measured, so no core count" + m.leftClause(), short: short}
	}
	// Cores = rate ÷ the rate per core, i.e. rate × cores_used ÷ max_rate.
	need := max(1, int(math.Ceil(rate/per-1e-9)))
	text += fmt.Sprintf(", %s/s per core (%.2f cores of CPU at that rate) → %d core(s)", Count(per), m.costs[results.MetricCoresUsed], need)
	return loadResult{text: text + m.leftClause(), need: need, short: fmt.Sprintf("%s, %d core(s)", short, need)}
}

func loadSection(in *Input) *Section {
	sec := &Section{ID: "load", Title: "How does latency grow with offered load, and what rate meets the SLO?"}
	c := &xyChart{ID: "load-latency", Title: "How does latency grow with the offered rate?", Subtitle: subtitle(in),
		X: axisCount, XLabel: "offered rate (operations/s, log scale)", Y: axisDur, YLabel: "latency per operation (log scale)",
		Caption: "Solid: p50, dashed: p99 of operations timed from their intended start (open loop), against the offered rate. Horizontal lines: the latency bounds of --target. Hollow markers: figures the answers refuse."}
	colors := newColors()
	any := false
	for si, s := range in.Series {
		keys, fams := loadFamilies(s)
		for _, k := range keys {
			any = true
			pts := fams[k]
			col := colors.of(string(k))
			name := loadName(k)
			if in.Multi() {
				name += " · " + s.Label
			}
			p50 := lineSpec{Name: "p50 " + name, Color: col, Glyph: glyphFor(si)}
			p99 := lineSpec{Name: "p99 " + name, Color: col, Glyph: glyphFor(si), Dashes: dashGo}
			for _, p := range pts {
				if !p.b.OK() {
					continue
				}
				h := in.refusal(p.b) != ""
				p50.Points = append(p50.Points, pt{p.offered, cmp.Or(p.b.Summary.P50, p.b.Summary.Median), h})
				if p.b.Summary.P99 > 0 {
					p99.Points = append(p99.Points, pt{p.offered, p.b.Summary.P99, h})
				}
			}
			c.Lines = append(c.Lines, p50, p99)
			// Answers: per bound asked for, else the run's verdicts.
			bounds := []Target{{}}
			for _, t := range in.Opt.Targets {
				if t.Bound > 0 {
					bounds = append(bounds, t)
				}
			}
			for _, t := range bounds[min(1, len(bounds)-1):] {
				m := in.loadMax(pts, t.Pct, t.Bound)
				what := "carried"
				if b := boundPhrase(pts, t); b != "" {
					what += " " + b
				}
				var inputs []*results.Benchmark
				knee := ""
				if m.knee != nil {
					inputs = append(inputs, m.knee.b)
					knee = fmt.Sprintf("%s/s was not (%s)", Count(m.knee.offered), kneeText(m.knee))
				}
				if m.best == nil {
					text := fmt.Sprintf("%s: no offered rate was %s", name, what)
					if knee != "" {
						text += "; the lowest usable, " + knee
					}
					sec.Answers = append(sec.Answers, in.refuse(s, text+m.leftClause()+".", inputs...))
					continue
				}
				text := fmt.Sprintf("%s: the highest offered rate %s is **%s/s** (p99 %s)", name, what, Count(m.best.offered), Dur(m.best.b.Summary.P99))
				if knee != "" {
					text += "; " + knee
				} else {
					text += "; every step passed: the knee lies beyond the sweep, a lower bound"
				}
				if per := m.perCore(); per > 0 {
					text += fmt.Sprintf(" — **%s/s per core** (%.2f cores of CPU at that rate: parent and child, without the load generator)", Count(per), m.costs[results.MetricCoresUsed])
				} else {
					text += " — its CPU was not measured, so no per-core figure"
				}
				sec.Answers = append(sec.Answers, in.answer(s, text+m.leftClause()+".", append([]*results.Benchmark{m.best.b}, inputs...)...))
			}
		}
	}
	if !any {
		return nil
	}
	for _, t := range in.Opt.Targets {
		if t.Bound > 0 {
			c.Markers = append(c.Markers, marker{At: t.Bound, Label: fmt.Sprintf("SLO %s ≤ %s", t.Pct, Dur(t.Bound)), Color: markerColor})
		}
	}
	sec.Charts = append(sec.Charts, in.draw(c))
	return sec
}
