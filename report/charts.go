package report

// Charts are drawn with gonum.org/v1/plot into its SVG backend (vgsvg):
// axes, ticks, titles and legends are gonum's; the data marks are small
// plotters of our own (lines with hollow markers for refused figures,
// percentile bands, percentile boxes) because the stock ones cannot mark a
// single point as refused or draw a box from a histogram's percentiles.
// Every data plotter is wrapped so that its SVG lands in a
// <g class="marks"> group: tests (and curious readers) can tell data from
// axes. Output is deterministic for a given input.

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/internal/units"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// axisKind is how an axis is scaled and labelled.
type axisKind int

const (
	axisLinear   axisKind = iota
	axisDur               // ns, log scale, labelled 1µs, 10ms
	axisSize              // bytes, log scale, labelled 64B, 4KiB
	axisCount             // a rate, log scale, labelled 1k, 10M
	axisBytes             // memory, log scale, labelled 1.0MiB
	axisQuantile          // 1/(1-p), log scale, labelled p50 … p99.99
	axisCores             // small integers, linear
)

func (k axisKind) log() bool { return k != axisLinear && k != axisCores }

// pt is one data point; Hollow marks a figure the answers refuse.
type pt struct {
	X, Y   float64
	Hollow bool
}

// lineSpec is one data series of an xy chart.
type lineSpec struct {
	Name   string
	Color  color.Color
	Dashes []vg.Length
	Glyph  draw.GlyphDrawer // nil: no markers
	Width  vg.Length
	Points []pt
	// NoLegend keeps a line out of the legend (its style is in Keys).
	NoLegend bool
}

// bandSpec is a shaded area between two curves at the same x values.
type bandSpec struct {
	Color  color.Color
	Lo, Hi []pt
}

// marker is a vertical (X) or horizontal (Y) reference line with a label.
type marker struct {
	Vertical bool
	At       float64
	Label    string
	Color    color.Color
}

// xyChart is a chart of lines over two axes.
type xyChart struct {
	ID, Title, Subtitle, Caption string
	XLabel, YLabel               string
	X, Y                         axisKind
	Lines                        []lineSpec
	Bands                        []bandSpec
	// Keys are legend entries for styles shared by many lines (the ideal
	// line, a fit): drawn in the legend only.
	Keys    []lineSpec
	Markers []marker
	// XTicks, when set, are the only labelled x ticks (e.g. the measured
	// sizes); XNames, when set, label them (a nominal axis).
	XTicks []float64
	XNames map[float64]string
}

const (
	chartW = 7.2 * vg.Inch
	chartH = 3.9 * vg.Inch
)

// render draws c; nil when it has no data.
func (c *xyChart) render() *Chart {
	// A log axis cannot show zero, a negative or a non-finite value.
	ok := func(q pt) bool {
		bad := func(v float64, k axisKind) bool { return math.IsNaN(v) || math.IsInf(v, 0) || k.log() && v <= 0 }
		return !bad(q.X, c.X) && !bad(q.Y, c.Y)
	}
	keep := func(ps []pt) []pt { return slices.DeleteFunc(slices.Clone(ps), func(q pt) bool { return !ok(q) }) }
	n := 0
	for i := range c.Lines {
		c.Lines[i].Points = keep(c.Lines[i].Points)
		if len(c.Lines[i].Points) > 0 {
			n++
		}
	}
	bands := c.Bands[:0]
	for _, b := range c.Bands {
		if lo, hi := keep(b.Lo), keep(b.Hi); len(lo) == len(b.Lo) && len(hi) == len(b.Hi) {
			bands = append(bands, b)
		}
	}
	c.Bands = bands
	c.Markers = slices.DeleteFunc(c.Markers, func(m marker) bool {
		if m.Vertical {
			return !ok(pt{X: m.At, Y: 1})
		}
		return !ok(pt{X: 1, Y: m.At})
	})
	if n == 0 {
		return nil
	}
	p := newPlot(c.Title, c.Subtitle)
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	var xs, ys []float64
	for _, l := range c.Lines {
		for _, q := range l.Points {
			xs, ys = append(xs, q.X), append(ys, q.Y)
		}
	}
	for _, b := range c.Bands {
		for _, q := range append(slices.Clone(b.Lo), b.Hi...) {
			xs, ys = append(xs, q.X), append(ys, q.Y)
		}
	}
	for _, m := range c.Markers {
		if m.Vertical {
			xs = append(xs, m.At)
		} else {
			ys = append(ys, m.At)
		}
	}
	setAxis(&p.X, c.X, xs, c.XTicks, c.XNames)
	setAxis(&p.Y, c.Y, ys, nil, nil)
	legend := newLegend()
	for _, b := range c.Bands {
		p.Add(marks(&bandPlot{b}, "band"))
	}
	for _, l := range c.Lines {
		if len(l.Points) == 0 {
			continue
		}
		lp := &linePlot{l}
		p.Add(marks(lp, l.Name))
		if !l.NoLegend {
			legend.Add(l.Name, lp)
		}
	}
	for _, k := range c.Keys {
		legend.Add(k.Name, &linePlot{k})
	}
	for _, m := range c.Markers {
		mp := &markerPlot{m}
		p.Add(mp)
		legend.Add(m.Label, mp)
	}
	return finish(c.ID, c.Title, c.Caption, p, legend, n)
}

