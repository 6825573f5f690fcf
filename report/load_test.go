package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func loadSet() *results.Set {
	fam := "Load/transport=pipe/mode=raw/size=64/placement=cross-core/arrivals=constant/cores=1"
	var bs []results.Benchmark
	for _, st := range []struct {
		rate, verdict string
		p99           float64
	}{{"1000", results.VerdictOK, 30e3}, {"20000", results.VerdictOK, 45e3}, {"50000", results.VerdictSLO, 90e3}, {"100000", results.VerdictSaturated, 8e6}} {
		n := results.Name(strings.Replace(fam, "/cores=1", "/rate="+st.rate+"/cores=1", 1))
		b := results.Benchmark{Name: n, Scenario: n.Base(), Params: n.Params(), Unit: "ns/op", PercentileSource: "per-op",
			Samples: []results.Sample{{Iters: 100, NsPerOp: st.p99 / 2}}, Summary: results.Summary{N: 1, Median: st.p99 / 2, P50: st.p99 / 2, P90: st.p99 / 1.5, P99: st.p99, P999: 2 * st.p99},
			Distributions: map[results.Phase]results.Summary{results.PhaseLag: {N: 100, P99: 500}, results.PhaseService: {N: 100, P99: st.p99}},
			Metrics: map[results.Metric]float64{results.MetricAchievedRate: 900, results.MetricOpsPerSec: 900, results.MetricParentUser: 4000, results.MetricParentSys: 4000,
				results.MetricChildUser: 1000, results.MetricChildSys: 1000, results.MetricHarness: 2000}}
		b.Params[results.ParamVerdict] = st.verdict
		b.Params[results.ParamSLO] = "p99=50µs"
		bs = append(bs, b)
	}
	skipped := results.Name(strings.Replace(fam, "/cores=1", "/rate=200000/cores=1", 1))
	bs = append(bs, results.Benchmark{Name: skipped, Scenario: "Load", Skipped: "beyond saturation: 50k/s and 100k/s were saturated already"})
	return &results.Set{SchemaVersion: results.SchemaVersion, Benchmarks: bs}
}

func TestLoadTables(t *testing.T) {
	for _, md := range []bool{false, true} {
		var buf bytes.Buffer
		f := Text
		if md {
			f = Markdown
		}
		if err := f(&buf, loadSet()); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"latency under load", "max sustainable rate", "p99=50µs", "20.0k/s", "max-found", "slo-exceeded", "saturated", "skipped",
			"max sustainable rate 20k/s (p99 45.0µs); 50k/s was slo-exceeded"} {
			if !strings.Contains(out, want) {
				t.Errorf("markdown=%v: no %q in\n%s", md, want, out)
			}
		}
	}
	// No ÷ closed column when the run measured no closed loop.
	var alone bytes.Buffer
	if err := Text(&alone, loadSet()); err != nil || strings.Contains(alone.String(), "÷ closed") {
		t.Fatalf("%v: a ÷ closed column without a closed loop:\n%s", err, alone.String())
	}
	// Nothing about load in a run without load benchmarks.
	var buf bytes.Buffer
	if err := Text(&buf, &results.Set{}); err != nil || strings.Contains(buf.String(), "under load") {
		t.Fatalf("%v\n%s", err, buf.String())
	}
}

// The sweep table reads each step's p50 against the closed loop of the
// same workload when the run has it, whether the sweeps are derived or
// were saved by a version that did not name it.
func TestLoadTableAgainstTheClosedLoop(t *testing.T) {
	for _, saved := range []bool{false, true} {
		s := loadSet()
		if saved {
			s.LoadSweeps = results.LoadSweeps(s) // no closed loop in the run yet
		}
		n := results.Name("RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1")
		s.Benchmarks = append(s.Benchmarks, results.Benchmark{Name: n, Scenario: n.Base(), Params: n.Params(), Unit: "ns/op",
			Samples: []results.Sample{{Iters: 100, NsPerOp: 12e3}}, Summary: results.Summary{N: 1, Median: 12e3, P50: 12e3}})
		var buf bytes.Buffer
		if err := Text(&buf, s); err != nil {
			t.Fatal(err)
		}
		// 1k/s: p50 15 µs over 12 µs; 20k/s: 22.5 µs over 12 µs.
		for _, want := range []string{"÷ closed", "1.25×", "1.88×"} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("saved=%v: no %q in\n%s", saved, want, buf.String())
			}
		}
		if saved && s.LoadSweeps[0].ClosedLoop != "" {
			t.Error("rendering changed the saved sweeps")
		}
	}
}
