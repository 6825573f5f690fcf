package sys

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Usage is one reading of what this process, its reaped children, its
// tracked live children and the whole machine have spent on the CPU.
type Usage struct {
	OK                      bool
	SelfUser, SelfSys       time.Duration
	SelfNvcsw, SelfNivcsw   int64
	ChildUser, ChildSys     time.Duration // reaped children (RUSAGE_CHILDREN)
	ChildNvcsw, ChildNivcsw int64
	Tracked                 time.Duration // CPU of live tracked children (utime+stime)
	Busy, Steal, Total      uint64        // /proc/stat jiffies, all CPUs
	Allowed                 int           // CPUs this process may use
}

func tvDur(tv unix.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}

// ReadUsage takes a reading; track are live children whose CPU time counts
// as ours (their rusage arrives only when they are reaped).
func ReadUsage(track []int) Usage {
	var s Usage
	var self, ch unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &self) != nil || unix.Getrusage(unix.RUSAGE_CHILDREN, &ch) != nil {
		return s
	}
	s.OK = true
	s.SelfUser, s.SelfSys = tvDur(self.Utime), tvDur(self.Stime)
	s.SelfNvcsw, s.SelfNivcsw = self.Nvcsw, self.Nivcsw
	s.ChildUser, s.ChildSys = tvDur(ch.Utime), tvDur(ch.Stime)
	s.ChildNvcsw, s.ChildNivcsw = ch.Nvcsw, ch.Nivcsw
	for _, pid := range track {
		s.Tracked += ProcCPU(pid)
	}
	s.Busy, s.Steal, s.Total, _ = readProcStat()
	if cpus, err := AllowedCPUs(); err == nil {
		s.Allowed = len(cpus)
	}
	return s
}

// Sub is the usage between b and a (a later).
func (a Usage) Sub(b Usage) Usage {
	return Usage{
		OK:       a.OK && b.OK,
		SelfUser: a.SelfUser - b.SelfUser, SelfSys: a.SelfSys - b.SelfSys,
		SelfNvcsw: a.SelfNvcsw - b.SelfNvcsw, SelfNivcsw: a.SelfNivcsw - b.SelfNivcsw,
		ChildUser: a.ChildUser - b.ChildUser, ChildSys: a.ChildSys - b.ChildSys,
		ChildNvcsw: a.ChildNvcsw - b.ChildNvcsw, ChildNivcsw: a.ChildNivcsw - b.ChildNivcsw,
		Tracked: a.Tracked - b.Tracked,
		Busy:    a.Busy - b.Busy, Steal: a.Steal - b.Steal, Total: a.Total - b.Total,
		Allowed: a.Allowed,
	}
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/PID/stat; it is
// 100 on every Linux ABI Go supports.
const clockTicks = 100

// jiffy is one clock tick.
const jiffy = time.Second / clockTicks

// Shares is the load guard's reading of a delta over wall time: the share
// of the allowed CPUs that other processes used (machine busy time minus
// ours: self, reaped children, tracked live children) and the share the
// hypervisor stole. /proc/stat counts in 10 ms ticks, so what rounding
// alone can make (3 ticks) is ignored.
func (d Usage) Shares(wall time.Duration) (foreign, steal float64) {
	if wall <= 0 || d.Total == 0 {
		return 0, 0
	}
	ncpu := time.Duration(max(1, d.Allowed))
	busy := time.Duration(d.Busy) * jiffy
	ours := d.SelfUser + d.SelfSys + d.ChildUser + d.ChildSys + d.Tracked
	slack := 3 * jiffy
	if f := busy - ours; f > slack {
		foreign = min(1, float64(f-slack)/float64(ncpu*wall))
	}
	if st := time.Duration(d.Steal) * jiffy; st > slack {
		steal = min(1, float64(st)/float64(ncpu*wall))
	}
	return foreign, steal
}

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

// ProcCPU is a live process's CPU time from /proc/PID/stat, its own
// (utime+stime) and that of the children it reaped (cutime+cstime): a
// tracked child that spawns (a Node driver) spends its children's CPU on
// our behalf too. 0 if gone.
func ProcCPU(pid int) time.Duration {
	t, _ := ReadProcTimes(pid)
	return t.User + t.Sys + t.ChildUser + t.ChildSys
}

// procStatFields are the fields of /proc/PID/stat after the command name
// (field 3, the state, is the first); nil if the process is gone.
func procStatFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// ResetPeakRSS resets this process's VmHWM to its current RSS, so that a
// later PeakRSS is the peak of what happened in between. ru_maxrss cannot
// serve: it never goes down and carries over across exec (docs/measuring.md,
// pitfall 11). This is the one place that resets it.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// StatusKB reads a "Name: N kB" field of /proc/self/status (0 if absent):
// VmRSS, VmHWM.
func StatusKB(field string) int64 {
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

// Rusage is this process's own CPU cost since a mark: what a long-lived
// child reports to its parent for its loop alone, after its start-up.
// (ProcessState.SysUsage would include the Go runtime's 1-2 ms of start-up:
// docs/measuring.md, pitfall 11.)
type Rusage struct {
	UserNS, SysNS int64
	Nvcsw, Nivcsw int64
}

// RusageMark is a reading to take deltas from.
type RusageMark struct{ ru unix.Rusage }

// MarkRusage reads this process's rusage now.
func MarkRusage() RusageMark {
	var m RusageMark
	_ = unix.Getrusage(unix.RUSAGE_SELF, &m.ru)
	return m
}

// Since is the rusage spent since the mark.
func (m RusageMark) Since() Rusage {
	var now unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &now)
	return Rusage{
		UserNS: (tvDur(now.Utime) - tvDur(m.ru.Utime)).Nanoseconds(),
		SysNS:  (tvDur(now.Stime) - tvDur(m.ru.Stime)).Nanoseconds(),
		Nvcsw:  now.Nvcsw - m.ru.Nvcsw, Nivcsw: now.Nivcsw - m.ru.Nivcsw,
	}
}

// PPid is a process's parent (0 if it is gone).
func PPid(pid int) int {
	f := procStatFields(pid)
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// ChildrenOf lists the live (and zombie) processes whose parent is ppid.
func ChildrenOf(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && PPid(pid) == ppid {
			out = append(out, pid)
		}
	}
	return out
}
