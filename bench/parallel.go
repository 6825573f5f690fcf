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

// worker is one of the concurrent loops of RunParallel.
type worker struct {
	_     [64]byte     // keep workers' counters on separate cache lines
	ops   atomic.Int64 // completed ops; read by the sampler
	_     [56]byte
	pb    PB
	par   *parallel
	id    int
	first bool
	last  time.Time
	hist  *hdrhistogram.Histogram
	dists map[results.Phase]*hdrhistogram.Histogram
}

// next is a worker's slow path, taken on every op (its PB's n stays 0):
// each op is published to the sampler on the worker's own cache line.
func (w *worker) next() bool {
	p := w.par
	if !w.first {
		w.first = true
		p.ready.Done()
		return !p.stop.Load()
	}
	w.ops.Add(1)
	if p.perOp.Load() && p.phase.Load() == int32(phaseSample) {
		now := time.Now()
		if !w.last.IsZero() {
			d := now.Sub(w.last)
			_ = w.hist.RecordValue(max(1, d.Nanoseconds()))
			if p.opSamples.Load() {
				p.mu.Lock()
				p.ended = append(p.ended, d)
				p.mu.Unlock()
			}
		}
		w.last = now
	}
	return !p.stop.Load()
}

func (w *worker) observe(ph results.Phase, d time.Duration) {
	if w.par.phase.Load() != int32(phaseSample) {
		return
	}
	if w.dists == nil {
		w.dists = map[results.Phase]*hdrhistogram.Histogram{}
	}
	h := w.dists[ph]
	if h == nil {
		h = newHist()
		w.dists[ph] = h
	}
	_ = h.RecordValue(max(1, d.Nanoseconds()))
}

type parallel struct {
	workers []*worker
	ready   sync.WaitGroup
	stop    atomic.Bool
	phase   atomic.Int32
	perOp   atomic.Bool
	// opSamples: ops are long, each one ended is a sample (see sampleOps).
	opSamples atomic.Bool
	mu        sync.Mutex
	ended     []time.Duration // op durations not yet made samples
}

// RunParallel runs body on n loops at once, each on its own goroutine;
// body sets up its own resources (a child, a pinned thread), loops
// `for pb.Next() { op }` and tears down. With n <= 1 body runs once on this
// goroutine over B's own loop, exactly as `for b.Loop()`: batches of ops
// between two clock reads. With n > 1 one op of the benchmark is one op of
// any worker: a sample is the wall time between two readings of all
// workers' op counters divided by the ops completed in between, so the
// figure is the aggregate ns/op (its inverse the aggregate throughput), as
// testing.B.RunParallel reports. Workers never synchronise with each other
// or with the sampler: each counts on its own cache line. If any worker
// fails, all stop and the benchmark fails naming the worker; partial
// figures are not kept as if the failed worker had not existed.
//
// RunParallel is called once, instead of looping on b.Loop.
func (b *B) RunParallel(n int, body func(pb *PB) error) error {
	if n <= 1 {
		return body(&b.loop)
	}
	p := &parallel{}
	b.par = p
	p.ready.Add(n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		w := &worker{par: p, id: i, hist: newHist()}
		w.pb = PB{b: b, w: w}
		p.workers = append(p.workers, w)
		wg.Go(func() {
			err := body(&w.pb)
			if !w.first {
				p.ready.Done() // failed before its first op
			}
			if err != nil {
				errs[w.id] = fmt.Errorf("worker %d of %d: %w", w.id, n, err)
				p.stop.Store(true)
			}
		})
	}
	b.parNow.Store(p) // the workers slice is complete: the watchdog may read it
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
	b.mergeWorkers()
	return nil
}

// mergeWorkers merges the workers' per-op histograms and phases.
func (b *B) mergeWorkers() {
	if b.perOp {
		b.hist = newHist()
		for _, w := range b.par.workers {
			b.hist.Merge(w.hist)
		}
	}
	for _, w := range b.par.workers {
		for ph, h := range w.dists {
			if b.dists == nil {
				b.dists = map[results.Phase]*hdrhistogram.Histogram{}
			}
			if b.dists[ph] == nil {
				b.dists[ph] = newHist()
			}
			b.dists[ph].Merge(h)
		}
	}
}

func (b *B) totalOps() int64 { return b.par.total() }

// total is every op the workers finished (safe from any goroutine once
// the workers exist).
func (p *parallel) total() int64 {
	var n int64
	for _, w := range p.workers {
		n += w.ops.Load()
	}
	return n
}

