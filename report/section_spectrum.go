package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// spectrumPoints are x = 1/(1−p) from p50 to p99.99, ten per decade.
var spectrumPoints = func() []float64 {
	var xs []float64
	for i := 3; i <= 40; i++ {
		xs = append(xs, math.Pow(10, float64(i)/10))
	}
	return append([]float64{2}, xs...)
}()

// spectrum is a benchmark's latency at each spectrum point its histogram
// can support (1/(1−p) no larger than the number of operations).
func spectrum(b *results.Benchmark) ([]pt, bool) {
	h, err := results.DecodeHist(b.Summary.Hist)
	if err != nil || h == nil || h.TotalCount() < 2 {
		return nil, false
	}
	var pts []pt
	for _, x := range spectrumPoints {
		if x > float64(h.TotalCount()) {
			break
		}
		q := 100 * (1 - 1/x)
		pts = append(pts, pt{X: x, Y: float64(h.ValueAtQuantile(q))})
	}
	return pts, len(pts) > 1
}

func spectrumSection(in *Input) *Section {
	sec := &Section{ID: "spectrum", Title: "How long is the tail? Latency percentile spectra"}
	sec.Charts = append(sec.Charts, spectrumChart(in, "spectrum-spawn", "How long is the tail of a spawn? (cores=1)", results.ScenarioSpawn, "", 0))
	var places []string
	for _, s := range in.Series {
		for _, p := range placementsOf(pairs(s, results.ScenarioRoundTrip)) {
			if !slices.Contains(places, p) {
				places = append(places, p)
			}
		}
	}
	for _, p := range places {
		// The smallest size with per-op histograms.
		var size int64
		for _, s := range in.Series {
			for _, b := range pairs(s, results.ScenarioRoundTrip)[p] {
				if b.Summary.Hist != "" && (size == 0 || sizeParam(b) < size) {
					size = sizeParam(b)
				}
			}
		}
		if size > 0 {
			sec.Charts = append(sec.Charts, spectrumChart(in, "spectrum-roundtrip-"+p,
				fmt.Sprintf("How long is the tail of a round trip? (%s, %s, cores=1)", units.FormatSize(size), p), results.ScenarioRoundTrip, p, size))
		}
	}
	n := 0
	for _, c := range sec.Charts {
		if c != nil {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	sec.Notes = append(sec.Notes, "Drawn from the per-operation HDR histograms (3 significant digits) where each operation was timed on its own; percentiles stop where the run has too few operations to support them (p99.99 needs 10,000). Operations too short to time one by one have no spectrum.")
	return sec
}

func spectrumChart(in *Input, id, title, base, placement string, size int64) *Chart {
	c := &xyChart{ID: id, Title: title, Subtitle: subtitle(in), X: axisQuantile, XLabel: "percentile (axis: 1/(1−p), log scale)", Y: axisDur, YLabel: "latency per operation (log scale)",
		Caption: "Each line is one benchmark's latency at percentiles from p50 to p99.99 (x = 1/(1−p), so every extra nine is one step right). A line that rises steeply on the right has a long tail; compare shapes, not just medians."}
	var colors *colorKeys
	if base == results.ScenarioRoundTrip {
		colors = newColors(transportOrder...)
	} else {
		colors = newColors(results.SpawnExec, results.SpawnSpawn, results.SpawnFork)
	}
	for si, s := range in.Series {
		var bs []*results.Benchmark
		if base == results.ScenarioSpawn {
			bs = spawnOnes(s)
		} else {
			for _, b := range pairs(s, base)[placement] {
				if sizeParam(b) == size {
					bs = append(bs, b)
				}
			}
			slices.SortStableFunc(bs, func(a, b *results.Benchmark) int { return compareTkeys(tkey(a), tkey(b)) })
		}
		for _, b := range bs {
			pts, ok := spectrum(b)
			if !ok {
				continue
			}
			var l lineSpec
			if base == results.ScenarioSpawn {
				l = lineSpec{Name: spawnLabel(b), Color: colors.of(b.Name.Param(results.KeyMode)), Glyph: glyphFor(si)}
				if b.Name.Param(results.KeyCmd) == "echo" {
					l.Dashes = dashSecond
				}
			} else {
				tr, how, _ := strings.Cut(tkey(b), "/")
				l = lineSpec{Name: tr + " " + how, Color: colors.of(tr), Glyph: glyphFor(si)}
				if b.Name.Param(results.KeyMode) == results.ModeGo {
					l.Dashes = dashGo
				}
			}
			if runtimeTag(b) != "" {
				l.Color, l.Dashes = colors.of(l.Name), dashNode
			}
			if in.Multi() {
				l.Name += " · " + s.Label
			}
			l.Glyph = nil
			l.Points = pts
			c.Lines = append(c.Lines, l)
		}
	}
	return in.draw(c)
}
