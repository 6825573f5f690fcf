package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// R's ?wilcox.test examples. The figures R prints (V = 40, p = 0.03906
// two-sided, 0.01953 greater; W = 35, p = 0.1272 greater) and the
// intervals below were checked by an independent brute-force computation
// (python3: every sign pattern / every rank split enumerated, every Walsh
// average / pairwise difference sorted, R's qsignrank/qwilcox rule).
var (
	rX = []float64{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30}
	rY = []float64{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29}
	// depression example, two samples
	rA = []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	rB = []float64{1.15, 0.88, 0.90, 0.74, 1.21}
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func pairedDiffs() []float64 {
	d := make([]float64, len(rX))
	for i := range rX {
		d[i] = rX[i] - rY[i]
	}
	return d
}

func TestSignedRankKnownValues(t *testing.T) {
	d := pairedDiffs()
	p2, err := SignedRankTwoSided(d)
	if err != nil || !near(p2, 0.0390625, 1e-12) {
		t.Errorf("two-sided p = %v, %v; R: 0.03906", p2, err)
	}
	pg, _ := SignedRankGreater(d, 0)
	if !near(pg, 0.01953125, 1e-12) {
		t.Errorf("greater p = %v; R: 0.01953", pg)
	}
	iv, err := SignedRankHL(d, 0.95)
	if err != nil || !iv.OK {
		t.Fatal(iv, err)
	}
	// wilcox.test(x, y, paired=TRUE, conf.int=TRUE): (pseudo)median 0.46,
	// 95% CI [0.010, 0.786] (qsignrank(0.025, 9) = 6).
	if !near(iv.Est, 0.46, 1e-12) || !near(iv.Lo, 0.01, 1e-12) || !near(iv.Hi, 0.786, 1e-12) {
		t.Errorf("HL %+v; want 0.46 [0.01, 0.786]", iv)
	}
	iv90, _ := SignedRankHL(d, 0.90)
	if !near(iv90.Lo, 0.175, 1e-12) || !near(iv90.Hi, 0.726, 1e-12) {
		t.Errorf("90%% interval %+v; want [0.175, 0.726]", iv90)
	}
}

func TestRankSumKnownValues(t *testing.T) {
	p, err := MannWhitneyP(rA, rB)
	if err != nil || !near(p, 0.2544122544, 1e-9) {
		t.Errorf("Mann-Whitney two-sided p = %v, %v; R: 2 × 0.1272", p, err)
	}
	// wilcox.test(x, y, conf.int=TRUE): difference in location 0.305,
	// 95% CI [-0.15, 0.76] (qwilcox(0.025, 10, 5) = 9). ShiftHL(x, y)
	// estimates y - x, so the roles swap.
	iv, err := ShiftHL(rB, rA, 0.95)
	if err != nil || !iv.OK {
		t.Fatal(iv, err)
	}
	if !near(iv.Est, 0.305, 1e-12) || !near(iv.Lo, -0.15, 1e-12) || !near(iv.Hi, 0.76, 1e-12) {
		t.Errorf("shift %+v; want 0.305 [-0.15, 0.76]", iv)
	}
	if q := rankSumQuantile(10, 5, 0.025); q != 9 {
		t.Errorf("qwilcox(0.025, 10, 5) = %d, want 9", q)
	}
	if q := signedRankQuantile(9, 0.025); q != 6 {
		t.Errorf("qsignrank(0.025, 9) = %d, want 6", q)
	}
}

// Distributions sum to one and are symmetric, exact and approximate
// quantiles agree where both apply.
func TestNullDistributions(t *testing.T) {
	for _, n := range []int{1, 2, 9, 40, 120} {
		p := signedRankPMF(n)
		sum := 0.0
		for v := range p {
			sum += p[v]
			if !near(p[v], p[len(p)-1-v], 1e-15) {
				t.Fatalf("signed-rank n=%d not symmetric at %d", n, v)
			}
		}
		if !near(sum, 1, 1e-12) {
			t.Errorf("signed-rank n=%d sums to %v", n, sum)
		}
	}
	for _, nn := range [][2]int{{1, 1}, {3, 4}, {10, 5}, {30, 50}} {
		p := rankSumDist(nn[0], nn[1])
		sum := 0.0
		for _, v := range p {
			sum += v
		}
		if !near(sum, 1, 1e-12) || len(p) != nn[0]*nn[1]+1 {
			t.Errorf("rank-sum %v: sum %v, len %d", nn, sum, len(p))
		}
	}
	// n = 200 exact vs the normal approximation: a few ranks apart at most.
	exact := signedRankQuantile(200, 0.025)
	mean, sd := 200*201/4.0, math.Sqrt(200*201*401/24.0)
	approx := int(math.Ceil(mean - 0.5 - 1.959964*sd))
	if d := exact - approx; d < -3 || d > 3 {
		t.Errorf("signed-rank n=200: exact %d, normal %d", exact, approx)
	}
	// Too few values for the level: no interval, never a verdict.
	iv, _ := SignedRankHL([]float64{1, 2, 3, 4, 5}, 0.95) // min two-sided p is 1/16
	if iv.OK || !math.IsInf(iv.Lo, -1) || !math.IsInf(iv.Hi, 1) {
		t.Errorf("n=5 at 95%%: %+v; want no interval", iv)
	}
	iv, _ = ShiftHL([]float64{1, 2}, []float64{3, 4}, 0.95)
	if iv.OK {
		t.Errorf("2 vs 2 at 95%%: %+v; want no interval", iv)
	}
}

// The counting order statistics equal brute force, ties included.
func TestOrderStatisticsMatchBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n1, n2 := 1+r.IntN(25), 1+r.IntN(25)
		x, y := make([]float64, n1), make([]float64, n2)
		for i := range x {
			x[i] = float64(r.IntN(20)) / 4 // ties on purpose
		}
		for i := range y {
			y[i] = r.NormFloat64()
		}
		var diffs []float64
		for _, a := range x {
			for _, b := range y {
				diffs = append(diffs, b-a)
			}
		}
		slices.Sort(diffs)
		xs, ys := sortedCopy(x), sortedCopy(y)
		for _, k := range []int{1, len(diffs) / 3, len(diffs)} {
			k = max(k, 1)
			got := kthOrder(k, diffs[0], diffs[len(diffs)-1], func(v float64) int { return countPairDiffs(xs, ys, v) })
			if got != diffs[k-1] {
				t.Fatalf("pair diffs k=%d: %v, want %v", k, got, diffs[k-1])
			}
		}
		var walsh []float64
		for i := range x {
			for j := i; j < len(x); j++ {
				walsh = append(walsh, (x[i]+x[j])/2)
			}
		}
		slices.Sort(walsh)
		for _, k := range []int{1, (len(walsh) + 1) / 2, len(walsh)} {
			got := kthOrder(k, xs[0], xs[len(xs)-1], func(v float64) int { return countWalsh(xs, v) })
			if got != walsh[k-1] {
				t.Fatalf("walsh k=%d: %v, want %v (x=%v)", k, got, walsh[k-1], xs)
			}
		}
		mid := walsh[len(walsh)/2]
		lt := 0
		for _, w := range walsh {
			if w < mid {
				lt++
			}
		}
		if got := countWalshBelow(xs, mid); got != lt {
			t.Fatalf("countWalshBelow = %d, want %d", got, lt)
		}
	}
}

