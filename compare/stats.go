package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/aclements/go-moremath/stats"
)

// The rank statistics no library we use provides: the Hodges-Lehmann
// estimators with their distribution-free confidence intervals (two-sample:
// the Mann-Whitney / Wilcoxon rank-sum interval; one-sample: the Wilcoxon
// signed-rank interval over Walsh averages), the signed-rank test, and
// Holm's step-down procedure. They follow R's wilcox.test (exact
// distributions where they are cheap, the normal approximation with a
// continuity correction beyond) and are tested against its published
// figures.

// Interval is a point estimate with a two-sided confidence interval. When
// the requested level cannot be reached with so few values, Lo and Hi are
// -Inf and +Inf and OK is false: no conclusion may rest on it.
type Interval struct {
	Est, Lo, Hi float64
	Level       float64 // the confidence level asked for
	OK          bool
}

// HalfWidth is half the interval's width (+Inf when it has no finite bounds).
func (iv Interval) HalfWidth() float64 {
	if !iv.OK {
		return math.Inf(1)
	}
	return (iv.Hi - iv.Lo) / 2
}

// ErrTooFew is returned when a statistic needs more values than it got.
var ErrTooFew = errors.New("compare: too few values")

// Exact null distributions are used up to these sizes; beyond, the normal
// approximation with a continuity correction (as R does above 50).
const (
	exactSignedRankMax = 300
	exactRankSumMax    = 50
)

// ShiftHL is the two-sample Hodges-Lehmann estimate of the shift of y
// relative to x (the median of all differences y_j - x_i) with its
// distribution-free confidence interval at level: the order statistics of
// those differences given by the Mann-Whitney U distribution (R's
// wilcox.test(y, x, conf.int=TRUE)). The interval assumes independent
// values within each sample; ties are treated as if broken at random.
func ShiftHL(x, y []float64, level float64) (Interval, error) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return Interval{}, fmt.Errorf("%w: two-sample shift needs values on both sides (got %d and %d)", ErrTooFew, n1, n2)
	}
	if err := checkLevel(level); err != nil {
		return Interval{}, err
	}
	if err := checkFinite(x, y); err != nil {
		return Interval{}, err
	}
	xs, ys := sortedCopy(x), sortedCopy(y)
	count := func(d float64) int { return countPairDiffs(xs, ys, d) }
	lo0, hi0 := ys[0]-xs[n1-1], ys[n2-1]-xs[0]
	return orderInterval(level, n1*n2, rankSumQuantile(n1, n2, (1-level)/2), lo0, hi0, count), nil
}

// orderInterval is the Hodges-Lehmann estimate, the median of N ordered
// statistics (pair differences or Walsh averages, counted by count within
// [lo0, hi0]), and the interval from the k-th smallest to the k-th
// largest of them; unbounded (OK false) when the samples are too few for
// the level (k < 1).
func orderInterval(level float64, N, k int, lo0, hi0 float64, count func(float64) int) Interval {
	iv := Interval{Level: level, Est: medianOrder(N, lo0, hi0, count)}
	if k < 1 {
		iv.Lo, iv.Hi = math.Inf(-1), math.Inf(1)
		return iv
	}
	iv.Lo = kthOrder(k, lo0, hi0, count)
	iv.Hi = kthOrder(N-k+1, lo0, hi0, count)
	iv.OK = true
	return iv
}

// SignedRankHL is the one-sample Hodges-Lehmann estimate of the centre of
// d (the median of its Walsh averages (d_i+d_j)/2, i ≤ j: R's
// "(pseudo)median") with the Wilcoxon signed-rank confidence interval at
// level (R's wilcox.test(d, conf.int=TRUE)). For paired data, d are the
// within-pair differences; the interval assumes they are independent and
// symmetric about their centre.
func SignedRankHL(d []float64, level float64) (Interval, error) {
	n := len(d)
	if n == 0 {
		return Interval{}, fmt.Errorf("%w: signed-rank interval needs at least one value", ErrTooFew)
	}
	if err := checkLevel(level); err != nil {
		return Interval{}, err
	}
	if err := checkFinite(d); err != nil {
		return Interval{}, err
	}
	ds := sortedCopy(d)
	count := func(v float64) int { return countWalsh(ds, v) }
	lo0, hi0 := ds[0], ds[n-1]
	return orderInterval(level, n*(n+1)/2, signedRankQuantile(n, (1-level)/2), lo0, hi0, count), nil
}

