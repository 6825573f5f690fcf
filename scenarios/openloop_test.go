package scenarios

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

func TestScheduleConstant(t *testing.T) {
	s := newSchedule(3000, results.ArrivalsConstant, 1)
	for k := int64(0); k < 1_000_000; k++ {
		got := s.next()
		// t_k = k/R exactly (to the ns), however far: no accumulated drift.
		if want := int64(math.Round(float64(k) * 1e9 / 3000)); got != want {
			t.Fatalf("instant %d = %d, want %d", k, got, want)
		}
	}
}

func TestSchedulePoisson(t *testing.T) {
	const rate, n = 10000.0, 200000
	a := newSchedule(rate, results.ArrivalsPoisson, 7)
	b := newSchedule(rate, results.ArrivalsPoisson, 7)
	c := newSchedule(rate, results.ArrivalsPoisson, 8)
	var sum, sum2 float64
	prev := a.next()
	if b.next() != prev || prev != 0 {
		t.Fatal("the first instant is 0 in both copies")
	}
	differs := false
	for range n {
		x := a.next()
		if y := b.next(); y != x {
			t.Fatalf("two schedules with one seed differ: %d vs %d", x, y)
		}
		if c.next() != x {
			differs = true
		}
		if x < prev {
			t.Fatalf("instants go back: %d after %d", x, prev)
		}
		gap := float64(x - prev)
		sum += gap
		sum2 += gap * gap
		prev = x
	}
	if !differs {
		t.Fatal("another seed gave the same schedule")
	}
	mean := sum / n
	cv := math.Sqrt(sum2/n-mean*mean) / mean
	// Exponential gaps: mean 1/R, coefficient of variation 1. With 200k
	// gaps the standard errors are ~0.2%: 3% is a wide margin.
	if math.Abs(mean-1e9/rate)/(1e9/rate) > 0.03 || math.Abs(cv-1) > 0.03 {
		t.Fatalf("gaps: mean %.0f ns (want %.0f), CV %.3f (want 1)", mean, 1e9/rate, cv)
	}
}

func TestFloorsTrend(t *testing.T) {
	ms := int64(time.Millisecond)
	flat, stall, late, grow := &floors{}, &floors{}, &floors{}, &floors{}
	for i := range int64(2000) {
		at := i * ms / 2 // two ops per millisecond, 1 s
		flat.add(at, 50_000)
		v := int64(50_000)
		if i >= 900 && i < 1100 { // a 100 ms stall in the middle
			v = 100*ms - (i-900)*ms/2
		}
		stall.add(at, v)
		v = 50_000
		if i >= 1850 { // a 75 ms stall at the very end
			v = 75*ms - (i-1850)*ms/2
		}
		late.add(at, v)
		grow.add(at, 50_000+i*ms/10) // a queue that grows 200 ms in 1 s
	}
	if tr := flat.trend(); tr.growth() != 0 || tr.start != 50_000 || tr.grows(50_000) {
		t.Fatalf("flat: %+v", tr)
	}
	if tr := stall.trend(); tr.growth() != 0 || tr.grows(50_000) {
		t.Fatalf("a stall that ended: %+v", tr)
	}
	if tr := late.trend(); tr.growth() < 10*ms || tr.grows(50_000) {
		t.Fatalf("a stall at the end rises at the end only, and is no queue: %+v", tr)
	}
	if tr := grow.trend(); tr.growth() < 150*ms || !tr.grows(50_000) {
		t.Fatalf("a growing queue: %+v", tr)
	}
	// Past capacity the queue grew through the warmup already: the floor
	// starts high, and its growth still counts against the op's own cost.
	late0 := &floors{}
	for i := range int64(2000) {
		late0.add(i*ms/2, 300*ms+i*ms/20)
	}
	if tr := late0.trend(); !tr.grows(50_000) {
		t.Fatalf("a queue that grew before the timed region and goes on: %+v", tr)
	}
}

// accOf is an accumulator over latencies with the given floors.
func accOf(lat []int64, fl *floors) *loadAcc {
	a := &loadAcc{}
	a.init()
	for _, v := range lat {
		_ = a.lat.RecordValue(v)
		_ = a.lag.RecordValue(1)
		_ = a.svc.RecordValue(v)
	}
	a.n = int64(len(lat))
	if tr := fl.trend(); tr.grows(40_000) {
		a.grew = &tr
	}
	return a
}

