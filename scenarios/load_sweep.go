package scenarios

import (
	"fmt"
	"slices"
	"sync"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The load group: how open-loop benchmarks fit the engine.
//
// Every offered rate is its own benchmark, named with rate=R, so each has
// its own samples, percentiles, histogram, CPU cost and verdict, and
// `ipcbench list` shows exactly what a run measures. Without --rate the
// rates are a sweep: a 1-3-10 ladder (1-2-5 with --full), listed in
// ascending order, where a step skips itself (and says so) once two lower
// steps of its family were saturated: past the knee every step would only
// show a queue growing for the whole budget. The check is made at every
// visit (bench.Run asks SkipReason): with --rounds 1 the steps run in
// list order and a family stops one step past its knee; in rounds the
// order is shuffled, so a step past the knee runs until the two saturated
// ones below it have been visited, and skips its later visits. The sweep's finding, the max sustainable rate per
// family, is derived from the steps afterwards (results.LoadSweeps).
//
// Cost: every step is a benchmark of the run, visited in its rounds and
// sharing its time budget like any other (--rounds 1: one visit with an
// adaptive stop). The default families are a representative subset, three
// transports in raw mode at 64 B, cross-core (7 steps each, 1k/s to 1M/s: a
// pipe carried 300k/s within 1 ms p99 on a 2-vCPU VM), and one spawn
// family (3 steps): 24 benchmarks. Everything else (every fd transport in
// both modes, the other shared-memory transports, the channel, other
// sizes, placements, Poisson arrivals, the 1-2-5 ladder with --full) is
// there by --transports, --modes, --sizes, --placements, --arrivals.

// The ladders of offered rates of a sweep (per second): a 1-3-10 ladder
// by default, because a run in rounds visits every step of it within one
// time budget (the skip past saturation spares the steps beyond the knee
// only once two lower steps were visited, in shuffled order), and the
// 1-2-5 ladder with --full.
var (
	pairLadder      = []float64{1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6}
	spawnLadder     = []float64{100, 300, 1e3}
	pairLadderFull  = []float64{1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6}
	spawnLadderFull = []float64{50, 100, 200, 500, 1e3, 2e3, 5e3}
)

// Defaults of the load group.
const (
	defaultWindow      = 256 // messages in flight
	defaultSpawnWindow = 64  // children alive at once
	defaultSeed        = 1   // Poisson arrivals: the same schedule every run
)

// MaxWindow is the largest in-flight window a load benchmark accepts.
const MaxWindow = tapeSize

// defaultLoadTransports are the representative subset run by default.
var defaultLoadTransports = []string{"pipe", "unix", "shm-futex"}

// family is a sweep's shared record: each step's verdict as it ran.
type family struct {
	mu       sync.Mutex
	verdicts map[float64]string
}

func newFamily() *family { return &family{verdicts: map[float64]string{}} }

func (f *family) record(rate float64, verdict string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdicts[rate] = verdict
}

// beyond is why a step at rate need not run: two lower steps of the
// family were saturated already ("" otherwise). One saturated step past
// the knee is kept, so the sweep shows the latency growing.
func (f *family) beyond(rate float64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var sat []float64
	for r, v := range f.verdicts {
		if r < rate && v == results.VerdictSaturated {
			sat = append(sat, r)
		}
	}
	if len(sat) < 2 {
		return ""
	}
	slices.Sort(sat)
	return fmt.Sprintf("beyond saturation: %s/s and %s/s were saturated already", units.CompactRate(sat[0]), units.CompactRate(sat[1]))
}

// buildLoad builds the load group: IPC families, then spawn families.
func buildLoad(o Options) ([]bench.Scenario, error) {
	for _, r := range o.Rates {
		if r < units.MinRate || r > units.MaxRate {
			return nil, fmt.Errorf("rate %s/s out of range (%g..%g per second)", units.FormatRate(r), units.MinRate, units.MaxRate)
		}
	}
	for _, a := range o.Arrivals {
		if a != results.ArrivalsConstant && a != results.ArrivalsPoisson {
			return nil, fmt.Errorf("unknown arrivals %q (accepted: constant, poisson)", a)
		}
	}
	if o.Window < 0 || o.Window > MaxWindow {
		return nil, fmt.Errorf("window %d out of range (1..%d; 0: the default)", o.Window, MaxWindow)
	}
	pairs, err := buildPairLoads(o)
	if err != nil {
		return nil, err
	}
	spawns, err := buildSpawnLoads(o)
	if err != nil {
		return nil, err
	}
	return append(pairs, spawns...), nil
}

func loadArrivals(o Options) []string {
	if len(o.Arrivals) == 0 {
		return []string{results.ArrivalsConstant}
	}
	return o.Arrivals
}

// rates are the rates of one family and its sweep record (nil when the
// user gave the rates: they all run).
func rates(o Options, ladder, full []float64) ([]float64, *family) {
	if len(o.Rates) > 0 {
		return o.Rates, nil
	}
	if o.Full {
		ladder = full
	}
	return ladder, newFamily()
}

func buildPairLoads(o Options) ([]bench.Scenario, error) {
	names, modes := o.Transports, o.Modes
	if len(names) == 0 {
		names = defaultLoadTransports
		if len(modes) == 0 {
			modes = []string{results.ModeRaw}
		}
	}
	infos, err := pairTransports(names)
	if err != nil {
		return nil, err
	}
	sizes := o.Sizes
	if len(sizes) == 0 {
		sizes = []int{64}
	}
	for _, s := range sizes {
		if s <= 0 || s > MaxMessage {
			return nil, fmt.Errorf("message size %d out of range (1..%d)", s, MaxMessage)
		}
	}
	cpus := o.CPUs
	if len(cpus) == 0 {
		if cpus, err = sys.AllowedCPUs(); err != nil {
			return nil, err
		}
	}
	placements := o.Placements
	if len(placements) == 0 {
		placements = []string{results.CrossCore}
		if len(cpus) < 2 {
			placements = []string{results.SameCore}
		}
	}
	window := o.Window
	if window == 0 {
		window = defaultWindow
	}
	topo := sys.Topology(cpus)
	var out []bench.Scenario
	for _, info := range infos {
		for _, mode := range info.Modes {
			if len(modes) > 0 && !slices.Contains(modes, string(mode)) {
				continue
			}
			for _, size := range sizes {
				for _, pl := range placements {
					for _, arr := range loadArrivals(o) {
						rs, fam := rates(o, pairLadder, pairLadderFull)
						for _, r := range rs {
							l := &Load{Pair: Pair{Kind: results.ScenarioLoad, Transport: info, Mode: mode, Size: size, Placement: pl, Cores: 1},
								Rate: r, Arrivals: arr, Window: window, SLO: o.SLO, SpinAhead: o.SpinAhead, Seed: defaultSeed, family: fam}
							l.place(topo)
							l.placeSender(topo)
							out = append(out, l)
						}
					}
				}
			}
		}
	}
	return out, nil
}

// placeSender gives the sender the parent's CPU, or, when the receiver
// busy-polls there, a CPU of its own, or says why it cannot run.
func (l *Load) placeSender(topo []results.CPUTopology) {
	l.SenderCPU = l.ParentCPU
	if l.skip != "" || !l.Transport.BusyPolls || l.ParentCPU < 0 {
		return
	}
	for _, t := range topo {
		if t.CPU != l.ParentCPU && t.CPU != l.ChildCPU {
			l.SenderCPU = t.CPU
			return
		}
	}
	l.skip = fmt.Sprintf("busy polling: the receiver spins on the parent's CPU, so the open loop's sender needs a third CPU (%d allowed)", len(topo))
}
