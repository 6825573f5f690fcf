//go:build linux && !(amd64 || arm64)

package child

import (
	"errors"
	"os"
	"syscall"
)

// ForkExecSupported reports whether ForkExec works on this architecture.
const ForkExecSupported = false

var errForkExec = errors.New("fork+exec is implemented for linux/amd64 and linux/arm64 only")

// ForkExec is not implemented on this architecture.
func ForkExec(path string, argv, env []string, null *os.File) (int, error) {
	return 0, errForkExec
}

// Reap is not implemented on this architecture.
func Reap(pid int) (syscall.Rusage, error) { return syscall.Rusage{}, errForkExec }
