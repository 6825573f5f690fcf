package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The parent-memory dimension: spawns from a parent holding memory, named
// "Spawn/mode=spawn/cmd=true/method=vfork|fork/parent_mem=BYTES/[runtime=node/]cores=1"
// (`ipcbench run parentmem`, and Node's own in the node group). A real
// fork copies the parent's page tables, so its cost grows with the memory
// held; vfork (Go's os/exec) shares them and stays flat.

// parseBytes reads a parent_mem value: bytes, or a size such as 1GiB.
func parseBytes(s string) (float64, bool) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 {
		return v, true
	}
	if v, err := units.ParseSize(s); err == nil {
		return float64(v), true
	}
	return 0, false
}

// parentMemLine is one way of spawning measured at several parent sizes.
type parentMemLine struct {
	key   results.Name // the name without parent_mem and cores
	label string       // "go fork+exec", "node spawn (libuv fork)"
	bs    []*results.Benchmark
}

func parentMemOf(b *results.Benchmark) float64 {
	v, _ := parseBytes(b.Name.Param(results.KeyParentMem))
	return v
}

// parentMemLines are a series' spawns with a parent_mem parameter at one
// worker that ran, one line per way of spawning (method, runtime, command),
// each sorted by the memory held.
func parentMemLines(s *series) []*parentMemLine {
	var out []*parentMemLine
	byKey := map[results.Name]*parentMemLine{}
	for _, b := range s.find(results.ScenarioSpawn) {
		if _, ok := parseBytes(b.Name.Param(results.KeyParentMem)); !ok || cores(b) != 1 || !b.OK() {
			continue
		}
		k := b.Name.Without(results.KeyParentMem, results.KeyCores)
		l := byKey[k]
		if l == nil {
			l = &parentMemLine{key: k, label: parentMemColumn(b)}
			if c := b.Name.Param(results.KeyCmd); c != "" && c != "true" {
				l.label += " " + c
			}
			byKey[k] = l
			out = append(out, l)
		}
		l.bs = append(l.bs, b)
	}
	for _, l := range out {
		slices.SortStableFunc(l.bs, func(a, b *results.Benchmark) int { return cmp.Compare(parentMemOf(a), parentMemOf(b)) })
	}
	return out
}

func parentMemSection(in *Input) *Section {
	sec := &Section{ID: "parentmem", Title: "How does the parent's memory change what a spawn costs?"}
	c := &xyChart{ID: "parentmem-spawn", Title: "How does a spawn slow down as the parent holds more memory? (cores=1)", Subtitle: subtitle(in),
		X: axisLinear, XLabel: "memory the spawning process holds", Y: axisDur, YLabel: "latency per spawn (log scale)", XNames: map[float64]string{},
		Caption: "Median latency per spawn (to exit) against the memory the spawning process holds, one line per way of spawning: a real fork copies the page tables, vfork (Go's os/exec) shares them. The shaded band is p50–p99 of single operations. Hollow markers: figures the answers refuse."}
	table := Table{Title: "Spawn against the parent's memory (cores=1): median per spawn · spawns/s per core", Head: []string{"parent memory"}}
	if in.Multi() {
		table.Head = []string{"run", "parent memory"}
	}
	colors := newColors()
	var mems []float64
	var lines []string
	type cellKey struct {
		s    *series
		mem  float64
		line string
	}
	cells := map[cellKey]string{}
	any := false
	for si, s := range in.Series {
		for _, l := range parentMemLines(s) {
			any = true
			if !slices.Contains(lines, l.label) {
				lines = append(lines, l.label)
			}
			sec.Answers = append(sec.Answers, in.parentMemAnswer(s, l))
			ls := lineSpec{Name: l.label, Color: colors.of(l.label), Glyph: glyphFor(si)}
			if in.Multi() {
				ls.Name += " · " + s.Label
			}
			var lo, hi []pt
			for _, b := range l.bs {
				m := parentMemOf(b)
				if !slices.Contains(mems, m) {
					mems = append(mems, m)
				}
				refused := in.refusal(b) != ""
				p50 := cmp.Or(b.Summary.P50, b.Summary.Median)
				ls.Points = append(ls.Points, pt{m, p50, refused})
				if b.PercentileSource == "per-op" && b.Summary.P99 > 0 {
					lo, hi = append(lo, pt{X: m, Y: p50}), append(hi, pt{X: m, Y: b.Summary.P99})
				}
				fig := Dur(b.Summary.Median)
				if cpu, ok := cpuPerOp(b); ok {
					fig += " · " + Count(1e9/cpu) + "/s"
				}
				if refused {
					fig += " †"
				}
				cells[cellKey{s, m, l.label}] = fig
			}
			if len(lo) > 1 {
				c.Bands = append(c.Bands, bandSpec{Color: withAlpha(ls.Color, 0x30), Lo: lo, Hi: hi})
			}
			c.Lines = append(c.Lines, ls)
		}
	}
	if !any {
		return nil
	}
	slices.Sort(mems)
	for _, m := range mems {
		c.XNames[m] = units.FormatSize(int64(m))
	}
	c.XTicks = mems
	table.Head = append(table.Head, lines...)
	for _, s := range in.Series {
		for _, m := range mems {
			row := []string{units.FormatSize(int64(m))}
			if in.Multi() {
				row = []string{s.Label, units.FormatSize(int64(m))}
			}
			empty := true
			for _, l := range lines {
				v := cells[cellKey{s, m, l}]
				empty = empty && v == ""
				row = append(row, v)
			}
			if !empty {
				table.Rows = append(table.Rows, row)
			}
		}
	}
	sec.Tables = append(sec.Tables, table)
	sec.Charts = append(sec.Charts, in.draw(c))
	sec.Notes = append(sec.Notes, "Per core: spawns/s one core of CPU could carry (parent + child CPU per spawn). Slopes are least squares over the sizes measured usably. † refused for answers.")
	return sec
}

