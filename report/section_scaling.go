package report

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// family is one benchmark measured at several core counts.
type family struct {
	s      *series
	key    results.Name // the name without cores=
	points map[int]*results.Benchmark
}

func (f *family) counts() []int { return slices.Sorted(mapKeys(f.points)) }

// x is the aggregate throughput at n cores (ops/s of all workers).
func (f *family) x(n int) float64 { return 1e9 / f.points[n].Summary.Median }

// shortName is a family's parameters' values: "pipe raw 64 same-core".
func shortName(n results.Name) string {
	var vs []string
	for _, p := range n.Parts() {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case results.KeySize, results.KeyWrite, results.KeyParentMem:
			if b, err := strconv.ParseInt(v, 10, 64); err == nil && b > 0 {
				v = units.FormatSize(b)
			}
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return n.Base()
	}
	return strings.Join(vs, " ")
}

// families groups a series' benchmarks that ran at ≥ 2 core counts.
func families(s *series) (order []*family) {
	byKey := map[results.Name]*family{}
	for _, b := range s.benches {
		if b.Name.Param(results.KeyCores) == "" || !b.OK() || b.Summary.Median <= 0 {
			continue
		}
		k := b.Name.Without(results.KeyCores)
		f := byKey[k]
		if f == nil {
			f = &family{s: s, key: k, points: map[int]*results.Benchmark{}}
			byKey[k] = f
			order = append(order, f)
		}
		f.points[cores(b)] = b
	}
	return slices.DeleteFunc(order, func(f *family) bool { return len(f.points) < 2 || f.points[1] == nil })
}

// usablePoints are a family's core counts whose figures may feed answers,
// and why the others may not.
func (in *Input) usablePoints(f *family) (ns []int, refused map[int]string) {
	refused = map[int]string{}
	for _, n := range f.counts() {
		if why := in.refusal(f.points[n]); why != "" {
			refused[n] = why
			continue
		}
		ns = append(ns, n)
	}
	return ns, refused
}

var scalingUnits = map[string]string{results.ScenarioSpawn: "spawns/s", results.ScenarioOutput: "children/s", results.ScenarioRoundTrip: "round trips/s", results.ScenarioThroughput: "messages/s"}

func unitOf(base string) string { return cmp.Or(scalingUnits[base], "ops/s") }

func scalingSection(in *Input) *Section {
	sec := &Section{ID: "scaling", Title: "What does one more core buy?"}
	table := Table{Title: "Scaling across cores: aggregate throughput, efficiency X(N)/(N·X(1)), USL fit", Long: true}
	var allCounts []int
	type group struct {
		s    *series
		base string
		fs   []*family
	}
	var groups []group
	for _, s := range in.Series {
		byBase := map[string][]*family{}
		var bases []string
		for _, f := range families(s) {
			b := f.key.Base()
			if byBase[b] == nil {
				bases = append(bases, b)
			}
			byBase[b] = append(byBase[b], f)
			for _, n := range f.counts() {
				if !slices.Contains(allCounts, n) {
					allCounts = append(allCounts, n)
				}
			}
		}
		for _, b := range bases {
			groups = append(groups, group{s, b, byBase[b]})
		}
	}
	if len(groups) == 0 {
		return nil
	}
	slices.Sort(allCounts)
	for _, g := range groups {
		sec.Answers = append(sec.Answers, in.scalingAnswers(g.s, g.base, g.fs)...)
	}
	table.Head = []string{"benchmark"}
	if in.Multi() {
		table.Head = []string{"run", "benchmark"}
	}
	for _, n := range allCounts {
		table.Head = append(table.Head, "N="+strconv.Itoa(n))
	}
	table.Head = append(table.Head, "efficiency", "USL", "note")
	hidden := 0
	for _, g := range groups {
		for _, f := range g.fs {
			// Without --full, only benchmarks with a usable step from one core.
			if ns, _ := in.usablePoints(f); !in.Opt.Full && (len(ns) < 2 || ns[0] != 1) {
				hidden++
				continue
			}
			table.Rows = append(table.Rows, in.scalingTableRow(f, allCounts))
		}
	}
	if len(table.Rows) > 0 {
		sec.Tables = append(sec.Tables, table)
	}
	if hidden > 0 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("%d benchmark(s) measured at several core counts are not in the table: their figures at one core or at the next count are refused (--full lists them).", hidden))
	}
	for _, base := range []string{results.ScenarioSpawn, results.ScenarioOutput, results.ScenarioRoundTrip, results.ScenarioThroughput} {
		sec.Charts = append(sec.Charts, scalingChart(in, base))
	}
	sec.Notes = append(sec.Notes, "At cores=N, N workers (spawners, collectors or pairs) run at once; throughput is the aggregate over all N. Efficiency above 100% is real on a VM: one pair alone keeps waking idle vCPUs. † refused for answers.")
	return sec
}

