package scenarios

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/internal/profiling"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/transports"
)

func shmMaps() int {
	data, _ := os.ReadFile("/proc/self/maps")
	return strings.Count(string(data), "memfd:ipcbench")
}

func TestPairsEndToEnd(t *testing.T) {
	leakcheck.Check(t)
	maps := shmMaps()
	for _, kind := range []string{"RoundTrip", "Throughput"} {
		list, err := buildPairs(kind, Options{Sizes: []int{64, 70000}, Placements: []string{results.SameCore, results.CrossCore, results.Unpinned}})
		if err != nil {
			t.Fatal(err)
		}
		ran := 0
		for _, s := range list {
			t.Run(string(s.Name()), func(t *testing.T) {
				p := s.(*Pair)
				res, err := bench.Run(context.Background(), s, tinyCfg())
				if err != nil {
					t.Fatal(err)
				}
				if p.skip != "" {
					if res.Skipped == "" || res.Iterations != 0 {
						t.Fatalf("should be skipped (%s), ran %d ops", p.skip, res.Iterations)
					}
					return
				}
				if res.Error != "" {
					t.Fatal(res.Error)
				}
				ran++
				m := res.Summary
				if tooFew(&res) || !(m.P50 <= m.P90 && m.P90 <= m.P99 && m.P99 <= m.P999) || m.Min > m.Max {
					t.Fatalf("summary out of order: %+v", m)
				}
				if _, ok := res.Metrics[results.MetricChildUser]; !ok {
					t.Fatalf("no child cost per op: %v", res.Metrics)
				}
				if kind == results.ScenarioThroughput && res.Metrics[results.MetricMBPerSec] <= 0 {
					t.Fatal("no MB/s")
				}
				if res.Params["transport"] != p.Transport.Name || res.Params["mode"] != string(p.Mode) || res.Params["placement"] != p.Placement {
					t.Fatalf("params %v", res.Params)
				}
			})
		}
		if ran == 0 {
			t.Fatalf("%s: nothing ran", kind)
		}
	}
	if got := shmMaps(); got != maps {
		t.Fatalf("shared memory mappings leaked: %d before, %d after", maps, got)
	}
}

func TestShmSpinSameCoreSkipped(t *testing.T) {
	list, _ := buildPairs("RoundTrip", Options{Transports: []string{"shm-spin"}, Sizes: []int{64}, Placements: []string{results.SameCore}})
	if len(list) != 1 || !strings.Contains(list[0].(*Pair).SkipReason(), "busy polling") {
		t.Fatalf("shm-spin same-core must be skipped with its reason: %+v", list)
	}
}

func TestImpossiblePlacementSkipped(t *testing.T) {
	list, err := buildPairs("RoundTrip", Options{Transports: []string{"pipe"}, Sizes: []int{64}, CPUs: []int{0}, Placements: []string{results.CrossCore}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if !strings.Contains(s.(*Pair).SkipReason(), "cannot be honoured") {
			t.Fatalf("%s: cross-core on one CPU not skipped: %q", s.Name(), s.(*Pair).SkipReason())
		}
	}
}

func TestChildDyingFailsTheBenchmark(t *testing.T) {
	leakcheck.Check(t)
	for _, name := range []string{"pipe", "unix", "shm-futex", "shm-spin", "shm-eventfd", "channel"} {
		for _, kind := range []string{"RoundTrip", "Throughput"} {
			info, _ := transports.Lookup(name)
			p := &Pair{Kind: kind, Transport: info, Mode: info.Modes[0], Size: 64, Placement: results.Unpinned, ParentCPU: -1, ChildCPU: -1, dieAfter: 50}
			res, err := bench.Run(context.Background(), p, dieCfg())
			if err != nil {
				t.Fatal(err)
			}
			if res.Error == "" || !strings.Contains(res.Error, "exit status 3") {
				t.Fatalf("%s/%s: error %q should say the child died (exit status 3)", name, kind, res.Error)
			}
		}
	}
}

func TestBuildPairsRejects(t *testing.T) {
	for _, sizes := range [][]int{{0}, {-1}, {MaxMessage + 1}} {
		if _, err := buildPairs("RoundTrip", Options{Sizes: sizes}); err == nil {
			t.Errorf("size %v accepted", sizes)
		}
	}
	if _, err := buildPairs("RoundTrip", Options{Transports: []string{"shm-spin"}, Modes: []string{"go"}}); err == nil {
		t.Error("shm-spin in go mode accepted")
	}
}

func TestChildDiesBeforeItsProfile(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	prof, err := profiling.NewProfiler(dir, []string{"cpu"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := dieCfg()
	cfg.Hooks = []bench.Hook{prof}
	pipe, _ := transports.Lookup("pipe")
	p := &Pair{Kind: "RoundTrip", Transport: pipe, Mode: transports.Raw, Size: 64, Placement: results.Unpinned, ParentCPU: -1, ChildCPU: -1, dieAfter: 2000}
	res, err := bench.Run(context.Background(), p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error == "" {
		t.Fatal("the child died: the benchmark must fail")
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w.Text, "child CPU profile missing")
	}
	if !found {
		t.Fatalf("no warning about the missing child profile: %v", res.Warnings)
	}
	written := prof.Written()
	if len(written) != 1 || written[0].Kind != "cpu" {
		t.Fatalf("the parent's profile must still be written: %v", written)
	}
}