func TestVerdict(t *testing.T) {
	ms := int64(time.Millisecond)
	var lat []int64
	flat, grow := &floors{}, &floors{}
	for i := range int64(1000) {
		lat = append(lat, 40_000+i%10*1000) // 40..49 µs
		flat.add(i*ms, 40_000)
		grow.add(i*ms, 40_000+i*ms/10)
	}
	slo, _ := units.ParseSLO("p99=50us")
	if v, why := accOf(lat, flat).verdict(slo); v != results.VerdictOK {
		t.Fatalf("within the SLO: %s (%s)", v, why)
	}
	tight, _ := units.ParseSLO("p50=10us,p99=45us")
	if v, why := accOf(lat, flat).verdict(tight); v != results.VerdictSLO || !strings.Contains(why, "p50") || !strings.Contains(why, "p99") {
		t.Fatalf("beyond the SLO: %s (%s)", v, why)
	}
	if v, why := accOf(lat, grow).verdict(units.SLO{}); v != results.VerdictSaturated || !strings.Contains(why, "grew") {
		t.Fatalf("a growing queue: %s (%s)", v, why)
	}
	// Saturation wins over the SLO: a growing queue's percentiles are not
	// a latency to compare with anything.
	if v, _ := accOf(lat, grow).verdict(slo); v != results.VerdictSaturated {
		t.Fatalf("growing and within the SLO: %s", v)
	}
	// Completions well short of the schedule: the rate was not sustained.
	a := accOf(lat, flat)
	a.short = 0.6
	if v, why := a.verdict(units.SLO{}); v != results.VerdictSaturated || !strings.Contains(why, "60% of the offered rate") {
		t.Fatalf("completions at 60%% of the schedule: %s (%s)", v, why)
	}
	lagSLO, _ := units.ParseSLO("lag=1us")
	b := accOf(lat, flat)
	b.lag.Reset()
	for range 100 {
		_ = b.lag.RecordValue(10_000)
	}
	if v, why := b.verdict(lagSLO); v != results.VerdictSLO || !strings.Contains(why, "lag p99") {
		t.Fatalf("lag beyond its bound: %s (%s)", v, why)
	}
}

func TestFamilySkipsBeyondSaturation(t *testing.T) {
	f := newFamily()
	f.record(1000, results.VerdictOK)
	f.record(2000, results.VerdictSLO)
	f.record(5000, results.VerdictSaturated)
	if why := f.beyond(10000); why != "" {
		t.Fatalf("one saturated step below: the next still runs, got %q", why)
	}
	f.record(10000, results.VerdictSaturated)
	if why := f.beyond(20000); !strings.Contains(why, "5k/s and 10k/s were saturated") {
		t.Fatalf("two saturated below: %q", why)
	}
	if why := f.beyond(5000); why != "" {
		t.Fatalf("a step at or below the saturated ones runs: %q", why)
	}
}

// visitOf is a visit of n operations at rate whose i-th has lag lag(i) and
// service time svc(i); its floors are flat unless a test sets them.
func visitOf(n int64, rate float64, lag, svc func(i int64) int64) *visit {
	v := &visit{n: n, lat: results.NewHist(), lag: results.NewHist(), svc: results.NewHist()}
	interval := int64(1e9 / rate)
	for i := range n {
		l, s := lag(i), svc(i)
		_ = v.lat.RecordValue(l + s)
		_ = v.lag.RecordValue(l)
		_ = v.svc.RecordValue(s)
		if l > results.LateBound {
			v.late++
		}
		if i == 0 || s < v.svcMin {
			v.svcMin = s
		}
		v.lagFloor.add(i*interval+l, 1_000)
	}
	v.first = [3]int64{0, lag(0), lag(0) + svc(0)}
	v.last = [3]int64{(n - 1) * interval, (n-1)*interval + lag(n-1), (n-1)*interval + lag(n-1) + svc(n-1)}
	return v
}

// accOfVisit is the accumulator of one visit.
func accOfVisit(v *visit) *loadAcc {
	a := &loadAcc{}
	a.init()
	a.lat.Merge(v.lat)
	a.lag.Merge(v.lag)
	a.svc.Merge(v.svc)
	a.n = v.n
	return a
}

