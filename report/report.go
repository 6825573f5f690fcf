// Package report renders saved runs: statistical tables (text, markdown,
// csv), the JSON document and the Go benchmark format. A Format is a small
// function over a results.Set; report never imports the engine, so every
// format works on a saved run as well as on a fresh one.
package report

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Format renders a set.
type Format func(w io.Writer, s *results.Set) error

// Formats maps --format names to renderers.
var Formats = map[string]Format{
	"text":     Text,
	"markdown": Markdown,
	"csv":      CSV,
	"json":     JSON,
	"bench":    Bench,
}

// FormatNames lists the accepted --format values.
func FormatNames() []string {
	n := make([]string, 0, len(Formats))
	for k := range Formats {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Lookup returns the named format or an error listing the accepted ones.
func Lookup(name string) (Format, error) {
	f, ok := Formats[name]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (accepted: %s)", name, strings.Join(FormatNames(), ", "))
	}
	return f, nil
}

// JSON writes the results document.
func JSON(w io.Writer, s *results.Set) error { return results.Encode(w, s) }

// Bench writes the Go benchmark format (benchstat reads it).
func Bench(w io.Writer, s *results.Set) error { return results.WriteBench(w, s) }

// Text writes an aligned table with humanised units, then notes.
func Text(w io.Writer, s *results.Set) error { return table(w, w, s, false) }

// Markdown writes the same table as GitHub markdown.
func Markdown(w io.Writer, s *results.Set) error { return table(w, w, s, true) }

// TablesAndNotes renders a text or markdown format with its tables on w
// and its notes (skipped and failed benchmarks, warnings, wrapped) on
// notes: `run` puts the data on stdout and the caveats on stderr. ok is
// false for other formats, which carry their warnings in the data.
func TablesAndNotes(format string, w, notes io.Writer, s *results.Set) (ok bool, err error) {
	switch format {
	case "text":
		return true, table(w, notes, s, false)
	case "markdown":
		return true, table(w, notes, s, true)
	}
	return false, nil
}

var columns = []string{"benchmark", "n", "median", "95% CI", "p50", "p90", "p99", "p99.9", "ops/s", "MB/s", "cpu/op", "csw/op", "rss"}

const legend = "n: samples (batches of ops; for indented phases, ops); median: the median of the rounds' medians of batch means (each benchmark is visited in several rounds, in a shuffled order), and its 95% CI across the rounds, so that it holds the drift a rerun would see; at cores=N>1 the median is aggregate time per op of all N (its inverse the total throughput) and percentiles are each worker's own op latency; p50..p99.9: per-op where marked *, else of batch means; cpu/op: user+sys of parent and children; csw/op: context switches (voluntary+involuntary); rss: the parent's peak RSS in the timed region (children's in the JSON)"

func table(w, nw io.Writer, s *results.Set, md bool) error {
	header(w, s, md)
	// esc makes a line of text holding names read from a file safe for
	// the format (tables escape their own cells).
	esc := func(x string) string { return x }
	if md {
		esc = mdEscape
	}
	opts := tableOptions(md)
	notes, err := mainTable(w, s, opts)
	if err != nil {
		return err
	}
	if err := crossover(w, s, opts); err != nil {
		return err
	}
	if err := parentMem(w, s, opts, esc); err != nil {
		return err
	}
	if err := scaling(w, s, opts); err != nil {
		return err
	}
	if err := loadSweeps(w, s, opts, esc); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if md {
		fmt.Fprintln(w, "_"+legend+"_")
	} else {
		fmt.Fprint(w, wrap(legend, noteWidth, "", ""))
	}
	if len(notes) > 0 {
		fmt.Fprintln(nw)
		for _, n := range notes {
			if md {
				fmt.Fprintln(nw, "- "+mdEscape(n))
			} else {
				fmt.Fprint(nw, wrap(n, noteWidth, "", "    "))
			}
		}
	}
	return nil
}

// noteWidth is where notes are wrapped.
const noteWidth = 100

// header is the run's one-line identity.
func header(w io.Writer, s *results.Set, md bool) {
	kernel, _, _ := strings.Cut(strings.TrimSpace(s.Env.Kernel), " ") // release only; may be absent
	esc := func(x string) string { return x }
	if md {
		esc = mdEscape // all of it is read from a file
	}
	fmt.Fprintf(w, "ipcbench run %s  %s  %s  %d CPUs  %s\n", esc(s.RunID), esc(s.Env.CPUModel), esc(kernel), len(s.Env.AllowedCPUs), esc(s.Env.GoVersion))
	if s.Partial != "" {
		if md {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "PARTIAL RUN: "+esc(s.Partial))
	}
	if md {
		fmt.Fprintln(w)
	}
}

// tableOptions: names left, figures right; markdown or borderless text.
func tableOptions(md bool) []tablewriter.Option {
	align := tw.CellAlignment{Global: tw.AlignRight, PerColumn: []tw.Align{tw.AlignLeft}}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignmentConfig(align),
		tablewriter.WithRowAlignmentConfig(align),
	}
	if md {
		// Cells hold names and labels read from a file: escaped as the
		// capacity report's Markdown cells are (mdCell), so that a name
		// cannot become HTML or split its row.
		escape := tablewriter.WithRowFilter(tw.CellFilter{Global: func(cells []string) []string {
			out := make([]string, len(cells))
			for i, c := range cells {
				out[i] = strings.ReplaceAll(mdEscape(c), "|", `\|`)
			}
			return out
		}})
		return append(opts, escape, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	return append(opts, tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
		Borders: tw.BorderNone,
		Symbols: tw.NewSymbols(tw.StyleNone),
		Settings: tw.Settings{
			Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
			Lines:      tw.Lines{ShowHeaderLine: tw.Off},
		},
	})))
}

