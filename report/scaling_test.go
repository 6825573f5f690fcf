package report

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestFitUSLRecoversKnownCoefficients(t *testing.T) {
	for _, c := range []struct{ l, s, k float64 }{{1000, 0.05, 0.002}, {5e6, 0.2, 0}, {300, 0, 0.01}, {1, 0.03, 0.0005}} {
		var n, x []float64
		for _, v := range []float64{1, 2, 4, 8, 16, 32} {
			n = append(n, v)
			x = append(x, uslX(v, c.l, c.s, c.k))
		}
		u, err := FitUSL(n, x)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(u.Sigma-c.s) > 1e-6 || math.Abs(u.Kappa-c.k) > 1e-6 || u.Lambda != c.l || u.R2 < 0.9999 {
			t.Errorf("fit %+v, want λ=%v σ=%v κ=%v", u, c.l, c.s, c.k)
		}
		if c.k > 0 {
			pn, _, ok := u.Peak()
			if want := math.Sqrt((1 - c.s) / c.k); !ok || math.Abs(pn-want) > 1e-3 {
				t.Errorf("peak at %v, want %v", pn, want)
			}
		} else if _, _, ok := u.Peak(); ok {
			t.Errorf("κ=0 must have no peak")
		}
	}
}

func TestFitUSLNoisyStaysNonNegative(t *testing.T) {
	// Super-linear noise would give a negative σ unconstrained.
	u, err := FitUSL([]float64{1, 2, 4}, []float64{100, 205, 390})
	if err != nil || u.Sigma < 0 || u.Kappa < 0 {
		t.Fatalf("%+v %v", u, err)
	}
}

func TestFitUSLRefusesTooFewPoints(t *testing.T) {
	_, err := FitUSL([]float64{1, 2}, []float64{10, 19})
	if !errors.Is(err, ErrTooFewPoints) {
		t.Fatalf("two points: %v", err)
	}
	if _, err := FitUSL([]float64{2, 4, 8}, []float64{10, 19, 30}); err == nil {
		t.Fatal("fit without N=1 accepted")
	}
}

func TestEfficiency(t *testing.T) {
	if e := Efficiency(4, 300, 100); e != 0.75 {
		t.Fatalf("efficiency %v, want 0.75", e)
	}
	if e := Efficiency(1, 100, 100); e != 1 {
		t.Fatalf("efficiency at N=1 %v", e)
	}
}

func TestScalingTable(t *testing.T) {
	s := &results.Set{}
	for _, c := range []struct {
		n   string
		med float64
	}{{"1", 1000}, {"2", 600}, {"4", 400}} {
		b := results.Benchmark{Name: results.Name("RoundTrip/transport=pipe/cores=" + c.n), Params: map[string]string{"cores": c.n},
			Samples: []results.Sample{{Iters: 1, NsPerOp: c.med}}, Summary: results.Summary{N: 1, Median: c.med}}
		s.Benchmarks = append(s.Benchmarks, b)
	}
	var sb strings.Builder
	if err := scaling(&sb, s, nil); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"RoundTrip/transport=pipe", "1.00M", "2.50M", "62% at N=4", "σ="} {
		if !strings.Contains(out, want) {
			t.Errorf("scaling table lacks %q:\n%s", want, out)
		}
	}
}

// With an even number of benchmarks the median gain is the mean of the
// middle pair, and a fit without contention (σ = κ = 0) is linear, not
// "levelling off" towards λ/σ.
func TestScalingMedianAndLinearFit(t *testing.T) {
	s := capacityRun()
	s.Benchmarks = nil
	// Gains 1→2 cores of 1.2, 1.4, 1.8 and 1.9: median (1.4+1.8)/2 = 1.6.
	for i, g := range []float64{1.2, 1.4, 1.8, 1.9} {
		n := "Throughput/transport=pipe/mode=raw/size=" + strconv.Itoa(64<<i) + "/placement=cross-core/cores="
		s.Benchmarks = append(s.Benchmarks, ci2(n+"1", 10*us), ci2(n+"2", 10*us/g))
	}
	// 100k, 200k, 400k round trips/s at 1, 2, 4 pairs: linear.
	for _, c := range []int{1, 2, 4} {
		s.Benchmarks = append(s.Benchmarks, ci2("RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores="+strconv.Itoa(c), 10*us/float64(c)))
	}
	d, err := Build([]Run{{Set: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := answerOf(t, d, "scaling", "Throughput (4 benchmarks)")
	want(t, a, false, "by **1.60×** (median; from 1.20× for pipe raw 64B cross-core to 1.90× for pipe raw 512B cross-core)",
		"Middle pair pipe raw 128B cross-core: 100k → 140k messages/s (1.40×) and pipe raw 256B cross-core: 100k → 180k messages/s (1.80×)")
	wantInputs(t, a, "Throughput/transport=pipe/mode=raw/size=128/placement=cross-core/cores=2", "Throughput/transport=pipe/mode=raw/size=256/placement=cross-core/cores=2")
	a = answerOf(t, d, "scaling", "RoundTrip, Universal Scalability Law")
	want(t, a, false, "shows no contention: it scales linearly within the measured range, up to N=4 (100k round trips/s per core; σ=0, κ=0")
	if strings.Contains(a.Text, "levels off") {
		t.Errorf("a linear fit levels off: %s", a.Text)
	}
}
