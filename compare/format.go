package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/internal/iox"
	"github.com/ipcbench/ipcbench/results"
	"golang.org/x/perf/benchfmt"
)

// Renderings of a Comparison and of a GateReport. Text is for a terminal
// (one screen for a gate), Markdown for a pull-request comment or a job
// summary, JSON for machines; they all say the same thing.

// Value humanises a figure in its unit: times per op as 1.23ms, other
// units with three significant figures.
func Value(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	if unit == "ns/op" {
		return human.Dur(v)
	}
	return human.Sig3(v) + " " + unit
}

// signed is a relative change as a signed percentage: +7.1%, -0.4%.
func signed(f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	if math.IsInf(f, 1) {
		return "+∞"
	}
	if math.IsInf(f, -1) {
		return "-∞"
	}
	s := strconv.FormatFloat(100*f, 'f', 1, 64)
	if s == "-0.0" {
		s = "0.0"
	}
	if f >= 0 && s[0] != '-' {
		s = "+" + s
	}
	return s + "%"
}

// ciString is an interval as [lo, hi] of relative changes.
func ciString(iv Interval) string {
	if !iv.OK {
		return "(none: too few)"
	}
	return "[" + signed(iv.Lo) + ", " + signed(iv.Hi) + "]"
}

func mdeString(m float64) string {
	if math.IsInf(m, 0) || math.IsNaN(m) || m < 0 {
		return "—"
	}
	return "±" + strconv.FormatFloat(100*m, 'f', 1, 64) + "%"
}

// level1 prints a level with one decimal unless whole: 98.3%, 95%.
func level1(l float64) string {
	s := strconv.FormatFloat(100*l, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}

func durString(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Minute:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s") // 3m, not 3m0s
	}
	return s
}

func envLine(e results.Env) string {
	kernel, _, _ := strings.Cut(strings.TrimSpace(e.Kernel), " ")
	parts := []string{}
	if e.CPUModel != "" {
		parts = append(parts, e.CPUModel)
	}
	if n := max(e.NumCPU, len(e.AllowedCPUs)); n > 0 {
		parts = append(parts, fmt.Sprintf("%d CPUs", n))
	}
	if e.CgroupCPUs > 0 {
		parts = append(parts, fmt.Sprintf("cgroup quota %g CPUs", e.CgroupCPUs))
	}
	if kernel != "" {
		parts = append(parts, "kernel "+kernel)
	}
	if e.Virtualized {
		parts = append(parts, "virtualized")
	}
	if e.GoVersion != "" {
		parts = append(parts, e.GoVersion)
	}
	if e.Hostname != "" {
		parts = append(parts, "host "+e.Hostname)
	}
	if len(parts) == 0 {
		// A gate that failed before its first round learnt nothing of
		// the machine: say so, not "0 CPUs".
		return "not known (no round was measured)"
	}
	return strings.Join(parts, ", ")
}

// ---- compare ----

// CompareText writes a comparison for a terminal.
func CompareText(w io.Writer, c *Comparison) error { return compareTable(w, c, false) }

// CompareMarkdown writes a comparison as GitHub Markdown.
func CompareMarkdown(w io.Writer, c *Comparison) error { return compareTable(w, c, true) }

// CompareJSON writes the comparison document.
func CompareJSON(w io.Writer, c *Comparison) error {
	type rowJSON struct {
		Row
		Change  *float64 `json:"change"`
		CILow   *float64 `json:"ci_low"`
		CIHigh  *float64 `json:"ci_high"`
		CILevel float64  `json:"ci_level"`
	}
	doc := struct {
		*Comparison
		Rows []rowJSON `json:"benchmarks"`
	}{Comparison: c}
	for _, r := range c.Rows {
		j := rowJSON{Row: r, Change: num(r.Change.Est), CILow: num(r.Change.Lo), CIHigh: num(r.Change.Hi), CILevel: r.Change.Level}
		if !r.Change.OK {
			j.CILow, j.CIHigh = nil, nil
		}
		doc.Rows = append(doc.Rows, j)
	}
	return writeJSON(w, doc)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("compare: encode: %w", err)
	}
	return nil
}