// A stall then a catch-up that filled the window once: most starts late
// by hundreds of ms (lag p50 679 ms, late_share 0.84, p99 1.67 s), service
// times of a few ms, no floor that grows. This was verdict ok with no
// warning (the generator report needed a window never full): the schedule
// was not kept, and the result must say so.
func TestBehindScheduleIsNotOK(t *testing.T) {
	ms := int64(time.Millisecond)
	const n, rate = 2000, 1000.0
	lag := func(i int64) int64 {
		if i < 320 { // 16% on time
			return 20_000
		}
		return 679*ms + (i-320)*ms*1000/1680 // 679 ms .. 1.68 s
	}
	svc := func(i int64) int64 { return 2*ms + i%7*100_000 }
	v := visitOf(n, rate, lag, svc)
	v.windowWaited = 1 // the window was full once
	a := accOfVisit(v)
	if sat, _ := a.saturated(); sat {
		t.Fatal("no growing queue here: the floor is flat")
	}
	if got, why := a.verdict(units.SLO{}); got != results.VerdictBehind || !strings.Contains(why, "lag p99 1.6") || !strings.Contains(why, "> service p99 2.6") {
		t.Fatalf("verdict %q (%s), want %s", got, why, results.VerdictBehind)
	}
	loose, _ := units.ParseSLO("p99=10s")
	if got, _ := a.verdict(loose); got != results.VerdictBehind {
		t.Fatalf("within a loose SLO, still behind the schedule: %q", got)
	}
	tight, _ := units.ParseSLO("p99=1ms")
	if got, why := a.verdict(tight); got != results.VerdictSLO || !strings.Contains(why, "starts fell behind") {
		t.Fatalf("beyond the SLO and behind: %q (%s)", got, why)
	}
	// A lag bound in the SLO is the lateness the user accepts.
	lagOK, _ := units.ParseSLO("lag=2s")
	if got, why := a.verdict(lagOK); got != results.VerdictOK {
		t.Fatalf("lag within the SLO's own bound: %q (%s)", got, why)
	}
	w := v.scheduleWarning("the transport's send", rate, lateBound(units.SLO{}))
	for _, want := range []string{"window full", "lag p99 1.6", "84% of starts were more than 1ms late", "not the 1k/s offered"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	if strings.Contains(w, "generator") {
		t.Errorf("a full window blamed on the generator: %q", w)
	}

	// The same lateness with each start call taking the whole interval:
	// the transport's send blocks (a full pipe), not the generator.
	v.windowWaited = 0
	v.start0, v.start1 = 5*ms, 5*ms+n*1100_000
	w = v.scheduleWarning("the transport's send", rate, lateBound(units.SLO{}))
	if !strings.Contains(w, "the transport's send blocks: it took 1.1ms per operation, at least the schedule's interval of 1ms") || strings.Contains(w, "generator") {
		t.Fatalf("a blocking send: %q", w)
	}
	// Neither: the generator itself.
	v.start1 = v.start0 + n*10_000
	if w = v.scheduleWarning("the transport's send", rate, lateBound(units.SLO{})); !strings.HasPrefix(w, "the generator could not keep the schedule") {
		t.Fatalf("the generator's own lateness: %q", w)
	}
	// A late first start and a caught-up last one: over the offered rate
	// on average, which is said as such, not as a shortfall.
	v.last[1] = v.first[1] + (n-1)*ms*9/10
	if w = v.scheduleWarning("the transport's send", rate, lateBound(units.SLO{})); strings.Contains(w, "not the") || !strings.Contains(w, "kept the 1k/s offered on average (1111/s), catching up in bursts") {
		t.Fatalf("a caught-up schedule: %q", w)
	}
}

// Lag within the bound, or below the service time: the schedule was kept.
func TestScheduleKept(t *testing.T) {
	ms := int64(time.Millisecond)
	cases := map[string]*visit{
		"on time":             visitOf(1000, 1000, func(int64) int64 { return 20_000 }, func(int64) int64 { return 50_000 }),
		"late below service":  visitOf(1000, 1000, func(i int64) int64 { return 2 * ms }, func(int64) int64 { return 5 * ms }),
		"late below 1 ms p99": visitOf(1000, 1000, func(i int64) int64 { return 900_000 }, func(int64) int64 { return 50_000 }),
	}
	for name, v := range cases {
		if w := v.scheduleWarning("the transport's send", 1000, lateBound(units.SLO{})); w != "" {
			t.Errorf("%s: warned %q", name, w)
		}
		if got, why := accOfVisit(v).verdict(units.SLO{}); got != results.VerdictOK {
			t.Errorf("%s: verdict %q (%s)", name, got, why)
		}
	}
}