// newPlot is a gonum plot in a generic sans-serif face, titled with the
// question and, on a second line, the host(s).
func newPlot(title, subtitle string) *plot.Plot {
	p := plot.New()
	if subtitle != "" {
		title += "\n" + subtitle
	}
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	sans := func(f *font.Font, size vg.Length) {
		f.Typeface, f.Variant, f.Size = "Liberation", "Sans", size
	}
	sans(&p.Title.TextStyle.Font, 11)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		sans(&a.Label.TextStyle.Font, 10)
		sans(&a.Tick.Label.Font, 9)
	}
	return p
}

func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Typeface, l.TextStyle.Font.Variant, l.TextStyle.Font.Size = "Liberation", "Sans", 9
	l.Left, l.Top = true, true
	l.ThumbnailWidth = vg.Points(24)
	l.Padding = vg.Points(2)
	return l
}

// finish lays out the plot with its legend in a column on the right and
// renders the SVG.
func finish(id, title, caption string, p *plot.Plot, legend plot.Legend, series int) *Chart {
	probe := vgsvg.New(chartW, chartH)
	lr := legend.Rectangle(draw.New(probe))
	lw := lr.Size().X + vg.Points(12)
	lh := lr.Size().Y + vg.Points(40)
	w, h := chartW+lw, chartH
	if lh > h {
		h = lh
	}
	cv := vgsvg.New(w, h)
	dc := draw.New(cv)
	// White under everything, so the file reads on a dark page too.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	plotArea := dc
	plotArea.Max.X = chartW
	plotArea.Min.Y = h - chartH
	p.Draw(draw.Crop(plotArea, vg.Points(4), -vg.Points(4), vg.Points(4), -vg.Points(4)))
	legArea := dc
	legArea.Min.X = chartW + vg.Points(6)
	legArea.Max.Y = h - vg.Points(34)
	legend.Draw(legArea)
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return nil
	}
	return &Chart{ID: id, Title: title, Caption: caption, SVG: cleanSVG(buf.Bytes(), title), Series: series}
}

// --- axes ------------------------------------------------------------------

// setAxis scales a to the data and gives it ticks of its kind.
func setAxis(a *plot.Axis, k axisKind, vals []float64, only []float64, names map[float64]string) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if k.log() && v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	if k.log() {
		if lo == hi {
			lo, hi = lo/2, hi*2
		}
		pad := math.Pow(hi/lo, 0.06)
		lo, hi = lo/pad, hi*pad
		a.Scale = plot.LogScale{}
	} else {
		if k == axisCores {
			lo, hi = math.Min(lo, 1)-0.3, hi+0.3
		} else {
			if lo == hi {
				lo, hi = lo-1, hi+1
			}
			d := (hi - lo) * 0.06
			lo, hi = math.Min(lo-d, 0), hi+d
		}
	}
	a.Min, a.Max = lo, hi
	a.Tick.Marker = ticker{kind: k, only: only, names: names}
}

