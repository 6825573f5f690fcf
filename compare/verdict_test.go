package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// synth is a benchmark's paired rounds: base ~ 1ms × lognormal(sd),
// head = the same × (1+shift) with its own noise.
func synth(r *rand.Rand, name string, unit string, n int, shift, sd float64) *Series {
	s := &Series{Name: results.Name(name), Unit: unit}
	for i := 0; i < n; i++ {
		// A common per-round factor (the minute's speed) that pairing
		// cancels: it must not matter how large it is.
		drift := math.Exp(r.NormFloat64() * 0.15)
		base := 1e6 * drift * math.Exp(r.NormFloat64()*sd)
		head := 1e6 * drift * (1 + shift) * math.Exp(r.NormFloat64()*sd)
		if err := s.Add(i+1, base, head); err != nil {
			panic(err)
		}
	}
	return s
}

func onePlan(stages ...int) Plan {
	p := DefaultPlan()
	if len(stages) > 0 {
		p.Stages = stages
	}
	return p
}

func TestLookPureShiftNoiseAndMixed(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	series := []*Series{
		synth(r, "Shift/20pct", "ns/op", 20, 0.20, 0.02),
		synth(r, "AA/quiet", "ns/op", 20, 0, 0.02),
		synth(r, "AA/noisy", "ns/op", 20, 0, 0.30),
		synth(r, "Faster/20pct", "ns/op", 20, -0.20, 0.02),
	}
	vs := Look(series, onePlan(20), nil)
	want := []Outcome{Regression, Pass, Inconclusive, Pass}
	for i, v := range vs {
		if v.Outcome != want[i] {
			t.Errorf("%s: %s (%s) change %+v; want %s", v.Name, v.Outcome, v.Reason, v.Change, want[i])
		}
	}
	if !(vs[0].Change.Lo > 0.05 && vs[0].Change.Est > 0.15 && vs[0].Change.Est < 0.25) {
		t.Errorf("shift interval %+v; want around +20%%, wholly beyond +5%%", vs[0].Change)
	}
	if vs[1].MDE > 0.05 || vs[2].MDE < 0.05 {
		t.Errorf("MDEs %v, %v: quiet must resolve 5%%, noisy must not", vs[1].MDE, vs[2].MDE)
	}
	if !strings.Contains(vs[3].Reason, "improvement") {
		t.Errorf("faster: reason %q", vs[3].Reason)
	}
	if !strings.Contains(vs[2].Reason, "straddles") {
		t.Errorf("noisy: reason %q", vs[2].Reason)
	}
	if Overall(vs) != Regression || ExitCode(Overall(vs), true) != ExitRegression {
		t.Errorf("overall %s", Overall(vs))
	}
	if Overall(vs[1:]) != Inconclusive || ExitCode(Inconclusive, false) != 3 || ExitCode(Inconclusive, true) != 0 {
		t.Error("inconclusive exit codes")
	}
	if Overall(vs[1:2]) != Pass || Overall(nil) != Inconclusive {
		t.Error("a gate that measured nothing must not pass")
	}
}

// Rates are better higher: a 20% drop in MB/s is the regression.
func TestLookHigherIsBetter(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	drop := synth(r, "Output/rate", "MB/s", 20, -0.20, 0.02)
	gain := synth(r, "Output/rate2", "MB/s", 20, +0.20, 0.02)
	vs := Look([]*Series{drop, gain}, onePlan(20), nil)
	if vs[0].Outcome != Regression || !vs[0].HigherIsBetter {
		t.Errorf("MB/s -20%%: %s %s", vs[0].Outcome, vs[0].Reason)
	}
	if vs[1].Outcome != Pass {
		t.Errorf("MB/s +20%%: %s %s", vs[1].Outcome, vs[1].Reason)
	}
}

