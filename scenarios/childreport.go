package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"golang.org/x/sys/unix"
)

// childReport is what an IPC or output child tells its parent on stdout when
// it ends: its own CPU cost over its loop (rusage deltas taken after its
// start-up, so the Go runtime's 1–2 ms of initialisation is not charged to
// the operations) and how many operations it did.
type childReport struct {
	Ops      int64 `json:"ops"`
	UserNS   int64 `json:"user_ns"`
	SysNS    int64 `json:"sys_ns"`
	Nvcsw    int64 `json:"nvcsw"`
	Nivcsw   int64 `json:"nivcsw"`
	MaxRSSKB int64 `json:"vm_hwm_kb,omitempty"`
}

type rusageMark struct{ ru unix.Rusage }

func markRusage() rusageMark {
	var m rusageMark
	_ = unix.Getrusage(unix.RUSAGE_SELF, &m.ru)
	return m
}

func (m rusageMark) report(ops int64) childReport {
	var now unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &now)
	d := func(a, b unix.Timeval) int64 {
		return (time.Duration(a.Sec-b.Sec)*time.Second + time.Duration(a.Usec-b.Usec)*time.Microsecond).Nanoseconds()
	}
	return childReport{Ops: ops, UserNS: d(now.Utime, m.ru.Utime), SysNS: d(now.Stime, m.ru.Stime),
		Nvcsw: now.Nvcsw - m.ru.Nvcsw, Nivcsw: now.Nivcsw - m.ru.Nivcsw, MaxRSSKB: bench.ProcStatusKB("VmHWM")}
}

func writeReport(w io.Writer, r childReport) error {
	return json.NewEncoder(w).Encode(r)
}

// errNoReport: the child ended cleanly but its cost report is missing or
// unreadable; the figures stand, the child's CPU per op does not.
var errNoReport = errors.New("no usable report from the child")

// readReport parses the last JSON line a child printed.
func readReport(out string) (childReport, error) {
	var r childReport
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[len(lines)-1] == "" {
		return r, errNoReport
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return r, fmt.Errorf("%w: %v", errNoReport, err)
	}
	return r, nil
}

// reportChild attaches a child's per-op costs to the benchmark.
func reportChild(b *bench.B, r childReport) {
	if r.Ops <= 0 {
		return
	}
	ops := float64(r.Ops)
	b.ReportMetric(float64(r.UserNS)/ops, "child_user_ns/op")
	b.ReportMetric(float64(r.SysNS)/ops, "child_sys_ns/op")
	b.ReportMetric(float64(r.Nvcsw)/ops, "child_vcsw/op")
	b.ReportMetric(float64(r.Nivcsw)/ops, "child_ivcsw/op")
	if r.MaxRSSKB > 0 {
		b.ReportMetric(float64(r.MaxRSSKB)*1024, "child_peak_rss_bytes")
	}
}
