package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// outKey is an output benchmark's way of collecting: buffered,
// streamed/raw, streamed/go, lines; in another runtime with its tag:
// "buffered [node]" (Node's exec, timed in Node), never a Go cell.
func outKey(b *results.Benchmark) string {
	k := b.Name.Param(results.KeyCollect)
	if m := b.Name.Param(results.KeyMode); m != "" {
		k += "/" + m
	}
	return k + runtimeTag(b)
}

var outKeyOrder = []string{"buffered", "streamed/raw", "streamed/go", "streamed", "lines"}

// compareOutKeys orders collect modes as outKeyOrder, ipcbench's Go
// before other runtimes.
func compareOutKeys(a, b string) int {
	rank := func(k string) (int, int) {
		base, tag, _ := strings.Cut(k, " [")
		i := slices.Index(outKeyOrder, base)
		if i < 0 {
			i = len(outKeyOrder)
		}
		return len(tag), i
	}
	ar, ai := rank(a)
	br, bi := rank(b)
	return cmp.Or(cmp.Compare(ar, br), cmp.Compare(ai, bi), strings.Compare(a, b))
}

// outputs are a series' output benchmarks of ipcbench's own writer at one
// worker, grouped by write size (user commands have no fixed size).
func outputs(s *series) (writes []int, byWrite map[int][]*results.Benchmark) {
	byWrite = map[int][]*results.Benchmark{}
	for _, b := range s.find(results.ScenarioOutput) {
		if cores(b) != 1 || b.Name.Param(results.KeyCmd) != "" || b.Name.Param(results.KeyStderr) != "" || sizeParam(b) <= 0 {
			continue
		}
		w, _ := strconv.Atoi(b.Name.Param(results.KeyWrite))
		if _, ok := byWrite[w]; !ok {
			writes = append(writes, w)
		}
		byWrite[w] = append(byWrite[w], b)
	}
	// The default write size (64 KiB, whole pipe-fulls) first.
	slices.SortStableFunc(writes, func(a, b int) int { return cmp.Compare(b, a) })
	return writes, byWrite
}

// at finds the benchmark of a collect key at a size.
func at(bs []*results.Benchmark, key string, size int64) *results.Benchmark {
	for _, b := range bs {
		if outKey(b) == key && sizeParam(b) == size {
			return b
		}
	}
	return nil
}

// memRefusal: a memory figure needs a benchmark that ran with one child at
// a time; timing noise does not touch it.
func memRefusal(b *results.Benchmark) string {
	switch {
	case b == nil:
		return "not measured"
	case b.Failed():
		return "failed: " + firstLine(b.Error)
	case b.Skipped != "":
		return "skipped: " + firstLine(b.Skipped)
	case !b.OK():
		return "no samples"
	}
	if _, ok := b.Metrics[growthMetric(b)]; !ok {
		return "parent memory not measured"
	}
	return ""
}

// crossing is where buffered output starts to cost more than N× streamed.
type crossing struct {
	found    bool
	at       float64 // interpolated size (log-linear) where the ratio reaches N
	first    int64   // first measured size above N
	below    int64   // last measured size at or below N (0: none)
	ratio    float64 // at first (or the largest ratio seen when not found)
	ratioLo  float64 // conservative ratio at first (from the CIs), 0 when unknown
	last     int64   // largest size compared
	sizes    []int64 // sizes compared
	refused  []string
	inputs   []*results.Benchmark
	buf, str *results.Benchmark // at first (or at the largest size)
}

