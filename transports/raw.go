package transports

import (
	"runtime"
	"runtime/debug"

	"github.com/ipcbench/ipcbench/internal/sys"
)

// The raw mode's runtime settings live here, beside the RawSyscaller
// contract they make safe (docs/measuring.md, pitfalls 5-7).

// RawSyscallsSafe: RawSyscall blocks while holding its P, so another P
// must exist for the rest of the process (pitfall 7).
func RawSyscallsSafe() bool { return runtime.GOMAXPROCS(0) >= 2 }

// EnterRaw prepares a measuring loop over c in mode: in raw mode the GC
// is off (a stop-the-world would wait for a thread blocked in RawSyscall;
// the setting is process-wide, so call it once per measurement, not per
// worker) and, when spare Ps remain (spare: Ps not held by measuring loops;
// at least one), c's reads and writes go through RawSyscall. The loop it
// guards must not allocate. The returned func undoes both.
func EnterRaw(mode Mode, spare int, conns ...Conn) func() {
	if mode != Raw {
		return func() {}
	}
	old := debug.SetGCPercent(-1)
	var on []RawSyscaller
	for _, c := range conns {
		if rs, ok := c.(RawSyscaller); ok && spare >= 1 {
			rs.SetRawSyscalls(true)
			on = append(on, rs)
		}
	}
	return func() {
		for _, rs := range on {
			rs.SetRawSyscalls(false)
		}
		debug.SetGCPercent(old)
	}
}

// RawSyscalls turns RawSyscall on for one Conn when spare Ps remain (the
// GC must already be off: see EnterRaw); the returned func undoes it.
func RawSyscalls(c Conn, spare int) func() {
	rs, ok := c.(RawSyscaller)
	if !ok || spare < 1 {
		return func() {}
	}
	rs.SetRawSyscalls(true)
	return func() { rs.SetRawSyscalls(false) }
}

// Pin confines a process's side of a pair to cpu (negative: no pinning):
// the measuring thread in raw mode (locked to its goroutine), the whole
// process in go mode (an idiomatic program's goroutines move between
// threads, so all of them must be on the CPU).
func Pin(mode Mode, cpu int) (func(), error) {
	if mode == Go {
		return sys.PinProcess(cpu)
	}
	return sys.Pin(cpu)
}
