package bench

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// Rounds measures a list of scenarios in rounds: every benchmark is
// visited several times in a run, in a newly shuffled order each round,
// each visit short (randomized multiple interleaved trials). A
// benchmark's figure is the median of its visits' medians, and its 95% CI
// is taken across them (results.Merge), so the interval holds the drift
// between the minutes of the run, which the batches of one visit cannot
// show: that is what a rerun would see.
//
// The run's time is a budget shared by all visits: each round, the
// sampling time of a visit is what remains divided over the visits still
// planned, less the measured overhead of a visit (starting children,
// warming up). A benchmark is visited at least MinRounds times; after
// that only while its CI is wider than the target (or it has fewer than
// MinSamples samples), at most MaxRounds times, and while time remains.
type Rounds struct {
	// Config is the sampling inside a visit; Budget and Warmup are set
	// per visit, Visit is forced.
	Config Config
	// MinRounds is the visits every benchmark gets (default 6: the fewest
	// round medians with a finite distribution-free 95% CI); MaxRounds
	// the most (default 3 × MinRounds).
	MinRounds, MaxRounds int
	// Time is the whole run's budget. PerBenchmark, when set, replaces it
	// with that much sampling time per benchmark (--budget).
	Time, PerBenchmark time.Duration
	// TargetCIWidth: a benchmark whose CI across rounds is at most this
	// relative width needs no more rounds (default 0.10: ±5%, what a shared
	// machine's drift between minutes allows for most benchmarks).
	TargetCIWidth float64
	// NoisyCIWidth: wider than this, the merged figure is warned as noisy
	// (default 0.40: ±20%, past which a figure no longer separates
	// mechanisms that differ by less than about 1.5×).
	NoisyCIWidth float64
	// MinSamples: a benchmark with fewer samples is visited again while
	// time remains, and warned about otherwise (default MinRounds).
	MinSamples int
	Seed       uint64
	// Progress, when set, is told about every visit before it starts.
	Progress func(Progress)
	// Visited, when set, gets every finished visit (benchmark index in
	// the list, round, its result): a journal can keep them.
	Visited func(index, round int, visit results.Benchmark)
}

// Progress is where a run in rounds stands.
type Progress struct {
	Round, Rounds   int // the round under way, and the planned minimum
	Done, Planned   int // visits done; visits planned (grows if rounds are added)
	Elapsed, Remain time.Duration
	Name            results.Name
}

// Visit-length bounds: shorter visits are mostly overhead, longer ones
// would let a few benchmarks take the run.
const (
	minVisit = 20 * time.Millisecond
	maxVisit = 2 * time.Second
	// firstOverhead is the assumed cost of a visit beyond its sampling
	// until one is measured.
	firstOverhead = 15 * time.Millisecond
)

func (r Rounds) withDefaults() Rounds {
	if r.MinRounds <= 0 {
		r.MinRounds = 6
	}
	if r.MaxRounds < r.MinRounds {
		r.MaxRounds = 3 * r.MinRounds
	}
	if r.Time <= 0 && r.PerBenchmark <= 0 {
		r.Time = 3 * time.Minute
	}
	if r.TargetCIWidth <= 0 {
		r.TargetCIWidth = 0.10
	}
	if r.NoisyCIWidth <= 0 {
		r.NoisyCIWidth = 0.40
	}
	if r.MinSamples <= 0 {
		r.MinSamples = r.MinRounds
	}
	return r
}

// Defaults returns r with every zero field replaced by its default.
func (r Rounds) Defaults() Rounds { return r.withDefaults() }

// entry is one benchmark's state across the run.
type entry struct {
	s        Scenario
	visits   []results.Benchmark
	est      time.Duration // one op's cost, from the visits so far
	overhead time.Duration // a visit's cost beyond its sampling: children, warm-up, a 1 GiB parent
	done     string        // why no more visits (results.Stop*), "" while pending
}

