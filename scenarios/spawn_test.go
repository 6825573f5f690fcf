package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
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
		res, err := bench.Run(context.Background(), s, tinyCfg())
		if err != nil || res.Error != "" {
			t.Fatalf("%s: %v %s", s.Name(), err, res.Error)
		}
		if res.Iterations < 1 || res.Summary.N < 3 {
			t.Fatalf("%s: %d ops in %d samples", s.Name(), res.Iterations, res.Summary.N)
		}
		started, ok := res.Distributions["started"]
		if !ok || int64(started.N) != res.Iterations {
			t.Fatalf("%s: started phase has %d ops, want %d", s.Name(), started.N, res.Iterations)
		}
		if started.P50 > res.Summary.P99 {
			t.Fatalf("%s: start (%v) later than whole lifecycle p99 (%v)", s.Name(), started.P50, res.Summary.P99)
		}
		if strings.Contains(s.Name(), "spawn/cmd=echo") {
			if fb := res.Distributions["first_byte"]; int64(fb.N) != res.Iterations {
				t.Fatalf("echo: first_byte seen in %d of %d spawns", fb.N, res.Iterations)
			}
		}
		if strings.Contains(s.Name(), "fork") {
			if r := res.Distributions["ready"]; int64(r.N) != res.Iterations {
				t.Fatalf("fork: ready seen in %d of %d", r.N, res.Iterations)
			}
		}
		if res.Metrics["child_user_ns/op"]+res.Metrics["child_sys_ns/op"] <= 0 {
			t.Fatalf("%s: no child CPU per spawn: %v", s.Name(), res.Metrics)
		}
		if res.Params["command"] == "" {
			t.Fatalf("%s: no command param", s.Name())
		}
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
	if list[1].Name() != "Spawn/mode=spawn/cmd=echo/cores=1" {
		t.Fatalf("name %q", list[1].Name())
	}
}