// SignedRankGreater is the one-sided p-value of the Wilcoxon signed-rank
// test of H0: the centre of d is at most mu, against H1: it is above mu.
// The statistic is the number of Walsh averages above mu (ties at mu count
// half), which equals the signed-rank statistic V of d - mu (Tukey), so the
// test and SignedRankHL's interval agree: the interval at level 1-2p lies
// above mu exactly when this p is below p.
func SignedRankGreater(d []float64, mu float64) (float64, error) {
	n := len(d)
	if n == 0 {
		return 1, fmt.Errorf("%w: signed-rank test needs at least one value", ErrTooFew)
	}
	if err := checkFinite(d); err != nil {
		return 1, err
	}
	ds := sortedCopy(d)
	N := n * (n + 1) / 2
	le := countWalsh(ds, mu)
	lt := countWalshBelow(ds, mu)
	v := float64(N-le) + float64(le-lt)/2 // above mu, plus half of those at mu
	// P(V >= v); a half-integer v (ties) is rounded up: conservative.
	return signedRankUpper(n, math.Ceil(v)), nil
}

// SignedRankTwoSided is the two-sided p-value of the signed-rank test of
// H0: the centre of d is 0 (R's wilcox.test(d)$p.value without ties).
func SignedRankTwoSided(d []float64) (float64, error) {
	pg, err := SignedRankGreater(d, 0)
	if err != nil {
		return 1, err
	}
	neg := make([]float64, len(d))
	for i, v := range d {
		neg[i] = -v
	}
	pl, _ := SignedRankGreater(neg, 0)
	return math.Min(1, 2*math.Min(pg, pl)), nil
}

// ShiftGreater is the one-sided p-value of the Mann-Whitney test of H0:
// y is shifted relative to x by at most mu, against H1: by more than mu.
// The statistic is the number of pair differences y_j - x_i above mu (ties
// at mu count half), the U of y - mu against x, so the test and ShiftHL's
// interval agree: the interval at level 1-2p lies above mu exactly when
// this p is below p (as SignedRankGreater is to SignedRankHL). With mu
// the margin it tests "a change beyond the margin" directly, which is
// what a verdict needs and what Holm's correction can then control.
func ShiftGreater(x, y []float64, mu float64) (float64, error) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return 1, fmt.Errorf("%w: two-sample test needs values on both sides (got %d and %d)", ErrTooFew, n1, n2)
	}
	if err := checkFinite(x, y); err != nil {
		return 1, err
	}
	if math.IsNaN(mu) {
		return 1, fmt.Errorf("compare: shift %g is not a number", mu)
	}
	xs, ys := sortedCopy(x), sortedCopy(y)
	N := n1 * n2
	le := countPairDiffs(xs, ys, mu)
	// #{diff < mu} is #{diff <= the float just below mu}: the differences
	// are the very floats countPairDiffs compares.
	lt := countPairDiffs(xs, ys, math.Nextafter(mu, math.Inf(-1)))
	u := float64(N-le) + float64(le-lt)/2
	// P(U >= u); a half-integer u (ties) is rounded up: conservative.
	return rankSumUpper(n1, n2, math.Ceil(u)), nil
}

// rankSumUpper is P(U >= u) under the null for sizes n1, n2.
func rankSumUpper(n1, n2 int, u float64) float64 {
	N := n1 * n2
	if u <= 0 {
		return 1
	}
	if u > float64(N) {
		return 0
	}
	if n1 > exactRankSumMax || n2 > exactRankSumMax {
		mean := float64(N) / 2
		sd := math.Sqrt(float64(n1) * float64(n2) * float64(n1+n2+1) / 12)
		return 1 - stats.StdNormal.CDF((u-0.5-mean)/sd)
	}
	pmf := rankSumDist(n1, n2)
	p := 0.0
	for q := int(u); q <= N; q++ {
		p += pmf[q]
	}
	return math.Min(1, p)
}

