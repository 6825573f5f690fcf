package units

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MinRate and MaxRate bound an offered rate (per second). Below one per
// second a run of a few seconds holds too few operations to say anything;
// above ten million per second the schedule's interval (100 ns) is two or
// three clock reads, which no generator can keep, whatever the transport.
// A coarser clock lowers the ceiling (see RateCeiling).
const (
	MinRate = 1.0
	MaxRate = 10e6
)

// RateCeiling is the highest rate a clock of the given resolution can
// schedule: MaxRate, or one send per clock tick if ticks are coarser.
func RateCeiling(resolution time.Duration) float64 {
	if resolution <= 0 {
		return MaxRate
	}
	return min(MaxRate, 1e9/float64(resolution))
}

var rateSuffixes = []struct {
	suffix string
	mult   float64
}{{"k", 1e3}, {"K", 1e3}, {"M", 1e6}}

// ParseRate parses an offered rate per second: "500", "20k", "1.5M",
// optionally followed by "/s" ("20k/s"). It must lie within
// [MinRate, ceiling]; the error names the value and what is accepted. A
// lowercase m is refused: milli or mega, it cannot be told.
func ParseRate(s string, ceiling float64) (float64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "/s")
	if strings.HasSuffix(t, "m") {
		return 0, fmt.Errorf("rate %q: a lowercase m reads as milli or as mega; write M for millions or k for thousands (e.g. 2M, 2000k)", s)
	}
	mult := 1.0
	for _, sf := range rateSuffixes {
		if strings.HasSuffix(t, sf.suffix) {
			t, mult = strings.TrimSuffix(t, sf.suffix), sf.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bad rate %q (want a number per second like 500, 20k, 1.5M)", s)
	}
	v *= mult
	switch {
	case v <= 0:
		return 0, fmt.Errorf("rate %q must be positive (at least %g/s)", s, MinRate)
	case v < MinRate:
		return 0, fmt.Errorf("rate %q is below %g/s: too few operations per run to measure", s, MinRate)
	case v > ceiling:
		return 0, fmt.Errorf("rate %q is beyond what the clock can schedule (at most %s/s: an interval of %s)", s, CompactRate(ceiling), time.Duration(1e9/ceiling))
	}
	return v, nil
}

// ParseRateList parses a comma-separated list of rates, sorted ascending
// without duplicates.
func ParseRateList(s string, ceiling float64) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := ParseRate(part, ceiling)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// FormatRate prints a rate exactly and compactly for names and messages:
// 1000 → "1000", 2500.5 → "2500.5".
func FormatRate(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// CompactRate prints a rate for people: 10M, 20k, 1.5k, 500.
func CompactRate(v float64) string {
	trim := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch {
	case v >= 1e6 && math.Round(v/1e3) == v/1e3:
		return trim(v/1e6) + "M"
	case v >= 1e3 && math.Round(v) == v:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// Quantiles an SLO may bound, as typed (p999 is accepted for p99.9).
type sloKey struct {
	key string
	q   float64
}

var sloKeys = []sloKey{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p999", 99.9}}

// SLOBound is one objective: the latency at quantile Q (percent) must not
// exceed Max.
type SLOBound struct {
	Q   float64
	Max time.Duration
}

// SLO is a latency objective for open-loop runs: bounds on percentiles of
// latency (from each operation's scheduled start to its end) and,
// optionally, on the 99th percentile of the schedule lag (actual minus
// scheduled start). The zero value is "no objective".
type SLO struct {
	Latency []SLOBound    // ascending quantiles, one bound each
	Lag     time.Duration // bound on lag's p99; 0: none
}

// IsZero reports whether no bound was given.
func (s SLO) IsZero() bool { return len(s.Latency) == 0 && s.Lag == 0 }

// String is the SLO in the form ParseSLO reads ("" for none), canonical:
// quantiles ascending, p99.9 spelled so, durations as Go prints them.
func (s SLO) String() string {
	var parts []string
	for _, b := range s.Latency {
		parts = append(parts, fmt.Sprintf("p%s=%s", strconv.FormatFloat(b.Q, 'f', -1, 64), b.Max))
	}
	if s.Lag > 0 {
		parts = append(parts, "lag="+s.Lag.String())
	}
	return strings.Join(parts, ",")
}

// ParseSLO parses "p99=50us", "p99=50us,p99.9=1ms", "p99=1ms,lag=100us".
// Keys: p50, p90, p99, p99.9 (or p999) bound latency percentiles; lag
// bounds the 99th percentile of the schedule lag. Each key once; bounds
// positive.
func ParseSLO(s string) (SLO, error) {
	var out SLO
	const want = "want e.g. p99=50us or p99=50us,p99.9=1ms,lag=20us"
	if strings.TrimSpace(s) == "" {
		return out, fmt.Errorf("empty SLO (%s)", want)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return SLO{}, fmt.Errorf("bad SLO term %q (%s)", part, want)
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return SLO{}, fmt.Errorf("bad duration %q in SLO term %q (%s)", v, part, want)
		}
		if d <= 0 {
			return SLO{}, fmt.Errorf("SLO bound %q must be positive", part)
		}
		if k == "lag" {
			if seen[k] {
				return SLO{}, fmt.Errorf("SLO term %q given twice", k)
			}
			seen[k] = true
			out.Lag = d
			continue
		}
		i := slices.IndexFunc(sloKeys, func(e sloKey) bool { return e.key == k })
		if i < 0 {
			return SLO{}, fmt.Errorf("unknown SLO percentile %q (accepted: p50, p90, p99, p99.9, lag)", k)
		}
		q := sloKeys[i].q
		if slices.ContainsFunc(out.Latency, func(b SLOBound) bool { return b.Q == q }) {
			return SLO{}, fmt.Errorf("SLO percentile %q given twice", k)
		}
		out.Latency = append(out.Latency, SLOBound{Q: q, Max: d})
	}
	slices.SortFunc(out.Latency, func(a, b SLOBound) int { return cmp.Compare(a.Q, b.Q) })
	return out, nil
}
