package child

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// tailSize bounds what is read back of a failed child's stderr.
const tailSize = 4096

// newTail is an anonymous in-memory file for a child's stderr. The child
// writes into it directly through its own descriptor: no pipe to fill and
// block on, no goroutine copying, nothing for the parent to do unless the
// child fails.
func newTail() (*os.File, error) {
	fd, err := unix.MemfdCreate("ipcbench-stderr", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create for stderr: %w", err)
	}
	return os.NewFile(uintptr(fd), "stderr-tail"), nil
}

// lastLine is the last non-empty line of the file's last tailSize bytes,
// without control characters (it is shown on a terminal).
func lastLine(f *os.File) string {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return ""
	}
	off := max(0, fi.Size()-tailSize)
	buf := make([]byte, fi.Size()-off)
	n, err := f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return ""
	}
	s := strings.TrimSpace(string(buf[:n]))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}