// scalingAnswers: per scenario, what going from one core to the next
// measured count buys, and the USL's predicted peak where it may be fitted.
func (in *Input) scalingAnswers(s *series, base string, fs []*family) []Answer {
	type gain struct {
		f      *family
		n      int
		factor float64
	}
	var gains []gain
	refused := map[string]int{}
	var counts []int
	for _, f := range fs {
		ns, why := in.usablePoints(f)
		for _, n := range f.counts() {
			if !slices.Contains(counts, n) {
				counts = append(counts, n)
			}
		}
		if !slices.Contains(ns, 1) || len(ns) < 2 {
			for _, n := range f.counts() {
				if w := why[n]; w != "" {
					refused[reasonKind(w)]++
					break
				}
			}
			continue
		}
		gains = append(gains, gain{f, ns[1], f.x(ns[1]) / f.x(1)})
	}
	slices.Sort(counts)
	unit := unitOf(base)
	var out []Answer
	leftS := ""
	if len(refused) > 0 {
		var parts []string
		for _, r := range slices.Sorted(mapKeys(refused)) {
			parts = append(parts, fmt.Sprintf("%s ×%d", r, refused[r]))
		}
		leftS = fmt.Sprintf(" Left out: %s.", strings.Join(parts, "; "))
	}
	if len(gains) == 0 {
		out = append(out, in.refuse(s, fmt.Sprintf("%s across cores: refused — no benchmark has usable figures at cores=1 and a second core count.%s", base, leftS)))
	} else {
		slices.SortStableFunc(gains, func(a, b gain) int { return cmp.Compare(a.factor, b.factor) })
		lo, hi := gains[0], gains[len(gains)-1]
		var text string
		var inputs []*results.Benchmark
		if len(gains) == 1 {
			g := gains[0]
			text = fmt.Sprintf("%s (%s): going from 1 to %d cores multiplies aggregate throughput by **%s** (%s → %s %s; efficiency %s).",
				base, shortName(g.f.key), g.n, ratio(g.factor), Count(g.f.x(1)), Count(g.f.x(g.n)), unit, pct(g.factor/float64(g.n)))
			inputs = []*results.Benchmark{g.f.points[1], g.f.points[g.n]}
		} else {
			// The median; with an even count, the mean of the middle pair
			// (gains[len/2] alone is the upper one), and both are named.
			mid := gains[len(gains)/2 : len(gains)/2+1]
			if len(gains)%2 == 0 {
				mid = gains[len(gains)/2-1 : len(gains)/2+1]
			}
			var med float64
			var ns []int
			var cases []string
			for _, g := range mid {
				med += g.factor / float64(len(mid))
				if !slices.Contains(ns, g.n) {
					ns = append(ns, g.n)
				}
				cases = append(cases, fmt.Sprintf("%s: %s → %s %s (%s)", shortName(g.f.key), Count(g.f.x(1)), Count(g.f.x(g.n)), unit, ratio(g.factor)))
				inputs = append(inputs, g.f.points[1], g.f.points[g.n])
			}
			caseS := "Median case " + cases[0]
			if len(cases) > 1 {
				caseS = "Middle pair " + strings.Join(cases, " and ")
			}
			slices.Sort(ns)
			text = fmt.Sprintf("%s (%d benchmarks): going from 1 to %s cores multiplies aggregate throughput by **%s** (median; from %s for %s to %s for %s). %s.",
				base, len(gains), joinInts(ns, " or "), ratio(med), ratio(lo.factor), shortName(lo.f.key), ratio(hi.factor), shortName(hi.f.key), caseS)
		}
		text += leftS
		out = append(out, in.answer(s, text, inputs...))
	}
	// USL: where ≥ 3 usable core counts.
	var fits []string
	var fitIn []*results.Benchmark
	for _, f := range fs {
		ns, _ := in.usablePoints(f)
		if len(ns) < 3 || !slices.Contains(ns, 1) {
			continue
		}
		var nf, xf []float64
		for _, n := range ns {
			nf, xf = append(nf, float64(n)), append(xf, f.x(n))
		}
		u, err := FitUSL(nf, xf)
		if err != nil {
			continue
		}
		fitIn = append(fitIn, f.points[1])
		pn, px, peaks := u.Peak()
		switch {
		case peaks:
			fits = append(fits, fmt.Sprintf("%s peaks at %s %s near N=%.1f (σ=%.3f, κ=%.4f, R²=%.2f)", shortName(f.key), Count(px), unit, pn, u.Sigma, u.Kappa, u.R2))
		case u.Sigma >= 1:
			// X(N) = λN/(1+σ(N−1)+κN(N−1)) never rises above X(1).
			fits = append(fits, fmt.Sprintf("%s gains nothing from more cores: its fit is highest at N=1 (σ=%.3f, κ=%.4f, R²=%.2f)", shortName(f.key), u.Sigma, u.Kappa, u.R2))
		case u.Sigma < 1e-9:
			// σ = κ = 0 is linear scaling: there is no level to name (λ/σ
			// would be infinite), only that no contention was measured.
			fits = append(fits, fmt.Sprintf("%s shows no contention: it scales linearly within the measured range, up to N=%d (%s %s per core; σ=0, κ=0, R²=%.2f)",
				shortName(f.key), ns[len(ns)-1], Count(u.Lambda), unit, u.R2))
		default:
			fits = append(fits, fmt.Sprintf("%s has no peak: it levels off towards %s %s (σ=%.3f, κ=0, R²=%.2f)", shortName(f.key), Count(u.Lambda/u.Sigma), unit, u.Sigma, u.R2))
		}
	}
	switch {
	case len(fits) > 0:
		if len(fits) > 4 {
			fits = append(fits[:4], fmt.Sprintf("and %d more in the table", len(fits)-4))
		}
		out = append(out, in.answer(s, fmt.Sprintf("%s, Universal Scalability Law: %s.", base, strings.Join(fits, "; ")), fitIn...))
	default:
		out = append(out, in.refuse(s, fmt.Sprintf("%s, predicted peak (USL): refused — measured at %d core count(s) (%s); a fit needs at least 3 usable ones including 1 (e.g. --cores 1,2,4 on a machine with 4 or more CPUs).", base, len(counts), joinInts(counts, ", "))))
	}
	return out
}