// Run measures every scenario and returns their results in list order.
// The error is ctx's when the run was interrupted; the results are then
// those of the visits done (each benchmark marked interrupted).
func (r Rounds) Run(ctx context.Context, list []Scenario) ([]results.Benchmark, error) {
	r = r.withDefaults()
	rng := rand.New(rand.NewPCG(r.Seed, r.Seed^0x9e3779b97f4a7c15))
	es := make([]*entry, len(list))
	for i, s := range list {
		es[i] = &entry{s: s}
		if sk, ok := s.(Skipper); ok && sk.SkipReason() != "" {
			es[i].done = "skipped"
		}
	}
	t0 := time.Now()
	deadline := t0.Add(r.Time)
	if r.PerBenchmark > 0 {
		deadline = time.Time{} // no run-wide budget: each visit gets PerBenchmark / MinRounds
	}
	doneVisits := 0
	var err error
rounds:
	for round := 1; round <= r.MaxRounds; round++ {
		order := r.pending(es)
		if len(order) == 0 {
			break
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			e := es[i]
			visit, ok := r.visitTime(es, round, deadline)
			if !ok {
				break rounds
			}
			if r.Progress != nil {
				planned, _ := r.plan(es)
				r.Progress(Progress{Round: round, Rounds: r.MinRounds, Done: doneVisits, Planned: doneVisits + planned,
					Elapsed: time.Since(t0), Remain: remain(deadline), Name: e.s.Name()})
			}
			vt0 := time.Now()
			res, st, verr := run(ctx, e.s, r.visitConfig(e, visit))
			wall := time.Since(vt0)
			if verr != nil {
				// The visit in flight when the run was interrupted is cut
				// short: it is dropped, the rounds before it stand.
				err = verr
				break rounds
			}
			e.visits = append(e.visits, res)
			doneVisits++
			e.learn(&res, st, wall)
			if r.Visited != nil {
				r.Visited(i, round, res)
			}
			switch {
			case res.Error != "":
				e.done = results.StopFailed
			case res.Skipped != "":
				e.done = "skipped"
			}
		}
		r.settle(es, round)
	}
	out := make([]results.Benchmark, len(es))
	for i, e := range es {
		out[i] = r.finish(e, list[i], err != nil)
	}
	return out, err
}

// learn updates what the planner knows of a benchmark from one visit that
// took wall in all and st.span sampling.
//
// The overhead of a visit is all it took beyond its sampling (children
// started, warm-up, collecting the result), per benchmark: starting Node
// or touching a 1 GiB parent costs hundreds of milliseconds, a pipe's
// child a few. Running averages, so the next visits are sized to end on
// time.
//
// The op's cost is what the samples say, Σ iters × ns/op ÷ iters, where
// this process timed the ops; where the workload timed them (ReportOpTime:
// an open loop's latencies, which overlap and are no measure of the time
// that passed), it is the sampling's wall time ÷ ops, the time between
// completions that the next visit's batches and warm-up are sized by.
func (e *entry) learn(res *results.Benchmark, st runStats, wall time.Duration) {
	if o := wall - st.span; o > 0 {
		if e.overhead == 0 {
			e.overhead = o
		} else {
			e.overhead = (e.overhead + o) / 2
		}
	}
	if res.Iterations <= 0 {
		return
	}
	if st.external {
		if st.span > 0 {
			e.est = max(1, st.span/time.Duration(res.Iterations))
		}
		return
	}
	e.est = time.Duration(results.TimedNS(res) / float64(res.Iterations))
}

// pending lists the benchmarks to visit in this round: all of them up to
// MinRounds, then those whose figure is not yet good enough.
func (r Rounds) pending(es []*entry) []int {
	var out []int
	for i, e := range es {
		if e.done == "" {
			out = append(out, i)
		}
	}
	return out
}

// settle marks the benchmarks that need no more rounds after this one.
func (r Rounds) settle(es []*entry, round int) {
	for _, e := range es {
		if e.done != "" || round < r.MinRounds {
			continue
		}
		m := results.Merge(e.visits)
		switch {
		case m.Summary.CIWidth() <= r.TargetCIWidth && len(m.Samples) >= r.MinSamples:
			e.done = results.StopTarget
		case round >= r.MaxRounds, r.PerBenchmark > 0:
			// A per-benchmark budget (--budget) is spent in MinRounds visits.
			e.done = results.StopRounds
		}
	}
}

