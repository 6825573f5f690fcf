package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// spawnLabel names a spawn benchmark in answers and charts: its mode and
// command, and its method, parent memory and runtime where it has them.
func spawnLabel(b *results.Benchmark) string {
	l := b.Name.Param(results.KeyMode)
	if c := b.Name.Param(results.KeyCmd); c != "" {
		l += " " + c
	}
	// The parent-memory family and Node's own are spawns too: say which.
	if m := b.Name.Param(results.KeyMethod); m != "" {
		l += " (" + m
		if pm, ok := parseBytes(b.Name.Param(results.KeyParentMem)); ok {
			l += ", parent " + units.FormatSize(int64(pm))
		}
		l += ")"
	}
	if r := b.Name.Param(results.KeyRuntime); r != "" {
		l += " [" + r + "]"
	}
	return l
}

// spawnRank orders spawn benchmarks: ipcbench's own commands (true, echo)
// before the user's, and within each exec, spawn, fork, then other modes.
func spawnRank(b *results.Benchmark) (int, int) {
	m := slices.Index([]string{results.SpawnExec, results.SpawnSpawn, results.SpawnFork}, b.Name.Param(results.KeyMode))
	if m < 0 {
		m = 3
	}
	c := slices.Index([]string{"true", "echo", ""}, b.Name.Param(results.KeyCmd))
	if c < 0 {
		c = 3
	}
	return c, m
}

// spawnOnes are a series' spawn benchmarks at one worker, ordered.
func spawnOnes(s *series) []*results.Benchmark {
	var out []*results.Benchmark
	for _, b := range s.find(results.ScenarioSpawn) {
		if cores(b) == 1 && !b.Failed() && b.Skipped == "" {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b *results.Benchmark) int {
		ac, am := spawnRank(a)
		bc, bm := spawnRank(b)
		return cmp.Or(cmp.Compare(ac, bc), cmp.Compare(am, bm))
	})
	return out
}

func spawnSection(in *Input) *Section {
	sec := &Section{ID: "spawn", Title: "How many spawns per second can one core sustain, and what does each mode cost?"}
	table := Table{Title: "Spawn: latency, CPU and spawns per core (cores=1)", Head: []string{"mode", "latency", "p99", "CPU/spawn", "spawns/s per core", "started", "first byte", "ready", "note"}}
	if in.Multi() {
		table.Head = append([]string{"run"}, table.Head...)
	}
	any := false
	for _, s := range in.Series {
		bs := spawnOnes(s)
		if len(bs) == 0 {
			continue
		}
		any = true
		// runtime → cheapest usable of the ways to spawn the commonest
		// command: exec, spawn, execFile and fork of one runtime, since a
		// Go user picks among Go's and a Node user among Node's. The
		// parent-memory variants (a method, a parent's size) answer another
		// question (their own section), so they are not candidates.
		best := map[string]*results.Benchmark{}
		comparable := func(b *results.Benchmark) bool {
			return b.Name.Param(results.KeyMethod) == "" && (b.Name.Param(results.KeyCmd) == "true" || b.Name.Param(results.KeyMode) == results.SpawnFork)
		}
		var refused []string
		var refusedIn []*results.Benchmark
		for _, b := range bs {
			lbl := spawnLabel(b)
			why := in.refusal(b)
			cpu, hasCPU := cpuPerOp(b)
			switch {
			case why != "":
				refused, refusedIn = append(refused, lbl+" — "+why), append(refusedIn, b)
			case !hasCPU:
				refused, refusedIn = append(refused, lbl+" — its CPU per spawn was not measured"), append(refusedIn, b)
			default:
				sec.Answers = append(sec.Answers, in.answer(s, fmt.Sprintf("%s: **%s spawns/s per core** — %s of CPU per spawn (parent + child); one spawn takes %s.",
					lbl, Count(1e9/cpu), Dur(cpu), durCI(b.Summary)), b))
				// A fork worker does as little as /bin/true.
				if rt := b.Name.Param(results.KeyRuntime); comparable(b) {
					if o := best[rt]; o == nil {
						best[rt] = b
					} else if oc, _ := cpuPerOp(o); cpu < oc {
						best[rt] = b
					}
				}
			}
			row := []string{lbl, durCI(b.Summary), Dur(b.Summary.P99) + pctMark(b), "", "", phaseMedian(b, results.PhaseStarted), phaseMedian(b, results.PhaseFirstByte), phaseMedian(b, results.PhaseReady), noteOf(why)}
			if hasCPU {
				row[3], row[4] = Dur(cpu), Count(1e9/cpu)
			}
			if in.Multi() {
				row = append([]string{s.Label}, row...)
			}
			table.Rows = append(table.Rows, row)
		}
		if len(refused) > 0 {
			sec.Answers = append(sec.Answers, in.refuse(s, "Refused: "+strings.Join(refused, "; ")+".", refusedIn...))
		}
		// The cheapest mode against the others of its runtime, for the
		// commonest command: Go's (no runtime parameter) first.
		rts := slices.Sorted(maps.Keys(best))
		for _, rt := range rts {
			w := best[rt]
			wc, _ := cpuPerOp(w)
			var parts []string
			for _, b := range bs {
				c, ok := cpuPerOp(b)
				if b == w || !ok || !in.usable(b) || !comparable(b) || b.Name.Param(results.KeyRuntime) != rt {
					continue
				}
				if len(parts) == 0 {
					parts = append(parts, fmt.Sprintf("%s the spawns of %s", ratio(c/wc), spawnLabel(b)))
				} else {
					parts = append(parts, fmt.Sprintf("%s those of %s", ratio(c/wc), spawnLabel(b)))
				}
			}
			if len(parts) > 0 {
				of := ""
				if rt != "" {
					of = " of " + rt + "'s ways"
				}
				sec.Answers = append(sec.Answers, in.answer(s, fmt.Sprintf("Cheapest per core%s: **%s** — one core carries %s.",
					of, spawnLabel(w), strings.Join(parts, ", ")), w))
			}
		}
	}
	if !any {
		return nil
	}
	sec.Tables = append(sec.Tables, table)
	sec.Charts = append(sec.Charts, spawnChart(in))
	sec.Notes = append(sec.Notes, "p99 marked * is per operation; otherwise it is the p99 of batch means. Phases: started (fork+exec returned), first byte (of output), ready (a fork worker said so).")
	return sec
}