func TestLookTooFewRoundsAndFloors(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	few := synth(r, "Few", "ns/op", 5, 0.5, 0.01)
	vs := Look([]*Series{few}, onePlan(5), nil)
	if vs[0].Outcome != Inconclusive || !strings.Contains(vs[0].Reason, "too few") || !math.IsInf(vs[0].MDE, 1) {
		t.Errorf("5 rounds: %+v", vs[0])
	}
	// A floor above the change: T = 25%, a +20% change passes.
	s := synth(r, "Floored", "ns/op", 20, 0.20, 0.01)
	vs = Look([]*Series{s}, onePlan(20), map[results.Name]float64{"Floored": 0.25})
	if vs[0].Outcome != Pass || vs[0].Threshold != 0.25 {
		t.Errorf("floor 25%%: %s T=%v (%s)", vs[0].Outcome, vs[0].Threshold, vs[0].Reason)
	}
	// An unknown floor (+Inf): too noisy to gate, never a pass or a failure,
	// and the verdict document still encodes.
	vs = Look([]*Series{s}, onePlan(20), map[results.Name]float64{"Floored": math.Inf(1)})
	if vs[0].Outcome != Inconclusive || !strings.Contains(vs[0].Reason, "too noisy") {
		t.Errorf("infinite floor: %s %s", vs[0].Outcome, vs[0].Reason)
	}
	b, err := json.Marshal(vs[0])
	var back Verdict
	if err != nil || json.Unmarshal(b, &back) != nil || !math.IsInf(back.Threshold, 1) || !math.IsInf(back.NoiseFloor, 1) {
		t.Errorf("infinite floor in JSON: %s %v → %+v", b, err, back)
	}
}

// Ten rounds all beyond +T reach p = 2^-10 ≈ 0.00098: significant for one
// benchmark at 95%, not after Holm over thirty (0.025/30 ≈ 0.00083).
func TestLookHolm(t *testing.T) {
	mk := func(name string) *Series {
		s := &Series{Name: results.Name(name), Unit: "ns/op"}
		for i := 0; i < 10; i++ {
			s.Add(i, 1000, 1300+float64(i))
		}
		return s
	}
	plan := onePlan(10)
	alone := Look([]*Series{mk("One")}, plan, nil)
	if alone[0].Outcome != Regression {
		t.Fatalf("alone: %s %s", alone[0].Outcome, alone[0].Reason)
	}
	many := []*Series{mk("One")}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 29; i++ {
		many = append(many, synth(r, "AA"+string(rune('a'+i)), "ns/op", 10, 0, 0.01))
	}
	vs := Look(many, plan, nil)
	if vs[0].Outcome != Inconclusive || !strings.Contains(vs[0].Reason, "Holm") {
		t.Errorf("among 30: %s %s", vs[0].Outcome, vs[0].Reason)
	}
	if !(vs[0].Change.Lo > 0.05) {
		t.Errorf("the interval itself lies beyond T: %+v", vs[0].Change)
	}
}

// The error rates the design promises, by simulation: with the true
// change exactly at +T a regression is called at most at the one-sided
// rate of a look (0.025/3 per look, 0.025 over all looks at worst), and
// with the true change at 0 and noise well inside T, never.
func TestGateErrorRates(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	r := rand.New(rand.NewPCG(13, 14))
	const trials = 400
	atT, aa := 0, 0
	for i := 0; i < trials; i++ {
		for _, shift := range []float64{0.05, 0} {
			g, _ := NewGate(DefaultPlan(), []results.Name{"X"}, []string{"ns/op"}, nil, false)
			round := 0
			for {
				stage := g.NextStage()
				if stage == 0 {
					break
				}
				src := synth(r, "X", "ns/op", stage-round, shift, 0.03)
				for j := range src.Base {
					round++
					g.Add("X", round, src.Base[j], src.Head[j])
				}
				if g.Look() {
					break
				}
			}
			if Overall(g.Verdicts()) == Regression {
				if shift == 0 {
					aa++
				} else {
					atT++
				}
			}
		}
	}
	if aa != 0 {
		t.Errorf("A/A: %d regressions in %d gates", aa, trials)
	}
	t.Logf("regressions: %d of %d at the margin, %d of %d A/A", atT, trials, aa, trials)
	// 0.025 bound: expected ≤ 10 of 400; allow sampling slack.
	if atT > 18 {
		t.Errorf("true change = T: %d regressions in %d gates (bound 2.5%%)", atT, trials)
	}
}

func TestGateSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	names := []results.Name{"Clear", "Subtle"}
	g, err := NewGate(DefaultPlan(), names, []string{"ns/op", "ns/op"}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	clear := synth(r, "Clear", "ns/op", 40, 0.30, 0.01)
	subtle := synth(r, "Subtle", "ns/op", 40, 0.045, 0.03) // close to T: needs rounds
	round := 0
	var decidedAt int
	for stage := g.NextStage(); stage != 0; stage = g.NextStage() {
		for ; round < stage; round++ {
			g.Add("Clear", round+1, clear.Base[round], clear.Head[round])
			g.Add("Subtle", round+1, subtle.Base[round], subtle.Head[round])
		}
		over := g.Look()
		for _, v := range g.Verdicts() {
			if v.Name == "Clear" && v.DecidedAt > 0 && decidedAt == 0 {
				decidedAt = v.DecidedAt
			}
		}
		if over {
			break
		}
		for _, n := range g.Undecided() {
			if n == "Clear" {
				t.Errorf("Clear still undecided after look %d", g.Looks())
			}
		}
	}
	if decidedAt != 10 {
		t.Errorf("Clear decided at %d rounds, want the first look (10)", decidedAt)
	}
	vs := g.Verdicts()
	if vs[0].Outcome != Regression || vs[0].Rounds != 10 {
		t.Errorf("Clear: frozen verdict %s at %d rounds", vs[0].Outcome, vs[0].Rounds)
	}
	if g.Looks() > 3 || g.Look() != true {
		t.Error("looks beyond the plan")
	}
	// Bad plans and bad input.
	for _, p := range []Plan{{MaxRegression: 0, Confidence: 0.95, Stages: []int{10}}, {MaxRegression: 0.05, Confidence: 1, Stages: []int{10}}, {MaxRegression: 0.05, Confidence: 0.95, Stages: []int{20, 10}}, {MaxRegression: 0.05, Confidence: 0.95}} {
		if _, err := NewGate(p, names, []string{"ns/op", "ns/op"}, nil, false); err == nil {
			t.Errorf("plan %+v accepted", p)
		}
	}
	if err := g.Add("Nope", 1, 1, 1); err == nil {
		t.Error("unknown benchmark accepted")
	}
	if err := g.Add("Clear", 1, 0, 1); err == nil {
		t.Error("zero median accepted")
	}
}

// An A/A calibration runs every stage and its noise file gives the floors.
func TestCalibrationNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	var reports []*GateReport
	for rep := 0; rep < 3; rep++ {
		g, _ := NewGate(DefaultPlan(), []results.Name{"Quiet", "Loud"}, []string{"ns/op", "ns/op"}, nil, true)
		q := synth(r, "Quiet", "ns/op", 40, 0, 0.01)
		l := synth(r, "Loud", "ns/op", 40, 0, 0.25)
		round := 0
		for stage := g.NextStage(); stage != 0; stage = g.NextStage() {
			for ; round < stage; round++ {
				g.Add("Quiet", round+1, q.Base[round], q.Head[round])
				g.Add("Loud", round+1, l.Base[round], l.Head[round])
			}
			if g.Look() {
				break
			}
		}
		if g.Looks() != 3 {
			t.Fatalf("calibration stopped after %d looks", g.Looks())
		}
		rep := &GateReport{Benchmarks: g.Verdicts(), AA: true}
		reports = append(reports, rep)
	}
	n := NoiseFromAA(reports, 0.05)
	if len(n.Benchmarks) != 2 || n.Repeats != 3 {
		t.Fatalf("noise %+v", n)
	}
	q, l := n.Benchmarks[0], n.Benchmarks[1]
	if q.TooNoisy || q.Floor <= 0 || q.Floor > 0.02 || q.Repeats != 3 || len(q.Changes) != 3 {
		t.Errorf("quiet: %+v", q)
	}
	if !l.TooNoisy || l.Floor < 0.05 {
		t.Errorf("loud: %+v", l)
	}
	fl := n.Floors()
	if fl["Quiet"] != q.Floor || fl["Loud"] != l.Floor {
		t.Errorf("floors %v", fl)
	}
}

