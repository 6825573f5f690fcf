package sys

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// The placement names are results' vocabulary; they are repeated here so
// this file reads on its own.
const (
	SameCore    = results.SameCore
	CrossCore   = results.CrossCore
	SMTSibling  = results.SMTSibling
	CrossSocket = results.CrossSocket
	Unpinned    = results.Unpinned
)

// PlaceCPUs picks the parent's and the child's CPU for a placement from the
// topology, or says why the machine cannot honour it. Unpinned gives -1, -1.
func PlaceCPUs(placement string, topo []results.CPUTopology) (parent, child int, err error) {
	if placement == Unpinned {
		return -1, -1, nil
	}
	if len(topo) == 0 {
		return 0, 0, errPlacement(placement, "no CPU topology")
	}
	first := topo[0]
	switch placement {
	case SameCore:
		return first.CPU, first.CPU, nil
	case SMTSibling:
		for _, t := range topo {
			if len(t.Siblings) > 0 {
				return t.CPU, t.Siblings[0], nil
			}
		}
		return 0, 0, errPlacement(placement, "no two allowed CPUs share a core (SMT off or absent)")
	case CrossCore:
		for _, a := range topo {
			for _, b := range topo {
				if a.Package == b.Package && a.Core != b.Core {
					return a.CPU, b.CPU, nil
				}
			}
		}
		return 0, 0, errPlacement(placement, "fewer than two physical cores allowed")
	case CrossSocket:
		for _, b := range topo {
			if b.Package != first.Package {
				return first.CPU, b.CPU, nil
			}
		}
		return 0, 0, errPlacement(placement, "all allowed CPUs are on one package")
	}
	return 0, 0, errPlacement(placement, "unknown placement (accepted: "+strings.Join(results.Placements, ", ")+")")
}

type placementError struct{ placement, why string }

func (e placementError) Error() string {
	return "placement " + e.placement + " cannot be honoured here: " + e.why
}

func errPlacement(p, why string) error { return placementError{p, why} }

// AvailablePlacements lists the placements the topology can honour.
func AvailablePlacements(topo []results.CPUTopology) []string {
	var out []string
	for _, p := range results.Placements {
		if _, _, err := PlaceCPUs(p, topo); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// PlacePairs places n concurrent parent–child pairs: each pair on its own
// CPUs where there are enough, else sharing them round-robin. note says
// how they were placed when the machine could not give every pair its own
// CPUs (empty when it could).
func PlacePairs(placement string, topo []results.CPUTopology, n int) (pairs [][2]int, note string, err error) {
	if n < 1 {
		return nil, "", fmt.Errorf("%d pairs", n)
	}
	if _, _, err := PlaceCPUs(placement, topo); err != nil {
		return nil, "", err
	}
	if placement == Unpinned {
		for i := 0; i < n; i++ {
			pairs = append(pairs, [2]int{-1, -1})
		}
		return pairs, "", nil
	}
	// One CPU per physical core first, then the remaining SMT siblings: pairs
	// spread over cores before they double up on hyperthreads.
	var order []int
	seen := map[[2]int]bool{}
	for _, t := range topo {
		if k := [2]int{t.Package, t.Core}; !seen[k] {
			seen[k] = true
			order = append(order, t.CPU)
		}
	}
	for _, t := range topo {
		if !slices.Contains(order, t.CPU) {
			order = append(order, t.CPU)
		}
	}
	L := len(order)
	switch placement {
	case SameCore:
		for i := 0; i < n; i++ {
			c := order[i%L]
			pairs = append(pairs, [2]int{c, c})
		}
		if n > L {
			note = fmt.Sprintf("%d same-core pairs on %d CPUs: %d pairs share each CPU", n, L, (n+L-1)/L)
		}
	case CrossCore:
		for i := 0; i < n; i++ {
			pairs = append(pairs, [2]int{order[(2*i)%L], order[(2*i+1)%L]})
		}
		if 2*n > L {
			note = fmt.Sprintf("%d cross-core pairs need %d CPUs, %d allowed: pair i runs on CPUs 2i and 2i+1 (mod %d), so pairs share CPUs", n, 2*n, L, L)
		}
	case SMTSibling:
		var sib [][2]int
		for _, t := range topo {
			for _, s := range t.Siblings {
				if t.CPU < s {
					sib = append(sib, [2]int{t.CPU, s})
				}
			}
		}
		for i := 0; i < n; i++ {
			pairs = append(pairs, sib[i%len(sib)])
		}
		if n > len(sib) {
			note = fmt.Sprintf("%d smt-sibling pairs on %d cores: pairs share cores", n, len(sib))
		}
	case CrossSocket:
		a, b := []int{}, []int{}
		for _, t := range topo {
			if t.Package == topo[0].Package {
				a = append(a, t.CPU)
			} else {
				b = append(b, t.CPU)
			}
		}
		for i := 0; i < n; i++ {
			pairs = append(pairs, [2]int{a[i%len(a)], b[i%len(b)]})
		}
		if n > min(len(a), len(b)) {
			note = fmt.Sprintf("%d cross-socket pairs on %d+%d CPUs: pairs share CPUs", n, len(a), len(b))
		}
	}
	return pairs, note, nil
}

// DefaultCores is 1, the powers of two below the CPU count, and the CPU
// count itself, where that count is the allowed CPUs capped by the cgroup
// quota (rounded down, at least 1).
func DefaultCores(allowed int, quota float64) []int {
	n := allowed
	if quota > 0 && int(quota) < n {
		n = max(1, int(quota))
	}
	out := []int{1}
	for c := 2; c < n; c *= 2 {
		out = append(out, c)
	}
	if n > 1 {
		out = append(out, n)
	}
	return out
}
