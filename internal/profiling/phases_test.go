package profiling

import (
	"path/filepath"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestPhaseProfileAddsUpToTheTimedLifecycle(t *testing.T) {
	b := results.Benchmark{Name: "Spawn/mode=spawn/cmd=echo/cores=1", Scenario: results.ScenarioSpawn,
		Params:  map[string]string{results.KeyMode: "spawn", results.KeyCores: "1"},
		Samples: []results.Sample{{Iters: 10, NsPerOp: 1000}, {Iters: 10, NsPerOp: 1200}},
		Distributions: map[results.Phase]results.Summary{
			results.PhaseStarted: {N: 20, Sum: 4000}, results.PhaseFirstByte: {N: 20, Sum: 15000},
		}}
	segs, total, ok := SpawnSegments(&b)
	if !ok || total != 22000 || len(segs) != 3 {
		t.Fatalf("segments %v total %d ok %v", segs, total, ok)
	}
	var sum int64
	for _, s := range segs {
		sum += s.NS
	}
	if sum != total || segs[0].NS != 4000 || segs[1].NS != 11000 {
		t.Fatalf("segments %v do not add up to %d", segs, total)
	}
	s := &results.Set{Benchmarks: []results.Benchmark{b, {Name: "RoundTrip/cores=1", Scenario: results.ScenarioRoundTrip}}}
	p, err := PhaseProfile(s)
	if err != nil || p == nil || len(p.Sample) != 3 {
		t.Fatalf("profile %v, %v", p, err)
	}
	ok, err = WritePhaseProfile(filepath.Join(t.TempDir(), "p.pprof"), s)
	if !ok || err != nil {
		t.Fatalf("write: %v %v", ok, err)
	}
	if p, _ := PhaseProfile(&results.Set{}); p != nil {
		t.Fatal("a run without spawns has no phase profile")
	}
}