// The test and the interval agree (duality), so a verdict read from the
// interval is the test's.
func TestSignedRankTestMatchesInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		n := 8 + r.IntN(40)
		d := make([]float64, n)
		shift := r.NormFloat64() * 0.05
		for i := range d {
			d[i] = shift + r.NormFloat64()*0.03
		}
		mu := r.NormFloat64() * 0.03
		iv, _ := SignedRankHL(d, 0.95)
		p, _ := SignedRankGreater(d, mu)
		if iv.OK && (iv.Lo > mu) != (p < 0.025) {
			t.Fatalf("n=%d mu=%v: interval %+v, p %v disagree", n, mu, iv, p)
		}
	}
}

// The shifted Mann-Whitney test and the two-sample interval agree
// (duality), exact and normal-approximated sizes alike, so a verdict from
// the test is one the interval shows.
func TestShiftTestMatchesInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 300; trial++ {
		n1, n2 := 3+r.IntN(40), 3+r.IntN(40)
		if trial%10 == 0 {
			n1, n2 = 51+r.IntN(100), 51+r.IntN(100) // the normal approximation
		}
		x, y := make([]float64, n1), make([]float64, n2)
		shift := r.NormFloat64() * 0.05
		for i := range x {
			x[i] = r.NormFloat64() * 0.03
		}
		for i := range y {
			y[i] = shift + r.NormFloat64()*0.03
		}
		mu := r.NormFloat64() * 0.03
		iv, _ := ShiftHL(x, y, 0.95)
		p, err := ShiftGreater(x, y, mu)
		if err != nil {
			t.Fatal(err)
		}
		if iv.OK && (iv.Lo > mu) != (p < 0.025) {
			t.Fatalf("n=%d,%d mu=%v: interval %+v, p %v disagree", n1, n2, mu, iv, p)
		}
	}
	// By hand, sizes 3 and 3 (C(6,3) = 20 equally likely rank sets; U
	// takes 0..9 with counts 1,1,2,3,3,3,3,2,1,1): all 9 differences of
	// {4,5,6} - {1,2,3} are above 0, P(U >= 9) = 1/20; 6 are above 2.5,
	// P(U >= 6) = 7/20.
	x, y := []float64{1, 2, 3}, []float64{4, 5, 6}
	for mu, want := range map[float64]float64{0: 1.0 / 20, 2.5: 7.0 / 20} {
		if p, _ := ShiftGreater(x, y, mu); math.Abs(p-want) > 1e-12 {
			t.Errorf("ShiftGreater(mu=%v) = %v, want %v", mu, p, want)
		}
	}
}

func TestHolm(t *testing.T) {
	// Holm (1979) style: p sorted 0.01, 0.02, 0.03, 0.04 at alpha 0.05:
	// 0.01 <= 0.05/4, 0.02 > 0.05/3 → only the first rejected.
	got := Holm([]float64{0.04, 0.01, 0.03, 0.02}, 0.05)
	want := []bool{false, true, false, false}
	if !slices.Equal(got, want) {
		t.Errorf("Holm = %v, want %v", got, want)
	}
	// A NaN is never rejected but still counts as a hypothesis (m = 4):
	// 0.001 <= 0.05/4, 0.012 <= 0.05/3, 0.02 <= 0.05/2.
	got = Holm([]float64{0.001, 0.012, 0.02, math.NaN()}, 0.05)
	want = []bool{true, true, true, false}
	if !slices.Equal(got, want) {
		t.Errorf("Holm with NaN = %v, want %v", got, want)
	}
}

func TestBadValues(t *testing.T) {
	if _, err := SignedRankHL([]float64{1, math.NaN()}, 0.95); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := ShiftHL(nil, []float64{1}, 0.95); err == nil {
		t.Error("empty sample accepted")
	}
	if _, err := ShiftHL([]float64{1}, []float64{1}, 1.5); err == nil {
		t.Error("level 1.5 accepted")
	}
	if p, err := MannWhitneyP([]float64{1, 1}, []float64{1, 1}); err != nil || p != 1 {
		t.Errorf("all equal: p %v, %v", p, err)
	}
}
