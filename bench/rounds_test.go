package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// failAt fails on its nth visit.
type failAt struct {
	n, visits int
}

func (f *failAt) Name() results.Name { return "Fake/op=failat" }
func (f *failAt) Run(ctx context.Context, b *B) error {
	f.visits++
	for b.Loop() {
		if f.visits >= f.n {
			return errors.New("broke on a later visit")
		}
	}
	return nil
}

func TestRoundsInvariants(t *testing.T) {
	fail := &failAt{n: 3}
	list := []Scenario{&sleepy{d: 20 * time.Microsecond}, spin{}, skipper{}, fail, reported{}, par{n: 2}}
	var visits int
	var lastRound int
	r := Rounds{MinRounds: 6, Time: 3 * time.Second, Seed: 1,
		Config:  Config{SampleTime: 2 * time.Millisecond},
		Visited: func(i, round int, v results.Benchmark) { visits++; lastRound = max(lastRound, round) },
	}
	out, err := r.Run(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(list) || visits == 0 || lastRound < 6 {
		t.Fatalf("%d results, %d visits, last round %d", len(out), visits, lastRound)
	}
	for i, b := range out {
		t.Run(string(b.Name), func(t *testing.T) {
			if b.Name != list[i].Name() {
				t.Fatalf("result %d is %s", i, b.Name)
			}
			switch list[i].(type) {
			case skipper:
				if b.Skipped == "" || len(b.Samples) != 0 {
					t.Fatalf("skipped benchmark ran: %+v", b)
				}
				return
			case *failAt:
				if b.Error != "broke on a later visit" || b.Stop != results.StopFailed || fail.visits != 3 {
					t.Fatalf("error %q stop %q after %d visits: a failure must end the benchmark", b.Error, b.Stop, fail.visits)
				}
				return
			}
			if b.Error != "" || b.Rounds < 6 || b.Stop == "" {
				t.Fatalf("error %q, %d rounds, stop %q", b.Error, b.Rounds, b.Stop)
			}
			var iters int64
			rounds := map[int]bool{}
			for _, s := range b.Samples {
				iters += s.Iters
				if s.Round < 1 || s.Round > b.Rounds {
					t.Fatalf("sample of round %d", s.Round)
				}
				rounds[s.Round] = true
			}
			if iters != b.Iterations || len(rounds) != b.Rounds {
				t.Fatalf("iterations %d vs %d; rounds %d vs %d", iters, b.Iterations, len(rounds), b.Rounds)
			}
			m := b.Summary
			if m.CI95High == 0 || !(m.CI95Low <= m.Median && m.Median <= m.CI95High) {
				t.Fatalf("CI [%v, %v] does not hold the median %v", m.CI95Low, m.CI95High, m.Median)
			}
			if !(m.P50 <= m.P90 && m.P90 <= m.P99 && m.P99 <= m.P999) {
				t.Fatalf("percentiles out of order: %+v", m)
			}
			if b.Metrics[results.MetricOpsPerSec] <= 0 {
				t.Fatalf("metrics %v", b.Metrics)
			}
		})
	}
}

func TestRoundsInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	r := Rounds{MinRounds: 6, Time: 2 * time.Second, Config: Config{SampleTime: time.Millisecond},
		Visited: func(i, round int, v results.Benchmark) {
			if n++; n == 4 {
				cancel()
			}
		}}
	out, err := r.Run(ctx, []Scenario{spin{}, &sleepy{d: 10 * time.Microsecond}, &failAt{n: 1}})
	if err == nil {
		t.Fatal("want the context's error")
	}
	for _, b := range out {
		want := results.StopInterrupted
		if b.Name == "Fake/op=failat" {
			// It failed on its own in the first round: the interrupt
			// later does not make that an interruption.
			want = results.StopFailed
		}
		if b.Stop != want {
			t.Fatalf("%s: stop %q, want %q", b.Name, b.Stop, want)
		}
	}
}

