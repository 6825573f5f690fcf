package units

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	good := map[string]float64{"500": 500, "20k": 20000, "20k/s": 20000, "1.5M": 1.5e6, "1": 1, "10M": 10e6, " 2K ": 2000}
	for in, want := range good {
		if got, err := ParseRate(in, MaxRate); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %g, %v; want %g", in, got, err, want)
		}
	}
	bad := map[string]string{
		"0":     "must be positive",
		"-5":    "must be positive",
		"0.5":   "below 1/s",
		"20M":   "beyond what the clock can schedule",
		"fast":  "bad rate",
		"":      "bad rate",
		"NaN":   "bad rate",
		"Inf":   "bad rate",
		"1e400": "bad rate",
		"2m":    "write M for millions or k for thousands",
		"2m/s":  "lowercase m",
	}
	for in, want := range bad {
		if _, err := ParseRate(in, MaxRate); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRate(%q) = %v; want an error saying %q", in, err, want)
		}
	}
	// A coarse clock lowers the ceiling: 4 ms ticks schedule 250/s at most.
	if c := RateCeiling(4 * time.Millisecond); c != 250 {
		t.Fatalf("ceiling of a 4ms clock = %g, want 250", c)
	}
	if _, err := ParseRate("1k", RateCeiling(4*time.Millisecond)); err == nil || !strings.Contains(err.Error(), "interval of 4ms") {
		t.Fatalf("1k/s on a 4ms clock: %v", err)
	}
	l, err := ParseRateList("20k,1k,20000", MaxRate)
	if err != nil || len(l) != 2 || l[0] != 1000 || l[1] != 20000 {
		t.Fatalf("ParseRateList = %v, %v; want [1000 20000]", l, err)
	}
}

func TestParseSLO(t *testing.T) {
	s, err := ParseSLO("p99.9=1ms, p99=50us,lag=20µs")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Latency) != 2 || s.Latency[0] != (SLOBound{99, 50 * time.Microsecond}) || s.Latency[1] != (SLOBound{99.9, time.Millisecond}) || s.Lag != 20*time.Microsecond {
		t.Fatalf("parsed %+v", s)
	}
	if got := s.String(); got != "p99=50µs,p99.9=1ms,lag=20µs" {
		t.Fatalf("String() = %q", got)
	}
	back, err := ParseSLO(s.String())
	if err != nil || back.String() != s.String() {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if s, _ := ParseSLO("p999=2ms"); len(s.Latency) != 1 || s.Latency[0].Q != 99.9 {
		t.Fatalf("p999 not read as p99.9: %+v", s)
	}
	bad := map[string]string{
		"":                "empty SLO",
		"p99":             "bad SLO term",
		"p99=fast":        "bad duration",
		"p99=0s":          "must be positive",
		"p99=-1ms":        "must be positive",
		"p98=1ms":         `unknown SLO percentile "p98" (accepted: p50, p90, p99, p99.9, lag)`,
		"p99=1ms,p99=2ms": "given twice",
		"lag=1ms,lag=2ms": "given twice",
		"=1ms":            "bad SLO term",
	}
	for in, want := range bad {
		if _, err := ParseSLO(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSLO(%q) = %v; want an error saying %q", in, err, want)
		}
	}
	if !(SLO{}).IsZero() || (SLO{Lag: 1}).IsZero() {
		t.Fatal("IsZero")
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"1k", "0", "-1", "1e9", "1.5M/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRate(s, MaxRate)
		if err == nil && (v < MinRate || v > MaxRate) {
			t.Fatalf("ParseRate(%q) = %g without error", s, v)
		}
	})
}
