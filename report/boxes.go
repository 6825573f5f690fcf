package report

import (
	"image/color"
	"math"
	"slices"

	"github.com/ipcbench/ipcbench/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// boxSpec is one latency distribution drawn as a box: Q1–Q3 with the
// median, whiskers Lo–Hi. Without a per-op histogram only the median
// and Hi (p99) are known: a dot with a whisker.
type boxSpec struct {
	X                   float64
	Color               color.Color
	Lo, Q1, Med, Q3, Hi float64
	HasBox              bool
	Hollow              bool
}

// boxQuantiles are where box plots put their edges (per cent).
const boxLo, boxHi = 1, 99

// boxFrom draws a distribution from its per-op histogram when there is
// one (box p25–p75, whiskers p1–p99), else from its summary.
func boxFrom(m results.Summary, x float64, c color.Color) (boxSpec, bool) {
	b := boxSpec{X: x, Color: c}
	if h, err := results.DecodeHist(m.Hist); err == nil && h != nil && h.TotalCount() > 0 {
		q := func(p float64) float64 { return float64(h.ValueAtQuantile(p)) }
		b.Lo, b.Q1, b.Med, b.Q3, b.Hi, b.HasBox = q(boxLo), q(25), q(50), q(75), q(boxHi), true
		return b, b.Med > 0
	}
	b.Med, b.Hi = m.P50, m.P99
	if b.Med <= 0 {
		b.Med = m.Median
	}
	if b.Hi < b.Med {
		b.Hi = b.Med
	}
	b.Lo = b.Med
	return b, b.Med > 0
}

// boxChart is a chart of boxes in labelled groups along x.
type boxChart struct {
	ID, Title, Subtitle, Caption, YLabel string
	Groups                               []string // x tick labels at 0, 1, 2…
	Boxes                                []boxSpec
	Width                                float64 // box width in x units
	Legend                               []swatch
}

type swatch struct {
	Name  string
	Color color.Color
}

func (c *boxChart) render() *Chart {
	c.Boxes = slices.DeleteFunc(c.Boxes, func(b boxSpec) bool {
		for _, v := range []float64{b.Lo, b.Q1, b.Med, b.Q3, b.Hi} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 && (b.HasBox || v == b.Med) {
				return true
			}
		}
		return false
	})
	if len(c.Boxes) == 0 {
		return nil
	}
	p := newPlot(c.Title, c.Subtitle)
	p.Y.Label.Text = c.YLabel
	var ys []float64
	for _, b := range c.Boxes {
		ys = append(ys, b.Lo, b.Hi, b.Med)
	}
	setAxis(&p.Y, axisDur, ys, nil, nil)
	var ticks plot.ConstantTicks
	for i, g := range c.Groups {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: g})
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = -0.6, float64(len(c.Groups))-0.4
	bp := &boxPlot{boxes: c.Boxes, width: c.Width}
	p.Add(marks(bp, "boxes"))
	legend := newLegend()
	for _, s := range c.Legend {
		legend.Add(s.Name, &swatchThumb{s.Color})
	}
	return finish(c.ID, c.Title, c.Caption, p, legend, len(c.Boxes))
}

type boxPlot struct {
	boxes []boxSpec
	width float64
}

func (bp *boxPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, b := range bp.boxes {
		x0, x1, xm := trX(b.X-bp.width/2), trX(b.X+bp.width/2), trX(b.X)
		line := draw.LineStyle{Color: b.Color, Width: vg.Points(1.3)}
		// Whisker.
		c.StrokeLines(line, c.ClipLinesXY([]vg.Point{{X: xm, Y: trY(b.Lo)}, {X: xm, Y: trY(b.Hi)}})...)
		cap := (x1 - x0) / 4
		for _, v := range []float64{b.Lo, b.Hi} {
			c.StrokeLines(line, c.ClipLinesXY([]vg.Point{{X: xm - cap, Y: trY(v)}, {X: xm + cap, Y: trY(v)}})...)
		}
		if b.HasBox {
			rect := []vg.Point{{X: x0, Y: trY(b.Q1)}, {X: x1, Y: trY(b.Q1)}, {X: x1, Y: trY(b.Q3)}, {X: x0, Y: trY(b.Q3)}}
			fill := color.Color(color.White)
			if !b.Hollow {
				fill = withAlpha(b.Color, 0x55)
			}
			c.FillPolygon(fill, c.ClipPolygonXY(rect))
			c.StrokeLines(line, c.ClipLinesXY(append(rect, rect[0]))...)
			c.StrokeLines(draw.LineStyle{Color: b.Color, Width: vg.Points(2.4)}, c.ClipLinesXY([]vg.Point{{X: x0, Y: trY(b.Med)}, {X: x1, Y: trY(b.Med)}})...)
			continue
		}
		pt := vg.Point{X: xm, Y: trY(b.Med)}
		c.DrawGlyph(draw.GlyphStyle{Color: b.Color, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}, pt)
		if b.Hollow {
			c.DrawGlyph(draw.GlyphStyle{Color: color.White, Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}, pt)
		}
	}
}

func (bp *boxPlot) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin, xmax, ymax = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, b := range bp.boxes {
		xmin, xmax = math.Min(xmin, b.X), math.Max(xmax, b.X)
		ymin, ymax = math.Min(ymin, b.Lo), math.Max(ymax, b.Hi)
	}
	return
}

type swatchThumb struct{ c color.Color }

func (s *swatchThumb) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	r.Min.Y += vg.Points(1)
	r.Max.Y -= vg.Points(1)
	c.FillPolygon(s.c, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}})
}
