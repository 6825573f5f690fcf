package results

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry of every per-op histogram ipcbench keeps: 1 ns to
// 100 s at 3 significant figures (0.1% resolution).
const (
	HistMin    = 1
	HistMax    = 100e9
	HistDigits = 3
)

// NewHist is an empty per-op histogram of the standard geometry.
func NewHist() *hdrhistogram.Histogram { return hdrhistogram.New(HistMin, HistMax, HistDigits) }

// EncodeHist is h in the compact form stored in Summary.Hist ("" when empty).
func EncodeHist(h *hdrhistogram.Histogram) string {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeHist reads Summary.Hist back (nil, nil when empty).
func DecodeHist(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("results: per-op histogram: %w", err)
	}
	return h, nil
}

// HistSummary summarises a per-op histogram (all figures per op), keeping
// the histogram itself in compact form.
func HistSummary(h *hdrhistogram.Histogram) Summary {
	return Summary{
		N:      int(h.TotalCount()),
		Mean:   h.Mean(),
		Median: float64(h.ValueAtQuantile(50)),
		Stddev: h.StdDev(),
		Min:    float64(h.Min()),
		Max:    float64(h.Max()),
		P50:    float64(h.ValueAtQuantile(50)),
		P90:    float64(h.ValueAtQuantile(90)),
		P99:    float64(h.ValueAtQuantile(99)),
		P999:   float64(h.ValueAtQuantile(99.9)),
		Hist:   EncodeHist(h),
	}
}
