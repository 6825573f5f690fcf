// Package units parses and prints the values users type on the command
// line: byte sizes ("4KiB", "1MiB"), lists of them, and lists of counts.
// Every parser returns an error that names the bad value and what is
// accepted, ready to be shown as a usage error.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var sizeSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"B", 1},
}

// ParseSize parses a byte count: "64", "4KiB", "4K" (= 4096), "1MiB",
// "1GiB", "1MB" (= 10^6). It must be positive.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, sf := range sizeSuffixes {
		if strings.HasSuffix(t, sf.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, sf.suffix)), sf.mult
			break
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q (want a positive byte count like 64, 4KiB, 1MiB, 1GiB)", s)
	}
	if v <= 0 {
		return 0, fmt.Errorf("size %q must be positive", s)
	}
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return v * mult, nil
}

// ParseSizeList parses a comma-separated list of sizes.
func ParseSizeList(s string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		v, err := ParseSize(part)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseIntList parses a comma-separated list of positive integers.
func ParseIntList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("bad number %q in list %q (want positive integers like 1,2,4)", part, s)
		}
		if v <= 0 {
			return nil, fmt.Errorf("%d in list %q must be positive", v, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// FormatSize prints a byte count compactly: 64B, 4KiB, 64MiB.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