func figureString(f Figure, unit string) string {
	s := Value(f.Median, unit)
	if f.CIHigh > 0 && f.Median > 0 {
		s += " ±" + strconv.FormatFloat(100*(f.CIHigh-f.CILow)/2/f.Median, 'f', 1, 64) + "%"
	}
	return s
}

func compareTable(w io.Writer, c *Comparison, md bool) error {
	ew := &iox.ErrWriter{W: w}
	p := func(format string, args ...any) { fmt.Fprintf(ew, format, args...) }
	if md {
		p("### ipcbench compare\n\n")
		p("- old: `%s` (run %s, %s)\n- new: `%s` (run %s, %s)\n", c.Old.Label, c.Old.RunID, c.Old.StartedAt.Format(time.RFC3339), c.New.Label, c.New.RunID, c.New.StartedAt.Format(time.RFC3339))
	} else {
		p("ipcbench compare\n")
		p("old: %s  (run %s, %s)\nnew: %s  (run %s, %s)\n", c.Old.Label, c.Old.RunID, c.Old.StartedAt.Format(time.RFC3339), c.New.Label, c.New.RunID, c.New.StartedAt.Format(time.RFC3339))
	}
	if len(c.EnvDiffs) > 0 {
		if md {
			p("\n**Environment differences**\n\n| fact | old | new | |\n|---|---|---|---|\n")
			for _, d := range c.EnvDiffs {
				p("| %s | %s | %s | %s |\n", d.Field, mdCell(d.Old), mdCell(d.New), refusesWord(d.Refuses))
			}
		} else {
			p("\nenvironment differences:\n")
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			for _, d := range c.EnvDiffs {
				line := fmt.Sprintf("  %s\t%q\t→ %q", d.Field, d.Old, d.New)
				if d.Refuses {
					line += "\t" + refusesWord(true)
				}
				fmt.Fprintln(tw, line)
			}
			tw.Flush()
		}
	}
	if c.Refused != "" {
		if md {
			p("\n**No verdict:** %s.\n", c.Refused)
		} else {
			p("\nno verdict: %s.\n", c.Refused)
		}
	}
	level := level1(c.Confidence)
	header := []string{"benchmark", "old ±CI", "new ±CI", "change", level + " CI", "p", "verdict"}
	rows := [][]string{}
	for _, r := range c.Rows {
		v := r.Verdict
		if v == "" {
			v = "(refused)"
		}
		rows = append(rows, []string{string(r.Name), figureString(r.Old, r.Unit), figureString(r.New, r.Unit), signed(r.Change.Est), ciString(r.Change), pString(r.P), v})
	}
	p("\n")
	table(ew, md, header, rows, []bool{false, true, true, true, true, true, false})
	lists := []struct {
		title string
		items []Unpaired
	}{{"only in old", c.OnlyOld}, {"only in new", c.OnlyNew}, {"not compared", c.NotCompared}}
	for _, l := range lists {
		if len(l.items) == 0 {
			continue
		}
		onlyNames := l.title != "not compared" // "only in" says it all
		if md {
			p("\n**%s:**\n\n", l.title)
		} else {
			p("\n%s:\n", l.title)
		}
		for _, it := range l.items {
			switch {
			case md && onlyNames:
				p("- `%s`\n", it.Name)
			case md:
				p("- `%s`: %s\n", it.Name, it.Why)
			case onlyNames:
				p("  %s\n", it.Name)
			default:
				p("  %s: %s\n", it.Name, it.Why)
			}
		}
	}
	if len(c.Notes) > 0 {
		if md {
			p("\n> %s\n", strings.Join(c.Notes, "\n>\n> "))
		} else {
			p("\nnote: %s\n", strings.Join(c.Notes, "\nnote: "))
		}
	}
	return ew.Err
}

func refusesWord(r bool) string {
	if r {
		return "refuses a verdict"
	}
	return ""
}

func pString(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p < 0.001:
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	if s == "" {
		return "(none)"
	}
	return s
}

