package sys

import (
	"fmt"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestPlacements(t *testing.T) {
	cpus, err := AllowedCPUs()
	if err != nil || len(cpus) == 0 {
		t.Fatal(err)
	}
	topo := Topology(cpus)
	p, c, err := PlaceCPUs(SameCore, topo)
	if err != nil || p != c {
		t.Fatalf("same-core: %d %d %v", p, c, err)
	}
	p, c, err = PlaceCPUs(CrossCore, topo)
	if len(cpus) >= 2 && (err != nil || p == c) {
		t.Fatalf("cross-core on %d CPUs: %d %d %v", len(cpus), p, c, err)
	}
	if _, _, err := PlaceCPUs(CrossCore, topo[:1]); err == nil {
		t.Fatal("cross-core on one CPU must fail")
	}
	if _, _, err := PlaceCPUs("nowhere", topo); err == nil {
		t.Fatal("unknown placement must fail")
	}
}

func TestPinRestores(t *testing.T) {
	cpus, _ := AllowedCPUs()
	unpin, err := Pin(cpus[len(cpus)-1])
	if err != nil {
		t.Fatal(err)
	}
	now, _ := AllowedCPUs()
	if len(now) != 1 {
		t.Fatalf("pinned thread sees %v", now)
	}
	unpin()
}

func TestFingerprint(t *testing.T) {
	e := Fingerprint()
	if e.NumCPU < 1 || len(e.AllowedCPUs) < 1 || e.GoVersion == "" || e.Kernel == "" {
		t.Fatalf("incomplete fingerprint: %+v", e)
	}
	if len(e.Placements) == 0 || e.Placements[0] != SameCore {
		t.Fatalf("placements %v", e.Placements)
	}
}

func TestPlacePairsAndDefaultCores(t *testing.T) {
	topo := []results.CPUTopology{{CPU: 0, Core: 0}, {CPU: 1, Core: 1}, {CPU: 2, Core: 0, Siblings: []int{0}}, {CPU: 3, Core: 1, Siblings: []int{1}}}
	topo[0].Siblings, topo[1].Siblings = []int{2}, []int{3}
	pairs, note, err := PlacePairs(CrossCore, topo, 2)
	if err != nil || note != "" || pairs[0] != [2]int{0, 1} || pairs[1] != [2]int{2, 3} {
		t.Fatalf("cross-core x2: %v %q %v", pairs, note, err)
	}
	pairs, note, _ = PlacePairs(CrossCore, topo, 3)
	if note == "" || len(pairs) != 3 {
		t.Fatalf("cross-core x3 on 4 CPUs must say how it shared: %v %q", pairs, note)
	}
	pairs, _, _ = PlacePairs(SMTSibling, topo, 2)
	if pairs[0] != [2]int{0, 2} || pairs[1] != [2]int{1, 3} {
		t.Fatalf("smt pairs %v", pairs)
	}
	if _, _, err := PlacePairs(CrossSocket, topo, 1); err == nil {
		t.Fatal("cross-socket on one package accepted")
	}
	for _, c := range []struct {
		allowed int
		quota   float64
		want    string
	}{{1, 0, "[1]"}, {2, 0, "[1 2]"}, {16, 0, "[1 2 4 8 16]"}, {12, 0, "[1 2 4 8 12]"}, {16, 3.5, "[1 2 3]"}, {8, 0.5, "[1]"}} {
		if got := fmt.Sprint(DefaultCores(c.allowed, c.quota)); got != c.want {
			t.Errorf("DefaultCores(%d, %v) = %s, want %s", c.allowed, c.quota, got, c.want)
		}
	}
}
