package scenarios

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
)

// SpawnLoad starts children on a fixed schedule (constant or Poisson at
// Rate per second), whether or not earlier ones exited, up to Window alive
// at once (a start that finds the cap reached waits, and is counted as a
// full window: its latency includes the wait). One op is one child, from
// its scheduled start to its exit (reaped); phases: service (actual start
// → exit) and lag (actual − scheduled start). The child's output goes to
// /dev/null: this is the cost of starting and reaping at a rate.
//
// The starting thread is the pacing thread (locked, unpinned, as the
// closed-loop spawn is); each child is reaped by a goroutine of its own.
// That thread is unlocked, never left to exit, when the run ends: a child
// started from it would be killed with it (Pdeathsig follows the thread).
// Its timer slack is raised back around each start: a child inherits it
// (see threadSlack).
type SpawnLoad struct {
	Mode      string   // exec (through /bin/sh -c) or spawn (direct argv)
	Label     string   // cmd=… in the name
	Argv      []string // spawn mode
	Line      string   // exec mode
	Rate      float64
	Arrivals  string
	Window    int // children alive at once
	SLO       units.SLO
	SpinAhead time.Duration
	Seed      uint64

	family  *family
	acc     loadAcc
	spun    time.Duration
	verdict string
	why     string
}

// Name implements bench.Scenario.
func (s *SpawnLoad) Name() results.Name {
	return results.NewName(results.ScenarioSpawnLoad, results.KeyMode, s.Mode, results.KeyCmd, s.Label,
		results.KeyArrivals, s.Arrivals, results.KeyRate, units.FormatRate(s.Rate), results.KeyCores, "1")
}

// SkipReason implements bench.Skipper.
func (s *SpawnLoad) SkipReason() string {
	if s.family != nil {
		return s.family.beyond(s.Rate)
	}
	return ""
}

// ExtraParams implements bench.ParamsReporter.
func (s *SpawnLoad) ExtraParams() map[string]string {
	m := map[string]string{"command": shellquote.Join(s.Argv...)}
	if s.Mode == results.SpawnExec {
		m["command"] = "/bin/sh -c " + shellquote.Join(s.Line)
	}
	loadParams(m, s.SLO, s.Window, s.spun, s.Arrivals, s.Seed, s.verdict, s.why)
	return m
}

func buildSpawnLoads(o Options) ([]bench.Scenario, error) {
	list, err := spawnList(o)
	if err != nil {
		return nil, err
	}
	window := o.Window
	if window == 0 {
		window = defaultSpawnWindow
	}
	var out []bench.Scenario
	for _, sp := range list {
		// Default: spawn /bin/true only; with --cmd, the command both ways.
		if sp.Mode == results.SpawnFork || (o.Cmd == "" && (sp.Mode != results.SpawnSpawn || sp.Label != "true")) {
			continue
		}
		for _, arr := range loadArrivals(o) {
			rs, fam := rates(o, spawnLadder, spawnLadderFull)
			for _, r := range rs {
				out = append(out, &SpawnLoad{Mode: sp.Mode, Label: sp.Label, Argv: sp.Argv, Line: sp.Line, Rate: r, Arrivals: arr,
					Window: window, SLO: o.SLO, SpinAhead: o.SpinAhead, Seed: defaultSeed, family: fam})
			}
		}
	}
	return out, nil
}

// Run implements bench.Scenario: one open-loop run of spawns.
func (s *SpawnLoad) Run(ctx context.Context, b *bench.B) error {
	b.OpenLoop()
	// Ps for the two locked threads (sender, recorder) and the reapers.
	prev := runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4))
	defer runtime.GOMAXPROCS(prev)
	runtime.LockOSThread() // the recorder: its own CPU clock for the harness figure
	defer runtime.UnlockOSThread()
	o := newOpenLoop(s.Rate, s.Arrivals, s.Seed, s.Window)
	o.startWhat = startChild
	var live sync.Map // k → *child.Proc, for a kill after a timeout
	var kids sync.WaitGroup
	start := func(k int64) error {
		p := s.proc()
		// Forked from the pacing thread: with its own timer slack, not
		// the 1 ns it paces with, which the child would inherit.
		if err := o.forkOwnSlack(p.Start); err != nil {
			return fmt.Errorf("spawn %d: %w", k, err)
		}
		live.Store(k, p)
		kids.Go(func() {
			err := p.Wait()
			now := o.now()
			live.Delete(k)
			if err != nil {
				o.fail(fmt.Errorf("spawn %d: %w", k, err))
			}
			o.complete(k, now)
		})
		return nil
	}
	ready := make(chan struct{})
	var sender sync.WaitGroup
	sender.Go(func() {
		// Unlocked at the end, never exited: see SpawnLoad.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		o.prepare(s.SpinAhead)
		close(ready)
		o.send(start)
	})
	<-ready
	s.spun = time.Duration(o.pace.spin)
	v := &visit{}
	err := o.record(ctx, b, v)
	o.halt()
	sender.Wait()
	killAll := func() { live.Range(func(_, p any) bool { p.(*child.Proc).Kill(); return true }) }
	if werr := waitOrKill(&kids, killAll); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		err = o.failed()
	}
	if err != nil {
		return err
	}
	s.verdict, s.why = s.acc.finish(b, o, v, s.Rate, s.SLO, s.family)
	return nil
}

func (s *SpawnLoad) proc() *child.Proc {
	if s.Mode == results.SpawnExec {
		return newProc(fmt.Sprintf("exec %q", s.Line), "/bin/sh", "-c", s.Line)
	}
	return newProc(fmt.Sprintf("spawn %q", shellquote.Join(s.Argv...)), s.Argv...)
}
