package scenarios

import (
	"testing"

	"github.com/ipcbench/ipcbench/internal/sys"
)

// TestPlanSizeAcrossMachines builds `run all`'s default plan for a 2, 16
// and 64-CPU machine: only the representative subset grows with the core
// counts, so a big machine runs a few dozen benchmarks more, not the cross
// product times the core counts (over an hour at 64 CPUs before).
func TestPlanSizeAcrossMachines(t *testing.T) {
	count := func(ncpu int, full bool) (total, swept int) {
		cpus := make([]int, ncpu)
		for i := range cpus {
			cpus[i] = i
		}
		o := Options{CPUs: cpus, Cores: sys.DefaultCores(ncpu, 0), Full: full, SweepAll: full}
		for _, g := range Groups {
			list, err := g.Build(o)
			if err != nil {
				t.Fatalf("%d CPUs, %s: %v", ncpu, g.Name, err)
			}
			total += len(list)
			for _, s := range list {
				if s.Name().Param("cores") != "1" {
					swept++
				}
			}
		}
		return total, swept
	}
	base, _ := count(1, false)
	for _, n := range []int{2, 16, 64} {
		total, swept := count(n, false)
		levels := len(sys.DefaultCores(n, 0)) - 1
		full, _ := count(n, true)
		t.Logf("%2d CPUs: %d benchmarks (%d at cores>1 over %d extra core counts); --full: %d", n, total, swept, levels, full)
		if swept%levels != 0 || swept/levels > 10 {
			t.Errorf("%d CPUs: %d swept benchmarks over %d core counts: the sweep subset must be small and the same at each", n, swept, levels)
		}
		if total-swept < base-1 || total > 250 {
			t.Errorf("%d CPUs: %d benchmarks", n, total)
		}
	}
}
