package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/ipcbench/ipcbench/results"
)

// Worker is one of the concurrent loops of B.Parallel.
type Worker struct {
	_     [64]byte     // keep workers' counters on separate cache lines
	ops   atomic.Int64 // completed ops; read by the sampler
	_     [56]byte
	b     *B
	id    int
	first bool
	last  time.Time
	hist  *hdrhistogram.Histogram
	dists map[string]*hdrhistogram.Histogram
}

// ID is the worker's index, 0..n-1.
func (w *Worker) ID() int { return w.id }

// Next reports whether the worker should do one more op: `for w.Next() { op }`.
func (w *Worker) Next() bool {
	p := w.b.par
	if w.first {
		w.ops.Add(1)
		if p.perOp.Load() && p.phase.Load() == int32(phaseSample) {
			now := time.Now()
			if !w.last.IsZero() {
				_ = w.hist.RecordValue(max(1, now.Sub(w.last).Nanoseconds()))
			}
			w.last = now
		} else {
			w.last = time.Time{}
		}
	} else {
		w.first = true
		p.ready.Done()
	}
	return !p.stop.Load()
}

// Observe records a per-op phase duration during timed sampling.
func (w *Worker) Observe(name string, d time.Duration) {
	if w.b.par.phase.Load() != int32(phaseSample) {
		return
	}
	if w.dists == nil {
		w.dists = map[string]*hdrhistogram.Histogram{}
	}
	h := w.dists[name]
	if h == nil {
		h = hdrhistogram.New(1, 100e9, 3)
		w.dists[name] = h
	}
	_ = h.RecordValue(max(1, d.Nanoseconds()))
}

type parallelState struct {
	workers []*Worker
	ready   sync.WaitGroup
	stop    atomic.Bool
	phase   atomic.Int32
	perOp   atomic.Bool
}