// mainTable renders one row per benchmark that ran, its phases indented
// below it, and returns the notes for under the tables: skipped and
// failed benchmarks and warnings (recurring ones grouped).
func mainTable(w io.Writer, s *results.Set, opts []tablewriter.Option) ([]string, error) {
	t := tablewriter.NewTable(w, opts...)
	t.Header(anySlice(columns)...)
	var notes []string
	grouped := map[string][]results.Name{}
	own := map[results.Name]map[string]string{} // a benchmark's own text of a grouped warning
	skipped := map[string][]results.Name{}      // by reason: a missing node skips dozens alike
	var skipOrder []string
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		switch {
		case b.Skipped != "":
			skipped[b.Skipped] = append(skipped[b.Skipped], b.Name)
			if len(skipped[b.Skipped]) == 1 {
				skipOrder = append(skipOrder, b.Skipped)
			}
			continue
		case b.Error != "" && len(b.Samples) == 0:
			notes = append(notes, fmt.Sprintf("FAILED %s: %s", b.Name, b.Error))
			continue
		case b.Error != "":
			notes = append(notes, fmt.Sprintf("FAILED %s (partial figures shown): %s", b.Name, b.Error))
		}
		if err := t.Append(anySlice(row(b))...); err != nil {
			return nil, fmt.Errorf("report: table: %w", err)
		}
		for _, ph := range sortedDists(b.Distributions) {
			d := b.Distributions[ph]
			r := []string{"  ↳ " + string(ph), strconv.Itoa(d.N), Dur(d.Median), "", Dur(d.P50), Dur(d.P90), Dur(d.P99), Dur(d.P999), "", "", "", "", ""}
			if err := t.Append(anySlice(r)...); err != nil {
				return nil, fmt.Errorf("report: table: %w", err)
			}
		}
		for _, wn := range b.Warnings {
			// Warnings repeated across many benchmarks are grouped below
			// the table (the JSON keeps each one).
			if g := warningGroup(wn); g != "" {
				grouped[g] = append(grouped[g], b.Name)
				if own[b.Name] == nil {
					own[b.Name] = map[string]string{}
				}
				own[b.Name][g] = wn.Text
				continue
			}
			notes = append(notes, fmt.Sprintf("warning %s: %s", b.Name, wn.Text))
		}
	}
	if err := t.Render(); err != nil {
		return nil, fmt.Errorf("report: table: %w", err)
	}
	var skips []string
	for _, why := range skipOrder {
		names := skipped[why]
		if len(names) == 1 {
			skips = append(skips, fmt.Sprintf("skipped %s: %s", names[0], why))
		} else {
			skips = append(skips, fmt.Sprintf("skipped (%d benchmarks) %s: %s", len(names), why, nameList(names, 4)))
		}
	}
	notes = append(skips, notes...)
	for _, g := range sortedKeys(grouped) {
		names := grouped[g]
		if len(names) == 1 {
			// Alone, a benchmark's own words say more than the group's.
			notes = append(notes, fmt.Sprintf("warning %s: %s", names[0], own[names[0]][g]))
			continue
		}
		notes = append(notes, fmt.Sprintf("warning (%d benchmarks) %s: %s", len(names), g, nameList(names, 4)))
	}
	return notes, nil
}

