package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
)

// childReport is what a long-lived IPC child (echo or stream) tells its
// parent on stdout when it ends: its own CPU cost over its loop (rusage
// deltas taken after its start-up, so the Go runtime's 1–2 ms of
// initialisation is not charged to the operations) and how many
// operations it did.
type childReport struct {
	Ops      int64 `json:"ops"`
	UserNS   int64 `json:"user_ns"`
	SysNS    int64 `json:"sys_ns"`
	Nvcsw    int64 `json:"nvcsw"`
	Nivcsw   int64 `json:"nivcsw"`
	MaxRSSKB int64 `json:"vm_hwm_kb,omitempty"`
}

func newReport(ops int64, ru sys.Rusage) childReport {
	return childReport{Ops: ops, UserNS: ru.UserNS, SysNS: ru.SysNS, Nvcsw: ru.Nvcsw, Nivcsw: ru.Nivcsw, MaxRSSKB: sys.StatusKB("VmHWM")}
}

// add sums the reports of concurrent children (peak memory: the largest).
func (r *childReport) add(o childReport) {
	r.Ops += o.Ops
	r.UserNS += o.UserNS
	r.SysNS += o.SysNS
	r.Nvcsw += o.Nvcsw
	r.Nivcsw += o.Nivcsw
	r.MaxRSSKB = max(r.MaxRSSKB, o.MaxRSSKB)
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
	b.ReportMetric(float64(r.UserNS)/ops, results.MetricChildUser)
	b.ReportMetric(float64(r.SysNS)/ops, results.MetricChildSys)
	b.ReportMetric(float64(r.Nvcsw)/ops, results.MetricChildVcsw)
	b.ReportMetric(float64(r.Nivcsw)/ops, results.MetricChildIvcsw)
	if r.MaxRSSKB > 0 {
		b.ReportMetric(float64(r.MaxRSSKB)*1024, results.MetricChildPeak)
	}
}
