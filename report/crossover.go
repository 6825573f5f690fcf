package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/results"
	"github.com/olekukonko/tablewriter"
)

// crossover renders the output scenario side by side: for each output
// (size, write size), each collect mode's MB/s and parent peak memory
// growth (for runtime=node rows, the Node process's), so where buffering
// starts to cost against streaming is plain.
func crossover(w io.Writer, s *results.Set, opts []tablewriter.Option) error {
	var modes []string // "buffered", "streamed/raw", ... in order of appearance
	rows := map[string]map[string]*results.Benchmark{}
	var order []string
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		// Collection modes compared one child at a time; scaling across
		// cores has its own table (and at cores>1 MB/s counts whole ops).
		if b.Scenario != results.ScenarioOutput || !oneWorker(b) {
			continue
		}
		col := b.Name.Param(results.KeyCollect)
		if m := b.Name.Param(results.KeyMode); m != "" {
			col += "/" + m
		}
		rest := strings.TrimPrefix(string(b.Name.Without(results.KeyCollect, results.KeyMode)), results.ScenarioOutput+"/")
		if !slices.Contains(modes, col) {
			modes = append(modes, col)
		}
		if rows[rest] == nil {
			rows[rest] = map[string]*results.Benchmark{}
			order = append(order, rest)
		}
		rows[rest][col] = b
	}
	if len(order) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\noutput collection, side by side (MB/s of the transfer; parent peak memory growth):")
	t := tablewriter.NewTable(w, opts...)
	head := []any{"output"}
	for _, m := range modes {
		head = append(head, m+" MB/s", m+" mem")
	}
	t.Header(head...)
	for _, r := range order {
		line := []any{r}
		for _, m := range modes {
			b := rows[r][m]
			switch {
			case b == nil:
				line = append(line, "", "")
			case b.Skipped != "":
				line = append(line, "skipped", "")
			case !b.OK():
				line = append(line, "failed", "")
			default:
				mbs, mem := "", ""
				if v, ok := b.Metrics[results.MetricMBPerSec]; ok {
					mbs = fmt.Sprintf("%.0f", v)
				}
				if v, ok := b.Metrics[results.MetricParentGrowth]; ok {
					mem = Bytes(v)
				} else if v, ok := b.Metrics[results.MetricNodeGrowth]; ok {
					mem = Bytes(v) // runtime=node: the Node process collected
				}
				line = append(line, mbs, mem)
			}
		}
		if err := t.Append(line...); err != nil {
			return fmt.Errorf("report: table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	return nil
}

// Bytes humanises a byte count: 4KiB, 12.5MiB.
func Bytes(v float64) string { return human.Bytes(v) }

// oneWorker: measured with one worker (cores=1, or a name without cores).
func oneWorker(b *results.Benchmark) bool {
	c := b.Name.Param(results.KeyCores)
	return c == "" || c == "1"
}