// cross finds the crossing over sizes, with value(b) the cost of a
// benchmark (time or memory) and ok(b) whether it may be used.
func cross(bs []*results.Benchmark, bufKey, streamKey string, n float64, value func(*results.Benchmark) float64, lohi func(b *results.Benchmark) (float64, float64), why func(*results.Benchmark) string) crossing {
	var c crossing
	var prevSize int64
	var prevRatio float64
	sizes := map[int64]bool{}
	for _, b := range bs {
		sizes[sizeParam(b)] = true
	}
	for _, size := range slices.Sorted(mapKeys(sizes)) {
		b, s := at(bs, bufKey, size), at(bs, streamKey, size)
		if b == nil || s == nil {
			continue
		}
		if w := cmp.Or(why(b), why(s)); w != "" {
			if b.Skipped != "" {
				w = "buffered was not measured"
			}
			c.refused = append(c.refused, units.FormatSize(size)+" ("+reasonKind(w)+")")
			continue
		}
		vb, vs := value(b), value(s)
		if vb <= 0 {
			continue
		}
		r := math.Inf(1)
		if vs > 0 {
			r = vb / vs
		}
		c.sizes = append(c.sizes, size)
		c.last = size
		c.inputs = append(c.inputs, b, s)
		if !c.found {
			c.buf, c.str, c.ratio = b, s, r
		}
		if r > n && !c.found {
			c.found, c.first, c.ratio = true, size, r
			c.buf, c.str = b, s
			if lohi != nil {
				bl, _ := lohi(b)
				_, sh := lohi(s)
				if bl > 0 && sh > 0 {
					c.ratioLo = bl / sh
				}
			}
			c.at = float64(size)
			if prevSize > 0 && !math.IsInf(r, 0) && r > prevRatio {
				// Log-linear interpolation of the ratio between the sizes.
				f := (n - prevRatio) / (r - prevRatio)
				c.at = math.Exp(math.Log(float64(prevSize)) + f*(math.Log(float64(size))-math.Log(float64(prevSize))))
			}
			c.below = prevSize
		}
		prevSize, prevRatio = size, r
	}
	return c
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// streamKeyOf picks what buffering is compared with, among benchmarks of
// one runtime (tag): streamed in go mode (what the same Go program would
// do instead), else raw, else Node's streamed (no mode), else lines.
func streamKeyOf(bs []*results.Benchmark, tag string) string {
	for _, k := range []string{"streamed/go", "streamed/raw", "streamed", "lines"} {
		for _, b := range bs {
			if outKey(b) == k+tag {
				return k + tag
			}
		}
	}
	return ""
}

// growthMetric is the memory figure of the process that collected the
// output: ipcbench's parent, or for runtime=node the Node process.
func growthMetric(b *results.Benchmark) results.Metric {
	if b.Name.Param(results.KeyRuntime) == results.RuntimeNode {
		return results.MetricNodeGrowth
	}
	return results.MetricParentGrowth
}

func growth(b *results.Benchmark) float64 { return b.Metrics[growthMetric(b)] }

// byRuntime splits one write size's benchmarks by runtime tag, ipcbench's
// Go ("") first: each runtime's buffering is compared with its own
// streaming only.
func byRuntime(bs []*results.Benchmark) (tags []string, by map[string][]*results.Benchmark) {
	by = map[string][]*results.Benchmark{}
	for _, b := range bs {
		t := runtimeTag(b)
		if by[t] == nil {
			tags = append(tags, t)
		}
		by[t] = append(by[t], b)
	}
	slices.Sort(tags)
	return tags, by
}

func sizesList(ss []int64) string {
	var out []string
	for _, s := range ss {
		out = append(out, units.FormatSize(s))
	}
	return strings.Join(out, ", ")
}

func outputSection(in *Input) *Section {
	n := in.Opt.bufferFactor()
	sec := &Section{ID: "output", Title: "When does buffering a child's output stop being acceptable?"}
	any := false
	type mark struct {
		s        *series
		time     crossing
		mem      crossing
		write    int
		streamed string
	}
	var marks []mark
	for _, s := range in.Series {
		writes, byWrite := outputs(s)
		for _, w := range writes {
			any = true
			tags, byTag := byRuntime(byWrite[w])
			for _, tag := range tags {
				bs, bk := byTag[tag], "buffered"+tag
				sk := streamKeyOf(bs, tag)
				if sk == "" || at2(bs, bk) == nil {
					sec.Answers = append(sec.Answers, in.refuse(s, fmt.Sprintf("Writes of %s%s: refused — both buffered and streamed collection are needed to compare them.", units.FormatSize(int64(w)), tag)))
					continue
				}
				wl := fmt.Sprintf("writes of %s", units.FormatSize(int64(w)))
				tc := cross(bs, bk, sk, n, func(b *results.Benchmark) float64 { return b.Summary.Median },
					func(b *results.Benchmark) (float64, float64) { return b.Summary.CI95Low, b.Summary.CI95High }, in.refusal)
				mc := cross(bs, bk, sk, n, growth, nil, memRefusal)
				marks = append(marks, mark{s, tc, mc, w, sk})
				sec.Answers = append(sec.Answers, crossAnswer(in, s, "time (start to exit, all output collected)", wl, bk, sk, n, tc, true, func(b *results.Benchmark) string { return durCI(b.Summary) }))
				sec.Answers = append(sec.Answers, crossAnswer(in, s, "parent peak memory", wl, bk, sk, n, mc, false, func(b *results.Benchmark) string { return "+" + Bytes(growth(b)) }))
			}
		}
		if len(writes) > 0 {
			tags, byTag := byRuntime(byWrite[writes[0]])
			for _, tag := range tags {
				sec.Answers = append(sec.Answers, maxBufferAnswer(in, s, byTag[tag], tag))
			}
		}
	}
	if !any {
		return nil
	}
	sec.Tables = append(sec.Tables, outputTable(in))
	var tm, mm []marker
	for _, m := range marks {
		lbl := fmt.Sprintf("buffered > %s× %s", factor(n), m.streamed)
		if in.Multi() {
			lbl += " · " + m.s.Label
		}
		if m.time.found && m.write == 65536 {
			tm = append(tm, marker{Vertical: true, At: m.time.at, Label: lbl + " (time)", Color: markerColor})
		}
		if m.mem.found && m.write == 65536 {
			mm = append(mm, marker{Vertical: true, At: m.mem.at, Label: lbl + " (memory)", Color: markerColor})
		}
	}
	sec.Charts = append(sec.Charts,
		outputChart(in, "output-mbps", "How fast is each way of collecting a child's output?", "MB/s of the transfer (log scale)", axisCount,
			func(b *results.Benchmark) float64 { return b.Metrics[results.MetricMBPerSec] }, tm,
			"MB/s: output size over the median transfer time (first byte to exit). Solid: 64 KiB writes; dashed: smaller writes (lines of 100 bytes)%s. The vertical line is where buffering's whole-operation time first exceeds N× streaming's, interpolated between the measured sizes (see the answers).", nodeStyle(true)),
		outputChart(in, "output-memory", "How much memory does the parent need to collect it?", "parent peak memory growth (log scale)", axisBytes,
			growth, mm,
			"Parent peak memory growth: VmHWM during the benchmark minus VmRSS before it (one reading per benchmark%s). The vertical line is where buffering first needs more than N× streaming's memory, interpolated between the measured sizes.", "; for runtime=node (dash-dotted), the Node process's"))
	sec.Notes = append(sec.Notes, fmt.Sprintf("N = %s (--buffer-factor). Buffered is os/exec's cmd.Output() / Node's exec: a growing buffer handed back at exit; streamed reads 64 KiB at a time and drops it.", factor(n)))
	return sec
}

func at2(bs []*results.Benchmark, key string) *results.Benchmark {
	for _, b := range bs {
		if outKey(b) == key {
			return b
		}
	}
	return nil
}

// memoryCaveats drops the timing caveats from a memory figure's: the
// peak is one reading, not a median.
func memoryCaveats(cs []string) []string {
	var out []string
	for _, c := range cs {
		if !strings.HasPrefix(c, "noisy") && !strings.HasPrefix(c, "too few samples") {
			out = append(out, c)
		}
	}
	return out
}

func crossAnswer(in *Input, s *series, what, wl, bk, sk string, n float64, c crossing, timing bool, fig func(*results.Benchmark) string) Answer {
	head := fmt.Sprintf("%s vs %s, %s, in %s", upperFirst(bk), sk, wl, what)
	refused := ""
	if len(c.refused) > 0 {
		refused = " Sizes left out: " + strings.Join(c.refused, ", ") + "."
	}
	if len(c.sizes) < 2 && !c.found {
		return in.refuse(s, fmt.Sprintf("%s: refused — needs two sizes measured usably both ways, has %d.%s", head, len(c.sizes), refused), c.inputs...)
	}
	var text string
	switch {
	case c.found && c.below == 0:
		text = fmt.Sprintf("%s: buffering already costs more than %s× at the smallest size compared, %s (%s vs %s, %s).", head, factor(n), units.FormatSize(c.first), fig(c.buf), fig(c.str), ratio(c.ratio))
	case c.found:
		text = fmt.Sprintf("%s: buffering costs more than %s× from **%s** (%s vs %s, %s); at %s it was within %s×. Interpolated crossing ≈ %s.",
			head, factor(n), units.FormatSize(c.first), fig(c.buf), fig(c.str), ratio(c.ratio), units.FormatSize(c.below), factor(n), Bytes(c.at))
	default:
		text = fmt.Sprintf("%s: within %s× up to the largest size compared, %s (%s vs %s, %s).", head, factor(n), units.FormatSize(c.last), fig(c.buf), fig(c.str), ratio(c.ratio))
	}
	if c.found && c.ratioLo > 0 && c.ratioLo <= n {
		text += fmt.Sprintf(" The 95%% CIs allow as little as %s there.", ratio(c.ratioLo))
	}
	text += " Sizes compared: " + sizesList(c.sizes) + "." + refused
	a := in.answer(s, text, c.buf, c.str)
	if !timing {
		a.Caveats = memoryCaveats(a.Caveats)
	}
	return a
}

// maxBufferAnswer: what maxBuffer a Node-style exec needs, and the memory
// that costs, from the largest buffered output measured.
func maxBufferAnswer(in *Input, s *series, bs []*results.Benchmark, tag string) Answer {
	var largest *results.Benchmark
	var notMeasured []string
	for _, b := range bs {
		if outKey(b) != "buffered"+tag {
			continue
		}
		if b.Skipped != "" {
			notMeasured = append(notMeasured, units.FormatSize(sizeParam(b)))
			continue
		}
		if memRefusal(b) == "" && (largest == nil || sizeParam(b) > sizeParam(largest)) {
			largest = b
		}
	}
	who, proc := "Node-style exec", "the parent's"
	if tag != "" {
		who, proc = "Node's own exec (runtime="+strings.Trim(tag, " []")+")", "the Node process's"
	}
	if largest == nil {
		return in.refuse(s, who+" maxBuffer: refused — no buffered output was measured usably.")
	}
	size := float64(sizeParam(largest))
	g := growth(largest)
	text := fmt.Sprintf("%s (maxBuffer counts output bytes; Node's default is 1 MiB): an output of S bytes needs maxBuffer ≥ S, so outputs above 1 MiB fail at the default. At the largest buffered output measured, %s, %s peak memory grew by %s (%s the output): budget about that per concurrent exec of that size.",
		who, units.FormatSize(int64(size)), proc, Bytes(g), ratio(g/size))
	if len(notMeasured) > 0 {
		mb := largest.Params["max_buffer"]
		lim := ""
		if v, err := strconv.ParseInt(mb, 10, 64); err == nil && v > 0 {
			lim = " (over the run's --max-buffer " + units.FormatSize(v) + ")"
		}
		text += fmt.Sprintf(" Not measured buffered: %s%s.", strings.Join(notMeasured, ", "), lim)
	}
	a := in.answer(s, text, largest)
	a.Caveats = memoryCaveats(a.Caveats)
	return a
}

// outputTable: per size and write size, each collect mode's whole-op time,
// MB/s and memory growth.
func outputTable(in *Input) Table {
	t := Table{Title: "Output collection side by side (cores=1): time per child · MB/s of the transfer · parent memory growth", Long: true}
	var keys []string
	type rk struct {
		s     *series
		write int
		size  int64
	}
	var rows []rk
	cells := map[rk]map[string]string{}
	for _, s := range in.Series {
		writes, byWrite := outputs(s)
		for _, w := range writes {
			var sizes []int64
			for _, b := range byWrite[w] {
				k := outKey(b)
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
				r := rk{s, w, sizeParam(b)}
				if cells[r] == nil {
					cells[r] = map[string]string{}
					sizes = append(sizes, r.size)
				}
				switch {
				case b.Skipped != "":
					cells[r][k] = "not measured"
				case !b.OK():
					cells[r][k] = "failed"
				default:
					fig := Dur(b.Summary.Median)
					if v, ok := b.Metrics[results.MetricMBPerSec]; ok {
						fig += " · " + human.Sig3(v) + " MB/s"
					}
					if _, ok := b.Metrics[growthMetric(b)]; ok {
						fig += " · +" + Bytes(growth(b))
					}
					if in.refusal(b) != "" {
						fig += " †"
					}
					cells[r][k] = fig
				}
			}
			slices.Sort(sizes)
			for _, sz := range sizes {
				rows = append(rows, rk{s, w, sz})
			}
		}
	}
	slices.SortStableFunc(keys, compareOutKeys)
	t.Head = []string{"output", "writes"}
	if in.Multi() {
		t.Head = append([]string{"run"}, t.Head...)
	}
	t.Head = append(t.Head, keys...)
	for _, r := range rows {
		row := []string{units.FormatSize(r.size), units.FormatSize(int64(r.write))}
		if in.Multi() {
			row = append([]string{r.s.Label}, row...)
		}
		for _, k := range keys {
			row = append(row, cells[r][k])
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// outputChart: a figure of each collect mode against output size.
// caption has one %s, for nodeNote where Node's lines are drawn.
func outputChart(in *Input, id, title, ylabel string, y axisKind, value func(*results.Benchmark) float64, markers []marker, caption, nodeNote string) *Chart {
	c := &xyChart{ID: id, Title: title + " (cores=1)", Subtitle: subtitle(in), X: axisSize, XLabel: "output size (bytes, log scale)", Y: y, YLabel: ylabel, Markers: markers, Caption: caption}
	colors := newColors("buffered", "streamed/raw", "streamed/go", "lines") // one fixed colour per Go collect mode; Node's take the next ones
	var xt []float64
	node := false
	for si, s := range in.Series {
		writes, byWrite := outputs(s)
		for wi, w := range writes {
			byKey := map[string][]*results.Benchmark{}
			for _, b := range byWrite[w] {
				if b.OK() {
					byKey[outKey(b)] = append(byKey[outKey(b)], b)
				}
			}
			keys := slices.Sorted(mapKeys(byKey))
			slices.SortStableFunc(keys, compareOutKeys)
			for _, k := range keys {
				bs := byKey[k]
				slices.SortStableFunc(bs, func(a, b *results.Benchmark) int { return cmp.Compare(sizeParam(a), sizeParam(b)) })
				l := lineSpec{Name: k, Color: colors.of(k), Glyph: glyphFor(si)}
				if wi > 0 {
					l.Dashes = dashGo
					l.Name += fmt.Sprintf(" (%s writes)", units.FormatSize(int64(w)))
				}
				if strings.Contains(k, " [") {
					l.Dashes = dashNode // another runtime's own (Node's exec, streams)
					node = true
				}
				if in.Multi() {
					l.Name += " · " + s.Label
				}
				for _, b := range bs {
					v := value(b)
					if v <= 0 {
						continue
					}
					x := float64(sizeParam(b))
					if !slices.Contains(xt, x) {
						xt = append(xt, x)
					}
					l.Points = append(l.Points, pt{x, v, in.refusal(b) != ""})
				}
				c.Lines = append(c.Lines, l)
			}
		}
	}
	slices.Sort(xt)
	c.XTicks = xt
	if !node {
		nodeNote = ""
	}
	c.Caption = fmt.Sprintf(caption, nodeNote)
	return in.draw(c)
}
