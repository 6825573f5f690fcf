package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// runtimeTag is " [node]" for a benchmark measured in another runtime
// than ipcbench's Go (runtime=node: Node's own APIs, timed in Node), ""
// otherwise. Keys and labels carry it so that Go and Node figures of one
// transport or collect mode never share a row, a chart line or a cell.
func runtimeTag(b *results.Benchmark) string {
	if r := b.Name.Param(results.KeyRuntime); r != "" {
		return " [" + r + "]"
	}
	return ""
}

// tkey is a pair benchmark's transport and how it was driven: "unix/raw"
// (ipcbench's Go: its I/O mode), or in another runtime the API or channel
// serialization and the runtime: "unix/net [node]", "channel/json [node]".
func tkey(b *results.Benchmark) string {
	var how []string
	for _, k := range []string{results.KeyMode, results.KeyAPI, results.KeySerialization} {
		if v := b.Name.Param(k); v != "" {
			how = append(how, v)
		}
	}
	return b.Name.Param(results.KeyTransport) + "/" + strings.Join(how, ",") + runtimeTag(b)
}

// tkeyRank orders keys by transport, then ipcbench's Go before other
// runtimes, then raw before go.
func tkeyRank(k string) (int, int, int) {
	t, how, _ := strings.Cut(k, "/")
	ti := slices.Index(transportOrder, t)
	if ti < 0 {
		ti = len(transportOrder)
	}
	ri := 0
	if strings.Contains(how, " [") {
		ri = 1
	}
	mi := slices.Index([]string{results.ModeRaw, results.ModeGo}, how)
	if mi < 0 {
		mi = 2
	}
	return ti, ri, mi
}

func compareTkeys(a, b string) int {
	at, ar, am := tkeyRank(a)
	bt, br, bm := tkeyRank(b)
	return cmp.Or(cmp.Compare(at, bt), cmp.Compare(ar, br), cmp.Compare(am, bm), cmp.Compare(a, b))
}

// pairs are a series' benchmarks of a pair scenario at one worker that
// ran (usable or not), grouped by placement.
func pairs(s *series, base string) map[string][]*results.Benchmark {
	out := map[string][]*results.Benchmark{}
	for _, b := range s.find(base) {
		if cores(b) == 1 && b.OK() {
			p := b.Name.Param(results.KeyPlacement)
			out[p] = append(out[p], b)
		}
	}
	return out
}