// planned is the visits the time budget is shared over per benchmark:
// MinRounds, and half as many again in reserve for the benchmarks whose
// figure is still too wide after them (those that reach the target hand
// their reserve to the others).
func (r Rounds) planned() int { return min(r.MaxRounds, r.MinRounds+(r.MinRounds+1)/2) }

// plan is how many visits are still planned from now on (one at least per
// pending benchmark), and what they will cost beyond their sampling (each
// benchmark's measured overhead, firstOverhead until one is measured).
func (r Rounds) plan(es []*entry) (n int, overheads time.Duration) {
	for _, e := range es {
		if e.done != "" {
			continue
		}
		k := max(1, r.planned()-len(e.visits))
		n += k
		o := e.overhead
		if o == 0 {
			o = firstOverhead
		}
		overheads += time.Duration(k) * o
	}
	return n, overheads
}

func remain(deadline time.Time) time.Duration {
	if deadline.IsZero() {
		return 0
	}
	return max(0, time.Until(deadline))
}

// visitTime is the sampling time of the next visit: the time left, less
// the overheads of the visits still planned, shared over them. ok is false
// when the run's time is up.
func (r Rounds) visitTime(es []*entry, round int, deadline time.Time) (time.Duration, bool) {
	if deadline.IsZero() {
		return max(r.PerBenchmark/time.Duration(r.MinRounds), time.Millisecond), true
	}
	left := time.Until(deadline)
	if left <= 0 {
		return 0, false
	}
	n, overheads := r.plan(es)
	v := (left - overheads) / time.Duration(max(1, n))
	if round > r.MinRounds && v < minVisit {
		return 0, false // rounds beyond the minimum only while they can be real visits
	}
	return min(max(v, minVisit), maxVisit), true
}

// visitConfig is the engine's configuration for one visit: its sampling
// time, and a warm-up that estimates the op's cost on the first visit and
// only re-warms on later ones (none for ops longer than half the visit:
// one op is warm-up enough and sampling starts with it).
func (r Rounds) visitConfig(e *entry, visit time.Duration) Config {
	c := r.Config
	c.Visit = true
	c.Budget = visit
	c.MinSamples = 1
	c.Estimate = e.est
	switch {
	case e.est == 0:
		c.Warmup = min(visit/2, 100*time.Millisecond)
	case e.est > visit/2:
		c.Warmup = 0
	default:
		c.Warmup = max(min(visit/5, 20*time.Millisecond), 2*e.est)
	}
	return c
}

// finish merges a benchmark's visits and judges the figure.
func (r Rounds) finish(e *entry, s Scenario, interrupted bool) results.Benchmark {
	if len(e.visits) == 0 {
		name := s.Name()
		res := results.Benchmark{Name: name, Scenario: name.Base(), Params: name.Params(), Unit: "ns/op"}
		switch {
		case e.done == "skipped":
			if sk, ok := s.(Skipper); ok {
				res.Skipped = sk.SkipReason()
			}
		case interrupted:
			res.Error = "interrupted before its first visit"
			res.Stop = results.StopInterrupted
		default:
			res.Error = "the run's time budget ended before its first visit"
			res.Stop = results.StopTime
		}
		return res
	}
	m := results.Merge(e.visits)
	switch {
	case m.Skipped != "":
	case m.Error != "":
		// A visit failed on its own (one cut short by an interrupt is
		// dropped, never merged): failed, whenever the run ended.
		m.Stop = results.StopFailed
	case e.done != "":
		m.Stop = e.done
	case interrupted:
		m.Stop = results.StopInterrupted
		m.Warn(results.WarnInterrupted, "interrupted: the figure stands on the rounds done")
	default:
		m.Stop = results.StopTime
	}
	results.Judge(&m, results.Judgement{TargetCIWidth: r.TargetCIWidth, NoisyCIWidth: r.NoisyCIWidth,
		MinSamples: r.MinSamples, MinRounds: r.MinRounds})
	return m
}

// Reached counts benchmarks whose sampling ended at the target.
func Reached(bs []results.Benchmark) int {
	return len(slices.DeleteFunc(slices.Clone(bs), func(b results.Benchmark) bool { return b.Stop != results.StopTarget }))
}
