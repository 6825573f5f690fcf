package bench

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// AllowedCPUs returns the CPUs this process may run on (its affinity mask).
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("bench: sched_getaffinity: %w", err)
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
// affects only the calling thread (MEASURING.md pitfall 6), which is why the
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
		return nil, fmt.Errorf("bench: sched_getaffinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("bench: pin to cpu %d: %w", cpu, err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}