func pctMark(b *results.Benchmark) string {
	if b.PercentileSource == "per-op" {
		return "*"
	}
	return ""
}

func phaseMedian(b *results.Benchmark, ph results.Phase) string {
	d, ok := b.Distributions[ph]
	if !ok || d.N == 0 {
		return ""
	}
	return Dur(d.Median)
}

// noteOf is a refusal as a table note.
func noteOf(why string) string {
	if why == "" {
		return ""
	}
	return "refused: " + reasonKind(why)
}

var phaseColors = map[results.Phase]int{"": 0, results.PhaseStarted: 1, results.PhaseFirstByte: 4, results.PhaseReady: 6}

// spawnChart: each mode's latency distribution as a box, and its phases
// beside it.
func spawnChart(in *Input) *Chart {
	c := &boxChart{ID: "spawn-latency", Title: "How long does a spawn take, by mode? (cores=1)", Subtitle: subtitle(in),
		YLabel:  "latency per spawn (log scale)",
		Caption: fmt.Sprintf("Boxes: p25–p75 of each operation's latency with the median as a thick line, whiskers p%d–p%d (from the per-op histograms); a dot is a median without a histogram (whisker to p99). The whole spawn first, then its phases. White-filled boxes are figures the answers refuse.", boxLo, boxHi)}
	phases := []results.Phase{"", results.PhaseStarted, results.PhaseFirstByte, results.PhaseReady}
	used := map[results.Phase]bool{}
	for _, s := range in.Series {
		for _, b := range spawnOnes(s) {
			if !b.OK() {
				continue
			}
			g := float64(len(c.Groups))
			lbl := strings.Replace(spawnLabel(b), " ", "\n", 1)
			if in.Multi() {
				lbl += "\n" + s.Label
			}
			c.Groups = append(c.Groups, lbl)
			var present []results.Phase
			for _, ph := range phases {
				if ph == "" {
					present = append(present, ph)
				} else if d, ok := b.Distributions[ph]; ok && d.N > 0 {
					present = append(present, ph)
				}
			}
			w := 0.8 / float64(len(present))
			for i, ph := range present {
				m := b.Summary
				if ph != "" {
					m = b.Distributions[ph]
				}
				x := g - 0.4 + w*(float64(i)+0.5)
				bx, ok := boxFrom(m, x, palette[phaseColors[ph]])
				if !ok {
					continue
				}
				bx.Hollow = in.refusal(b) != ""
				c.Boxes = append(c.Boxes, bx)
				used[ph] = true
			}
			c.Width = min(cmp.Or(c.Width, 1), w*0.8)
		}
	}
	for _, ph := range phases {
		if used[ph] {
			name := "whole spawn"
			if ph != "" {
				name = strings.ReplaceAll(string(ph), "_", " ")
			}
			c.Legend = append(c.Legend, swatch{name, palette[phaseColors[ph]]})
		}
	}
	return in.draw(c)
}

// subtitle names the host(s) a chart is about.
func subtitle(in *Input) string {
	if !in.Multi() {
		s := in.Series[0]
		e := &s.Set.Env
		return fmt.Sprintf("%s · %s · %d CPUs · run %s", orDash(e.Hostname), orDash(e.CPUModel), len(e.AllowedCPUs), orDash(s.Set.RunID))
	}
	var ls []string
	for _, s := range in.Series {
		ls = append(ls, s.Label)
	}
	return "runs: " + strings.Join(ls, ", ")
}