// placementsOf lists placements in ipcbench's order.
func placementsOf(m map[string][]*results.Benchmark) []string {
	var ps []string
	for _, p := range results.Placements {
		if len(m[p]) > 0 {
			ps = append(ps, p)
		}
	}
	for p := range m {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	slices.SortStableFunc(ps[min(len(ps), len(results.Placements)):], strings.Compare)
	return ps
}

// refPlacement is the placement answers are given for: cross-core (two
// processes on two cores, how a server and its worker usually run), else
// the first one measured.
func refPlacement(m map[string][]*results.Benchmark) string {
	if len(m[results.CrossCore]) > 0 {
		return results.CrossCore
	}
	if ps := placementsOf(m); len(ps) > 0 {
		return ps[0]
	}
	return ""
}

func sizesOf(bs []*results.Benchmark) []int64 {
	var out []int64
	for _, b := range bs {
		if v := sizeParam(b); v > 0 && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// mbps is a throughput benchmark's MB/s and its interval (from the
// median's CI): higher is better.
func mbps(b *results.Benchmark) (v, lo, hi float64) {
	bytes := float64(b.BytesPerOp)
	if bytes <= 0 {
		bytes = float64(sizeParam(b))
	}
	if bytes <= 0 || b.Summary.Median <= 0 {
		return 0, 0, 0
	}
	v = bytes * 1e3 / b.Summary.Median
	if b.Summary.CI95High > 0 && b.Summary.CI95Low > 0 {
		lo, hi = bytes*1e3/b.Summary.CI95High, bytes*1e3/b.Summary.CI95Low
	}
	return v, lo, hi
}

func mbpsCI(b *results.Benchmark) string {
	v, lo, hi := mbps(b)
	s := fmt.Sprintf("%s MB/s", human.Sig3(v))
	if hi > 0 {
		s += fmt.Sprintf(" [%s–%s]", human.Sig3(lo), human.Sig3(hi))
	}
	return s
}

// tied reports whether two benchmarks' medians cannot be told apart: their
// 95% CIs overlap (or one has none).
func tied(a, b *results.Benchmark) bool {
	if a.Summary.CI95High <= 0 || b.Summary.CI95High <= 0 {
		return true
	}
	return a.Summary.CI95Low <= b.Summary.CI95High && b.Summary.CI95Low <= a.Summary.CI95High
}

// busyPolls reports whether a pair's transport spins instead of sleeping
// (as its run described it).
func busyPolls(b *results.Benchmark) bool {
	return strings.Contains(b.Params["transport_help"], "busy poll")
}

// ipcKind describes one pair scenario for the shared section code.
type ipcKind struct {
	base, id, what, perOp string
	throughput            bool
}

var (
	rtKind = ipcKind{base: results.ScenarioRoundTrip, id: "roundtrip", what: "round trips", perOp: "round trip"}
	tpKind = ipcKind{base: results.ScenarioThroughput, id: "throughput", what: "messages", perOp: "message", throughput: true}
)

func roundTripSection(in *Input) *Section {
	sec := &Section{ID: "roundtrip", Title: "Which transport for which message size, and how many round trips can one core carry?"}
	return ipcSection(in, sec, rtKind)
}

func throughputSection(in *Input) *Section {
	sec := &Section{ID: "throughput", Title: "Which transport streams fastest one way, by message size?"}
	return ipcSection(in, sec, tpKind)
}

func ipcSection(in *Input, sec *Section, k ipcKind) *Section {
	allPlacements := []string{}
	for _, s := range in.Series {
		m := pairs(s, k.base)
		if len(m) == 0 {
			continue
		}
		for _, p := range placementsOf(m) {
			if !slices.Contains(allPlacements, p) {
				allPlacements = append(allPlacements, p)
			}
		}
		ref := refPlacement(m)
		// One answer per runtime: a Go program cannot choose Node's
		// channel, nor a Node program a raw pipe.
		byRT := map[string][]*results.Benchmark{}
		var rts []string
		for _, b := range m[ref] {
			rt := runtimeTag(b)
			if byRT[rt] == nil {
				rts = append(rts, rt)
			}
			byRT[rt] = append(byRT[rt], b)
		}
		slices.Sort(rts) // "" (ipcbench's Go) first
		for _, rt := range rts {
			for _, size := range sizesOf(byRT[rt]) {
				sec.Answers = append(sec.Answers, ipcAnswer(in, s, k, ref+rt, size, byRT[rt]))
			}
		}
	}
	if len(allPlacements) == 0 {
		return nil
	}
	for _, p := range allPlacements {
		sec.Tables = append(sec.Tables, ipcTable(in, k, p))
	}
	for _, p := range allPlacements {
		sec.Charts = append(sec.Charts, ipcChart(in, k, p))
	}
	if k.throughput {
		sec.Notes = append(sec.Notes, "Throughput: the child streams messages, the parent reads them; MB/s is the message size over the median time per message. Per core: MB/s one core of CPU (both processes) could move.")
	} else {
		sec.Notes = append(sec.Notes, "Round trip: the parent sends, the child echoes. Per core: round trips/s one core of CPU could carry, from the CPU both processes spent per round trip. Answers are for the cross-core placement where it was measured; same-core figures are in the tables. Compare figures of one placement only.")
	}
	sec.Notes = append(sec.Notes, "† refused for answers (noisy, too few samples, or pairs shared CPUs); the figure is shown as measured.")
	return sec
}

// ipcAnswer: the transport to choose at one size, by how much it wins,
// and what one core carries of it.
func ipcAnswer(in *Input, s *series, k ipcKind, placement string, size int64, bs []*results.Benchmark) Answer {
	var cands []*results.Benchmark
	var left []string
	total := 0
	for _, b := range bs {
		if sizeParam(b) != size {
			continue
		}
		total++
		if why := in.refusal(b); why != "" {
			left = append(left, tkey(b)+" ("+reasonKind(why)+")")
			continue
		}
		cands = append(cands, b)
	}
	slices.SortStableFunc(cands, func(a, b *results.Benchmark) int { return cmp.Compare(a.Summary.Median, b.Summary.Median) })
	head := fmt.Sprintf("%s %s, %s", units.FormatSize(size), k.what, placement)
	leftS := ""
	if len(left) > 0 {
		leftS = fmt.Sprintf(" Left out: %s.", strings.Join(left, ", "))
	}
	if len(cands) == 0 {
		return in.refuse(s, fmt.Sprintf("%s: refused — none of the %d transports measured usably.%s", head, total, leftS))
	}
	w := cands[0]
	var text string
	if k.throughput {
		text = fmt.Sprintf("%s: choose **%s** — %s one way (%s messages/s)", head, tkey(w), mbpsCI(w), Count(1e9/w.Summary.Median))
	} else {
		text = fmt.Sprintf("%s: choose **%s** — %s per round trip", head, tkey(w), durCI(w.Summary))
	}
	inputs := []*results.Benchmark{w}
	if len(cands) > 1 {
		r := cands[1]
		inputs = append(inputs, r)
		fig := durCI(r.Summary)
		if k.throughput {
			fig = mbpsCI(r)
		}
		if tied(w, r) {
			text += fmt.Sprintf(", tied with %s (%s; the 95%% CIs overlap)", tkey(r), fig)
		} else {
			text += fmt.Sprintf(", %s faster than the next, %s (%s)", ratio(r.Summary.Median/w.Summary.Median), tkey(r), fig)
		}
	}
	if cpu, ok := cpuPerOp(w); ok {
		if k.throughput {
			v, _, _ := mbps(w)
			text += fmt.Sprintf("; one core carries %s messages/s of it (%s MB/s; %s CPU per message, both processes)", Count(1e9/cpu), human.Sig3(v*w.Summary.Median/cpu), Dur(cpu))
		} else {
			text += fmt.Sprintf("; one core carries %s round trips/s of it (%s CPU per round trip, both processes)", Count(1e9/cpu), Dur(cpu))
		}
	} else {
		text += "; its CPU per op was not measured"
	}
	text += "."
	if busyPolls(w) {
		text += " It busy-polls: it keeps a CPU busy on each side even when no message flows, so its per-core figure holds only at full load."
		for _, o := range cands[1:] {
			if !busyPolls(o) {
				fig := durCI(o.Summary)
				if k.throughput {
					fig = mbpsCI(o)
				}
				text += fmt.Sprintf(" Best without busy polling: %s, %s.", tkey(o), fig)
				inputs = append(inputs, o)
				break
			}
		}
	}
	if w.Name.Param(results.KeyMode) != results.ModeGo {
		for i, g := range cands[1:] {
			if i == 0 && g.Name.Param(results.KeyMode) == results.ModeGo {
				break // the runner-up, already named
			}
			if g.Name.Param(results.KeyMode) == results.ModeGo {
				fig := durCI(g.Summary)
				if k.throughput {
					fig = mbpsCI(g)
				}
				text += fmt.Sprintf(" In idiomatic Go (mode=go): %s, %s.", tkey(g), fig)
				inputs = append(inputs, g)
				break
			}
		}
	}
	if len(cands) < total {
		text += fmt.Sprintf(" Chosen among the %d of %d transports measured usably.%s", len(cands), total, leftS)
	}
	return in.answer(s, text, inputs...)
}

// ipcTable: per placement, transport/mode rows and size columns with the
// median (or MB/s) and what one core carries.
func ipcTable(in *Input, k ipcKind, placement string) Table {
	t := Table{Long: true}
	if k.throughput {
		t.Title = fmt.Sprintf("Throughput, %s: MB/s one way · messages/s one core carries", placement)
	} else {
		t.Title = fmt.Sprintf("Round trip, %s: median latency · round trips/s one core carries", placement)
	}
	type rowKey struct {
		s *series
		k string
	}
	cells := map[rowKey]map[int64]string{}
	var keys []rowKey
	var sizes []int64
	for _, s := range in.Series {
		var ks []string
		for _, b := range pairs(s, k.base)[placement] {
			size := sizeParam(b)
			if !slices.Contains(sizes, size) {
				sizes = append(sizes, size)
			}
			rk := rowKey{s, tkey(b)}
			if cells[rk] == nil {
				cells[rk] = map[int64]string{}
				ks = append(ks, rk.k)
			}
			fig := Dur(b.Summary.Median)
			if k.throughput {
				v, _, _ := mbps(b)
				fig = human.Sig3(v) + " MB/s"
			}
			if cpu, ok := cpuPerOp(b); ok {
				fig += " · " + Count(1e9/cpu) + "/s"
			}
			if in.refusal(b) != "" {
				fig += " †"
			}
			cells[rk][size] = fig
		}
		slices.SortStableFunc(ks, compareTkeys)
		for _, x := range ks {
			keys = append(keys, rowKey{s, x})
		}
	}
	slices.Sort(sizes)
	t.Head = []string{"transport/mode"}
	if in.Multi() {
		t.Head = []string{"run", "transport/mode"}
	}
	for _, sz := range sizes {
		t.Head = append(t.Head, units.FormatSize(sz))
	}
	for _, rk := range keys {
		row := []string{rk.k}
		if in.Multi() {
			row = []string{rk.s.Label, rk.k}
		}
		for _, sz := range sizes {
			row = append(row, cells[rk][sz])
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// ipcChart: round trip p50 with a p99 band against message size (or
// MB/s against size), one line per transport and mode, raw solid and go
// dashed, one marker shape per run.
func ipcChart(in *Input, k ipcKind, placement string) *Chart {
	c := &xyChart{X: axisSize, XLabel: "message size (bytes, log scale)"}
	colors := newColors(transportOrder...)
	if k.throughput {
		c.ID = "throughput-" + placement
		c.Title = fmt.Sprintf("Which transport moves the most MB/s one way? (%s, cores=1)", placement)
		c.Y, c.YLabel = axisCount, "MB/s (log scale)"
		c.Caption = "Median throughput of each transport and mode against message size; solid: mode=raw (the kernel's cost), dashed: mode=go (idiomatic Go)%s. Hollow markers: figures the answers refuse."
	} else {
		c.ID = "roundtrip-" + placement
		c.Title = fmt.Sprintf("How fast is a round trip, by message size? (%s, cores=1)", placement)
		c.Y, c.YLabel = axisDur, "round-trip latency (log scale)"
		c.Caption = "Lines: p50 of each transport and mode against message size; solid: mode=raw (the kernel's cost), dashed: mode=go (idiomatic Go)%s. Shaded: p50–p99 of single operations (its top, p99, dotted), drawn only where each operation was timed on its own (ops long enough for per-op timing); elsewhere only the median is known. Hollow markers: figures the answers refuse."
	}
	c.Subtitle = subtitle(in)
	var xt []float64
	node := false
	for si, s := range in.Series {
		bs := pairs(s, k.base)[placement]
		byKey := map[string][]*results.Benchmark{}
		var ks []string
		for _, b := range bs {
			if _, ok := byKey[tkey(b)]; !ok {
				ks = append(ks, tkey(b))
			}
			byKey[tkey(b)] = append(byKey[tkey(b)], b)
		}
		slices.SortStableFunc(ks, compareTkeys)
		for _, key := range ks {
			group := byKey[key]
			slices.SortStableFunc(group, func(a, b *results.Benchmark) int { return cmp.Compare(sizeParam(a), sizeParam(b)) })
			tr, how, _ := strings.Cut(key, "/")
			l := lineSpec{Name: tr + " " + how, Color: colors.of(tr), Glyph: glyphFor(si)}
			if in.Multi() {
				l.Name += " · " + s.Label
			}
			switch {
			case runtimeTag(group[0]) != "":
				// Another runtime: its own colour per API or serialization,
				// dash-dotted, never a Go line's.
				l.Color, l.Dashes = colors.of(key), dashNode
				node = true
			case how == results.ModeGo:
				l.Dashes = dashGo
			}
			var lo, hi []pt
			var edges []lineSpec
			flush := func() {
				if len(lo) > 0 {
					if len(lo) == 1 { // a lone per-op point: a thin band around it
						lo = append([]pt{{X: lo[0].X / 1.08, Y: lo[0].Y}}, pt{X: lo[0].X * 1.08, Y: lo[0].Y})
						hi = append([]pt{{X: hi[0].X / 1.08, Y: hi[0].Y}}, pt{X: hi[0].X * 1.08, Y: hi[0].Y})
					}
					c.Bands = append(c.Bands, bandSpec{Color: withAlpha(l.Color, 0x1c), Lo: lo, Hi: hi})
					// The band's top, p99, as a thin line so each series' tail stays readable.
					edges = append(edges, lineSpec{Name: l.Name + " p99", Color: l.Color, Width: 0.7, Dashes: dashIdeal, Points: hi, NoLegend: true})
				}
				lo, hi = nil, nil
			}
			for _, b := range group {
				x := float64(sizeParam(b))
				if x <= 0 {
					continue
				}
				if !slices.Contains(xt, x) {
					xt = append(xt, x)
				}
				hollow := in.refusal(b) != ""
				if k.throughput {
					v, _, _ := mbps(b)
					l.Points = append(l.Points, pt{x, v, hollow})
					continue
				}
				p50 := b.Summary.P50
				if p50 <= 0 {
					p50 = b.Summary.Median
				}
				l.Points = append(l.Points, pt{x, p50, hollow})
				if b.PercentileSource == "per-op" && b.Summary.P99 > 0 {
					lo, hi = append(lo, pt{X: x, Y: p50}), append(hi, pt{X: x, Y: b.Summary.P99})
				} else {
					flush()
				}
			}
			flush()
			c.Lines = append(c.Lines, l)
			c.Lines = append(c.Lines, edges...)
		}
	}
	slices.Sort(xt)
	c.XTicks = xt
	c.Caption = fmt.Sprintf(c.Caption, nodeStyle(node))
	return in.draw(c)
}

// nodeStyle is what a caption says of other runtimes' lines, when drawn.
func nodeStyle(drawn bool) string {
	if !drawn {
		return ""
	}
	return ", dash-dotted: Node's own (runtime=node)"
}