// MannWhitneyP is the two-sided p-value of the Mann-Whitney U test that x
// and y come from one population (moremath's, which benchstat uses: exact
// for small samples, normal with tie and continuity corrections beyond).
// All values equal: p = 1.
func MannWhitneyP(x, y []float64) (float64, error) {
	r, err := stats.MannWhitneyUTest(x, y, stats.LocationDiffers)
	if errors.Is(err, stats.ErrSamplesEqual) {
		return 1, nil
	}
	if err != nil {
		return 1, fmt.Errorf("compare: Mann-Whitney test: %w", err)
	}
	return r.P, nil
}

// Holm is Holm's step-down procedure: which of the hypotheses with these
// p-values are rejected while the probability of rejecting any true one
// stays at most alpha. NaN p-values are never rejected.
func Holm(p []float64, alpha float64) []bool {
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	rej := make([]bool, len(p))
	m := len(p) // NaNs still count as hypotheses: conservative
	for step, i := range idx {
		if p[i] > alpha/float64(m-step) {
			break
		}
		rej[i] = true
	}
	return rej
}

func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("compare: confidence level %g must be between 0 and 1", level)
	}
	return nil
}

// checkFinite refuses NaN and infinities, which have no rank.
func checkFinite(sets ...[]float64) error {
	for _, s := range sets {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("compare: value %g is not finite", v)
			}
		}
	}
	return nil
}

func sortedCopy(x []float64) []float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s
}

// countPairDiffs is #{(i,j): y_j - x_i <= d} for sorted x and y, in
// O(len(x)+len(y)): for each y_j the x_i that qualify (x_i >= y_j - d) are
// a suffix of x, which only shrinks as y_j grows. (Float subtraction is
// monotone, so the comparison is on the very values the order statistics
// are taken of.)
func countPairDiffs(x, y []float64, d float64) int {
	n, i := 0, 0 // x[i:] qualify for the current y_j
	for _, yj := range y {
		for i < len(x) && yj-x[i] > d {
			i++
		}
		n += len(x) - i
	}
	return n
}

// countWalsh is #{i <= j: (d_i+d_j)/2 <= v} for sorted d, in O(n): for
// each i the j >= i that qualify are a prefix of d[i:], and its end only
// moves left as i grows.
func countWalsh(d []float64, v float64) int {
	n, j := 0, len(d) // d[i:j] qualify
	for i := range d {
		for j > i && (d[i]+d[j-1])/2 > v {
			j--
		}
		if j <= i {
			break
		}
		n += j - i
	}
	return n
}

// countWalshBelow is #{i <= j: (d_i+d_j)/2 < v}.
func countWalshBelow(d []float64, v float64) int {
	n, j := 0, len(d)
	for i := range d {
		for j > i && (d[i]+d[j-1])/2 >= v {
			j--
		}
		if j <= i {
			break
		}
		n += j - i
	}
	return n
}

// kthOrder is the k-th smallest (1-based) of N values known only through
// count(v) = #{values <= v}, all within [lo, hi]: bisection on the value
// down to adjacent floats. Since count changes only at the values
// themselves, the result is exactly the k-th value. O(log) counts, so HL
// over thousands of samples never materialises millions of differences.
func kthOrder(k int, lo, hi float64, count func(float64) int) float64 {
	if count(lo) >= k {
		return lo
	}
	// Invariant: count(lo) < k <= count(hi).
	for {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			return hi
		}
		if count(mid) >= k {
			hi = mid
		} else {
			lo = mid
		}
	}
}

// medianOrder is the median of N values known through count (the mean of
// the two middle ones when N is even, as R's median).
func medianOrder(N int, lo, hi float64, count func(float64) int) float64 {
	a := kthOrder((N+1)/2, lo, hi, count)
	if N%2 == 1 {
		return a
	}
	b := kthOrder(N/2+1, lo, hi, count)
	return (a + b) / 2
}

// signedRankQuantile is R's qsignrank(p, n): the smallest q with
// P(V <= q) >= p, the index of the interval's lower order statistic (R
// then uses W_(q) and W_(N-q+1), achieving coverage 1 - 2·P(V <= q-1)).
// Returns 0 when even the extreme Walsh averages cannot reach the level
// (R widens to the extremes and warns; we report no interval).
func signedRankQuantile(n int, p float64) int {
	N := n * (n + 1) / 2
	if n > exactSignedRankMax {
		mean := float64(N) / 2
		sd := math.Sqrt(float64(n) * float64(n+1) * float64(2*n+1) / 24)
		// P(V <= q) ≈ Φ((q + 0.5 - mean)/sd) >= p
		q := int(math.Ceil(mean - 0.5 + stats.StdNormal.InvCDF(p)*sd))
		return max(q, 0)
	}
	cdf := 0.0
	pmf := signedRankPMF(n)
	for q := 0; q <= N; q++ {
		cdf += pmf[q]
		if cdf >= p*(1-1e-12) {
			// q == 0: even V = 0 alone reaches p; no order statistic
			// gives the level.
			return q
		}
	}
	return N
}