// ticker labels an axis of a kind: decades (with 2 and 5 when the range
// is short) on log axes, in the unit's own words.
type ticker struct {
	kind  axisKind
	only  []float64
	names map[float64]string
}

func (t ticker) label(v float64) string {
	if n, ok := t.names[v]; ok {
		return n
	}
	switch t.kind {
	case axisDur:
		return Dur(v)
	case axisSize, axisBytes:
		return units.FormatSize(int64(math.Round(v)))
	case axisCount:
		return Count(v)
	case axisQuantile:
		return quantileLabel(v)
	case axisCores:
		return fmt.Sprintf("%.0f", v)
	}
	return human.Sig3(v)
}

func (t ticker) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || hi < lo || t.kind.log() && (lo <= 0 || math.IsInf(hi/lo, 0)) {
		return nil
	}
	if len(t.only) > 0 {
		for _, v := range t.only {
			if v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: t.label(v)})
			}
		}
		return ticks
	}
	switch t.kind {
	case axisCores:
		if hi-lo > 64 { // many core counts: let gonum space them
			return plot.DefaultTicks{}.Ticks(lo, hi)
		}
		for v := math.Ceil(lo); v <= hi; v++ {
			ticks = append(ticks, plot.Tick{Value: v, Label: t.label(v)})
		}
		return ticks
	case axisQuantile:
		// p50, then every nine: p90, p99, p99.9, p99.99.
		for _, v := range []float64{2, 10, 100, 1000, 1e4, 1e5, 1e6} {
			if v >= lo && v <= hi*1.0001 {
				ticks = append(ticks, plot.Tick{Value: v, Label: t.label(v)})
			}
		}
		return ticks
	case axisSize, axisBytes:
		// Powers of two, every other one (or every fourth) when crowded.
		step := 1.0
		for math.Log2(hi/lo)/step > 8 {
			step *= 2
		}
		for e := math.Ceil(math.Log2(lo)); e <= math.Log2(hi); e++ {
			v := math.Exp2(e)
			lbl := ""
			if math.Mod(e, step) == 0 && e >= 0 {
				lbl = t.label(v)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: lbl})
		}
		return ticks
	case axisLinear:
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	// Log decades; on a short range 2 and 5 too, and every step when
	// that still leaves fewer than three labels.
	mults := []float64{1}
	switch {
	case hi/lo < 8:
		mults = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	case hi/lo < 1000:
		mults = []float64{1, 2, 5}
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := base * m
			if v < lo || v > hi {
				continue
			}
			lbl := ""
			if slices.Contains(mults, m) {
				lbl = t.label(v)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: lbl})
		}
	}
	return ticks
}

// quantileLabel names x = 1/(1-p): 2 → p50, 100 → p99, 1e4 → p99.99.
func quantileLabel(x float64) string {
	p := 100 * (1 - 1/x)
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", p), "0"), ".")
	return "p" + s
}

// --- palette ---------------------------------------------------------------

// palette is Tableau 10: distinct, colour-blind-aware, prints in grey.
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff}, {0x76, 0xb7, 0xb2, 0xff},
	{0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff}, {0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0x9c, 0x75, 0x5f, 0xff}, {0x79, 0x70, 0x6e, 0xff},
}

// colorKeys gives stable colours: known names first, others in order seen.
type colorKeys struct {
	known []string
	seen  []string
}

func newColors(known ...string) *colorKeys { return &colorKeys{known: known} }

func (k *colorKeys) of(name string) color.RGBA {
	if i := slices.Index(k.known, name); i >= 0 {
		return palette[i%len(palette)]
	}
	i := slices.Index(k.seen, name)
	if i < 0 {
		k.seen = append(k.seen, name)
		i = len(k.seen) - 1
	}
	return palette[(len(k.known)+i)%len(palette)]
}

var transportOrder = []string{"pipe", "unix", "unixpacket", "tcp", "shm-spin", "shm-futex", "shm-eventfd", "channel"}

