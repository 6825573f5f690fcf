package sys

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MemInfo reads fields of /proc/meminfo in bytes (absent fields are 0).
func MemInfo(fields ...string) map[string]int64 {
	out := map[string]int64{}
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for _, want := range fields {
			if k == want {
				f := strings.Fields(rest)
				if len(f) > 0 {
					v, _ := strconv.ParseInt(f[0], 10, 64)
					if len(f) > 1 && f[1] == "kB" {
						v *= 1024
					}
					out[k] = v
				}
			}
		}
	}
	return out
}

// MemHeadroom is how many bytes this process could still fill with
// touched memory without pushing the machine into reclaim or its cgroup
// into the OOM killer: MemAvailable, bounded by the cgroup v2 memory.max
// minus memory.current, and under strict overcommit (mode 2) by what is
// left to commit. how says which bound applied, for error messages.
func MemHeadroom() (bytes int64, how string) {
	mi := MemInfo("MemAvailable", "CommitLimit", "Committed_AS")
	bytes, how = mi["MemAvailable"], "MemAvailable"
	if lim, cur, ok := cgroupMemory(); ok && lim-cur < bytes {
		bytes, how = max(0, lim-cur), "cgroup memory.max minus memory.current"
	}
	if readTrim("/proc/sys/vm/overcommit_memory") == "2" {
		if c := mi["CommitLimit"] - mi["Committed_AS"]; c < bytes {
			bytes, how = max(0, c), "CommitLimit minus Committed_AS (strict overcommit)"
		}
	}
	return bytes, how
}

// cgroupMemory reads this process's cgroup v2 memory.max and
// memory.current (ok false when unlimited or unreadable).
func cgroupMemory() (limit, current int64, ok bool) {
	rel := "/"
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if p, found := strings.CutPrefix(line, "0::"); found {
				rel = p
			}
		}
	}
	dir := filepath.Join("/sys/fs/cgroup", rel)
	l, err1 := strconv.ParseInt(readTrim(filepath.Join(dir, "memory.max")), 10, 64)
	c, err2 := strconv.ParseInt(readTrim(filepath.Join(dir, "memory.current")), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false // "max", or no memory controller here
	}
	return l, c, true
}

// THPMode is the transparent huge page policy ("always", "madvise",
// "never"; "" when unknown). It decides how many page-table entries a
// fork must copy per MiB of anonymous memory (512 times fewer with huge
// pages), so it is recorded with parent-memory figures.
func THPMode() string {
	s := readTrim("/sys/kernel/mm/transparent_hugepage/enabled")
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// HoldMemory maps n bytes of private anonymous memory and touches every
// page, so that this process holds n bytes resident as a large program's
// heap would (with the machine's default huge-page policy, as any heap).
// release unmaps it. The mapping is outside the Go heap: the GC neither
// scans it nor counts it.
func HoldMemory(n int64) (release func(), err error) {
	if n <= 0 {
		return func() {}, nil
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("sys: map %d bytes: %w", n, err)
	}
	page := os.Getpagesize()
	for i := 0; i < len(b); i += page {
		b[i] = 1 // a write: a read would map the shared zero page
	}
	return func() { _ = unix.Munmap(b) }, nil
}