// sampleParallel is the sampler: warmup, then samples of about SampleTime
// each, with the same adaptive stop as Loop.
func (b *B) sampleParallel(done <-chan struct{}) error {
	est, err := b.warmupParallel(done)
	if err != nil {
		return err
	}
	p := b.par
	nw := int64(len(p.workers))
	b.perOp = est >= float64(b.cfg.PerOpThreshold.Nanoseconds())
	b.batch = max(1, b.warmOps/nw) // for the timer-overhead share: ops per worker per sample, roughly
	p.perOp.Store(b.perOp)
	// Long ops: a window would hold a small whole number of them, and
	// window ÷ ops is quantized (67 ms ÷ 6, 80.5 ms ÷ 5: a false ±0.0% CI).
	// Past 500 µs per op (under 20 ops per worker per 10 ms window), each
	// op ended is a sample of its own instead, a real measurement.
	opSamples := b.perOp && est*20 > float64(b.cfg.SampleTime.Nanoseconds())
	p.opSamples.Store(opSamples)
	b.setPhase(phaseSample)
	p.phase.Store(int32(phaseSample))
	b.beginTimedRegion()
	if opSamples {
		return b.sampleOps(done, est)
	}
	return b.sampleWindows(done, est)
}

// sampleWindows: a sample is the wall time between two readings of the
// workers' op counters divided by the ops completed in between.
func (b *B) sampleWindows(done <-chan struct{}, est float64) error {
	nw := int64(len(b.par.workers))
	// A window must hold completed ops of every worker: at least twice one
	// worker's op, and extended until about one op per worker completed.
	window := max(b.cfg.SampleTime, time.Duration(2*est))
	prevT, prevO := time.Now(), b.totalOps()
	b.sampleStart = prevT
	limit := max(10*b.cfg.Budget, 3*time.Duration(b.cfg.MinSamples)*window)
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
		if b.endSampling(now, alive) {
			return nil
		}
	}
}

// sampleOps: every op a worker ended is a sample, its duration ÷ workers:
// the aggregate time per op while all workers are busy, as a window would
// measure it, without the window's quantization.
func (b *B) sampleOps(done <-chan struct{}, est float64) error {
	p := b.par
	nw := float64(len(p.workers))
	b.sampleStart = time.Now()
	wait := max(b.cfg.SampleTime, time.Duration(est/2))
	for {
		alive := sleepOrDone(wait, done, b.ctx.Done())
		p.mu.Lock()
		ended := p.ended
		p.ended = nil
		p.mu.Unlock()
		for _, d := range ended {
			ns := float64(d.Nanoseconds()) / nw
			b.samples = append(b.samples, results.Sample{Iters: 1, NsPerOp: ns})
			b.values = append(b.values, ns)
		}
		if b.endSampling(time.Now(), alive) {
			return nil
		}
	}
}

// endSampling applies the stop rule after a sample; true when sampling is over.
func (b *B) endSampling(now time.Time, alive bool) bool {
	stop := b.shouldStop(now)
	if !alive && stop == "" {
		stop = "worker ended"
	}
	if stop == "" {
		return false
	}
	b.endTimedRegion(now, stop)
	b.par.phase.Store(int32(phaseDone))
	return true
}

// warmupParallel lets the workers run untimed for the warmup and returns
// one worker's estimated op time (aggregate ns/op × workers).
func (b *B) warmupParallel(done <-chan struct{}) (float64, error) {
	nw := int64(len(b.par.workers))
	b.setPhase(phaseWarmup)
	t0 := time.Now()
	o0 := b.totalOps()
	if !sleepOrDone(b.cfg.Warmup, done, b.ctx.Done()) {
		return 0, b.ctx.Err() // a worker ended early (its error wins) or interrupt
	}
	// Long ops: extend the warmup until each worker finished one, within
	// the same runaway bound as the sampling.
	limit := max(10*b.cfg.Budget, time.Second)
	for b.totalOps()-o0 < nw && time.Since(t0) < limit {
		if !sleepOrDone(b.cfg.Warmup/4+time.Millisecond, done, b.ctx.Done()) {
			return 0, b.ctx.Err()
		}
	}
	warm := time.Since(t0)
	b.warmOps = b.totalOps() - o0
	if b.warmOps == 0 {
		return 0, fmt.Errorf("parallel: no op completed in %s", warm.Round(time.Millisecond))
	}
	return float64(warm.Nanoseconds()) / float64(b.warmOps) * float64(nw), nil
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
// raw syscall (docs/measuring.md, pitfall 7).
func ParallelGOMAXPROCS(n int) int { return max(runtime.GOMAXPROCS(0), n+1) }