// glyphs tell the runs apart in a chart (colour and dashes tell series apart).
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}

func glyphFor(i int) draw.GlyphDrawer { return glyphs[i%len(glyphs)] }

var (
	dashGo     = []vg.Length{vg.Points(5), vg.Points(3)}
	dashIdeal  = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
	dashFit    = []vg.Length{vg.Points(7), vg.Points(3)}
	dashSecond = []vg.Length{vg.Points(2), vg.Points(2)}
	dashNode   = []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}
)

// markerColor draws reference lines (a crossover, an SLO) apart from the data.
var markerColor = color.RGBA{0x22, 0x22, 0x22, 0xff}

func withAlpha(c color.Color, a uint8) color.NRGBA {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

// --- data plotters -----------------------------------------------------------

// linePlot draws a line through its points with a glyph at each; a hollow
// point is a white glyph inside the coloured one.
type linePlot struct{ lineSpec }

func (l *linePlot) style() draw.LineStyle {
	w := l.Width
	if w == 0 {
		w = vg.Points(1.4)
	}
	return draw.LineStyle{Color: l.Color, Width: w, Dashes: l.Dashes}
}

func (l *linePlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := make([]vg.Point, len(l.Points))
	for i, q := range l.Points {
		pts[i] = vg.Point{X: trX(q.X), Y: trY(q.Y)}
	}
	if len(pts) > 1 {
		c.StrokeLines(l.style(), c.ClipLinesXY(pts)...)
	}
	if l.Glyph == nil {
		return
	}
	for i, q := range l.Points {
		if !c.Contains(pts[i]) {
			continue
		}
		c.DrawGlyph(draw.GlyphStyle{Color: l.Color, Radius: vg.Points(3), Shape: l.Glyph}, pts[i])
		if q.Hollow {
			c.DrawGlyph(draw.GlyphStyle{Color: color.White, Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}, pts[i])
		}
	}
}

func (l *linePlot) DataRange() (xmin, xmax, ymin, ymax float64) {
	return rangeOf(l.Points)
}

func (l *linePlot) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.style(), c.Min.X, y, c.Max.X, y)
	if l.Glyph != nil {
		c.DrawGlyph(draw.GlyphStyle{Color: l.Color, Radius: vg.Points(3), Shape: l.Glyph}, c.Center())
	}
}

func rangeOf(pts []pt) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, q := range pts {
		xmin, xmax = math.Min(xmin, q.X), math.Max(xmax, q.X)
		ymin, ymax = math.Min(ymin, q.Y), math.Max(ymax, q.Y)
	}
	return
}

// bandPlot fills the area between Lo and Hi.
type bandPlot struct{ bandSpec }

func (b *bandPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	var poly []vg.Point
	for _, q := range b.Lo {
		poly = append(poly, vg.Point{X: trX(q.X), Y: trY(q.Y)})
	}
	for i := len(b.Hi) - 1; i >= 0; i-- {
		poly = append(poly, vg.Point{X: trX(b.Hi[i].X), Y: trY(b.Hi[i].Y)})
	}
	if len(poly) >= 3 {
		c.FillPolygon(b.Color, c.ClipPolygonXY(poly))
	}
}

// markerPlot is a labelled reference line across the data area.
type markerPlot struct{ marker }

func (m *markerPlot) style() draw.LineStyle {
	return draw.LineStyle{Color: m.Color, Width: vg.Points(1.2), Dashes: dashFit}
}

func (m *markerPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	if m.Vertical {
		x := trX(m.At)
		c.StrokeLines(m.style(), c.ClipLinesXY([]vg.Point{{X: x, Y: c.Min.Y}, {X: x, Y: c.Max.Y}})...)
		return
	}
	y := trY(m.At)
	c.StrokeLines(m.style(), c.ClipLinesXY([]vg.Point{{X: c.Min.X, Y: y}, {X: c.Max.X, Y: y}})...)
}

func (m *markerPlot) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(m.style(), c.Min.X, y, c.Max.X, y)
}

// --- the marks group -------------------------------------------------------

