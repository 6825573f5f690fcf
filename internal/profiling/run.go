package profiling

import (
	"path/filepath"

	"github.com/ipcbench/ipcbench/results"
)

// Run is a Profiler for a whole run: it records every file written in the
// run's results document and, at the end, writes the run-wide CPU profile
// and the spawn phase profile.
type Run struct {
	*Profiler
	runDir string
	set    *results.Set
}

// NewRun profiles the kinds into runDir/profiles, recording files in set.
func NewRun(kinds []string, runDir string, set *results.Set) (*Run, error) {
	p, err := NewProfiler(filepath.Join(runDir, "profiles"), kinds)
	if err != nil {
		return nil, err
	}
	return &Run{Profiler: p, runDir: runDir, set: set}, nil
}

// End records the files after the Profiler's End wrote them.
func (p *Run) End(res *results.Benchmark) {
	p.Profiler.End(res)
	p.set.Profiles = append(p.set.Profiles, p.Written()...)
}

// Finish writes the run-wide profiles and returns what went wrong, as
// warnings (the measurements stand without them).
func (p *Run) Finish(set *results.Set) []string {
	var warns []string
	if rw, err := p.RunWide(); err != nil {
		warns = append(warns, err.Error())
	} else if rw != nil {
		set.Profiles = append(set.Profiles, *rw)
	}
	if ph, err := WritePhaseProfile(filepath.Join(p.runDir, "profiles", "spawn.phases.pprof"), set); err != nil {
		warns = append(warns, err.Error())
	} else if ph {
		set.Profiles = append(set.Profiles, results.Profile{Kind: "phases", Path: filepath.Join("profiles", "spawn.phases.pprof"), Note: "where spawn time goes, per mode (measured phase sums)"})
	}
	return warns
}
