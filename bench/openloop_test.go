package bench

import (
	"context"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// steady is an open-loop workload whose ops all report the same latency:
// the median's CI is zero wide from the start, which would end a closed
// loop at its minimum sample count.
type steady struct{}

func (steady) Name() results.Name { return "Fake/op=open" }
func (steady) Run(ctx context.Context, b *B) error {
	b.OpenLoop()
	for b.Loop() {
		time.Sleep(50 * time.Microsecond)
		b.ReportOpTime(20 * time.Microsecond)
	}
	b.ReportMetric(1234, results.MetricOpsPerSec)
	return nil
}

func TestOpenLoopRunsItsBudget(t *testing.T) {
	cfg := quickCfg()
	cfg.Budget = 120 * time.Millisecond
	cfg.TargetCIWidth = 0.5
	start := time.Now()
	res, err := Run(context.Background(), steady{}, cfg)
	if err != nil || res.Error != "" {
		t.Fatalf("%v %s", err, res.Error)
	}
	if d := time.Since(start); d < cfg.Budget {
		t.Fatalf("ran %s of a %s budget: the CI must not end an open loop", d, cfg.Budget)
	}
	if res.Summary.P50 < 20000 || res.Summary.P50 > 20040 || res.Metrics[results.MetricOpsPerSec] != 1234 {
		t.Fatalf("p50 %v, ops/s %v: want the reported 20µs and the scenario's own ops/s", res.Summary.P50, res.Metrics[results.MetricOpsPerSec])
	}
	if res.HasWarning(results.WarnNoisy) {
		t.Fatalf("an open loop has no CI target to miss: %v", res.Warnings)
	}
}