// A marks plotter writes two sentinel strings around its plotter's
// drawing; cleanSVG turns them into <g class="marks"> and </g>.
type marked struct {
	plot.Plotter
	name string
}

const (
	sentinelOpen  = "@@ipcbench-marks-open@@"
	sentinelClose = "@@ipcbench-marks-close@@"
)

func marks(p plot.Plotter, name string) plot.Plotter { return &marked{Plotter: p, name: name} }

func (m *marked) Plot(c draw.Canvas, p *plot.Plot) {
	f := p.X.Tick.Label.Font
	face := font.DefaultCache.Lookup(f, f.Size)
	c.FillString(face, c.Min, sentinelOpen+m.name)
	m.Plotter.Plot(c, p)
	c.FillString(face, c.Min, sentinelClose)
}

func (m *marked) DataRange() (xmin, xmax, ymin, ymax float64) {
	if r, ok := m.Plotter.(plot.DataRanger); ok {
		return r.DataRange()
	}
	return math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
}

var (
	reOpen    = regexp.MustCompile(`<text [^>]*>` + sentinelOpen + `([^<]*)</text>\n`)
	reClose   = regexp.MustCompile(`<text [^>]*>` + sentinelClose + `</text>\n`)
	reFamily  = regexp.MustCompile(`font-family:Liberation (Sans|Serif|Mono)`)
	reProlog  = regexp.MustCompile(`^<\?xml[^>]*>\n<!--[^>]*-->\n`)
	reSVGOpen = regexp.MustCompile(`(?s)^(<svg [^>]*>)\n`)
)

// cleanSVG makes vgsvg's output a chart fit to be inlined in HTML or
// linked from Markdown: data in <g class="marks">, generic font
// families (the text was measured with Liberation's metrics, which
// Arial and Helvetica share), a <title>, no XML prolog.
func cleanSVG(svg []byte, title string) []byte {
	s := string(svg)
	s = reProlog.ReplaceAllString(s, "")
	s = reOpen.ReplaceAllStringFunc(s, func(m string) string {
		name := reOpen.FindStringSubmatch(m)[1]
		return `<g class="marks" data-series="` + name + `">` + "\n"
	})
	s = reClose.ReplaceAllString(s, "</g>\n")
	s = reFamily.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasSuffix(m, "Serif"):
			return "font-family:'Liberation Serif',Times,serif"
		case strings.HasSuffix(m, "Mono"):
			return "font-family:'Liberation Mono',monospace"
		}
		return "font-family:'Liberation Sans',Arial,Helvetica,sans-serif"
	})
	s = reSVGOpen.ReplaceAllString(s, "$1\n<title>"+html.EscapeString(title)+"</title>\n")
	return []byte(s)
}

// chartID makes a chart's ID safe where it is used as is: an HTML id and
// the aria-labelledby that refers to it, a file name beside a Markdown
// report. IDs are built from values read from a file (a placement), so
// only lower-case letters, digits and '-' are kept; any other run becomes
// one '-'.
func chartID(id string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "chart"
	}
	return b.String()
}

// chartFile is a chart's SVG file name.
func chartFile(id string) string { return chartID(id) + ".svg" }

// uniqueChartIDs gives every chart of d an ID of chartID's alphabet that
// no other chart has: two IDs cleaned alike get -2, -3, in the order the
// charts appear, so the same runs always give the same IDs.
func uniqueChartIDs(d *Doc) {
	seen := map[string]bool{}
	for _, sec := range d.Sections {
		for _, c := range sec.Charts {
			id := chartID(c.ID)
			for i := 2; seen[id]; i++ {
				id = chartID(c.ID) + "-" + strconv.Itoa(i)
			}
			seen[id] = true
			c.ID = id
		}
	}
}

// drawable is a chart before it is drawn.
type drawable interface{ render() *Chart }

// draw renders a chart unless the report is drawn without charts (text,
// or Markdown on stdout): nil then, and the chart is not part of the Doc.
func (in *Input) draw(c drawable) *Chart {
	if in.Opt.NoCharts {
		return nil
	}
	return c.render()
}
