package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// Doc is a capacity report before it is rendered: the same answers,
// charts and tables become text, Markdown or HTML.
type Doc struct {
	Title    string
	Hosts    Table      // one row per run
	Sections []*Section // in registry order, only those with data
	Left     []string   // what the report left out, and why
	Full     []FullRun  // every run's full table (Options.Full)
	Legend   string
}

// FullRun is one run's complete statistical table.
type FullRun struct {
	Label string
	Set   *results.Set
}

// Section is one part of the report. A section with nothing to say is
// not part of the Doc at all.
type Section struct {
	ID      string
	Title   string // the question it answers
	Answers []Answer
	Charts  []*Chart
	Tables  []Table
	Notes   []string
}

// Answer is one capacity answer: a sentence with its figures and their
// intervals, the benchmarks it was computed from, and the caveats of
// those figures. A refused answer says what was asked and why the data
// cannot answer it.
type Answer struct {
	Series  string // the run it is about ("" when the report has one)
	Text    string
	Inputs  []results.Name
	Caveats []string
	Refused bool
}

// Table is a small table of a section. Long tables are folded away
// (<details>) in Markdown and HTML.
type Table struct {
	Title string
	Head  []string
	Rows  [][]string
	Long  bool
}

// Chart is one drawn chart: an SVG document, titled with the question
// it answers.
type Chart struct {
	ID      string // file name stem and HTML anchor
	Title   string
	Caption string
	SVG     []byte
	Series  int // data series drawn (a chart without any is not kept)
}

// sectionDef is a section of the registry: build reads the input and
// returns the section, or nil when the runs hold no data for it (the
// section is then absent, and says nothing).
type sectionDef struct {
	id    string
	build func(in *Input) *Section
}

// sections is the registry, in the order the report shows them.
var sections = []sectionDef{
	{id: "spawn", build: spawnSection},
	{id: "parentmem", build: parentMemSection},
	{id: "roundtrip", build: roundTripSection},
	{id: "throughput", build: throughputSection},
	{id: "output", build: outputSection},
	{id: "scaling", build: scalingSection},
	{id: "spectrum", build: spectrumSection},
	{id: "load", build: loadSection},
	{id: "targets", build: targetSection},
}

// Build computes a capacity report over one or more runs.
func Build(runs []Run, opt Options) (*Doc, error) {
	in, err := newInput(runs, opt)
	if err != nil {
		return nil, err
	}
	d := &Doc{Title: "ipcbench capacity report", Legend: docLegend}
	d.Hosts = hostTable(in)
	for _, def := range sections {
		sec := def.build(in)
		if sec == nil || (len(sec.Answers) == 0 && len(sec.Charts) == 0 && len(sec.Tables) == 0) {
			continue
		}
		if sec.ID == "" {
			sec.ID = def.id
		}
		kept := sec.Charts[:0]
		for _, c := range sec.Charts {
			if c != nil && c.Series > 0 {
				kept = append(kept, c)
			}
		}
		sec.Charts = kept
		d.Sections = append(d.Sections, sec)
	}
	uniqueChartIDs(d)
	d.Left = in.left
	if opt.Full {
		for _, s := range in.Series {
			d.Full = append(d.Full, FullRun{Label: s.Label, Set: filtered(s)})
		}
	}
	return d, nil
}

// filtered is a series' run holding only the benchmarks the report read.
func filtered(s *series) *results.Set {
	if len(s.benches) == len(s.Set.Benchmarks) {
		return s.Set
	}
	c := *s.Set
	c.Benchmarks = nil
	for _, b := range s.benches {
		c.Benchmarks = append(c.Benchmarks, *b)
	}
	return &c
}

const docLegend = "Figures: median [95% confidence interval of the median]. CPU figures are user+system time of the parent and its children per operation, from rusage over the timed region (one reading, no interval). \"Per core\" rates are 1 s of CPU divided by that cost: what one fully busy core could carry, not a measured rate. Answers refuse benchmarks that failed, whose pairs had to share CPUs, or that are noisy (use --allow-noisy to accept those with their wide intervals)."

// hostTable has one row per run: the machine and the run.
func hostTable(in *Input) Table {
	t := Table{Title: "Hosts and runs", Head: []string{"run", "host", "CPU", "CPUs", "kernel", "Go", "virtualized", "run id", "started", "benchmarks"}}
	for _, s := range in.Series {
		e := &s.Set.Env
		kernel, _, _ := strings.Cut(strings.TrimSpace(e.Kernel), " ")
		virt := "no"
		if e.Virtualized {
			virt = "yes"
			if e.Hypervisor != "" {
				virt = e.Hypervisor
			}
		}
		cpuS := fmt.Sprintf("%d of %d", len(e.AllowedCPUs), e.NumCPU)
		if e.CgroupCPUs > 0 {
			cpuS += fmt.Sprintf(", quota %.1f", e.CgroupCPUs)
		}
		ok, failed, skipped := 0, 0, 0
		for _, b := range s.benches {
			switch {
			case b.Failed():
				failed++
			case b.Skipped != "":
				skipped++
			case b.OK():
				ok++
			}
		}
		bs := fmt.Sprintf("%d ok", ok)
		if failed > 0 {
			bs += fmt.Sprintf(", %d failed", failed)
		}
		if skipped > 0 {
			bs += fmt.Sprintf(", %d skipped", skipped)
		}
		if s.Set.Config.Quick {
			bs += " (--quick)"
		}
		if s.Set.Partial != "" {
			bs += " — PARTIAL RUN (see Left out)"
		}
		started := ""
		if !s.Set.StartedAt.IsZero() {
			started = s.Set.StartedAt.UTC().Format(time.DateTime) + " UTC"
		}
		t.Rows = append(t.Rows, []string{s.Label, orDash(e.Hostname), orDash(e.CPUModel), cpuS, orDash(kernel), orDash(e.GoVersion), virt, orDash(s.Set.RunID), orDash(started), bs})
	}
	return t
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// answer builds an Answer about a series.
func (in *Input) answer(s *series, text string, inputs ...*results.Benchmark) Answer {
	a := Answer{Text: text}
	if in.Multi() {
		a.Series = s.Label
	}
	var kept []*results.Benchmark
	for _, b := range inputs {
		if b != nil && !slices.Contains(a.Inputs, b.Name) {
			a.Inputs = append(a.Inputs, b.Name)
			kept = append(kept, b)
		}
	}
	a.Caveats = caveats(kept...)
	return a
}

// refuse builds a refused Answer: what was asked and why it cannot be answered.
func (in *Input) refuse(s *series, text string, inputs ...*results.Benchmark) Answer {
	a := in.answer(s, text, inputs...)
	a.Refused = true
	a.Caveats = nil
	return a
}
