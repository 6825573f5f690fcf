package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestSlope(t *testing.T) {
	if s, ok := Slope([]float64{0, 1, 2}, []float64{1, 3, 5}); !ok || math.Abs(s-2) > 1e-12 {
		t.Fatalf("slope %v %v", s, ok)
	}
	if _, ok := Slope([]float64{1, 1}, []float64{1, 2}); ok {
		t.Fatal("a slope over one x")
	}
}

func TestParentMemTable(t *testing.T) {
	mk := func(name string, median float64) results.Benchmark {
		n := results.Name(name)
		return results.Benchmark{Name: n, Scenario: n.Base(), Params: n.Params(), Samples: []results.Sample{{Iters: 1, NsPerOp: median}}, Summary: results.Summary{N: 1, Median: median}}
	}
	s := &results.Set{Benchmarks: []results.Benchmark{
		mk("Spawn/mode=spawn/cmd=true/method=vfork/parent_mem=0/cores=1", 1e6),
		mk("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=0/cores=1", 1e6),
		mk("Spawn/mode=spawn/cmd=true/method=vfork/parent_mem=1073741824/cores=1", 1e6),
		mk("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=1073741824/cores=1", 41.96e6),
		mk("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=1073741824/runtime=node/cores=1", 51e6),
		mk("Spawn/mode=spawn/cmd=true/cores=1", 1e6), // not in the table
	}}
	var buf bytes.Buffer
	if err := Text(&buf, s); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"against the spawning process's memory",
		"go os/exec (vfork)", "go fork+exec", "node spawn (libuv fork)",
		"1.0GiB", "42.0ms",
		// (41.96-1) ms per GiB is 4000 µs per 100 MiB; vfork flat; node has one size.
		"go os/exec (vfork) +0.0 µs, go fork+exec +4000.0 µs\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