// table writes an aligned text table (left-aligned columns) or a Markdown
// one, where right[i] aligns column i right.
func table(w io.Writer, md bool, header []string, rows [][]string, right []bool) {
	if md {
		fmt.Fprintf(w, "| %s |\n|", strings.Join(header, " | "))
		for i := range header {
			if right[i] {
				fmt.Fprint(w, "---:|")
			} else {
				fmt.Fprint(w, "---|")
			}
		}
		fmt.Fprintln(w)
		for _, r := range rows {
			cells := make([]string, len(r))
			for i, c := range r {
				cells[i] = mdCell(c)
				if i == 0 {
					cells[i] = "`" + c + "`"
				}
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(cells []string) {
		fmt.Fprint(tw, " "+strings.Join(cells, "\t")+"\n")
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	tw.Flush()
}

// ---- gate ----

func outcomeWord(o Outcome) string {
	switch o {
	case Regression:
		return "REGRESSION"
	case Pass:
		return "pass"
	}
	return string(o)
}

func gateHeadline(r *GateReport) string {
	pass, reg, inc := r.Counts()
	what := fmt.Sprintf("%d benchmark(s): %d pass, %d regression, %d inconclusive", len(r.Benchmarks), pass, reg, inc)
	if r.AA {
		what = "A/A calibration, " + what
	}
	out := strings.ToUpper(string(r.Outcome))
	if r.Outcome == Inconclusive && r.InconclusivePass {
		out += " (allowed by --inconclusive=pass)"
	}
	return fmt.Sprintf("%s (exit %d) — %s", out, r.ExitCode, what)
}

func gateDesign(r *GateReport) string {
	stages := make([]string, len(r.Plan.Stages))
	for i, s := range r.Plan.Stages {
		stages[i] = strconv.Itoa(s)
	}
	return fmt.Sprintf("%d rounds (stages %s; %d look(s)) in %s of %s, %s per benchmark per arm and round; margin %s; %s intervals (%s split over %d looks), Holm over %d benchmark(s)",
		r.Rounds, strings.Join(stages, ","), r.Looks, durString(r.ElapsedNS), durString(r.TimeNS), durString(r.BudgetNS),
		pct0(r.Plan.MaxRegression), level1(r.Plan.LookLevel), level1(r.Plan.Confidence), len(r.Plan.Stages), len(r.Benchmarks))
}

func armString(a Arm) string { return a.Kind + " " + a.What }

// GateText writes the one-screen summary of a gate.
func GateText(w io.Writer, r *GateReport) error {
	ew := &iox.ErrWriter{W: w}
	p := func(format string, args ...any) { fmt.Fprintf(ew, format, args...) }
	p("ipcbench gate: %s\n", gateHeadline(r))
	p("base: %s\nhead: %s\n", armString(r.Base), armString(r.Head))
	p("%s\n", gateDesign(r))
	if r.Failure != "" {
		p("FAILED: %s\n", r.Failure)
	}
	p("\n")
	header := []string{"verdict", "change", level1(r.Plan.LookLevel) + " CI", "MDE", "T", "base", "head", "benchmark"}
	var rows [][]string
	for _, v := range r.Benchmarks {
		rows = append(rows, []string{outcomeWord(v.Outcome), signed(v.Change.Est), ciString(v.Change), mdeString(v.MDE), pct0(v.Threshold), Value(v.BaseMedian, v.Unit), Value(v.HeadMedian, v.Unit), string(v.Name)})
	}
	table(ew, false, header, rows, nil)
	reasons := false
	for _, v := range r.Benchmarks {
		if v.Outcome != Pass {
			if !reasons {
				p("\n")
				reasons = true
			}
			p("%s %s: %s\n", outcomeWord(v.Outcome), v.Name, v.Reason)
		}
	}
	gateLists(ew, r, false)
	p("\nmachine: %s\n", envLine(r.Env))
	for _, n := range r.Notes {
		p("note: %s\n", n)
	}
	return ew.Err
}

func gateLists(w io.Writer, r *GateReport, md bool) {
	lists := []struct {
		title string
		names []results.Name
	}{{"only in base (not gated)", r.OnlyBase}, {"only in head (not gated)", r.OnlyHead}}
	for _, l := range lists {
		if len(l.names) == 0 {
			continue
		}
		s := make([]string, len(l.names))
		for i, n := range l.names {
			s[i] = string(n)
			if md {
				s[i] = "`" + s[i] + "`"
			}
		}
		fmt.Fprintf(w, "\n%s: %s\n", l.title, strings.Join(s, ", "))
	}
	for _, sk := range r.Skipped {
		if md {
			fmt.Fprintf(w, "\nskipped `%s`: %s\n", sk.Name, sk.Reason)
		} else {
			fmt.Fprintf(w, "\nskipped %s: %s\n", sk.Name, sk.Reason)
		}
	}
}

// GateMarkdown writes a gate's summary for a pull-request comment or a
// GitHub job summary ($GITHUB_STEP_SUMMARY).
func GateMarkdown(w io.Writer, r *GateReport) error {
	ew := &iox.ErrWriter{W: w}
	p := func(format string, args ...any) { fmt.Fprintf(ew, format, args...) }
	p("### ipcbench gate: %s\n\n", gateHeadline(r))
	if r.Failure != "" {
		p("**Failed:** %s\n\n", r.Failure)
	}
	header := []string{"benchmark", "base", "head", "change", level1(r.Plan.LookLevel) + " CI", "MDE", "T", "verdict"}
	var rows [][]string
	for _, v := range r.Benchmarks {
		verdict := outcomeWord(v.Outcome)
		if v.Outcome == Regression {
			verdict = "**REGRESSION**"
		}
		rows = append(rows, []string{string(v.Name), Value(v.BaseMedian, v.Unit), Value(v.HeadMedian, v.Unit), signed(v.Change.Est), ciString(v.Change), mdeString(v.MDE), pct0(v.Threshold), verdict})
	}
	table(ew, true, header, rows, []bool{false, true, true, true, true, true, true, false})
	var why []string
	for _, v := range r.Benchmarks {
		if v.Outcome != Pass {
			why = append(why, fmt.Sprintf("- `%s` %s: %s", v.Name, outcomeWord(v.Outcome), v.Reason))
		}
	}
	if len(why) > 0 {
		p("\n%s\n", strings.Join(why, "\n"))
	}
	gateLists(ew, r, true)
	p("\n<details><summary>How this was measured</summary>\n\n")
	p("- base: %s `%s`\n- head: %s `%s`\n", r.Base.Kind, r.Base.What, r.Head.Kind, r.Head.What)
	if len(r.Selection) > 0 {
		p("- selection: `%s`\n", strings.Join(r.Selection, " "))
	}
	p("- %s\n", gateDesign(r))
	p("- machine: %s\n", envLine(r.Env))
	if r.NoiseFile != "" {
		p("- noise floors from `%s`\n", r.NoiseFile)
	}
	p("- Each round runs base and head back to back in a random, order-balanced sequence (AB/BA) after a discarded warmup round; ")
	p("the change is the Hodges-Lehmann estimate of the rounds' paired log ratios ln(head/base) with its Wilcoxon signed-rank interval. ")
	p("**regression**: the whole interval lies beyond +T (Holm-corrected); **pass**: its worse end is below +T; otherwise **inconclusive**, ")
	p("with the MDE (the interval's half-width: changes that close to T cannot be decided by this run). T = max(margin, the benchmark's noise floor).\n")
	for _, n := range r.Notes {
		p("- %s\n", n)
	}
	p("\n</details>\n")
	return ew.Err
}

// GateJSON writes the verdict document.
func GateJSON(w io.Writer, r *GateReport) error { return writeJSON(w, r) }

// DecodeGate reads a verdict document back.
func DecodeGate(data []byte) (*GateReport, error) {
	var r GateReport
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("compare: corrupt gate document: %w", err)
	}
	if r.Kind != KindGate {
		return nil, fmt.Errorf("compare: not a gate document (kind %q)", r.Kind)
	}
	return &r, nil
}

// ghEntry is one github-action-benchmark data point.
type ghEntry struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	Range string  `json:"range,omitempty"`
	Extra string  `json:"extra,omitempty"`
}

// GateGitHubBenchmark writes the head arm's figures for
// github-action-benchmark: with bigger false, the benchmarks whose unit is
// better lower (tool: customSmallerIsBetter); with bigger true, those
// better higher (customBiggerIsBetter). One file holds one direction, as
// the action reads one tool per file. It reports how many it wrote.
func GateGitHubBenchmark(w io.Writer, r *GateReport, bigger bool) (int, error) {
	entries := []ghEntry{}
	for _, v := range r.Benchmarks {
		if v.HigherIsBetter != bigger || !(v.HeadMedian > 0) {
			continue
		}
		e := ghEntry{Name: string(v.Name), Unit: v.Unit, Value: v.HeadMedian,
			Extra: fmt.Sprintf("vs base %s: %s %s, verdict %s, %d rounds", Value(v.BaseMedian, v.Unit), signed(v.Change.Est), ciString(v.Change), v.Outcome, v.Rounds)}
		if v.MDE >= 0 && !math.IsInf(v.MDE, 0) {
			e.Range = mdeString(v.MDE)
		}
		entries = append(entries, e)
	}
	return len(entries), writeJSON(w, entries)
}

// GateBench writes the rounds' medians in the Go benchmark format, base
// and head told apart by the configuration key "arm", with unit metadata:
// `benchstat -col arm FILE` compares them.
func GateBench(w io.Writer, r *GateReport) error {
	bw := benchfmt.NewWriter(w)
	wrote := map[string]bool{}
	for _, s := range r.Samples {
		if wrote[s.Unit] {
			continue
		}
		wrote[s.Unit] = true
		better := "lower"
		if HigherIsBetter(s.Unit) {
			better = "higher"
		}
		if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: s.Unit, Key: "better"}, OrigUnit: s.Unit, Value: better}); err != nil {
			return fmt.Errorf("compare: write bench: %w", err)
		}
	}
	for _, arm := range []string{"base", "head"} {
		cfg := []benchfmt.Config{
			{Key: "goos", Value: []byte(r.Env.OS), File: true},
			{Key: "goarch", Value: []byte(r.Env.Arch), File: true},
			{Key: "cpu", Value: []byte(strings.Join(strings.Fields(r.Env.CPUModel), " ")), File: true},
			{Key: "pkg", Value: []byte("github.com/ipcbench/ipcbench"), File: true},
			{Key: "arm", Value: []byte(arm), File: true},
		}
		for _, s := range r.Samples {
			vals := s.Base
			if arm == "head" {
				vals = s.Head
			}
			for _, v := range vals {
				val := benchfmt.Value{Value: v, Unit: s.Unit}
				if s.Unit == "ns/op" {
					val = benchfmt.Value{Value: v / 1e9, Unit: "sec/op", OrigValue: v, OrigUnit: "ns/op"}
				}
				res := &benchfmt.Result{Config: cfg, Name: benchfmt.Name(strings.Join(strings.Fields(string(s.Name)), "_")), Iters: 1, Values: []benchfmt.Value{val}}
				if err := bw.Write(res); err != nil {
					return fmt.Errorf("compare: write bench: %w", err)
				}
			}
		}
	}
	return nil
}

// NoiseText writes a calibration's findings.
func NoiseText(w io.Writer, n *Noise) error {
	ew := &iox.ErrWriter{W: w}
	fmt.Fprintf(ew, "noise floors of this runner (%d A/A repeat(s), margin %s): %s\n\n", n.Repeats, pct0(n.MaxRegression), envLine(n.Env))
	header := []string{"floor", "MDE", "false alarms", "", "benchmark"}
	var rows [][]string
	for _, b := range n.Benchmarks {
		floor, mde := "±"+strconv.FormatFloat(100*b.Floor, 'f', 1, 64)+"%", mdeString(b.MDE)
		if b.Floor < 0 {
			floor, mde = "unknown", "—"
		}
		note := ""
		if b.TooNoisy {
			note = "too noisy to gate at " + pct0(n.MaxRegression) + " here"
		}
		rows = append(rows, []string{floor, mde, fmt.Sprintf("%d/%d", b.FalseAlarms, b.Repeats), note, string(b.Name)})
	}
	table(ew, false, header, rows, nil)
	return ew.Err
}
