package profiling

import (
	"bytes"
	"fmt"
	"math"

	"github.com/google/pprof/profile"
	"github.com/ipcbench/ipcbench/results"
)

// PhaseSegment is one stretch of a spawn's lifecycle in the phase profile.
type PhaseSegment struct {
	Name string
	NS   int64
}

// SpawnSegments splits the total timed lifecycle of a single-spawner spawn
// benchmark into consecutive segments from its measured phase sums: start →
// running, then running → first byte / ready, then → exit. They add up to
// the total time of the timed spawns. ok is false for other benchmarks.
func SpawnSegments(b *results.Benchmark) (segs []PhaseSegment, total int64, ok bool) {
	if b.Scenario != results.ScenarioSpawn || !b.OK() || (b.Params[results.KeyCores] != "" && b.Params[results.KeyCores] != "1") {
		return nil, 0, false
	}
	st, has := b.Distributions[results.PhaseStarted]
	if !has || st.Sum <= 0 {
		return nil, 0, false
	}
	var t float64
	for _, s := range b.Samples {
		t += float64(s.Iters) * s.NsPerOp
	}
	total = int64(math.Round(t))
	started := int64(math.Round(st.Sum))
	segs = append(segs, PhaseSegment{"start → running", started})
	mid, midName := int64(0), ""
	if fb, ok := b.Distributions[results.PhaseFirstByte]; ok && fb.Sum > 0 {
		mid, midName = int64(math.Round(fb.Sum)), "first byte"
	} else if r, ok := b.Distributions[results.PhaseReady]; ok && r.Sum > 0 {
		mid, midName = int64(math.Round(r.Sum)), "ready"
	}
	if midName != "" {
		segs = append(segs, PhaseSegment{"running → " + midName, max(0, mid-started)})
		segs = append(segs, PhaseSegment{midName + " → exit", max(0, total-mid)})
	} else {
		segs = append(segs, PhaseSegment{"running → exit", max(0, total-started)})
	}
	return segs, total, true
}

// PhaseProfile is a synthetic pprof profile whose samples are the measured
// spawn phases: the stack is benchmark → segment, the value the summed
// nanoseconds, so `go tool pprof -http` draws where spawn time goes.
func PhaseProfile(s *results.Set) (*profile.Profile, error) {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "time", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "time", Unit: "nanoseconds"},
		Period:     1,
	}
	if !s.StartedAt.IsZero() {
		p.TimeNanos = s.StartedAt.UnixNano()
	}
	fn := map[string]*profile.Function{}
	loc := func(name string) *profile.Location {
		f := fn[name]
		if f == nil {
			f = &profile.Function{ID: uint64(len(fn) + 1), Name: name, SystemName: name}
			fn[name] = f
			p.Function = append(p.Function, f)
		}
		l := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: f}}}
		p.Location = append(p.Location, l)
		return l
	}
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		segs, _, ok := SpawnSegments(b)
		if !ok {
			continue
		}
		root := loc(string(b.Name))
		for _, sg := range segs {
			leaf := loc(sg.Name)
			p.Sample = append(p.Sample, &profile.Sample{
				Location: []*profile.Location{leaf, root}, // leaf first
				Value:    []int64{sg.NS},
				Label:    map[string][]string{"benchmark": {string(b.Name)}, "mode": {b.Params[results.KeyMode]}, "phase": {sg.Name}},
			})
		}
	}
	if len(p.Sample) == 0 {
		return nil, nil
	}
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("phase profile: %w", err)
	}
	return p, nil
}

// WritePhaseProfile writes PhaseProfile to path; false when the run has no
// spawn phases.
func WritePhaseProfile(path string, s *results.Set) (bool, error) {
	p, err := PhaseProfile(s)
	if err != nil || p == nil {
		return false, err
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		return false, fmt.Errorf("phase profile: %w", err)
	}
	return true, results.WriteFileAtomic(path, buf.Bytes())
}
