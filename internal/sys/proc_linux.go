package sys

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ProcTimes is a live (or zombie) process's CPU time from /proc/PID/stat,
// its own and that of the children it reaped, in clock ticks (10 ms).
type ProcTimes struct {
	User, Sys           time.Duration // utime, stime
	ChildUser, ChildSys time.Duration // cutime, cstime: its reaped children
}

// ReadProcTimes reads a process's ProcTimes; ok is false when it is gone.
func ReadProcTimes(pid int) (t ProcTimes, ok bool) {
	f := procStatFields(pid)
	if len(f) < 15 {
		return t, false
	}
	v := func(i int) time.Duration {
		n, _ := strconv.ParseUint(f[i], 10, 64)
		return time.Duration(n) * jiffy
	}
	return ProcTimes{User: v(11), Sys: v(12), ChildUser: v(13), ChildSys: v(14)}, true
}

// ProcEnv returns one variable of a process's initial environment
// (/proc/PID/environ: what it was started with, even if it later removed
// the variable from its own view, as Node does with NODE_CHANNEL_FD).
func ProcEnv(pid int, name string) (string, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// DescribeFD says what a process's descriptor is, from /proc alone:
// "pipe [inode]", "AF_UNIX SOCK_STREAM socket, unnamed (a socketpair)",
// a path...
func DescribeFD(pid, fd int) (string, error) {
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	if err != nil {
		return "", fmt.Errorf("sys: fd %d of pid %d: %w", fd, pid, err)
	}
	switch {
	case strings.HasPrefix(link, "pipe:"):
		return "pipe " + strings.TrimPrefix(link, "pipe:"), nil
	case strings.HasPrefix(link, "socket:["):
		inode := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
		if d, ok := unixSocket(pid, inode); ok {
			return d, nil
		}
		return "socket (not AF_UNIX) " + link, nil
	}
	return link, nil
}

// unixSocket finds a socket inode in the process's /proc/PID/net/unix.
func unixSocket(pid int, inode string) (string, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/unix")
	if err != nil {
		return "", false
	}
	// Num RefCount Protocol Flags Type St Inode [Path]
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 7 || f[6] != inode {
			continue
		}
		typ := map[string]string{"0001": "SOCK_STREAM", "0002": "SOCK_DGRAM", "0005": "SOCK_SEQPACKET"}[f[4]]
		if typ == "" {
			typ = "type " + f[4]
		}
		if len(f) > 7 {
			return "AF_UNIX " + typ + " socket bound to " + f[7], true
		}
		return "AF_UNIX " + typ + " socket, unnamed (a socketpair)", true
	}
	return "", false
}

// SharedMappings lists a process's shared writable mappings (/proc/PID/maps
// lines with rw-s): where two processes could exchange data without a
// descriptor. Empty when there are none.
func SharedMappings(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, fmt.Errorf("sys: maps of pid %d: %w", pid, err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasPrefix(f[1], "rw") && strings.HasSuffix(f[1], "s") {
			name := "(anonymous)"
			if len(f) >= 6 {
				name = strings.Join(f[5:], " ")
			}
			out = append(out, name)
		}
	}
	return out, nil
}

// PinPid restricts every thread of another process to cpu (cpu < 0: no
// change). Threads it creates later inherit the mask from their creator,
// so this is for a process whose threads are all started (a Node worker
// after its first message); reading the task list twice catches one that
// appeared meanwhile.
func PinPid(pid, cpu int) error {
	if cpu < 0 {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	for range 2 {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return fmt.Errorf("sys: threads of pid %d: %w", pid, err)
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("sys: pin pid %d thread %d to cpu %d: %w", pid, tid, cpu, err)
			}
		}
	}
	return nil
}
