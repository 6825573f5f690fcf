package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The open loop: three parties, each on its own goroutine (and, where it
// matters, its own locked thread), sharing a tape of per-operation times.
//
//   - The sender starts operation k at its scheduled instant t_k (a
//     message sent, a child started), never waiting for earlier ones to
//     finish, only for the in-flight window (at most window operations
//     started and not finished: what happens then is counted, never
//     hidden: the operation starts late, and its latency, measured from
//     t_k, includes the wait).
//   - The completer (the reply receiver, or each child's waiter) stamps
//     each operation's end.
//   - The recorder (the benchmark's own goroutine) drives the engine's
//     loop: it takes the operations in schedule order, each once it has
//     ended, and reports its latency (end − t_k) through B.ReportOpTime,
//     its service time (end − actual start) and lag (actual start − t_k)
//     through B.Observe. The engine's warmup, samples, budget and rusage
//     therefore cover operations, not the recorder's bookkeeping, which
//     runs apart from the timestamps: a slow batch end in the engine
//     delays nothing that is measured.
//
// The timed operations are a contiguous range of the schedule, every one
// of them completed: none is left out because it was slow (operations end
// in schedule order for a FIFO echo; for spawns the recorder waits for the
// slowest), so the percentiles are free of coordinated omission at both
// ends of the run.

// schedule yields the instants of an open loop, in ns after t0: constant
// (t_k = k/R) or Poisson (exponential gaps of mean 1/R from a seeded
// generator). It is fixed before the run: two schedules with the same
// parameters yield the same instants, so the sender and the recorder each
// walk their own copy.
type schedule struct {
	period  float64 // ns
	poisson bool
	rng     *rand.Rand
	k       int64
	t       float64
}

func newSchedule(rate float64, arrivals string, seed uint64) *schedule {
	s := &schedule{period: 1e9 / rate, poisson: arrivals == results.ArrivalsPoisson}
	if s.poisson {
		s.rng = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	}
	return s
}

// next returns the instant of the next operation (the first is 0).
func (s *schedule) next() int64 {
	var t float64
	if s.poisson {
		t = s.t
		s.t += s.rng.ExpFloat64() * s.period
	} else {
		// From k, not by accumulation: no drift over millions of steps.
		t = float64(s.k) * s.period
	}
	s.k++
	return int64(math.Round(t))
}

// tapeSize is how many operations the sender may be ahead of the recorder
// (a power of two): 2^19, half a second at 1M/s. The recorder drains it
// every millisecond; a sender that finds it full waits and is counted.
const tapeSize = 1 << 19

type tapeEntry struct {
	// Atomics: the sender, completer and recorder are ordered by the
	// message's own journey through the kernel, which the Go memory model
	// (and the race detector) cannot see.
	sent atomic.Int64 // actual start, ns after base
	done atomic.Int64 // end, ns after base (0: not yet)
	wait atomic.Int64 // ns the start waited for the window
}

type tape struct{ e []tapeEntry }

func newTape() *tape                  { return &tape{e: make([]tapeEntry, tapeSize)} }
func (t *tape) at(k int64) *tapeEntry { return &t.e[k&(tapeSize-1)] }

// openLoop is one run of the open loop.
type openLoop struct {
	pace     *pacer
	rate     float64
	arrivals string
	seed     uint64
	window   int64
	t0       int64 // ns after pace.base of instant 0
	tape     *tape

	completed atomic.Int64 // operations ended (any order)
	recorded  atomic.Int64 // operations taken by the recorder
	stop      atomic.Bool
	waiting   atomic.Bool   // the sender sleeps on wake for the window
	wake      chan struct{} // capacity 1
	startNS   atomic.Int64  // Σ durations of the start calls (Send, Start)
	senderTID atomic.Int64

	final atomic.Int64 // pairs: the index of the message past the last (-1 until known)

	errOnce sync.Once
	err     atomic.Pointer[error]

	slack threadSlack // the sender's timer slack (lowered from prepare to the end of send)

	// startWhat names the start call in warnings: "the transport's send",
	// "starting a child".
	startWhat string

	// The sender's own figures, read after it ended.
	recorderWaits int64
	peak          int64
}

func newOpenLoop(rate float64, arrivals string, seed uint64, window int) *openLoop {
	o := &openLoop{rate: rate, arrivals: arrivals, seed: seed, window: int64(window), tape: newTape(), wake: make(chan struct{}, 1), startWhat: "the start call"}
	o.pace = newPacer()
	o.final.Store(-1)
	return o
}

// prepare readies the calling (locked, pinned) thread to send: its id for
// its CPU clock, a timer slack of 1 ns, the busy wait (spin: 0 calibrated
// here, negative none), and instant 0 a millisecond from now. Call it
// before the other parties start: they read t0.
func (o *openLoop) prepare(spin time.Duration) {
	o.senderTID.Store(int64(gettid()))
	o.slack = lowerSlack()
	switch {
	case spin == 0:
		o.pace.spin = calibrateSpin(o.pace).Nanoseconds()
	case spin > 0:
		o.pace.spin = spin.Nanoseconds()
	}
	o.t0 = o.now() + int64(time.Millisecond)
}

func (o *openLoop) now() int64 { return o.pace.now() }

// fail records the first error of any party; the recorder returns it.
func (o *openLoop) fail(err error) {
	if err == nil {
		return
	}
	o.errOnce.Do(func() { o.err.Store(&err) })
	o.halt()
}

func (o *openLoop) failed() error {
	if p := o.err.Load(); p != nil {
		return *p
	}
	return nil
}

// halt stops the sender (wakes it if it waits for the window).
func (o *openLoop) halt() {
	o.stop.Store(true)
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// complete stamps operation k's end and frees its place in the window.
// The sender's waiting flag and the completed count are a Dekker pair
// (both sequentially consistent atomics): either the sender sees the new
// count before it sleeps, or we see its flag and wake it.
func (o *openLoop) complete(k, now int64) {
	o.tape.at(k).done.Store(max(now, 1))
	o.completed.Add(1)
	if o.waiting.Load() {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
}

// forkOwnSlack runs start, which forks a child from the sending thread,
// with that thread's own timer slack, not the 1 ns it paces with: the
// child inherits the slack of the thread it was forked from (see
// threadSlack). Two prctl calls, tens of ns each, counted in the start.
func (o *openLoop) forkOwnSlack(start func() error) error {
	o.slack.own()
	defer o.slack.lower()
	return start()
}

// waitWindow blocks while k operations started leave no room in the
// window; it returns the ns waited.
func (o *openLoop) waitWindow(k int64) int64 {
	t0 := o.now()
	for k-o.completed.Load() >= o.window && !o.stop.Load() {
		o.waiting.Store(true)
		if k-o.completed.Load() < o.window || o.stop.Load() {
			o.waiting.Store(false)
			break
		}
		<-o.wake
		o.waiting.Store(false)
	}
	return o.now() - t0
}

// send is the sender's loop on its (locked, pinned) thread: start(k)
// starts operation k. It returns when stopped, with the number started.
func (o *openLoop) send(start func(k int64) error) int64 {
	defer o.slack.own()
	sch := newSchedule(o.rate, o.arrivals, o.seed)
	var k int64
	for ; !o.stop.Load(); k++ {
		due := o.t0 + sch.next()
		if !o.pace.until(due, &o.stop) {
			break
		}
		// Due now (or late already). A full window at this instant makes
		// the start late by the wait, which its latency will include.
		var waited int64
		if k-o.completed.Load() >= o.window {
			waited = o.waitWindow(k)
		}
		for k-o.recorded.Load() >= tapeSize && !o.stop.Load() {
			// The recorder is half a second behind: a harness limit,
			// counted and warned about, never silently absorbed.
			o.recorderWaits++
			time.Sleep(100 * time.Microsecond)
		}
		if o.stop.Load() {
			break
		}
		now := o.now()
		e := o.tape.at(k)
		e.wait.Store(waited)
		e.sent.Store(now)
		if err := start(k); err != nil {
			o.fail(err)
			break
		}
		o.startNS.Add(o.now() - now)
		o.peak = max(o.peak, k+1-o.completed.Load())
	}
	return k
}

// loadAcc accumulates what the recorder saw of the timed operations,
// across every visit of a benchmark (its verdict is over all of them).
type loadAcc struct {
	lat, lag, svc *hdrhistogram.Histogram // latency, lag and service time of every timed op
	n             int64
	grew          *trend  // the first visit whose latency grew as a queue does
	short         float64 // the lowest completions ÷ schedule of a visit long enough to tell (0: none)
}

func (a *loadAcc) init() {
	if a.lat == nil {
		a.lat, a.lag, a.svc = results.NewHist(), results.NewHist(), results.NewHist()
	}
}

// visit is one visit's record of its timed operations.
type visit struct {
	n                     int64
	first, last           [3]int64 // scheduled, sent, done of the first and last
	windowWaited, late    int64
	windowWaitNS          int64
	svcMin                int64 // the fastest service time (one op's own cost)
	latFloor, lagFloor    floors
	lat, lag, svc         *hdrhistogram.Histogram
	cpu0, cpu1            [2]int64 // sender and recorder thread CPU at the start and end
	start0, start1        int64    // Σ start call durations then
	cpuOK                 bool
	endAt, scheduledByEnd int64
	completedAtEnd        int64
}

// floors are the smallest values per millisecond of the run, the shape
// of a run over time that a stall cannot fake: in a queue that grows
// (saturation) even the fastest operations of each millisecond get
// slower; after a stall they come back down. Times must not go back by
// more than the bucket in use (spawns end out of order: a late one
// starts a bucket of its own, which only adds a point).
type floors struct {
	bucket []int64
	min    []int64
}

func (f *floors) add(t, v int64) {
	b := t / int64(time.Millisecond)
	if n := len(f.bucket); n > 0 && f.bucket[n-1] == b {
		f.min[n-1] = min(f.min[n-1], v)
		return
	}
	f.bucket = append(f.bucket, b)
	f.min = append(f.min, v)
}

// trend is the median floor of the first, middle and last tenth of a run.
type trend struct{ start, mid, end int64 }

func (f *floors) trend() trend {
	n := len(f.min)
	if n < 3 {
		return trend{}
	}
	k := max(1, n/10)
	med := func(x []int64) int64 {
		y := slices.Clone(x)
		slices.Sort(y)
		return y[len(y)/2]
	}
	m := (n - k) / 2
	return trend{start: med(f.min[:k]), mid: med(f.min[m : m+k]), end: med(f.min[n-k:])}
}

func (t trend) growth() int64 { return t.end - t.start }

// grows says whether the floor rose through the run as a queue that
// grows does: by more than 1 ms and 4× the operation's own cost (base:
// the fastest service time of the run), and by a quarter of that already
// in the middle. A stall that ended moves nothing at the end; one at the
// very end (a busy machine) moves nothing in the middle; a rate beyond
// capacity moves both. (Not relative to where the floor started: past
// capacity the queue has grown through the warmup already.)
func (t trend) grows(base int64) bool {
	g := t.growth()
	return g > max(int64(time.Millisecond), 4*base) && t.mid-t.start > g/4
}

// record drives the engine's loop over the operations as they end. It
// returns when the loop ends (or a party failed, or ctx ended).
func (o *openLoop) record(ctx context.Context, b *bench.B, v *visit) error {
	v.lat, v.lag, v.svc = results.NewHist(), results.NewHist(), results.NewHist()
	sch := newSchedule(o.rate, o.arrivals, o.seed)
	me := gettid()
	timed := false
	var k int64
	for ; b.Loop(); k++ {
		due := o.t0 + sch.next()
		e := o.tape.at(k)
		d := e.done.Load()
		for ; d == 0; d = e.done.Load() {
			if err := o.failed(); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Operations end on their own: poll, no sooner than this one
			// is due and then every millisecond (a wake-up costs the
			// recorder tens of µs on a VM; at a low rate, one per op).
			time.Sleep(max(time.Millisecond, time.Duration(due-o.now())))
		}
		s, w := e.sent.Load(), e.wait.Load()
		e.done.Store(0) // free the slot before saying so
		o.recorded.Store(k + 1)
		lat, svc, lag := d-due, d-s, s-due
		b.ReportOpTime(time.Duration(lat))
		b.Observe(results.PhaseService, time.Duration(svc))
		b.Observe(results.PhaseLag, time.Duration(lag))
		if !b.Timing() {
			continue
		}
		if !timed {
			// The first timed operation: the harness's CPU from here.
			timed = true
			v.first = [3]int64{due, s, d}
			v.cpu0[0], v.cpuOK = threadCPU(int(o.senderTID.Load()))
			c, ok := threadCPU(me)
			v.cpu0[1], v.cpuOK = c, v.cpuOK && ok
			v.start0 = o.startNS.Load()
		}
		if v.n == 0 || svc < v.svcMin {
			v.svcMin = svc
		}
		v.n++
		v.last = [3]int64{due, s, d}
		_ = v.lat.RecordValue(max(1, lat))
		_ = v.lag.RecordValue(max(1, lag))
		_ = v.svc.RecordValue(max(1, svc))
		// Floors by the time things happened (the end; the start for the
		// lag), not by the schedule: past capacity a whole run's
		// completions may cover a few ms of schedule.
		v.latFloor.add(d, lat)
		v.lagFloor.add(s, lag)
		if w > 0 {
			v.windowWaited++
			v.windowWaitNS += w
		}
		if lag > results.LateBound {
			v.late++
		}
	}
	if !timed {
		return nil
	}
	// The end of the timed region: what the harness spent, and how much
	// of the schedule was due but unfinished (the queue).
	v.endAt = o.now()
	c0, ok0 := threadCPU(int(o.senderTID.Load()))
	c1, ok1 := threadCPU(me)
	v.cpu1 = [2]int64{c0, c1}
	v.cpuOK = v.cpuOK && ok0 && ok1
	v.start1 = o.startNS.Load()
	v.completedAtEnd = o.completed.Load()
	for due := o.t0 + sch.next(); due <= v.endAt; due = o.t0 + sch.next() {
		v.scheduledByEnd++
	}
	v.scheduledByEnd += k // the recorder's schedule was at k
	return nil
}

// merge adds a visit to the accumulated figures and returns this visit's
// per-op metrics.
func (a *loadAcc) merge(v *visit, o *openLoop) map[results.Metric]float64 {
	a.init()
	m := map[results.Metric]float64{}
	m[results.MetricPeakInFlight] = float64(o.peak)
	if v.n == 0 {
		return m
	}
	a.lat.Merge(v.lat)
	a.lag.Merge(v.lag)
	a.svc.Merge(v.svc)
	a.n += v.n
	n := float64(v.n)
	m[results.MetricWindowFull] = float64(v.windowWaited) / n
	m[results.MetricWindowWait] = float64(v.windowWaitNS) / n
	m[results.MetricLateShare] = float64(v.late) / n
	if v.n > 1 {
		sched := float64(v.last[0] - v.first[0])
		sent := float64(v.last[1] - v.first[1])
		done := float64(v.last[2] - v.first[2])
		if sched > 0 {
			m[results.MetricOfferedRate] = (n - 1) * 1e9 / sched
		}
		if sent > 0 {
			m[results.MetricSentRate] = (n - 1) * 1e9 / sent
		}
		if done > 0 {
			m[results.MetricAchievedRate] = (n - 1) * 1e9 / done
			m[results.MetricOpsPerSec] = m[results.MetricAchievedRate]
		}
		if sched > 0 && done > 0 && v.n >= 100 && done > 50e6 {
			if r := sched / done; a.short == 0 || r < a.short {
				a.short = r
			}
		}
	}
	lt := v.latFloor.trend()
	m[results.MetricLatencyGrowth] = float64(lt.growth())
	m[results.MetricLagGrowth] = float64(v.lagFloor.trend().growth())
	if a.grew == nil && lt.grows(v.svcMin) {
		a.grew = &lt
	}
	q := max(0, v.scheduledByEnd-v.completedAtEnd)
	m[results.MetricQueueAtEnd] = float64(q)
	if v.cpuOK {
		// The pacing thread's CPU minus its start calls (the transport's
		// work, Send or fork/exec), plus all of the recorder's: the
		// harness. Clamped: a start call that blocked counts wall time.
		pacing := max(0, (v.cpu1[0]-v.cpu0[0])-(v.start1-v.start0))
		h := pacing + (v.cpu1[1] - v.cpu0[1])
		m[results.MetricHarness] = float64(h) / n
	}
	return m
}

// saturated says whether a visit showed a queue that grows (see
// trend.grows), or completed its operations at less than 80% of the
// offered rate (over at least 100 operations and 50 ms: the rate was not
// sustained, whatever the reason; a stall must last a fifth of the run to
// do that), and how.
func (a *loadAcc) saturated() (bool, string) {
	if t := a.grew; t != nil {
		return true, fmt.Sprintf("latency grew through the run: its floor went from %s to %s (%s by the middle)", roundDur(t.start), roundDur(t.end), roundDur(t.mid))
	}
	if a.short > 0 && a.short < 0.8 {
		return true, fmt.Sprintf("operations completed at %.0f%% of the offered rate", 100*a.short)
	}
	return false, ""
}

// roundDur prints ns with about three significant figures.
func roundDur(ns int64) time.Duration {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d.Round(10 * time.Nanosecond)
}

// lateBound is how far behind the schedule starts may be at p99 before
// the schedule counts as not kept: LateBound, or the SLO's lag bound when
// that is looser (the user allowed that much).
func lateBound(slo units.SLO) int64 { return max(int64(results.LateBound), slo.Lag.Nanoseconds()) }

// behind says, when the starts fell behind the schedule by more than the
// operations themselves took (lag p99 above the service time's p99 and
// above bound), by how much ("" otherwise). The latency is then mostly the
// schedule's slippage (a stall that filled the window, a send that
// blocks, a generator that cannot keep up), not the operations' own time
// at this rate, whatever the floor of latency did afterwards: a stall
// then a catch-up ends where it started, and is no queue that grows.
func behind(lag, svc *hdrhistogram.Histogram, bound int64) string {
	if lag == nil || lag.TotalCount() == 0 {
		return ""
	}
	l, s := lag.ValueAtQuantile(99), svc.ValueAtQuantile(99)
	if l <= s || l <= bound {
		return ""
	}
	return fmt.Sprintf("starts fell behind the schedule: lag p99 %s > service p99 %s and %s", roundDur(l), roundDur(s), roundDur(bound))
}

// verdict is ok, slo-exceeded, behind-schedule or saturated, with the
// reason.
func (a *loadAcc) verdict(slo units.SLO) (string, string) {
	if a.n == 0 {
		return "", ""
	}
	if sat, why := a.saturated(); sat {
		return results.VerdictSaturated, why
	}
	var over []string
	for _, bd := range slo.Latency {
		if v := time.Duration(a.lat.ValueAtQuantile(bd.Q)); v > bd.Max {
			over = append(over, fmt.Sprintf("p%s %s > %s", units.FormatRate(bd.Q), roundDur(int64(v)), bd.Max))
		}
	}
	if slo.Lag > 0 {
		if v := time.Duration(a.lag.ValueAtQuantile(99)); v > slo.Lag {
			over = append(over, fmt.Sprintf("lag p99 %s > %s", roundDur(int64(v)), slo.Lag))
		}
	}
	late := behind(a.lag, a.svc, lateBound(slo))
	if len(over) > 0 {
		if late != "" {
			over = append(over, late)
		}
		return results.VerdictSLO, strings.Join(over, ", ")
	}
	if late != "" {
		return results.VerdictBehind, late
	}
	return results.VerdictOK, ""
}

// finish ends a visit of a load benchmark: its figures reported, its
// warnings given, its verdict decided and recorded with its sweep.
func (a *loadAcc) finish(b *bench.B, o *openLoop, v *visit, rate float64, slo units.SLO, fam *family) (verdict, why string) {
	for k, val := range a.merge(v, o) {
		b.ReportMetric(val, k)
	}
	a.warn(b, o, v, rate, slo)
	verdict, why = a.verdict(slo)
	if fam != nil {
		fam.record(rate, verdict)
	}
	return verdict, why
}

// warnings are the caveats of a visit: saturation, starts that fell
// behind the schedule (and why), a recorder that did.
func (a *loadAcc) warn(b *bench.B, o *openLoop, v *visit, rate float64, slo units.SLO) {
	if sat, why := a.saturated(); sat && v.n > 0 {
		b.Warn(results.WarnSaturated, "saturated at %s/s: %s; these percentiles are those of a growing queue (they grow with the run's length), not a latency this rate can have", units.CompactRate(rate), why)
	}
	if msg := v.scheduleWarning(o.startWhat, rate, lateBound(slo)); msg != "" {
		b.Warn(results.WarnSchedule, "%s", msg)
	}
	if o.recorderWaits > 0 {
		b.Warn(results.WarnMeasurement, "the recorder fell %d operations behind %d times: starts waited for it (a harness limit; the lag includes it)", tapeSize, o.recorderWaits)
	}
}

// scheduleWarning says how this visit's starts fell behind the schedule,
// if they did: the lag's floor grew with the window never full, or the lag
// p99 exceeded the service time's and bound (see behind); and why: a start
// call (startWhat) that takes the schedule's interval or longer blocks,
// whatever the generator does (a full pipe: the peer reads slower than
// that); else a full window (the peer fell behind); else the generator
// itself could not keep the schedule. "" when the schedule was kept.
func (v *visit) scheduleWarning(startWhat string, rate float64, bound int64) string {
	if v.n == 0 {
		return ""
	}
	var what []string
	if lt := v.lagFloor.trend(); lt.grows(v.svcMin) && v.windowWaited == 0 {
		what = append(what, fmt.Sprintf("its lag grew from %s to %s with the window never full", roundDur(lt.start), roundDur(lt.end)))
	}
	if late := behind(v.lag, v.svc, bound); late != "" {
		what = append(what, fmt.Sprintf("%s; %.0f%% of starts were more than %s late", late, 100*float64(v.late)/float64(v.n), roundDur(results.LateBound)))
	}
	if len(what) == 0 {
		return ""
	}
	n := float64(v.n)
	interval := 1e9 / rate
	var cause string
	switch perStart := float64(v.start1-v.start0) / n; {
	case perStart >= interval:
		why := "the peer takes them slower than offered, e.g. a full pipe or socket buffer"
		if startWhat == startChild {
			why = "one sender cannot start children faster: fork and exec take that long"
		}
		cause = fmt.Sprintf("%s blocks: it took %s per operation, at least the schedule's interval of %s (%s)", startWhat, roundDur(int64(perStart)), roundDur(int64(interval)), why)
	case v.windowWaited > 0:
		cause = fmt.Sprintf("%d of %d starts (%.2g%%) found the in-flight window full (the peer fell behind, by a stall or at a rate beyond what it carries)", v.windowWaited, v.n, 100*float64(v.windowWaited)/n)
	default:
		cause = "the generator could not keep the schedule (waking up, or a start, takes longer than the interval)"
	}
	msg := cause + ": " + strings.Join(what, "; ")
	if sent := float64(v.last[1] - v.first[1]); v.n > 1 && sent > 0 {
		// Measured first start to last: a late first start and a caught-up
		// last one give more than the offered rate, which is not a shortfall.
		if got := (n - 1) * 1e9 / sent; got < 0.98*rate {
			msg += fmt.Sprintf("; it started %.0f/s, not the %s/s offered", got, units.CompactRate(rate))
		} else {
			msg += fmt.Sprintf("; it kept the %s/s offered on average (%.0f/s), catching up in bursts", units.CompactRate(rate), got)
		}
	}
	return msg
}

// startChild is SpawnLoad's start call, as warnings name it.
const startChild = "starting a child"

// errStopTimeout: after the run, the peer did not finish in time.
var errStopTimeout = errors.New("operations still in flight 10s after the run ended")
