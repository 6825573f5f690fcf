package results

import (
	"math"
	"sort"

	"github.com/montanaflynn/stats"
	"golang.org/x/perf/benchmath"
)

// Summarize computes the summary of per-op values (one per sample). The
// median's 95% confidence interval is the distribution-free order-statistic
// interval of benchmath.AssumeNothing (the one benchstat prints); with fewer
// than 6 values it has no finite bounds and CI95Low/High stay 0.
// Percentiles here are of the values themselves; callers with a per-op
// histogram overwrite P50..P999.
func Summarize(values []float64) Summary {
	var s Summary
	s.N = len(values)
	if s.N == 0 {
		return s
	}
	d := stats.Float64Data(values)
	s.Mean, _ = d.Mean()
	s.Median, _ = d.Median()
	s.Min, _ = d.Min()
	s.Max, _ = d.Max()
	if s.N > 1 {
		s.Stddev, _ = d.StandardDeviationSample()
	}
	s.P50 = s.Median
	s.P90 = quantile(values, 0.90)
	s.P99 = quantile(values, 0.99)
	s.P999 = quantile(values, 0.999)
	if s.N >= 4 {
		if o, err := stats.QuartileOutliers(d); err == nil {
			s.Outliers = len(o.Extreme) + len(o.Mild)
		}
	}
	sm := benchmath.AssumeNothing.Summary(benchmath.NewSample(values, &benchmath.DefaultThresholds), 0.95)
	if !math.IsInf(sm.Lo, 0) && !math.IsInf(sm.Hi, 0) && !math.IsNaN(sm.Lo) && !math.IsNaN(sm.Hi) {
		s.CI95Low, s.CI95High = sm.Lo, sm.Hi
	}
	return s
}

// CIWidth is the relative width of the median's 95% CI, (hi-lo)/median, or
// +Inf when the interval has no finite bounds.
func (s Summary) CIWidth() float64 {
	if s.CI95High == 0 || s.Median == 0 {
		return math.Inf(1)
	}
	return (s.CI95High - s.CI95Low) / s.Median
}

// quantile is the nearest-rank-with-interpolation quantile of values, q in
// [0,1]. (stats.Percentile rejects 0 and interpolates differently at the
// tails; this matches the usual "type 7" definition.)
func quantile(values []float64, q float64) float64 {
	x := append([]float64(nil), values...)
	sort.Float64s(x)
	if len(x) == 1 {
		return x[0]
	}
	pos := q * float64(len(x)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return x[lo] + (x[hi]-x[lo])*frac
}

// Values returns the per-op values of b's samples.
func (b *Benchmark) Values() []float64 {
	v := make([]float64, len(b.Samples))
	for i, s := range b.Samples {
		v[i] = s.NsPerOp
	}
	return v
}
