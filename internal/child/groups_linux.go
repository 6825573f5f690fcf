package child

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/ipcbench/ipcbench/internal/sys"
	"golang.org/x/sys/unix"
)

// Every child runs in a process group of its own (Setpgid), so that what
// it starts (the command /bin/sh -c forks, a script's own children) is
// killed with it: Kill and KillAll signal the whole group. The registry
// knows the live ones, so that an interrupt or a per-op timeout can end
// every child at once without a watcher goroutine per child (which a
// measured spawn would pay for).

var live struct {
	sync.Mutex
	procs map[int]*os.Process
}

func register(p *os.Process) {
	live.Lock()
	if live.procs == nil {
		live.procs = map[int]*os.Process{}
	}
	live.procs[p.Pid] = p
	live.Unlock()
}

func unregister(pid int) {
	live.Lock()
	delete(live.procs, pid)
	live.Unlock()
}

func isLive(pid int) bool {
	live.Lock()
	defer live.Unlock()
	return live.procs[pid] != nil
}

// killProc SIGKILLs a child and then the process group it leads. A pid
// alone is not safe: once the child has been reaped (a Wait in another
// goroutine), its number may belong to another process, and -pid to
// another group. So the child is signalled through its os.Process first
// (a pidfd where the kernel has them), which says os.ErrProcessDone once
// it has been reaped, and only a child that was still ours (alive, or a
// zombie: not reaped, so its pid, the group's id, is not free) gets its
// group killed. What is left is the instant between the two calls, in
// which a concurrent Wait would have to reap the child and the kernel
// hand its pid to a new process.
func killProc(p *os.Process) {
	if p == nil {
		return
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return // reaped (os.ErrProcessDone): nothing of ours to kill by number
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// killGroup SIGKILLs the process group a child leads, and the child
// itself should it have left the group, by number: only for a child that
// nobody else can reap (an orphan that ReapOrphans waits for itself).
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// KillAll kills every live child's process group, and every other
// direct child but the guardian: on an interrupt, on a per-op timeout,
// before exiting. Their Waits then return. The scan of /proc finds a child
// not yet registered: one between its clone and its exec, for which the
// starting thread waits (os/exec uses vfork), stopped, say, by SIGSTOP.
// Registered children are signalled through their os.Process only (see
// killProc): a Wait may reap one, and its pid be reused, at any moment.
func KillAll() {
	live.Lock()
	procs := make([]*os.Process, 0, len(live.procs))
	for _, p := range live.procs {
		procs = append(procs, p)
	}
	live.Unlock()
	for _, p := range procs {
		killProc(p)
	}
	g := guardianPid()
	for _, pid := range sys.ChildrenOf(os.Getpid()) {
		if pid != g && !isLive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Live is the number of children started and not yet waited for.
func Live() int {
	live.Lock()
	defer live.Unlock()
	return len(live.procs)
}

// BecomeSubreaper makes this process the reaper of its descendants: when
// a child dies, its own children (a command's background jobs, a shell's
// grandchildren) are re-parented here instead of to init, where
// ReapOrphans finds and ends them.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("child: PR_SET_CHILD_SUBREAPER: %w", err)
	}
	return nil
}

// ReapOrphans kills and reaps the processes re-parented to this one (see
// BecomeSubreaper) that are not live children of ours, with their process
// groups, and returns how many it ended. Call it between benchmarks.
func ReapOrphans() int {
	me := os.Getpid()
	n := 0
	for _, pid := range sys.ChildrenOf(me) {
		if isLive(pid) || pid == guardianPid() {
			continue
		}
		killGroup(pid)
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
		n++
	}
	return n
}

// WithEnv lists the processes (other than this one) whose environment
// holds the variable assignment kv, e.g. a run's token: every process a
// run started, however deep, unless it cleared its environment.
func WithEnv(kv string) []int {
	name, val, _ := strings.Cut(kv, "=")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	me := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == me {
			continue
		}
		if v, ok := sys.ProcEnv(pid, name); ok && v == val {
			out = append(out, pid)
		}
	}
	return out
}
