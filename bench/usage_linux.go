package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// usageSnap is one reading of what this process, its reaped children, its
// tracked live children and the whole machine have spent on the CPU.
type usageSnap struct {
	ok                      bool
	selfUser, selfSys       time.Duration
	selfNvcsw, selfNivcsw   int64
	childUser, childSys     time.Duration
	childNvcsw, childNivcsw int64
	tracked                 time.Duration // CPU of live tracked children (utime+stime)
	busy, steal, total      uint64        // /proc/stat jiffies, all CPUs
	allowed                 int
}

func tvDur(tv unix.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

func snapUsage(track []int) usageSnap {
	var s usageSnap
	var self, ch unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &self) != nil || unix.Getrusage(unix.RUSAGE_CHILDREN, &ch) != nil {
		return s
	}
	s.ok = true
	s.selfUser, s.selfSys = tvDur(self.Utime), tvDur(self.Stime)
	s.selfNvcsw, s.selfNivcsw = self.Nvcsw, self.Nivcsw
	s.childUser, s.childSys = tvDur(ch.Utime), tvDur(ch.Stime)
	s.childNvcsw, s.childNivcsw = ch.Nvcsw, ch.Nivcsw
	for _, pid := range track {
		s.tracked += procCPU(pid)
	}
	s.busy, s.steal, s.total, _ = readProcStat()
	if cpus, err := AllowedCPUs(); err == nil {
		s.allowed = len(cpus)
	}
	return s
}

type usageDelta struct {
	selfUser, selfSys       time.Duration
	selfNvcsw, selfNivcsw   int64
	childUser, childSys     time.Duration
	childNvcsw, childNivcsw int64
	tracked                 time.Duration
	busy, steal, total      uint64
	allowed                 int
}

func (a usageSnap) sub(b usageSnap) usageDelta {
	return usageDelta{
		selfUser: a.selfUser - b.selfUser, selfSys: a.selfSys - b.selfSys,
		selfNvcsw: a.selfNvcsw - b.selfNvcsw, selfNivcsw: a.selfNivcsw - b.selfNivcsw,
		childUser: a.childUser - b.childUser, childSys: a.childSys - b.childSys,
		childNvcsw: a.childNvcsw - b.childNvcsw, childNivcsw: a.childNivcsw - b.childNivcsw,
		tracked: a.tracked - b.tracked,
		busy:    a.busy - b.busy, steal: a.steal - b.steal, total: a.total - b.total,
		allowed: a.allowed,
	}
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/PID/stat; it is
// 100 on every Linux ABI Go supports.
const clockTicks = 100

// readProcStat returns busy (user+nice+system+irq+softirq), steal and total
// jiffies over all CPUs.
func readProcStat() (busy, steal, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	v := make([]uint64, len(f)-1)
	for i := range v {
		v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice]
	busy = v[0] + v[1] + v[2] + v[5] + v[6]
	steal = v[7]
	for _, x := range v[:8] {
		total += x
	}
	return busy, steal, total, nil
}

// procCPU is a live process's utime+stime from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// loadWarnings is the load guard: CPU time others used while we measured.
// Foreign = machine busy time − ours (self, reaped children, tracked live
// children); its share is against wall time × the CPUs we may use.
func loadWarnings(d usageDelta, wall time.Duration, warnShare float64, w []string) (float64, []string) {
	if wall <= 0 || d.total == 0 {
		return 0, w
	}
	ncpu := d.allowed
	if ncpu <= 0 {
		ncpu = 1
	}
	jiffy := time.Second / clockTicks
	busy := time.Duration(d.busy) * jiffy
	ours := d.selfUser + d.selfSys + d.childUser + d.childSys + d.tracked
	foreign := busy - ours
	// /proc/stat counts in 10 ms ticks: ignore what rounding alone can make.
	slack := 3 * jiffy
	share := 0.0
	if foreign > slack {
		share = float64(foreign-slack) / float64(time.Duration(ncpu)*wall)
	}
	share = min(share, 1)
	if share > warnShare {
		w = append(w, fmt.Sprintf("busy machine: other processes used %.0f%% of the CPUs while this was measured; the figure may be inflated", 100*share))
	}
	steal := time.Duration(d.steal) * jiffy
	if steal > slack {
		if ss := float64(steal) / float64(time.Duration(ncpu)*wall); ss > 0.05 {
			w = append(w, fmt.Sprintf("hypervisor steal: %.0f%% of CPU time was taken by the host", 100*ss))
		}
	}
	return share, w
}

// resetPeakRSS resets this process's VmHWM to its current RSS, so the peak
// read after the timed region is that region's (ru_maxrss never goes down
// and carries over across exec: MEASURING.md pitfall 11).
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// ProcStatusKB reads a "Name: N kB" field of /proc/self/status (0 if absent).
func ProcStatusKB(field string) int64 { return procStatusKB(field) }

func procStatusKB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
