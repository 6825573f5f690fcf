// Package human prints figures for people: durations, rates and byte
// counts with three significant figures and a unit that fits.
package human

import (
	"fmt"
	"math"
	"strconv"
)

// Dur humanises nanoseconds: 423ns, 4.23µs, 1.23ms, 1.23s.
func Dur(ns float64) string {
	a := math.Abs(ns)
	switch {
	case ns == 0:
		return "0"
	case a < 1e3:
		return Sig3(ns) + "ns"
	case a < 1e6:
		return Sig3(ns/1e3) + "µs"
	case a < 1e9:
		return Sig3(ns/1e6) + "ms"
	default:
		return Sig3(ns/1e9) + "s"
	}
}

// Sig3 prints v with three significant figures (at most two decimals).
func Sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// Count humanises a rate or a count: 1234 → 1.23k.
func Count(v float64) string {
	switch {
	case v >= 1e9:
		return Sig3(v/1e9) + "G"
	case v >= 1e6:
		return Sig3(v/1e6) + "M"
	case v >= 1e3:
		return Sig3(v/1e3) + "k"
	default:
		return Sig3(v)
	}
}

// Bytes humanises a byte count: 4KiB, 12.5MiB.
func Bytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.1fGiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1fMiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.0fKiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0fB", v)
}