func joinInts(v []int, sep string) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, sep)
}

func (in *Input) scalingTableRow(f *family, all []int) []string {
	row := []string{string(f.key)}
	if in.Multi() {
		row = []string{f.s.Label, string(f.key)}
	}
	ns, why := in.usablePoints(f)
	for _, n := range all {
		cell := ""
		if b := f.points[n]; b != nil {
			cell = Count(f.x(n))
			if why[n] != "" {
				cell += " †"
			}
		}
		row = append(row, cell)
	}
	counts := f.counts()
	last := counts[len(counts)-1]
	row = append(row, fmt.Sprintf("%s at N=%d", pct(Efficiency(float64(last), f.x(last), f.x(1))), last))
	fit := fmt.Sprintf("no fit (%d usable points)", len(ns))
	if len(ns) >= 3 && slices.Contains(ns, 1) {
		var nf, xf []float64
		for _, n := range ns {
			nf, xf = append(nf, float64(n)), append(xf, f.x(n))
		}
		if u, err := FitUSL(nf, xf); err == nil {
			fit = fmt.Sprintf("σ=%.3f κ=%.4f R²=%.2f", u.Sigma, u.Kappa, u.R2)
			if pn, px, ok := u.Peak(); ok {
				fit += fmt.Sprintf(", peak %s at N=%.1f", Count(px), pn)
			}
		} else if !errors.Is(err, ErrTooFewPoints) {
			fit = "no fit: " + err.Error()
		}
	}
	note := ""
	for _, n := range counts {
		if why[n] != "" {
			note = fmt.Sprintf("N=%d refused: %s", n, reasonKind(why[n]))
			break
		}
	}
	return append(row, fit, note)
}

