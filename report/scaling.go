package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/ipcbench/ipcbench/results"
	"github.com/olekukonko/tablewriter"
)

// USL is a fit of Gunther's Universal Scalability Law,
// X(N) = λN / (1 + σ(N−1) + κN(N−1)): λ the throughput of one, σ
// contention (serialisation), κ coherency (crosstalk).
type USL struct {
	Lambda, Sigma, Kappa float64
	R2                   float64 // of predicted against measured throughput
	Points               int
}

// ErrTooFewPoints is returned by FitUSL below 3 points.
var ErrTooFewPoints = errors.New("USL fit needs at least 3 core counts")

// FitUSL fits the USL to throughputs x measured at core counts n (one of
// them 1). λ is the measured X(1); σ and κ come from least squares on the
// linearised form N/C(N) − 1 = σ(N−1) + κN(N−1), C = X/λ, constrained to
// be non-negative.
func FitUSL(n, x []float64) (USL, error) {
	u := USL{Points: len(n)}
	if len(n) != len(x) {
		return u, errors.New("USL: mismatched points")
	}
	if len(n) < 3 {
		return u, fmt.Errorf("%w (have %d)", ErrTooFewPoints, len(n))
	}
	for i := range n {
		if n[i] == 1 {
			u.Lambda = x[i]
		}
	}
	if u.Lambda <= 0 {
		return u, errors.New("USL: needs a positive throughput at cores=1")
	}
	// Normal equations for y = σ a + κ b over points with N > 1.
	var saa, sab, sbb, say, sby float64
	for i := range n {
		if n[i] <= 1 || x[i] <= 0 {
			continue
		}
		a, b := n[i]-1, n[i]*(n[i]-1)
		y := n[i]/(x[i]/u.Lambda) - 1
		saa += a * a
		sab += a * b
		sbb += b * b
		say += a * y
		sby += b * y
	}
	det := saa*sbb - sab*sab
	if det > 1e-12 {
		u.Sigma = (say*sbb - sby*sab) / det
		u.Kappa = (sby*saa - say*sab) / det
	}
	if det <= 1e-12 || u.Sigma < 0 || u.Kappa < 0 {
		// Refit with the offending coefficient at zero.
		s1, k1 := math.Max(0, say/saa), 0.0
		s2, k2 := 0.0, math.Max(0, sby/sbb)
		if sse(n, x, u.Lambda, s1, k1) <= sse(n, x, u.Lambda, s2, k2) {
			u.Sigma, u.Kappa = s1, k1
		} else {
			u.Sigma, u.Kappa = s2, k2
		}
	}
	var mean, tot float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		tot += (v - mean) * (v - mean)
	}
	u.R2 = 1
	if tot > 0 {
		u.R2 = 1 - sse(n, x, u.Lambda, u.Sigma, u.Kappa)/tot
	}
	return u, nil
}

func sse(n, x []float64, l, s, k float64) float64 {
	var e float64
	for i := range n {
		d := x[i] - uslX(n[i], l, s, k)
		e += d * d
	}
	return e
}

func uslX(n, l, s, k float64) float64 { return l * n / (1 + s*(n-1) + k*n*(n-1)) }

// Predict is the fitted throughput at n cores.
func (u USL) Predict(n float64) float64 { return uslX(n, u.Lambda, u.Sigma, u.Kappa) }

// Peak is where throughput stops growing: N* = sqrt((1−σ)/κ) and X(N*);
// ok is false when the fit has no peak (κ = 0: it only levels off).
func (u USL) Peak() (n, x float64, ok bool) {
	if u.Kappa <= 0 || u.Sigma >= 1 {
		return 0, 0, false
	}
	n = math.Sqrt((1 - u.Sigma) / u.Kappa)
	return n, u.Predict(n), true
}

// Efficiency is X(N) / (N × X(1)).
func Efficiency(n, xn, x1 float64) float64 {
	if n <= 0 || x1 <= 0 {
		return 0
	}
	return xn / (n * x1)
}

