package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/transports"
)

// Every pair checks the sequence number of every message, so a run without
// error means all N pairs delivered every message, in order.
func TestConcurrentPairsDeliverEveryMessage(t *testing.T) {
	leakcheck.Check(t)
	maps := shmMaps()
	for _, kind := range []string{"RoundTrip", "Throughput"} {
		list, err := buildPairs(kind, Options{Sizes: []int{64}, Cores: []int{2, 3}, SweepAll: true, Transports: []string{"pipe", "unix", "shm-futex", "channel"}, Placements: []string{results.SameCore, results.CrossCore}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			t.Run(string(s.Name()), func(t *testing.T) {
				p := s.(*Pair)
				if c := s.Name().Param(results.KeyCores); c != "2" && c != "3" {
					t.Fatalf("name %q lacks cores", s.Name())
				}
				res, err := bench.Run(context.Background(), s, tinyCfg())
				if err != nil {
					t.Fatal(err)
				}
				if p.skip != "" {
					return
				}
				if res.Error != "" {
					t.Fatal(res.Error)
				}
				if res.Iterations < int64(p.Cores) || res.Params["cores"] != p.Name().Param(results.KeyCores) {
					t.Fatalf("%d ops, params %v", res.Iterations, res.Params)
				}
				if len(p.Pairs) != p.Cores || res.Params["pair_cpus"] == "" {
					t.Fatalf("placed %v", p.Pairs)
				}
				if _, ok := res.Metrics[results.MetricChildUser]; !ok {
					t.Fatal("no child cost")
				}
			})
		}
	}
	if got := shmMaps(); got != maps {
		t.Fatalf("shared memory mappings leaked: %d before, %d after", maps, got)
	}
}

func TestFailingPairFailsTheBenchmark(t *testing.T) {
	leakcheck.Check(t)
	for _, name := range []string{"pipe", "shm-futex"} {
		info, _ := transports.Lookup(name)
		p := &Pair{Kind: "RoundTrip", Transport: info, Mode: info.Modes[0], Size: 64, Placement: results.Unpinned,
			Cores: 2, Pairs: [][2]int{{-1, -1}, {-1, -1}}, ParentCPU: -1, ChildCPU: -1, dieAfter: 30}
		res, err := bench.Run(context.Background(), p, dieCfg())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Error, "worker") || !strings.Contains(res.Error, "exit status 3") {
			t.Fatalf("%s: error %q should name the failed pair and why", name, res.Error)
		}
		if len(res.Samples) != 0 && res.Summary.N == 0 {
			t.Fatalf("%s: partial figures without a summary", name)
		}
	}
}

func TestConcurrentSpawnAndOutput(t *testing.T) {
	leakcheck.Check(t)
	spawns, err := buildSpawn(Options{Cores: []int{2}, SweepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := buildOutput(Options{Cores: []int{2}, SweepAll: true, OutputSizes: []int64{100_000}, WriteSizes: []int{4096}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(spawns, outs...) {
		t.Run(string(s.Name()), func(t *testing.T) {
			res, err := bench.Run(context.Background(), s, tinyCfg())
			if err != nil || res.Error != "" {
				t.Fatalf("%v %s", err, res.Error)
			}
			if s.Name().Param(results.KeyCores) != "2" || res.Params["cores"] != "2" {
				t.Fatalf("params %v", res.Params)
			}
			if _, ok := res.Distributions[results.PhaseStarted]; s.Name().Base() == results.ScenarioSpawn && !ok {
				t.Fatal("no phases from the workers")
			}
		})
	}
}