// nameList lists at most n names, then how many more there are: a
// warning shared by 200 benchmarks must not become one 15,000-character
// line (the JSON keeps every one).
func nameList(names []results.Name, n int) string {
	var ns []string
	for _, x := range names[:min(n, len(names))] {
		ns = append(ns, string(x))
	}
	out := strings.Join(ns, ", ")
	if len(names) > n {
		out += fmt.Sprintf(" and %d more (all in the JSON)", len(names)-n)
	}
	return out
}

// warningGroup returns the common text of warnings that recur across
// benchmarks, or "" for one-off warnings. Each benchmark's own text stays
// in the JSON.
func warningGroup(wn results.Warning) string {
	switch wn.Kind {
	case results.WarnNoisy:
		return "noisy: the median's 95% CI is wide (the 95% CI column says how wide): differences of that size between figures are not resolved; a longer --time or a quieter machine narrows it"
	case results.WarnBusy:
		return "busy machine: other processes used more than 10% of the CPUs in a third or more of the rounds (or while a one-visit benchmark ran): the figures may be inflated"
	case results.WarnSteal:
		return "hypervisor steal: the host took more than 5% of CPU time in a third or more of the rounds"
	case results.WarnClock:
		return "clock reads cost more than 1% of each op: the figures are slightly inflated (timer_overhead_share in the JSON)"
	case results.WarnFewSamples:
		return "fewer rounds or samples than wanted: the time budget allowed no more (a longer --time gives more)"
	case results.WarnPlacement:
		return wn.Text
	case results.WarnProfiling:
		if strings.HasPrefix(wn.Text, "figures taken under profiling") {
			return wn.Text
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// sortedDists orders phases as they happen, unknown ones last by name.
func sortedDists(m map[results.Phase]results.Summary) []results.Phase {
	n := slices.Collect(maps.Keys(m))
	rank := func(p results.Phase) int {
		if i := slices.Index(results.PhaseOrder, p); i >= 0 {
			return i
		}
		return len(results.PhaseOrder)
	}
	slices.SortFunc(n, func(a, b results.Phase) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return n
}

func row(b *results.Benchmark) []string {
	m := b.Summary
	ci := ""
	if m.CI95High > 0 && m.Median > 0 {
		ci = fmt.Sprintf("±%.1f%%", 50*(m.CI95High-m.CI95Low)/m.Median)
	}
	mark := ""
	if b.PercentileSource == "per-op" {
		mark = "*"
	}
	mbs := ""
	if v, ok := b.Metrics[results.MetricMBPerSec]; ok {
		mbs = fmt.Sprintf("%.0f", v)
	}
	ops := ""
	if v, ok := b.Metrics[results.MetricOpsPerSec]; ok {
		ops = Count(v)
	}
	cpuS := ""
	if cpu, ok := b.CPUPerOp(); ok {
		cpuS = Dur(cpu)
	}
	cswS := ""
	if _, ok := b.Metrics[results.MetricParentVcsw]; ok {
		mt := b.Metrics
		csw := mt[results.MetricParentVcsw] + mt[results.MetricParentIvcsw] + mt[results.MetricChildVcsw] + mt[results.MetricChildIvcsw]
		cswS = strconv.FormatFloat(csw, 'f', 2, 64)
	}
	rss := ""
	if v, ok := b.Metrics[results.MetricParentPeak]; ok {
		rss = Bytes(v)
	}
	return []string{string(b.Name), strconv.Itoa(m.N), Dur(m.Median), ci, Dur(m.P50) + mark, Dur(m.P90) + mark, Dur(m.P99) + mark, Dur(m.P999) + mark, ops, mbs, cpuS, cswS, rss}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Dur humanises nanoseconds: 423ns, 4.23µs, 1.23ms, 1.23s.
func Dur(ns float64) string { return human.Dur(ns) }

// Count humanises a rate: 1234 → 1.23k.
func Count(v float64) string { return human.Count(v) }

// CSV writes one row per benchmark with raw numbers (ns) for spreadsheets.
func CSV(w io.Writer, s *results.Set) error {
	cw := csv.NewWriter(w)
	metricKeys := map[results.Metric]bool{}
	for _, b := range s.Benchmarks {
		for k := range b.Metrics {
			metricKeys[k] = true
		}
	}
	mk := slices.Sorted(maps.Keys(metricKeys))
	head := []string{"name", "scenario", "status", "n", "median_ns", "ci95_low_ns", "ci95_high_ns", "mean_ns", "stddev_ns", "min_ns", "max_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "percentile_source", "iterations"}
	for _, k := range mk {
		head = append(head, string(k))
	}
	head = append(head, "warnings", "error")
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, b := range s.Benchmarks {
		status := "ok"
		if b.Skipped != "" {
			status = "skipped"
		} else if b.Error != "" {
			status = "failed"
		}
		m := b.Summary
		rec := []string{string(b.Name), b.Scenario, status, strconv.Itoa(m.N), f(m.Median), f(m.CI95Low), f(m.CI95High), f(m.Mean), f(m.Stddev), f(m.Min), f(m.Max), f(m.P50), f(m.P90), f(m.P99), f(m.P999), b.PercentileSource, strconv.FormatInt(b.Iterations, 10)}
		for _, k := range mk {
			if v, ok := b.Metrics[k]; ok {
				rec = append(rec, f(v))
			} else {
				rec = append(rec, "")
			}
		}
		why := b.Error
		if why == "" {
			why = b.Skipped
		}
		var ws []string
		for _, w := range b.Warnings {
			ws = append(ws, w.Text)
		}
		rec = append(rec, strings.Join(ws, "; "), why)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("report: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// Profiles lists a run's profile files with the command to open each.
func Profiles(w io.Writer, s *results.Set, runDir string) {
	if len(s.Profiles) == 0 {
		return
	}
	fmt.Fprintln(w, "\nprofiles:")
	for _, p := range s.Profiles {
		path := p.Path
		if runDir != "" {
			path = runDir + "/" + p.Path
		}
		label := string(p.Benchmark)
		if label == "" {
			label = "(whole run)"
		}
		// The command is meant to be pasted: the path is quoted for a shell
		// (a crafted file's "x.pprof; touch PWNED #" stays one argument).
		fmt.Fprintf(w, "  %-6s %s\n         go tool pprof -http=: %s\n", p.Kind, label, shellquote.Join(path))
		if p.Note != "" {
			fmt.Fprintf(w, "         %s\n", p.Note)
		}
	}
}
