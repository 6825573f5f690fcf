package sys

import (
	"time"

	"golang.org/x/sys/unix"
)

// ClockResolution is the resolution of CLOCK_MONOTONIC, the clock Go's
// monotonic readings and ipcbench's schedules use (1 ns with a high
// resolution timer; a tick where there is none). 0 if it cannot be read.
func ClockResolution() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGetres(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