func TestRoundsTimeUpBeforeMinimum(t *testing.T) {
	// A budget far too small for six rounds: the figure says so.
	r := Rounds{MinRounds: 6, Time: 50 * time.Millisecond, Config: Config{SampleTime: time.Millisecond}}
	out, err := r.Run(context.Background(), []Scenario{&sleepy{d: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	b := out[0]
	if b.Rounds >= 6 {
		t.Skip("the machine was fast enough for six rounds in 50ms")
	}
	if b.Stop != results.StopTime || !b.HasWarning(results.WarnFewSamples) {
		t.Fatalf("stop %q, warnings %v: ending below the minimum must be said", b.Stop, b.Warnings)
	}
}

// latent is an open loop whose ops report a latency far longer than the
// time between them (as an open loop's latencies overlap): each op takes
// about gap here, and reports lat.
type latent struct{ gap, lat time.Duration }

func (l latent) Name() results.Name { return "Fake/op=latent" }
func (l latent) Run(ctx context.Context, b *B) error {
	b.OpenLoop()
	for b.Loop() {
		t := time.Now()
		for time.Since(t) < l.gap {
		}
		b.ReportOpTime(l.lat)
	}
	return nil
}

// The planner learns a visit's overhead and the op's cost from the
// sampling's wall time where the workload timed its ops: their latencies
// sum to anything (here 1000 ops × 50 ms in a 900 ms span).
func TestRoundsLearnExternalTiming(t *testing.T) {
	res := results.Benchmark{Iterations: 1000}
	for range 10 {
		res.Samples = append(res.Samples, results.Sample{Iters: 100, NsPerOp: 50e6})
	}
	var e entry
	e.learn(&res, runStats{span: 900 * time.Millisecond, external: true}, time.Second)
	if e.overhead != 100*time.Millisecond || e.est != 900*time.Microsecond {
		t.Fatalf("overhead %s est %s, want 100ms and 900µs (span ÷ ops)", e.overhead, e.est)
	}
	// Short latencies at a low rate: 1000 × 100µs = 100 ms of latency in
	// a 980 ms span is not 880 ms of overhead.
	for i := range res.Samples {
		res.Samples[i].NsPerOp = 100e3
	}
	e = entry{}
	e.learn(&res, runStats{span: 980 * time.Millisecond, external: true}, time.Second)
	if e.overhead != 20*time.Millisecond || e.est != 980*time.Microsecond {
		t.Fatalf("overhead %s est %s, want 20ms and 980µs", e.overhead, e.est)
	}
	// Ops this process timed: the samples are the op's cost.
	e = entry{}
	e.learn(&res, runStats{span: 150 * time.Millisecond}, 200*time.Millisecond)
	if e.overhead != 50*time.Millisecond || e.est != 100*time.Microsecond {
		t.Fatalf("overhead %s est %s, want 50ms and 100µs", e.overhead, e.est)
	}
}

// An open loop reporting 1 s latencies for ops 50µs apart: later visits
// are planned by the time between ops, so they warm up and take batches
// of many ops, not one op per batch with no warm-up (as an op estimated
// at 1 s, longer than half a visit, would).
func TestRoundsOpenLoopPlannedByWallTime(t *testing.T) {
	var visits []results.Benchmark
	var rounds []int
	r := Rounds{MinRounds: 3, MaxRounds: 3, Time: 900 * time.Millisecond, Seed: 1,
		Config:  Config{SampleTime: 5 * time.Millisecond},
		Visited: func(i, round int, v results.Benchmark) { visits = append(visits, v); rounds = append(rounds, round) },
	}
	out, err := r.Run(context.Background(), []Scenario{latent{gap: 50 * time.Microsecond, lat: time.Second}})
	if err != nil || out[0].Error != "" {
		t.Fatal(err, out[0].Error)
	}
	if len(visits) < 2 {
		t.Fatalf("%d visits", len(visits))
	}
	for k, v := range visits[1:] {
		if v.WarmupOps == 0 || v.Iterations <= int64(len(v.Samples)) {
			t.Fatalf("round %d: %d warm-up ops, %d ops in %d samples: planned as if an op lasted its reported latency",
				rounds[k+1], v.WarmupOps, v.Iterations, len(v.Samples))
		}
	}
}
