package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/results"
	"golang.org/x/sys/unix"
)

// Fingerprint describes the machine and process a run measures on. Facts
// that cannot be read are left empty rather than guessed.
func Fingerprint() results.Env {
	e := results.Env{
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		GoVersion:  runtime.Version(),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Pinning:    "sched_setaffinity per measuring thread (parent and child), LockOSThread",
	}
	e.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Version[:])
	}
	e.AllowedCPUs, _ = AllowedCPUs()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "model name":
				if e.CPUModel == "" {
					e.CPUModel = v
				}
			case "flags":
				if slices.Contains(strings.Fields(v), "hypervisor") {
					e.Virtualized = true
				}
			}
		}
		f.Close()
	}
	if v := readTrim("/sys/class/dmi/id/sys_vendor"); v != "" && e.Virtualized {
		e.Hypervisor = v
	} else if v := readTrim("/sys/hypervisor/type"); v != "" {
		e.Virtualized, e.Hypervisor = true, v
	}
	e.CgroupCPUMax, e.CgroupCPUs = CgroupCPU()
	e.Governor = readTrim("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
	if v := readTrim("/sys/devices/system/cpu/smt/control"); v != "" {
		e.SMT = v
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(data))
		for i := 0; i < 3 && i < len(f); i++ {
			e.LoadAvg[i], _ = strconv.ParseFloat(f[i], 64)
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					kb, _ := strconv.ParseUint(f[0], 10, 64)
					e.MemTotalBytes = kb * 1024
				}
			}
		}
	}
	e.Topology = Topology(e.AllowedCPUs)
	e.Placements = AvailablePlacements(e.Topology)
	return e
}

func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// CgroupCPU reads the cgroup v2 CPU quota of this process ("max 100000" when
// unlimited) and the number of CPUs it amounts to (0: unlimited).
func CgroupCPU() (string, float64) {
	rel := "/"
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				rel = p
			}
		}
	}
	for dir := filepath.Join("/sys/fs/cgroup", rel); ; dir = filepath.Dir(dir) {
		if v := readTrim(filepath.Join(dir, "cpu.max")); v != "" {
			f := strings.Fields(v)
			if len(f) == 2 && f[0] != "max" {
				q, _ := strconv.ParseFloat(f[0], 64)
				p, _ := strconv.ParseFloat(f[1], 64)
				if p > 0 {
					return v, q / p
				}
			}
			return v, 0
		}
		if dir == "/sys/fs/cgroup" || dir == "/" || dir == "." {
			return "", 0
		}
	}
}

// Topology reads core and package ids of the given CPUs from sysfs; CPUs
// whose topology is unreadable get core = cpu, package 0.
func Topology(cpus []int) []results.CPUTopology {
	var out []results.CPUTopology
	for _, c := range cpus {
		base := "/sys/devices/system/cpu/cpu" + strconv.Itoa(c) + "/topology/"
		t := results.CPUTopology{CPU: c, Core: c}
		if v, err := strconv.Atoi(readTrim(base + "core_id")); err == nil {
			t.Core = v
		}
		if v, err := strconv.Atoi(readTrim(base + "physical_package_id")); err == nil && v >= 0 {
			t.Package = v
		}
		if sib, err := ParseCPUList(readTrim(base + "thread_siblings_list")); err == nil {
			for _, s := range sib {
				if s != c && slices.Contains(cpus, s) {
					t.Siblings = append(t.Siblings, s)
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// Placement names where the two processes of a pair run.
const (
	SameCore    = "same-core"    // both on one logical CPU
	CrossCore   = "cross-core"   // two different physical cores, same package
	SMTSibling  = "smt-sibling"  // two hardware threads of one core
	CrossSocket = "cross-socket" // two packages
	Unpinned    = "unpinned"     // the scheduler decides
)

// Placements lists every placement name ipcbench knows.
var Placements = []string{SameCore, CrossCore, SMTSibling, CrossSocket, Unpinned}

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
	return 0, 0, errPlacement(placement, "unknown placement (accepted: "+strings.Join(Placements, ", ")+")")
}

type placementError struct{ placement, why string }

func (e placementError) Error() string {
	return "placement " + e.placement + " cannot be honoured here: " + e.why
}

func errPlacement(p, why string) error { return placementError{p, why} }

// AvailablePlacements lists the placements the topology can honour.
func AvailablePlacements(topo []results.CPUTopology) []string {
	var out []string
	for _, p := range Placements {
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
