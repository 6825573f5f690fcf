package main

import (
	"path/filepath"
	"strings"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/report"
	"github.com/ipcbench/ipcbench/results"
)

var profileKinds = bench.ProfileKinds

func parseProfiles(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, k := range splitList(s) {
		ok := false
		for _, a := range profileKinds {
			ok = ok || a == k
		}
		if !ok {
			return nil, usagef("--profile: unknown profile kind %q (accepted: %s)", k, strings.Join(profileKinds, ", "))
		}
		out = append(out, k)
	}
	return out, nil
}

// profiler adapts bench.Profiler to the run: it records every file written
// in the results document and, at the end, writes the run-wide CPU profile
// and the spawn phase profile.
type profiler struct {
	*bench.Profiler
	runDir string
	set    *results.Set
}

func newProfiler(kinds []string, runDir string, set *results.Set) (*profiler, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	if runDir == "" {
		return nil, usagef("--profile writes files into the run directory: drop --no-save")
	}
	p, err := bench.NewProfiler(filepath.Join(runDir, "profiles"), kinds)
	if err != nil {
		return nil, err
	}
	return &profiler{Profiler: p, runDir: runDir, set: set}, nil
}

// End records the files after the engine's End wrote them.
func (p *profiler) End(name string, res *results.Benchmark) {
	p.Profiler.End(name, res)
	p.set.Profiles = append(p.set.Profiles, p.Written()...)
}

func (p *profiler) finish(set *results.Set) []string {
	var warns []string
	if rw, err := p.RunWide(); err != nil {
		warns = append(warns, err.Error())
	} else if rw != nil {
		set.Profiles = append(set.Profiles, *rw)
	}
	if ph, err := report.WritePhaseProfile(filepath.Join(p.runDir, "profiles", "spawn.phases.pprof"), set); err != nil {
		warns = append(warns, err.Error())
	} else if ph {
		set.Profiles = append(set.Profiles, results.Profile{Kind: "phases", Path: filepath.Join("profiles", "spawn.phases.pprof"), Note: "where spawn time goes, per mode (measured phase sums)"})
	}
	return warns
}
