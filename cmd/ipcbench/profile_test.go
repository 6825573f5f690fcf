package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/internal/profiling"
	"github.com/ipcbench/ipcbench/results"
)

func TestProfilesWrittenLabelledAndMerged(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	args := []string{"run", "spawn", "roundtrip", "--out", dir, "--profile", "cpu,heap,allocs,mutex,block", "--cores", "1",
		"--transports", "unix", "--modes", "raw", "--sizes", "64", "--placements", "cross-core,unpinned",
		"--filter", "spawn/cmd=echo|fork|RoundTrip", "--budget", "200ms", "--min-samples", "3"}
	code, out, errs := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "figures taken under profiling") || !strings.Contains(out, "Spawn/mode=fork") {
		t.Errorf("the run must warn (on stderr) that profiled figures are not comparable:\n%s\n%s", out, errs)
	}
	runs, _ := os.ReadDir(dir)
	runDir := filepath.Join(dir, runs[0].Name())
	s, err := results.Load(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Config.Profiling) != 5 {
		t.Fatalf("run does not record profiling: %v", s.Config.Profiling)
	}
	kinds := map[string]int{}
	for _, pr := range s.Profiles {
		kinds[pr.Kind]++
		f, err := os.Open(filepath.Join(runDir, pr.Path))
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", pr.Path, err)
		}
		if err := p.CheckValid(); err != nil {
			t.Fatalf("%s: %v", pr.Path, err)
		}
		if pr.Kind == "cpu" && (len(p.SampleType) != 2 || p.SampleType[1].Type != "cpu" || p.SampleType[1].Unit != "nanoseconds") {
			t.Fatalf("%s: sample types %v", pr.Path, p.SampleType)
		}
		if pr.Kind == "cpu" && strings.HasPrefix(string(pr.Benchmark), "RoundTrip") {
			var parent, child int
			for _, smp := range p.Sample {
				if smp.Label["transport"][0] != "unix" || smp.Label["mode"][0] != "raw" || smp.Label["size"][0] != "64" || smp.Label["cores"][0] != "1" || smp.Label["placement"] == nil || smp.Label["scenario"][0] != "RoundTrip" {
					t.Fatalf("%s: sample labels %v", pr.Path, smp.Label)
				}
				switch smp.Label["process"][0] {
				case "parent":
					parent++
				case "child":
					child++
					if smp.Label["role"][0] != "ipc-echo" || smp.Label["pid"] == nil {
						t.Fatalf("child sample labels %v", smp.Label)
					}
				}
			}
			if child == 0 {
				t.Errorf("%s: no child samples (parent %d)", pr.Path, parent)
			}
		}
	}
	for _, k := range []string{"cpu", "heap", "allocs", "mutex", "block", "phases", "child-heap"} {
		if kinds[k] == 0 {
			t.Errorf("no %s profile written: %v", k, kinds)
		}
	}
	// The phase profile's totals equal the measured phase sums.
	f, _ := os.Open(filepath.Join(runDir, "profiles", "spawn.phases.pprof"))
	ph, err := profile.Parse(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range s.Benchmarks {
		segs, total, ok := profiling.SpawnSegments(&b)
		if !ok {
			continue
		}
		var sum, started int64
		for _, smp := range ph.Sample {
			if smp.Label["benchmark"][0] == string(b.Name) {
				sum += smp.Value[0]
				if smp.Label["phase"][0] == "start → running" {
					started = smp.Value[0]
				}
			}
		}
		if sum != total || len(segs) < 2 {
			t.Errorf("%s: phase profile total %d, measured %d", b.Name, sum, total)
		}
		if d := started - int64(b.Distributions["started"].Sum); d < -1 || d > 1 {
			t.Errorf("%s: start phase %d, measured %v", b.Name, started, b.Distributions["started"].Sum)
		}
	}
	// report lists every profile with the command to open it.
	code, out, _ = runCLI(t, "report", runDir)
	if code != 0 || !strings.Contains(out, "go tool pprof -http=: "+filepath.Join(runDir, "profiles", "run.cpu.pprof")) {
		t.Fatalf("report does not list profiles:\n%s", out)
	}
	ents, _ := os.ReadDir(filepath.Join(runDir, "profiles"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestProfileNeedsSavedRun(t *testing.T) {
	code, _, errs := runCLI(t, "run", "spawn", "--no-save", "--profile", "cpu")
	if code != exitUsage || !strings.Contains(errs, "drop --no-save") {
		t.Fatalf("exit %d %q", code, errs)
	}
}
