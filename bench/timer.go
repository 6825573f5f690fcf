package bench

import (
	"sync"
	"time"
)

var (
	timerOnce sync.Once
	timerCost time.Duration
)

// TimerOverhead is the measured cost of one monotonic clock read
// (time.Now), the unit the engine pays per op in per-op mode and per batch
// otherwise. Measured once per process, as the minimum over a few rounds so
// that an interruption does not inflate it.
func TimerOverhead() time.Duration {
	timerOnce.Do(func() { timerCost = measureTimer() })
	return timerCost
}

func measureTimer() time.Duration {
	const n = 20000
	best := time.Duration(1 << 62)
	var sink time.Time
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			sink = time.Now()
		}
		d := sink.Sub(t0) / n
		best = min(best, d)
	}
	return max(best, 1)
}