// scalingChart: aggregate ops/s against cores for a scenario's families
// (at most 8: the ones measured cleanly at every count first), each with
// its ideal line N·X(1) and its USL fit where there is one.
func scalingChart(in *Input, base string) *Chart {
	c := &xyChart{ID: "scaling-" + strings.ToLower(base), Title: fmt.Sprintf("What does one more core buy? %s, aggregate %s", base, unitOf(base)),
		Subtitle: subtitle(in), X: axisCores, XLabel: "cores (concurrent workers)", Y: axisCount, YLabel: unitOf(base) + ", all workers (log scale)"}
	var all []*family
	for _, s := range in.Series {
		for _, f := range families(s) {
			if f.key.Base() == base {
				all = append(all, f)
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	rank := func(f *family) (int, int64, int) {
		bad := 0
		for _, b := range f.points {
			if in.refusal(b) != "" {
				bad = 1
			}
		}
		raw := 0
		if m := f.key.Param(results.KeyMode); m != "" && m != results.ModeRaw && base != results.ScenarioSpawn {
			raw = 1
		}
		return bad, sizeParam(f.points[1]), raw
	}
	shown := slices.Clone(all)
	slices.SortStableFunc(shown, func(a, b *family) int {
		a1, a2, a3 := rank(a)
		b1, b2, b3 := rank(b)
		return cmp.Or(cmp.Compare(a1, b1), cmp.Compare(a2, b2), cmp.Compare(a3, b3))
	})
	if len(shown) > 8 {
		shown = shown[:8]
	}
	colors := newColors()
	fitted := false
	for _, f := range shown {
		col := colors.of(string(f.key))
		si := slices.Index(in.Series, f.s)
		name := shortName(f.key)
		if in.Multi() {
			name += " · " + f.s.Label
		}
		l := lineSpec{Name: name, Color: col, Glyph: glyphFor(si)}
		counts := f.counts()
		for _, n := range counts {
			l.Points = append(l.Points, pt{float64(n), f.x(n), in.refusal(f.points[n]) != ""})
		}
		ideal := lineSpec{Name: "ideal N·X(1), " + shortName(f.key), Color: col, Dashes: dashIdeal, Width: 1, NoLegend: true}
		for _, n := range counts {
			ideal.Points = append(ideal.Points, pt{X: float64(n), Y: float64(n) * f.x(1)})
		}
		c.Lines = append(c.Lines, l, ideal)
		ns, _ := in.usablePoints(f)
		if len(ns) >= 3 && slices.Contains(ns, 1) {
			var nf, xf []float64
			for _, n := range ns {
				nf, xf = append(nf, float64(n)), append(xf, f.x(n))
			}
			if u, err := FitUSL(nf, xf); err == nil {
				fit := lineSpec{Name: "USL fit, " + shortName(f.key), Color: col, Dashes: dashFit, Width: 1, NoLegend: true}
				fitted = true
				top := float64(counts[len(counts)-1])
				step := max(0.25, (top-1)/200)
				for x := 1.0; x <= top+1e-9; x += step {
					fit.Points = append(fit.Points, pt{X: x, Y: u.Predict(x)})
				}
				c.Lines = append(c.Lines, fit)
			}
		}
	}
	grey := palette[9]
	c.Keys = append(c.Keys, lineSpec{Name: "ideal N·X(1) (each colour)", Color: grey, Dashes: dashIdeal, Width: 1})
	if fitted {
		c.Keys = append(c.Keys, lineSpec{Name: "USL fit (each colour)", Color: grey, Dashes: dashFit, Width: 1})
	}
	c.Caption = fmt.Sprintf("Solid: measured aggregate throughput; dotted: the ideal N·X(1); dashed: the Universal Scalability Law fit, drawn only where at least 3 usable core counts were measured. Hollow markers: figures the answers refuse (e.g. pairs that had to share CPUs at cores = CPU count). %d of %d benchmarks shown (those measured cleanly first); the table lists every one with a usable step from one core (--full: all).", len(shown), len(all))
	return in.draw(c)
}
