package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
)

func TestSpawnEndToEnd(t *testing.T) {
	leakcheck.Check(t)
	list, err := buildSpawn(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 {
		t.Fatalf("%d spawn benchmarks, want 5", len(list))
	}
	for _, s := range list {
		t.Run(string(s.Name()), func(t *testing.T) {
			res, err := bench.Run(context.Background(), s, tinyCfg())
			if err != nil || res.Error != "" {
				t.Fatalf("%v %s", err, res.Error)
			}
			if res.Iterations < 1 || tooFew(&res) {
				t.Fatalf("%d ops in %d samples", res.Iterations, res.Summary.N)
			}
			started, ok := res.Distributions[results.PhaseStarted]
			if !ok || int64(started.N) != res.Iterations {
				t.Fatalf("started phase has %d ops, want %d", started.N, res.Iterations)
			}
			if started.P50 > res.Summary.P99 {
				t.Fatalf("start (%v) later than whole lifecycle p99 (%v)", started.P50, res.Summary.P99)
			}
			mode, cmd := s.Name().Param(results.KeyMode), s.Name().Param(results.KeyCmd)
			if mode == results.SpawnSpawn && cmd == "echo" {
				if fb := res.Distributions[results.PhaseFirstByte]; int64(fb.N) != res.Iterations {
					t.Fatalf("echo: first_byte seen in %d of %d spawns", fb.N, res.Iterations)
				}
			}
			if mode == results.SpawnFork {
				if r := res.Distributions[results.PhaseReady]; int64(r.N) != res.Iterations {
					t.Fatalf("fork: ready seen in %d of %d", r.N, res.Iterations)
				}
			}
			if res.Metrics[results.MetricChildUser]+res.Metrics[results.MetricChildSys] <= 0 {
				t.Fatalf("no child CPU per spawn: %v", res.Metrics)
			}
			if res.Params["command"] == "" {
				t.Fatal("no command param")
			}
		})
	}
}

func TestSpawnUserCommand(t *testing.T) {
	leakcheck.Check(t)
	if _, err := buildSpawn(Options{Cmd: "no-such-program-ipcbench --x"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing program: %v", err)
	}
	if _, err := buildSpawn(Options{Cmd: `echo "unterminated`}); err == nil {
		t.Fatal("unbalanced quotes accepted")
	}
	list, err := buildSpawn(Options{Cmd: `sh -c 'echo bad news >&2; exit 3'`})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		res, err := bench.Run(context.Background(), s, tinyCfg())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Error, "exit status 3") || !strings.Contains(res.Error, "bad news") {
			t.Fatalf("%s: error %q should give the status and what the command said", s.Name(), res.Error)
		}
	}
	list, _ = buildSpawn(Options{Cmd: "echo 'two words'"})
	if n := string(list[1].Name()); !strings.HasPrefix(n, "Spawn/mode=spawn/cmd=echo_two_words~") || !strings.HasSuffix(n, "/cores=1") {
		t.Fatalf("name %q", n)
	}
}
