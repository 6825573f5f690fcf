package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/results"
	"github.com/olekukonko/tablewriter"
)

// loadSweeps renders the load benchmarks' rate sweeps: latency against
// offered rate, step by step with each step's verdict, then each family's
// finding (the max sustainable rate, what it costs and the bound the CPU
// sets). The findings saved with the run are used when present, else
// derived from its benchmarks (a run saved before they were saved).
func loadSweeps(w io.Writer, s *results.Set, opts []tablewriter.Option, esc func(string) string) error {
	sweeps := s.LoadSweeps
	if len(sweeps) == 0 {
		sweeps = results.LoadSweeps(s)
	} else {
		sweeps = slices.Clone(sweeps)
		for i := range sweeps {
			sweeps[i].Metrics = maps.Clone(sweeps[i].Metrics)
		}
		results.AttachClosedLoops(s, sweeps)
	}
	if len(sweeps) == 0 {
		return nil
	}
	// The ÷ closed column only when some family's closed loop was measured
	// in this run (`run load` alone measures none).
	withClosed := slices.ContainsFunc(sweeps, func(sw results.LoadSweep) bool { return sw.Metrics[results.MetricClosedLoop] > 0 })
	intro := "latency under load (open loop: latency from each operation's scheduled start; lag = actual − scheduled start"
	header := []any{"family", "offered/s", "achieved/s", "p50", "p99", "p99.9", "lag p99", "verdict"}
	if withClosed {
		intro += "; ÷ closed: p50 over the median of the closed loop of the same workload in this run, one op at a time"
		header = slices.Insert(header, 4, any("÷ closed"))
	}
	fmt.Fprintln(w, "\n"+intro+"):")
	t := tablewriter.NewTable(w, opts...)
	t.Header(header...)
	for _, sw := range sweeps {
		fam := strings.TrimPrefix(string(sw.Family), sw.Scenario+"/")
		for i, st := range sw.Steps {
			name := ""
			if i == 0 {
				name = sw.Scenario + "/" + fam
			}
			row := []any{name, Count(st.Rate), "", "", "", "", "", st.Verdict}
			ratio := ""
			if st.Verdict != "skipped" && st.Verdict != "failed" {
				if c := sw.Metrics[results.MetricClosedLoop]; c > 0 && st.P50 > 0 {
					ratio = fmt.Sprintf("%.2f×", st.P50/c)
				}
				row = []any{name, Count(st.Rate), Count(st.Achieved), Dur(st.P50), Dur(st.P99), Dur(st.P999), Dur(st.LagP99), st.Verdict}
			}
			if withClosed {
				row = slices.Insert(row, 4, any(ratio))
			}
			if err := t.Append(row...); err != nil {
				return fmt.Errorf("report: table: %w", err)
			}
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	fmt.Fprintln(w, "\nmax sustainable rate (the highest offered rate that passed, below the first that did not; per core = ÷ cores used, the CPU of parent and child without the harness; CPU bound = 1 s ÷ the busier side's CPU per op):")
	t = tablewriter.NewTable(w, opts...)
	t.Header("family", "SLO", "max rate", "per core", "cores used", "cpu/op", "CPU bound", "knee", "finding")
	for _, sw := range sweeps {
		m := sw.Metrics
		cell := func(k results.Metric, f func(float64) string) string {
			if v, ok := m[k]; ok {
				return f(v)
			}
			return ""
		}
		rate := func(v float64) string { return Count(v) + "/s" }
		row := []any{string(sw.Family), sw.SLO, cell(results.MetricMaxRate, rate), cell(results.MetricMaxRatePerCore, rate),
			cell(results.MetricCoresUsed, func(v float64) string { return fmt.Sprintf("%.2f", v) }), cell(results.MetricCPUPerOp, Dur),
			cell(results.MetricCPUBoundRate, rate), cell(results.MetricKneeRate, rate), sw.Finding}
		if err := t.Append(row...); err != nil {
			return fmt.Errorf("report: table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	for _, sw := range sweeps {
		fmt.Fprintf(w, "%s: %s\n", esc(string(sw.Family)), esc(sw.Text))
	}
	return nil
}