// An interrupted gate exits 128+N for signal N and records it; without a
// known signal (a cancelled context) it reads as Ctrl-C. An interrupt wins
// over any verdict.
func TestFinishInterruptedExitCode(t *testing.T) {
	for _, c := range []struct{ sig, want int }{{0, ExitInterrupted}, {2, 130}, {15, 143}, {1, 129}} {
		r := &GateReport{Benchmarks: []Verdict{{Outcome: Pass}}}
		r.Finish(true, c.sig)
		if r.Outcome != Interrupted || r.ExitCode != c.want {
			t.Errorf("signal %d: %s, exit %d; want interrupted, %d", c.sig, r.Outcome, r.ExitCode, c.want)
		}
	}
	r := &GateReport{Benchmarks: []Verdict{{Outcome: Pass}}}
	r.Finish(false, 15)
	if r.Outcome != Pass || r.ExitCode != 0 {
		t.Errorf("not interrupted: %s, exit %d", r.Outcome, r.ExitCode)
	}
}

// An exhaustive (A/A) gate never freezes a verdict, so a regression
// called at an early look can be gone by the last; a real gate would have
// stopped there and failed. The false alarm must count, while the noise
// floor stays the last look's.
func TestAAFalseAlarmAtAnyLook(t *testing.T) {
	plan := Plan{MaxRegression: 0.05, Confidence: 0.95, Stages: []int{8, 40}}
	name := results.Name("Spawn/mode=spawn/cores=1")
	g, err := NewGate(plan, []results.Name{name}, []string{"ns/op"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	add := func(from, to int, ratio float64) {
		for i := from; i <= to; i++ {
			wiggle := 1 + float64(i%5-2)/1000
			if err := g.Add(name, i, 1000, 1000*ratio*wiggle); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(1, 8, 1.30) // a burst: the first look calls +30% a regression
	if g.Look() {
		t.Fatal("an exhaustive gate is not over at its first look")
	}
	if v := g.Verdicts()[0]; v.Outcome != Regression || v.RegressedAt != 8 {
		t.Fatalf("first look: %s, regressed at %d", v.Outcome, v.RegressedAt)
	}
	add(9, 40, 1.0) // then nothing: the last look does not call it
	g.Look()
	last := g.Verdicts()[0]
	if last.Outcome == Regression || last.RegressedAt != 8 {
		t.Fatalf("last look: %s, regressed at %d; want no regression now, and the early one kept", last.Outcome, last.RegressedAt)
	}
	// Through the verdict document and back, as a calibration's reports are.
	var buf bytes.Buffer
	r := &GateReport{SchemaVersion: GateSchemaVersion, Kind: KindGate, AA: true, Benchmarks: g.Verdicts()}
	r.Finish(false, 0)
	if err := GateJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeGate(buf.Bytes())
	if err != nil || back.Benchmarks[0].RegressedAt != 8 {
		t.Fatalf("decoded: %v %+v", err, back)
	}
	n := NoiseFromAA([]*GateReport{back, {Benchmarks: []Verdict{{Name: name, Outcome: Pass, Threshold: 0.05, Change: Interval{Est: 0, Lo: -0.01, Hi: 0.01, OK: true}}}}}, 0.05)
	b := n.Benchmarks[0]
	if b.FalseAlarms != 1 || b.Repeats != 2 {
		t.Errorf("false alarms %d of %d repeats, want 1 of 2", b.FalseAlarms, b.Repeats)
	}
	lo, hi := math.Abs(math.Log1p(last.Change.Lo)), math.Abs(math.Log1p(last.Change.Hi))
	if want := Rel(max(lo, hi, math.Log1p(0.01))); math.Abs(b.Floor-want) > 1e-12 {
		t.Errorf("floor %v, want the last looks' %v", b.Floor, want)
	}
}
