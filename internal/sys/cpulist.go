package sys

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ParseCPUList parses a Linux-style CPU list ("0", "0-3", "0,2,4-5") into
// sorted, distinct CPU numbers.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty CPU list (want e.g. 0 or 0-3 or 0,2)")
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad CPU %q in list %q (want non-negative integers or ranges like 0-3)", part, s)
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			if err != nil || b < a {
				return nil, fmt.Errorf("bad CPU range %q in list %q (want low-high with low <= high)", part, s)
			}
		}
		if b > 4095 {
			return nil, fmt.Errorf("CPU %d in list %q is out of range (0-4095)", b, s)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CheckCPUs reports an error naming the first CPU of want not in allowed.
func CheckCPUs(want, allowed []int) error {
	for _, c := range want {
		if !slices.Contains(allowed, c) {
			return fmt.Errorf("CPU %d is not in the allowed set %s", c, FormatCPUList(allowed))
		}
	}
	return nil
}

// FormatCPUList is the inverse of ParseCPUList ("0-3,6").
func FormatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", cpus[i], cpus[j])
		} else {
			fmt.Fprintf(&b, "%d", cpus[i])
		}
		i = j + 1
	}
	return b.String()
}
