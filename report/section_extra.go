package report

// Sections for scenario groups being built alongside this one. Each
// appears only when a run holds its data; the shapes they expect are
// documented here and in the constants below, so the groups can be
// matched to them (or these adjusted) when they land.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The Node group (spawning as Node does, with a parent holding memory).
//
// Expected: benchmarks named "Node/…/parent_mem=BYTES/method=M/…/cores=N",
// one per parent memory size and spawn method (fork+exec, vfork, …),
// summarised like Spawn (per-op histogram in Summary.Hist, CPU metrics
// parent_* and child_*). parent_mem is bytes (a plain integer, or a size
// such as 1GiB).
const NodeBase = "Node"

// Latency under load: benchmarks with a results.KeyRate parameter (the
// offered operations per second) and otherwise the parameters of the
// workload they load; the Summary holds the per-op latency measured from
// each operation's intended start (so queueing is counted), and
// results.MetricAchievedRate the rate actually carried.

func parseBytes(s string) (float64, bool) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 {
		return v, true
	}
	if v, err := units.ParseSize(s); err == nil {
		return float64(v), true
	}
	return 0, false
}

// --- Node --------------------------------------------------------------------

func nodeSection(in *Input) *Section {
	sec := &Section{ID: "node", Title: "How does the parent's memory change what a spawn costs?"}
	c := &xyChart{ID: "node-parent-mem", Title: "How does a spawn slow down as the parent holds more memory? (cores=1)", Subtitle: subtitle(in),
		X: axisLinear, XLabel: "parent memory", Y: axisDur, YLabel: "latency per spawn (log scale)", XNames: map[float64]string{},
		Caption: "Median latency per spawn against the memory the parent holds, one line per method; the shaded band is p50–p99 of single operations. Hollow markers: figures the answers refuse."}
	colors := newColors()
	var mems []float64
	for _, s := range in.Series {
		byKey := map[results.Name][]*results.Benchmark{}
		var keys []results.Name
		for _, b := range s.find(NodeBase) {
			if cores(b) != 1 || !b.OK() {
				continue
			}
			if _, ok := parseBytes(b.Name.Param(results.KeyParentMem)); !ok {
				continue
			}
			k := b.Name.Without(results.KeyParentMem, results.KeyCores)
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], b)
		}
		for _, k := range keys {
			bs := byKey[k]
			mem := func(b *results.Benchmark) float64 { v, _ := parseBytes(b.Name.Param(results.KeyParentMem)); return v }
			slices.SortStableFunc(bs, func(a, b *results.Benchmark) int { return cmp.Compare(mem(a), mem(b)) })
			for _, b := range bs {
				if !slices.Contains(mems, mem(b)) {
					mems = append(mems, mem(b))
				}
			}
			// Answer: spawns per core and latency at the smallest and largest parent.
			lo, hi := bs[0], bs[len(bs)-1]
			name := shortName(k)
			switch {
			case in.refusal(lo) != "" || in.refusal(hi) != "":
				w := cmp.Or(in.refusal(lo), in.refusal(hi))
				sec.Answers = append(sec.Answers, in.refuse(s, fmt.Sprintf("Node %s: refused — %s.", name, w), lo, hi))
			case lo == hi:
				sec.Answers = append(sec.Answers, in.answer(s, fmt.Sprintf("Node %s with a %s parent: one spawn takes %s.", name, Bytes(mem(lo)), durCI(lo.Summary)), lo))
			default:
				text := fmt.Sprintf("Node %s: a spawn takes %s with a %s parent and %s with a %s parent (%s)", name, durCI(lo.Summary), Bytes(mem(lo)), durCI(hi.Summary), Bytes(mem(hi)), ratio(hi.Summary.Median/lo.Summary.Median))
				if cl, ok := cpuPerOp(lo); ok {
					if ch, ok := cpuPerOp(hi); ok {
						text += fmt.Sprintf("; one core sustains %s spawns/s at %s and %s at %s", Count(1e9/cl), Bytes(mem(lo)), Count(1e9/ch), Bytes(mem(hi)))
					}
				}
				sec.Answers = append(sec.Answers, in.answer(s, text+".", lo, hi))
			}
		}
	}
	if len(mems) == 0 {
		return nil
	}
	slices.Sort(mems)
	for i, m := range mems {
		c.XNames[float64(i)] = Bytes(m)
		c.XTicks = append(c.XTicks, float64(i))
	}
	for si, s := range in.Series {
		byKey := map[results.Name][]*results.Benchmark{}
		var keys []results.Name
		for _, b := range s.find(NodeBase) {
			if _, ok := parseBytes(b.Name.Param(results.KeyParentMem)); cores(b) != 1 || !b.OK() || !ok {
				continue
			}
			k := b.Name.Without(results.KeyParentMem, results.KeyCores)
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], b)
		}
		for _, k := range keys {
			l := lineSpec{Name: shortName(k), Color: colors.of(string(k)), Glyph: glyphFor(si)}
			if in.Multi() {
				l.Name += " · " + s.Label
			}
			var lo, hi []pt
			bs := byKey[k]
			mem := func(b *results.Benchmark) float64 { v, _ := parseBytes(b.Name.Param(results.KeyParentMem)); return v }
			slices.SortStableFunc(bs, func(a, b *results.Benchmark) int { return cmp.Compare(mem(a), mem(b)) })
			for _, b := range bs {
				x := float64(slices.Index(mems, mem(b)))
				l.Points = append(l.Points, pt{x, cmp.Or(b.Summary.P50, b.Summary.Median), in.refusal(b) != ""})
				if b.PercentileSource == "per-op" && b.Summary.P99 > 0 {
					lo, hi = append(lo, pt{X: x, Y: cmp.Or(b.Summary.P50, b.Summary.Median)}), append(hi, pt{X: x, Y: b.Summary.P99})
				}
			}
			if len(lo) > 1 {
				c.Bands = append(c.Bands, bandSpec{Color: withAlpha(l.Color, 0x30), Lo: lo, Hi: hi})
			}
			c.Lines = append(c.Lines, l)
		}
	}
	sec.Charts = append(sec.Charts, in.draw(c))
	return sec
}

