package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/results"
	"github.com/olekukonko/tablewriter"
)

// parentMem renders spawn against the memory of the spawning process: a
// row per size held, a column per way of spawning (Go's os/exec, which
// vforks; Go's fork+exec; Node, whose libuv forks), each cell the median
// spawn-to-exit time, then each column's slope in µs per 100 MiB (least
// squares over the sizes measured): growth for the forks, a flat line for
// vfork.
func parentMem(w io.Writer, s *results.Set, opts []tablewriter.Option, esc func(string) string) error {
	var cols []string
	cells := map[string]map[int64]*results.Benchmark{}
	var sizes []int64
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		pm := b.Name.Param(results.KeyParentMem)
		if b.Scenario != results.ScenarioSpawn || pm == "" || !oneWorker(b) {
			continue
		}
		size, err := strconv.ParseInt(pm, 10, 64)
		if err != nil {
			continue
		}
		col := parentMemColumn(b)
		if cells[col] == nil {
			cells[col] = map[int64]*results.Benchmark{}
			cols = append(cols, col)
		}
		cells[col][size] = b
		if !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
	}
	if len(cols) == 0 {
		return nil
	}
	slices.Sort(sizes)
	fmt.Fprintln(w, "\nspawn to exit against the spawning process's memory (medians; cmd as in the names):")
	t := tablewriter.NewTable(w, opts...)
	head := []any{"parent memory"}
	for _, c := range cols {
		head = append(head, c)
	}
	t.Header(head...)
	for _, size := range sizes {
		line := []any{Bytes(float64(size))}
		for _, c := range cols {
			b := cells[c][size]
			switch {
			case b == nil:
				line = append(line, "")
			case b.Skipped != "":
				line = append(line, "skipped")
			case !b.OK():
				line = append(line, "failed")
			default:
				line = append(line, Dur(b.Summary.Median))
			}
		}
		if err := t.Append(line...); err != nil {
			return fmt.Errorf("report: table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	var slopes []string
	for _, c := range cols {
		var x, y []float64
		for _, size := range sizes {
			if b := cells[c][size]; b != nil && b.OK() {
				x, y = append(x, float64(size)), append(y, b.Summary.Median)
			}
		}
		if sl, ok := Slope(x, y); ok {
			slopes = append(slopes, fmt.Sprintf("%s %+.1f µs", c, sl*100*(1<<20)/1e3))
		}
	}
	if len(slopes) > 0 {
		fmt.Fprintf(w, "slope per 100 MiB held (least squares over the sizes): %s\n", esc(strings.Join(slopes, ", ")))
	} else {
		fmt.Fprintln(w, "slope: needs two sizes or more (--parent-mem 0,1GiB)")
	}
	return nil
}

// parentMemColumn names the way a parent-memory benchmark spawned.
func parentMemColumn(b *results.Benchmark) string {
	method := b.Name.Param(results.KeyMethod)
	if b.Name.Param(results.KeyRuntime) == results.RuntimeNode {
		return "node spawn (libuv " + method + ")"
	}
	switch method {
	case results.MethodVfork:
		return "go os/exec (vfork)"
	case results.MethodFork:
		return "go fork+exec"
	}
	return method
}

// Slope is the least-squares slope of y over x; ok is false with fewer
// than two distinct x.
func Slope(x, y []float64) (float64, bool) {
	if len(x) < 2 || len(x) != len(y) {
		return 0, false
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}
