// Package leakcheck asserts that a test left no file descriptor and no
// child process behind.
package leakcheck

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/sys"
)

// FDs lists this process's open file descriptors.
func FDs() map[string]string {
	out := map[string]string{}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out[e.Name()] = target
	}
	return out
}

// Children lists the pids of live (and zombie) children of this process.
func Children() []int { return sys.ChildrenOf(os.Getpid()) }

// Check snapshots fds now and, at cleanup, fails the test if fds were
// opened and not closed or children are still alive. It waits a little for
// exits that race the check.
func Check(t testing.TB) {
	t.Helper()
	before := FDs()
	t.Cleanup(func() {
		var leaked []string
		var kids []int
		for try := 0; try < 50; try++ {
			leaked = leaked[:0]
			for fd, target := range FDs() {
				if _, ok := before[fd]; !ok {
					leaked = append(leaked, fd+" -> "+target)
				}
			}
			kids = Children()
			if len(leaked) == 0 && len(kids) == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The directory handle of /proc/self/fd itself may show up once.
		real := leaked[:0]
		for _, l := range leaked {
			if !strings.Contains(l, "/proc/") {
				real = append(real, l)
			}
		}
		if len(real) > 0 {
			t.Errorf("leaked file descriptors: %v", real)
		}
		if len(kids) > 0 {
			t.Errorf("leaked child processes: %v", kids)
		}
	})
}
