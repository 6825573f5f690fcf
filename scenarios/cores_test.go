package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/transports"
)

// Every pair checks the sequence number of every message, so a run without
// error means all N pairs delivered every message, in order.
func TestConcurrentPairsDeliverEveryMessage(t *testing.T) {
	leakcheck.Check(t)
	maps := shmMaps()
	for _, kind := range []string{"RoundTrip", "Throughput"} {
		list, err := buildPairs(kind, Options{Sizes: []int{64}, Cores: []int{2, 3}, Transports: []string{"pipe", "unix", "shm-futex", "channel"}, Placements: []string{bench.SameCore, bench.CrossCore}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			p := s.(*Pair)
			if !strings.HasSuffix(s.Name(), "/cores=2") && !strings.HasSuffix(s.Name(), "/cores=3") {
				t.Fatalf("name %q lacks cores", s.Name())
			}
			res, err := bench.Run(context.Background(), s, tinyCfg())
			if err != nil {
				t.Fatal(err)
			}
			if p.skip != "" {
				continue
			}
			if res.Error != "" {
				t.Fatalf("%s: %s", s.Name(), res.Error)
			}
			if res.Iterations < int64(p.Cores) || res.Params["cores"] != p.Params()["cores"] {
				t.Fatalf("%s: %d ops, params %v", s.Name(), res.Iterations, res.Params)
			}
			if len(p.Pairs) != p.Cores || res.Params["pair_cpus"] == "" {
				t.Fatalf("%s: placed %v", s.Name(), p.Pairs)
			}
			if _, ok := res.Metrics["child_user_ns/op"]; !ok {
				t.Fatalf("%s: no child cost", s.Name())
			}
		}
	}
	if got := shmMaps(); got != maps {
		t.Fatalf("shared memory mappings leaked: %d before, %d after", maps, got)
	}
}

// Params is a test helper: the params its name carries.
func (p *Pair) Params() map[string]string {
	_, m := bench.ParseName(p.Name())
	return m
}

func TestFailingPairFailsTheBenchmark(t *testing.T) {
	leakcheck.Check(t)
	for _, name := range []string{"pipe", "shm-futex"} {
		p := &Pair{Kind: "RoundTrip", Transport: name, Mode: transports.Modes(name)[0], Size: 64, Placement: bench.Unpinned,
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
	spawns, err := buildSpawn(Options{Cores: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := buildOutput(Options{Cores: []int{2}, OutputSizes: []int64{100_000}, WriteSizes: []int{4096}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(spawns, outs...) {
		res, err := bench.Run(context.Background(), s, tinyCfg())
		if err != nil || res.Error != "" {
			t.Fatalf("%s: %v %s", s.Name(), err, res.Error)
		}
		if !strings.HasSuffix(s.Name(), "/cores=2") || res.Params["cores"] != "2" {
			t.Fatalf("%s: params %v", s.Name(), res.Params)
		}
		if _, ok := res.Distributions["started"]; strings.HasPrefix(s.Name(), "Spawn") && !ok {
			t.Fatalf("%s: no phases from the workers", s.Name())
		}
	}
}