// scalePoint is one core count's aggregate throughput.
type scalePoint struct{ n, x float64 }

// scalingSeries groups benchmarks measured at several core counts by their
// name without cores=, in order of appearance, with every core count seen.
func scalingSeries(s *results.Set) (order []results.Name, groups map[results.Name][]scalePoint, cores []int) {
	groups = map[results.Name][]scalePoint{}
	coreSet := map[int]bool{}
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		c, err := strconv.Atoi(b.Name.Param(results.KeyCores))
		if err != nil || !b.OK() || b.Summary.Median <= 0 {
			continue
		}
		key := b.Name.Without(results.KeyCores)
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], scalePoint{float64(c), 1e9 / b.Summary.Median})
		coreSet[c] = true
	}
	cores = slices.Sorted(maps.Keys(coreSet))
	return order, groups, cores
}

// scaling renders, for every benchmark measured at several core counts,
// the aggregate throughput at each, the efficiency at the largest, and
// the USL fit (or why there is none).
func scaling(w io.Writer, s *results.Set, opts []tablewriter.Option) error {
	order, groups, cores := scalingSeries(s)
	if len(cores) < 2 {
		return nil
	}
	fmt.Fprintln(w, "\nscaling across cores (aggregate ops/s; efficiency = X(N) / (N × X(1)); USL fit):")
	t := tablewriter.NewTable(w, opts...)
	head := []any{"benchmark"}
	for _, c := range cores {
		head = append(head, fmt.Sprintf("N=%d", c))
	}
	t.Header(append(head, "efficiency", "USL")...)
	tooFew := 0
	for _, key := range order {
		pts := groups[key]
		if len(pts) < 2 {
			continue
		}
		row, few := scalingRow(key, pts, cores)
		if few {
			tooFew++
		}
		if err := t.Append(row...); err != nil {
			return fmt.Errorf("report: table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	if tooFew > 0 {
		fmt.Fprintf(w, "USL: not fitted where fewer than 3 core counts were measured (a 3-parameter curve through 2 points says nothing); run with e.g. --cores 1,2,4 on a larger machine.\n")
	}
	return nil
}

// scalingRow is one benchmark's throughput at each core count, its
// efficiency at the largest and its USL fit; tooFew when it had too few
// points for one.
func scalingRow(key results.Name, pts []scalePoint, cores []int) (row []any, tooFew bool) {
	slices.SortFunc(pts, func(a, b scalePoint) int { return cmp.Compare(a.n, b.n) })
	row = []any{string(key)}
	byN := map[float64]float64{}
	for _, p := range pts {
		byN[p.n] = p.x
	}
	for _, c := range cores {
		if x, ok := byN[float64(c)]; ok {
			row = append(row, Count(x))
		} else {
			row = append(row, "")
		}
	}
	last := pts[len(pts)-1]
	eff := ""
	if x1, ok := byN[1]; ok {
		eff = fmt.Sprintf("%.0f%% at N=%.0f", 100*Efficiency(last.n, last.x, x1), last.n)
	}
	var ns, xs []float64
	for _, p := range pts {
		ns, xs = append(ns, p.n), append(xs, p.x)
	}
	fit := ""
	if u, err := FitUSL(ns, xs); err != nil {
		if errors.Is(err, ErrTooFewPoints) {
			tooFew = true
			fit = fmt.Sprintf("no fit (%d points)", len(pts))
		} else {
			fit = "no fit: " + err.Error()
		}
	} else {
		fit = fmt.Sprintf("σ=%.3f κ=%.4f R²=%.2f", u.Sigma, u.Kappa, u.R2)
		if pn, px, ok := u.Peak(); ok {
			fit += fmt.Sprintf(", peak %s at N=%.1f", Count(px), pn)
		} else {
			fit += ", no peak"
		}
	}
	return append(row, eff, fit), tooFew
}
