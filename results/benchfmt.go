package results

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// WriteBench writes s in the Go benchmark text format, one line per sample,
// so that benchstat reads ipcbench output unchanged. Environment facts become
// file-level configuration lines, and every unit written gets a metadata
// line saying which way is better (`Unit ns/op better=lower`).
//
// Only facts that stay the same between runs of one machine are written as
// configuration: benchstat splits its tables by every configuration key, so
// a per-run key (the run id, a start time) would put two runs of the same
// benchmarks in two tables with no delta column.
func WriteBench(w io.Writer, s *Set) error {
	bw := benchfmt.NewWriter(w)
	cfg := []benchfmt.Config{
		{Key: "goos", Value: []byte(s.Env.OS), File: true},
		{Key: "goarch", Value: []byte(s.Env.Arch), File: true},
		{Key: "cpu", Value: []byte(oneLine(s.Env.CPUModel)), File: true},
		{Key: "kernel", Value: []byte(oneLine(s.Env.Kernel)), File: true},
		{Key: "go", Value: []byte(s.Env.GoVersion), File: true},
		{Key: "pkg", Value: []byte("github.com/ipcbench/ipcbench"), File: true},
	}
	// Units first, each once, for the units that will be written.
	units := []string{"ns/op", string(MetricOpsPerSec)}
	for i := range s.Benchmarks {
		if b := &s.Benchmarks[i]; b.OK() && b.BytesPerOp > 0 {
			units = append(units, string(MetricMBPerSec))
			break
		}
	}
	wroteUnits := false
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		if !b.OK() {
			continue
		}
		if !wroteUnits {
			for _, u := range units {
				better := "lower"
				if Metric(u).HigherIsBetter() {
					better = "higher"
				}
				m := &benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u, Key: "better"}, OrigUnit: u, Value: better}
				if err := bw.Write(m); err != nil {
					return fmt.Errorf("results: write bench: %w", err)
				}
			}
			wroteUnits = true
		}
		for _, smp := range b.Samples {
			if smp.NsPerOp <= 0 {
				continue
			}
			vals := []benchfmt.Value{{Value: smp.NsPerOp, Unit: "sec/op", OrigValue: smp.NsPerOp, OrigUnit: "ns/op"}}
			if !b.IsLoad() {
				// A load sample is a mean latency at a fixed offered
				// rate: its inverse is not a rate of anything.
				vals = append(vals, benchfmt.Value{Value: 1e9 / smp.NsPerOp, Unit: string(MetricOpsPerSec)})
			}
			if b.BytesPerOp > 0 {
				vals = append(vals, benchfmt.Value{Value: float64(b.BytesPerOp) * 1e3 / smp.NsPerOp, Unit: string(MetricMBPerSec)})
			}
			r := &benchfmt.Result{Config: cfg, Name: benchfmt.Name(benchName(string(b.Name))), Iters: int(smp.Iters), Values: vals}
			if err := bw.Write(r); err != nil {
				return fmt.Errorf("results: write bench: %w", err)
			}
		}
	}
	return nil
}

// benchName makes a name safe for one benchmark line: no white space.
// (A trailing "-N" would be read as GOMAXPROCS; names end in /cores=N, so
// they never end in one.)
func benchName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' {
			return '_'
		}
		return r
	}, n)
	return n
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