// parentMemAnswer: what a spawn costs at the smallest and the largest
// parent measured, and the growth per 100 MiB held.
func (in *Input) parentMemAnswer(s *series, l *parentMemLine) Answer {
	var ok []*results.Benchmark
	var left []string
	for _, b := range l.bs {
		if why := in.refusal(b); why != "" {
			left = append(left, units.FormatSize(int64(parentMemOf(b)))+" ("+reasonKind(why)+")")
			continue
		}
		ok = append(ok, b)
	}
	leftS := ""
	if len(left) > 0 {
		leftS = fmt.Sprintf(" Left out: %s.", strings.Join(left, ", "))
	}
	switch len(ok) {
	case 0:
		return in.refuse(s, fmt.Sprintf("%s: refused — no parent size was measured usably.%s", l.label, leftS), l.bs...)
	case 1:
		b := ok[0]
		return in.answer(s, fmt.Sprintf("%s with a %s parent: one spawn takes %s; a second size is needed to see the memory's effect (--parent-mem 0,1GiB).%s",
			l.label, units.FormatSize(int64(parentMemOf(b))), durCI(b.Summary), leftS), b)
	}
	lo, hi := ok[0], ok[len(ok)-1]
	text := fmt.Sprintf("%s: a spawn takes %s with a %s parent and %s with a %s parent (**%s**)",
		l.label, durCI(lo.Summary), units.FormatSize(int64(parentMemOf(lo))), durCI(hi.Summary), units.FormatSize(int64(parentMemOf(hi))), ratio(hi.Summary.Median/lo.Summary.Median))
	var x, y []float64
	for _, b := range ok {
		x, y = append(x, parentMemOf(b)), append(y, b.Summary.Median)
	}
	if sl, fine := Slope(x, y); fine {
		text += fmt.Sprintf(", %s per 100 MiB held", signedDur(sl*100*(1<<20)))
	}
	if cl, fine := cpuPerOp(lo); fine {
		if ch, fine := cpuPerOp(hi); fine {
			text += fmt.Sprintf("; one core sustains %s spawns/s at %s and %s at %s", Count(1e9/cl), units.FormatSize(int64(parentMemOf(lo))), Count(1e9/ch), units.FormatSize(int64(parentMemOf(hi))))
		}
	}
	return in.answer(s, text+"."+leftS, lo, hi)
}

// signedDur is a duration with its sign: +38.4ms, −12.0µs.
func signedDur(ns float64) string {
	if ns < 0 {
		return "−" + Dur(-ns)
	}
	return "+" + Dur(ns)
}