// signedRankUpper is P(V >= v) under the null for n values.
func signedRankUpper(n int, v float64) float64 {
	N := n * (n + 1) / 2
	if v <= 0 {
		return 1
	}
	if v > float64(N) {
		return 0
	}
	if n > exactSignedRankMax {
		mean := float64(N) / 2
		sd := math.Sqrt(float64(n) * float64(n+1) * float64(2*n+1) / 24)
		return 1 - stats.StdNormal.CDF((v-0.5-mean)/sd)
	}
	pmf := signedRankPMF(n)
	p := 0.0
	for q := int(v); q <= N; q++ {
		p += pmf[q]
	}
	return math.Min(1, p)
}

var (
	pmfMu      sync.Mutex
	signedPMFs = map[int][]float64{}
	rankSumPMF = map[[2]int][]float64{}
)

// signedRankPMF is the exact null distribution of the signed-rank
// statistic V for n values: P(V = v), v = 0..n(n+1)/2. Each rank r is in
// the positive set with probability 1/2; the recurrence stays in
// probabilities (no huge counts), O(n³).
func signedRankPMF(n int) []float64 {
	pmfMu.Lock()
	defer pmfMu.Unlock()
	if p, ok := signedPMFs[n]; ok {
		return p
	}
	N := n * (n + 1) / 2
	p := make([]float64, N+1)
	p[0] = 1
	top := 0
	for r := 1; r <= n; r++ {
		top += r
		for v := top; v >= 0; v-- {
			q := p[v]
			if v >= r {
				q += p[v-r]
			}
			p[v] = q / 2
		}
	}
	signedPMFs[n] = p
	return p
}

// rankSumQuantile is R's qwilcox(p, n1, n2): the smallest q with
// P(U <= q) >= p; 0 when the level cannot be reached.
func rankSumQuantile(n1, n2 int, p float64) int {
	N := n1 * n2
	if n1 > exactRankSumMax || n2 > exactRankSumMax {
		mean := float64(N) / 2
		sd := math.Sqrt(float64(n1) * float64(n2) * float64(n1+n2+1) / 12)
		q := int(math.Ceil(mean - 0.5 + stats.StdNormal.InvCDF(p)*sd))
		return max(q, 0)
	}
	pmf := rankSumDist(n1, n2)
	cdf := 0.0
	for q := 0; q <= N; q++ {
		cdf += pmf[q]
		if cdf >= p*(1-1e-12) {
			return q
		}
	}
	return N
}

// rankSumDist is the exact null distribution of the Mann-Whitney U for
// sizes n1, n2 without ties, from Mann and Whitney's recurrence in
// probabilities: p_{a,b}(u) = a/(a+b)·p_{a-1,b}(u-b) + b/(a+b)·p_{a,b-1}(u).
func rankSumDist(n1, n2 int) []float64 {
	pmfMu.Lock()
	defer pmfMu.Unlock()
	key := [2]int{n1, n2}
	if p, ok := rankSumPMF[key]; ok {
		return p
	}
	// prev[b] is p_{a-1,b}, cur[b] is p_{a,b}; p_{0,b} = p_{a,0} = δ(u).
	prev := make([][]float64, n2+1)
	for b := range prev {
		prev[b] = []float64{1}
	}
	for a := 1; a <= n1; a++ {
		cur := make([][]float64, n2+1)
		cur[0] = []float64{1}
		for b := 1; b <= n2; b++ {
			d := make([]float64, a*b+1)
			wa := float64(a) / float64(a+b)
			wb := float64(b) / float64(a+b)
			for u, v := range prev[b] { // p_{a-1,b}(u-b): shift by b
				d[u+b] += wa * v
			}
			for u, v := range cur[b-1] {
				d[u] += wb * v
			}
			cur[b] = d
		}
		prev = cur
	}
	rankSumPMF[key] = prev[n2]
	return prev[n2]
}
