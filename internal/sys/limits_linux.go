package sys

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ProcHeadroom is how many more processes and threads this user may
// start under RLIMIT_NPROC (ulimit -u), with the limit and what the user
// runs now; ok is false when there is no limit to speak of (unlimited, or
// root, whom it does not bind).
func ProcHeadroom() (headroom, limit, inUse int, ok bool) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY || os.Geteuid() == 0 {
		return 0, 0, 0, false
	}
	uid := strconv.Itoa(os.Getuid())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		var mine bool
		threads := 0
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				f := strings.Fields(v)
				mine = len(f) > 0 && f[0] == uid
			}
			if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if mine {
			inUse += threads
		}
	}
	return int(rl.Cur) - inUse, int(rl.Cur), inUse, true
}

// NeedProcs refuses to start a run that the process limit would end in a
// Go runtime crash ("failed to create new OS thread", exit status 2, the
// usage-error status): it needs about n more processes and threads.
func NeedProcs(n int) error {
	head, limit, inUse, ok := ProcHeadroom()
	if !ok || head >= n {
		return nil
	}
	return fmt.Errorf("this user may start %d more processes or threads (RLIMIT_NPROC, ulimit -u, is %d; %d in use) and a run needs about %d: raise the limit to at least %d", max(0, head), limit, inUse, n, inUse+n)
}