// --- latency under load --------------------------------------------------------

// loadPoint is one offered rate of a loaded workload.
type loadPoint struct {
	b       *results.Benchmark
	offered float64
	cores   int
}

// loadFamilies groups a series' load benchmarks by their name without the
// rate (and cores), each sorted by offered rate.
func loadFamilies(s *series) (keys []results.Name, fams map[results.Name][]loadPoint) {
	fams = map[results.Name][]loadPoint{}
	for _, b := range s.benches {
		r, err := strconv.ParseFloat(b.Name.Param(results.KeyRate), 64)
		if err != nil || r <= 0 || !b.OK() {
			continue
		}
		k := b.Name.Without(results.KeyRate, results.KeyCores)
		if fams[k] == nil {
			keys = append(keys, k)
		}
		fams[k] = append(fams[k], loadPoint{b, r, cores(b)})
	}
	for _, k := range keys {
		slices.SortStableFunc(fams[k], func(a, b loadPoint) int { return cmp.Compare(a.offered, b.offered) })
	}
	return keys, fams
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

// maxPerCore is the largest offered rate per core a family sustained.
func (in *Input) maxPerCore(pts []loadPoint, pct string, bound float64) (best loadPoint, perCore float64) {
	for _, p := range pts {
		if in.refusal(p.b) != "" || !sustained(p, pct, bound) {
			continue
		}
		if r := p.offered / float64(p.cores); r > perCore {
			best, perCore = p, r
		}
	}
	return best, perCore
}

type loadResult struct {
	text string
	need int
}

// loadVerdict answers a target from latency-under-load data measured on
// the same workload as b (same transport, mode, size, placement).
func loadVerdict(in *Input, s *series, b *results.Benchmark, t Target, rate float64) (loadResult, bool) {
	keys, fams := loadFamilies(s)
	for _, k := range keys {
		same := true
		for _, p := range []string{results.KeyTransport, results.KeyMode, results.KeySize, results.KeyPlacement, results.KeyCmd} {
			if k.Param(p) != b.Name.Param(p) {
				same = false
			}
		}
		if !same {
			continue
		}
		best, per := in.maxPerCore(fams[k], t.Pct, t.Bound)
		bound := ""
		if slo := runSLO(fams[k]); slo != "" {
			bound = " within the run's SLO (" + slo + ")"
		}
		if t.Bound > 0 {
			bound = fmt.Sprintf(" with %s ≤ %s", t.Pct, Dur(t.Bound))
		}
		if per <= 0 {
			return loadResult{text: fmt.Sprintf("under load (%s): no offered rate was carried%s", k, bound), need: math.MaxInt32}, true
		}
		need := int(math.Ceil(rate/per - 1e-9))
		return loadResult{text: fmt.Sprintf("under load (%s): at most %s/s per core was carried%s (at rate=%s, cores=%d) → %d core(s)", k, Count(per), bound, Count(best.offered), best.cores, need), need: need}, true
	}
	return loadResult{}, false
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
			name := shortName(k)
			if in.Multi() {
				name += " · " + s.Label
			}
			p50 := lineSpec{Name: "p50 " + name, Color: col, Glyph: glyphFor(si)}
			p99 := lineSpec{Name: "p99 " + name, Color: col, Glyph: glyphFor(si), Dashes: dashGo}
			for _, p := range pts {
				h := in.refusal(p.b) != ""
				p50.Points = append(p50.Points, pt{p.offered, cmp.Or(p.b.Summary.P50, p.b.Summary.Median), h})
				if p.b.Summary.P99 > 0 {
					p99.Points = append(p99.Points, pt{p.offered, p.b.Summary.P99, h})
				}
			}
			c.Lines = append(c.Lines, p50, p99)
			// Answers: per bound asked for, else the rate carried.
			bounds := []Target{{}}
			for _, t := range in.Opt.Targets {
				if t.Bound > 0 {
					bounds = append(bounds, t)
				}
			}
			for _, t := range bounds[min(1, len(bounds)-1):] {
				best, per := in.maxPerCore(pts, t.Pct, t.Bound)
				what := "carrying its offered rate"
				if slo := runSLO(pts); slo != "" {
					what = "carrying its offered rate within the run's SLO (" + slo + ")"
				}
				if t.Bound > 0 {
					what = fmt.Sprintf("carrying its offered rate with %s ≤ %s", t.Pct, Dur(t.Bound))
				}
				if per <= 0 {
					sec.Answers = append(sec.Answers, in.refuse(s, fmt.Sprintf("%s: no offered rate was usable and %s.", name, what)))
					continue
				}
				sec.Answers = append(sec.Answers, in.answer(s, fmt.Sprintf("%s: the highest rate %s is **%s/s per core** (offered %s/s on %d core(s); p99 %s).",
					name, what, Count(per), Count(best.offered), best.cores, Dur(best.b.Summary.P99)), best.b))
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