// Parallel runs n workers at once, each calling body(w), which sets up its
// own resources (a child, a pinned thread), loops `for w.Next() { op }` and
// tears down. One op of the benchmark is one op of any worker: a sample is
// the wall time between two readings of all workers' op counters divided
// by the ops completed in between, so the figure is the aggregate ns/op
// (its inverse the aggregate throughput), as testing.B.RunParallel reports.
// Workers never synchronise with each other or with the sampler: each
// counts on its own cache line. If any worker fails, all stop and the
// benchmark fails naming the worker; partial figures are not kept as if
// the failed worker had not existed.
//
// Parallel must be called once, instead of looping on b.Loop.
func (b *B) Parallel(n int, body func(w *Worker) error) error {
	if n < 1 {
		return fmt.Errorf("parallel: %d workers", n)
	}
	p := &parallelState{}
	b.par = p
	p.ready.Add(n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		w := &Worker{b: b, id: i, hist: hdrhistogram.New(1, 100e9, 3)}
		p.workers = append(p.workers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := body(w)
			if !w.first {
				p.ready.Done() // failed before its first op
			}
			if err != nil {
				errs[w.id] = fmt.Errorf("worker %d of %d: %w", w.id, n, err)
				p.stop.Store(true)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	p.ready.Wait() // every worker has set up and started its first op
	err := b.sampleParallel(done)
	p.stop.Store(true)
	<-done
	if e := errors.Join(errs...); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	// Merge the workers' per-op histograms and phases.
	if b.perOp {
		b.hist = hdrhistogram.New(1, 100e9, 3)
		for _, w := range p.workers {
			b.hist.Merge(w.hist)
		}
	}
	for _, w := range p.workers {
		for name, h := range w.dists {
			if b.dists == nil {
				b.dists = map[string]*hdrhistogram.Histogram{}
			}
			if b.dists[name] == nil {
				b.dists[name] = hdrhistogram.New(1, 100e9, 3)
			}
			b.dists[name].Merge(h)
		}
	}
	return nil
}

func (b *B) totalOps() int64 {
	var n int64
	for _, w := range b.par.workers {
		n += w.ops.Load()
	}
	return n
}

// sampleParallel is the sampler: warmup, then samples of about SampleTime
// each, with the same adaptive stop as Loop.
func (b *B) sampleParallel(done <-chan struct{}) error {
	p := b.par
	nw := int64(len(p.workers))
	b.phase = phaseWarmup
	t0 := time.Now()
	o0 := b.totalOps()
	if !sleepOrDone(b.cfg.Warmup, done, b.ctx.Done()) {
		return b.ctx.Err() // a worker ended early (its error wins) or interrupt
	}
	// Long ops: extend the warmup until each worker finished one, within
	// the same runaway bound as the sampling.
	limit := max(10*b.cfg.Budget, time.Second)
	for b.totalOps()-o0 < nw && time.Since(t0) < limit {
		if !sleepOrDone(b.cfg.Warmup/4+time.Millisecond, done, b.ctx.Done()) {
			return b.ctx.Err()
		}
	}
	warm := time.Since(t0)
	b.warmOps = b.totalOps() - o0
	if b.warmOps == 0 {
		return fmt.Errorf("parallel: no op completed in %s", warm.Round(time.Millisecond))
	}
	// Each worker's own op time decides whether timing ops one by one is
	// cheap enough: aggregate ns/op × workers.
	est := float64(warm.Nanoseconds()) / float64(b.warmOps) * float64(nw)
	b.perOp = est >= float64(b.cfg.PerOpThreshold.Nanoseconds())
	b.n = max(1, b.warmOps/nw) // for the timer-overhead share: ops per worker per sample, roughly
	p.perOp.Store(b.perOp)
	b.phase = phaseSample
	p.phase.Store(int32(phaseSample))
	b.peakReset = resetPeakRSS()
	b.startHooks()
	b.usage0 = snapUsage(b.track)
	// A window must hold completed ops of every worker, or a long op (a
	// 1 GiB output) would read as one op per window: at least twice one
	// worker's op, and extended until about one op per worker completed.
	window := max(b.cfg.SampleTime, time.Duration(2*est))
	prevT, prevO := time.Now(), b.totalOps()
	b.sampleStart = prevT
	limit = max(10*b.cfg.Budget, 3*time.Duration(b.cfg.MinSamples)*window)
	for {
		alive := sleepOrDone(window, done, b.ctx.Done())
		for alive && b.totalOps()-prevO < nw && time.Since(b.sampleStart) < limit {
			alive = sleepOrDone(window/4, done, b.ctx.Done())
		}
		now, ops := time.Now(), b.totalOps()
		if d := ops - prevO; d > 0 {
			ns := float64(now.Sub(prevT).Nanoseconds()) / float64(d)
			b.samples = append(b.samples, results.Sample{Iters: d, NsPerOp: ns})
			b.values = append(b.values, ns)
		}
		prevT, prevO = now, ops
		stop := b.shouldStop(now)
		if !alive && stop == "" {
			stop = "worker ended"
		}
		if stop != "" {
			b.stopReason = stop
			b.sampleEnd = now
			b.usage1 = snapUsage(b.track)
			b.stopHooks()
			p.phase.Store(int32(phaseDone))
			b.phase = phaseDone
			return nil
		}
	}
}

// sleepOrDone sleeps d; false if done or cancel closed first.
func sleepOrDone(d time.Duration, done, cancel <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	case <-cancel:
		return false
	}
}

// ParallelGOMAXPROCS is the GOMAXPROCS a run of n pinned workers needs: one
// P per worker plus one, so that the sampler, signal handling and exec's
// helper goroutines can run while every worker blocks holding its P in a
// raw syscall (MEASURING.md pitfall 7).
func ParallelGOMAXPROCS(n int) int { return max(runtime.GOMAXPROCS(0), n+1) }

// Looper is what a loop body needs from either a B (one worker) or a
// Worker of Parallel: `for l.Next() { op; l.Observe(...) }`.
type Looper interface {
	Next() bool
	Observe(name string, d time.Duration)
}

// Next is Loop, so that a B is a Looper.
func (b *B) Next() bool { return b.Loop() }

// Workers runs body once on b itself when n <= 1 (the plain single loop,
// per-op timing as usual), or on n concurrent workers through Parallel.
// id is the worker's index.
func (b *B) Workers(n int, body func(l Looper, id int) error) error {
	if n <= 1 {
		return body(b, 0)
	}
	return b.Parallel(n, func(w *Worker) error { return body(w, w.ID()) })
}
