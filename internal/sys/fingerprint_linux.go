// Package sys holds the facts of the machine ipcbench measures on and the
// means to act on them: allowed CPUs, pinning of threads and processes,
// topology and the placement of pairs on it, the environment fingerprint
// stored with every run, rusage and /proc readings (CPU cost, the load
// guard, peak memory). Nothing here times anything.
package sys

import (
	"bufio"
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
