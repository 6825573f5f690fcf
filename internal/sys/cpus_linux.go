package sys

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// AllowedCPUs returns the CPUs this process may run on (its affinity mask).
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sys: sched_getaffinity: %w", err)
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < set.Count(); i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// Pin locks the calling goroutine to its OS thread and restricts that thread
// to cpu (cpu < 0: lock only, no affinity change). sched_setaffinity(0, …)
// affects only the calling thread (docs/measuring.md, pitfall 6), which is why the
// lock comes first and why each process pins its own measuring goroutine.
// The returned func restores the thread's previous mask and unlocks it; a
// locked thread must never be left to die with the goroutine, since a child
// started from it with Pdeathsig would be killed.
func Pin(cpu int) (func(), error) {
	runtime.LockOSThread()
	if cpu < 0 {
		return runtime.UnlockOSThread, nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sys: sched_getaffinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sys: pin to cpu %d: %w", cpu, err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}

// PinProcess restricts every thread of this process to cpus (none, or
// only negative ones: no change). Threads the runtime creates later inherit the mask from their
// creator. This is how an idiomatic Go program is confined to a CPU (the
// poller and scheduler still move goroutines between threads; all of them
// are on cpu). The returned func restores the previous mask on every thread.
func PinProcess(cpus ...int) (func(), error) {
	var old, set unix.CPUSet
	for _, c := range cpus {
		if c >= 0 {
			set.Set(c)
		}
	}
	if set.Count() == 0 {
		return func() {}, nil
	}
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("sys: sched_getaffinity: %w", err)
	}
	if err := setAllThreads(&set); err != nil {
		setAllThreads(&old)
		return nil, fmt.Errorf("sys: pin process to cpus %v: %w", cpus, err)
	}
	return func() { setAllThreads(&old) }, nil
}

func setAllThreads(set *unix.CPUSet) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var first error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// A thread may exit meanwhile (ESRCH): not an error.
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH && first == nil {
			first = err
		}
	}
	return first
}

// SetGOMAXPROCS sets GOMAXPROCS explicitly (n <= 0: the number of allowed
// CPUs). Setting it explicitly also stops the runtime from changing it when
// threads are later pinned (docs/measuring.md, pitfall 5).
func SetGOMAXPROCS(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
		if cpus, err := AllowedCPUs(); err == nil && len(cpus) > 0 {
			n = len(cpus)
		}
	}
	runtime.GOMAXPROCS(n)
	return n
}
