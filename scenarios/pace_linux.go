package scenarios

import (
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pacer makes a locked thread wait for instants of a schedule, precisely
// and cheaply (docs/measuring.md, pitfall 15): it sleeps with clock_nanosleep(TIMER_ABSTIME) until `spin`
// before the instant, then busy-waits the rest, yielding the CPU on each
// turn.
//
// Why both: a sleeping thread wakes late by the timer's slack (50 µs by
// default, set to 1 ns here for the pacing thread only) plus the wake-up
// itself, which on a VM goes through the hypervisor: 40–180 µs measured on
// the 2-vCPU machine this was written on. That lateness would be charged
// to every operation's latency (it is measured from the schedule) and
// make a low-rate open loop look slower than the closed loop it should
// match. Spinning the last few tens of µs removes it; the spin yields
// (sched_yield) so that a receiver or child sharing the CPU runs at once
// when it has work, and its CPU time is the harness's, reported apart
// (harness_ns/op) and left out of the cost per op of the sweep.
type pacer struct {
	base time.Time // the open loop's origin: all instants are ns after it
	// monoBase is CLOCK_MONOTONIC at base. Go's monotonic clock is
	// CLOCK_MONOTONIC on Linux, so instants convert to absolute sleep
	// deadlines by this one offset, taken once.
	monoBase int64
	spin     int64 // ns of busy wait before each instant (0: sleep only)
}

// maxSleepChunk bounds one sleep so that a stop request is seen within it.
const maxSleepChunk = int64(50 * time.Millisecond)

// newPacer fixes the origin and the offset to CLOCK_MONOTONIC: the
// reading pair with the smallest gap of a few wins (clock_gettime is a
// real syscall on some VMs, a few hundred ns; the offset's error is half
// the gap).
func newPacer() *pacer {
	p := &pacer{base: time.Now()}
	best := int64(1 << 62)
	for range 5 {
		var ts unix.Timespec
		t1 := time.Since(p.base).Nanoseconds()
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
			continue
		}
		t2 := time.Since(p.base).Nanoseconds()
		if gap := t2 - t1; gap < best {
			best = gap
			p.monoBase = ts.Nano() - (t1+t2)/2
		}
	}
	return p
}

// now is ns since base (a monotonic clock read, tens of ns).
func (p *pacer) now() int64 { return time.Since(p.base).Nanoseconds() }

// threadSlack is the pacing thread's timer slack: lowered to 1 ns while
// it paces, and its own value (the process's default, 50 µs unless the
// user's environment set another) otherwise.
//
// The slack is per thread, and the threads the Go runtime creates while
// the pacing thread is locked are cloned by its template thread, not by
// this one: no other thread of ipcbench is affected. A process forked from
// this thread inherits its slack, though, and keeps it through exec: a
// child started while it was lowered would wake its own timers at 1 ns
// slack, cost and behaviour that are not the command's. So whatever forks
// from the pacing thread (SpawnLoad's starts) does it with the slack
// raised back (own), then lowers it again (lower).
type threadSlack struct {
	old uintptr
	ok  bool // lowered (false: prctl failed, nothing to undo)
}

// lowerSlack sets the calling (locked) thread's timer slack to 1 ns and
// returns what to undo it with.
func lowerSlack() threadSlack {
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) != nil {
		return threadSlack{}
	}
	return threadSlack{old: uintptr(old), ok: true}
}

// own gives the thread back its own slack (call it on that thread).
func (s threadSlack) own() {
	if s.ok {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, s.old, 0, 0, 0)
	}
}

// lower sets the thread's slack to 1 ns again (call it on that thread).
func (s threadSlack) lower() {
	if s.ok {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	}
}

// sleepUntil sleeps until the instant t (ns after base), in chunks so that
// stop is seen; false when stopped.
func (p *pacer) sleepUntil(t int64, stop *atomic.Bool) bool {
	for {
		if stop.Load() {
			return false
		}
		now := p.now()
		if now >= t {
			return true
		}
		target := min(t, now+maxSleepChunk)
		ts := unix.NsecToTimespec(p.monoBase + target)
		// EINTR (the runtime's preemption signal, docs/measuring.md
		// pitfall 8) just loops. ClockNanosleep goes through
		// syscall.Syscall: the runtime may run others on our P meanwhile.
		_ = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
	}
}

// until waits for instant t: sleep, then spin. It returns false when
// stopped.
func (p *pacer) until(t int64, stop *atomic.Bool) bool {
	if t-p.now() > p.spin {
		if !p.sleepUntil(t-p.spin, stop) {
			return false
		}
	}
	for now := p.now(); now < t; {
		// sched_yield returns at once when nothing else wants the CPU and
		// never blocks, so the raw form (no scheduler bookkeeping) is safe.
		syscall.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		now = p.now()
	}
	return true
}

// calibrateSpin measures how late this thread wakes from short absolute
// sleeps (the third quartile of 24) and returns a busy wait that covers
// it with half as much again and 2 µs, within [5 µs, 300 µs]: most wakes
// then land inside the spin, and a busy machine's outliers do not make
// every operation spin for them (they show as lag instead). Call it on
// the pacing thread after lowerSlack. About 6 ms.
func calibrateSpin(p *pacer) time.Duration {
	var late []int64
	var never atomic.Bool
	for range 24 {
		t := p.now() + int64(200*time.Microsecond)
		p.sleepUntil(t, &never)
		late = append(late, p.now()-t)
	}
	slices.Sort(late)
	d := time.Duration(late[len(late)*3/4])*3/2 + 2*time.Microsecond
	return min(max(d, 5*time.Microsecond), 300*time.Microsecond)
}

// threadCPU is the CPU time of thread tid of this process, read with its
// per-thread CPU clock (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) in
// linux/posix-timers.h): exact to the ns, readable from another thread.
func threadCPU(tid int) (int64, bool) {
	var ts unix.Timespec
	id := int32((^int64(tid))<<3 | 6)
	if unix.ClockGettime(id, &ts) != nil {
		return 0, false
	}
	return ts.Nano(), true
}

func gettid() int { return unix.Gettid() }
