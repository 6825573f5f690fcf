package bench

import (
	"fmt"
	"time"

	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
)

// result fills res with what B measured: samples and their summary, the
// per-op percentiles and phases, cost per op, and the warnings that say
// how far to trust the figures.
func (b *B) result(res *results.Benchmark) {
	res.Samples = b.samples
	res.WarmupOps = b.warmOps
	res.BytesPerOp = b.bytes
	for _, s := range b.samples {
		res.Iterations += s.Iters
	}
	if b.err != nil {
		res.Error = b.err.Error()
	} else if len(b.samples) == 0 && b.ctx.Err() == nil {
		res.Error = ErrNoSamples.Error()
	}
	if b.hookErr != nil {
		res.Warn(results.WarnProfiling, "profiling: "+b.hookErr.Error())
	}
	res.Warnings = append(res.Warnings, b.warnings...)
	if len(b.samples) == 0 {
		if len(b.metrics) > 0 {
			res.Metrics = b.metrics
		}
		return
	}
	b.summarize(res)
	m := b.metrics
	if res.Summary.Median > 0 {
		if _, set := m[results.MetricOpsPerSec]; !set {
			// (An open-loop workload reports its own: the rate it achieved.)
			m[results.MetricOpsPerSec] = 1e9 / res.Summary.Median
		}
		if _, set := m[results.MetricMBPerSec]; b.bytes > 0 && !set {
			m[results.MetricMBPerSec] = float64(b.bytes) * 1e3 / res.Summary.Median
		}
	}
	b.costPerOp(m, float64(res.Iterations))
	if kb := sys.StatusKB("VmHWM"); kb > 0 && b.peakReset {
		m[results.MetricParentPeak] = float64(kb) * 1024
	}
	b.timerShare(res, m)
	b.qualityWarnings(res)
	res.Metrics = m
}

// summarize sets the summary of the batch means and, where ops were timed
// one by one, the per-op percentiles and phase distributions.
func (b *B) summarize(res *results.Benchmark) {
	res.Summary = results.Summarize(b.values)
	res.PercentileSource = "batch"
	if b.perOp && b.hist != nil && b.hist.TotalCount() > 0 {
		res.PercentileSource = "per-op"
		res.Summary.P50 = float64(b.hist.ValueAtQuantile(50))
		res.Summary.P90 = float64(b.hist.ValueAtQuantile(90))
		res.Summary.P99 = float64(b.hist.ValueAtQuantile(99))
		res.Summary.P999 = float64(b.hist.ValueAtQuantile(99.9))
		res.Summary.Hist = results.EncodeHist(b.hist)
	}
	if len(b.dists) > 0 {
		res.Distributions = map[results.Phase]results.Summary{}
		for ph, h := range b.dists {
			d := results.HistSummary(h)
			d.Sum = b.distSum[ph] // exact sum (single loop only; parallel: 0)
			res.Distributions[ph] = d
		}
	}
}

// costPerOp is the CPU and context switches per op from rusage deltas over
// the timed region.
func (b *B) costPerOp(m map[results.Metric]float64, ops float64) {
	du := b.usage1.Sub(b.usage0)
	if ops > 0 && du.OK {
		m[results.MetricParentUser] = float64(du.SelfUser.Nanoseconds()) / ops
		m[results.MetricParentSys] = float64(du.SelfSys.Nanoseconds()) / ops
		m[results.MetricParentVcsw] = float64(du.SelfNvcsw) / ops
		m[results.MetricParentIvcsw] = float64(du.SelfNivcsw) / ops
		if du.ChildUser+du.ChildSys > 0 || du.ChildNvcsw > 0 {
			// Children reaped inside the timed region (spawn): their whole
			// cost, unless the scenario reported its children's own.
			if _, set := m[results.MetricChildUser]; !set {
				m[results.MetricChildUser] = float64(du.ChildUser.Nanoseconds()) / ops
				m[results.MetricChildSys] = float64(du.ChildSys.Nanoseconds()) / ops
				m[results.MetricChildVcsw] = float64(du.ChildNvcsw) / ops
				m[results.MetricChildIvcsw] = float64(du.ChildNivcsw) / ops
			}
		}
	}
	if b.bytes > 0 {
		mb := float64(b.bytes) / 1e6
		if u, ok := m[results.MetricParentUser]; ok {
			m[results.MetricParentCPUMB] = (u + m[results.MetricParentSys]) / mb
		}
		if u, ok := m[results.MetricChildUser]; ok {
			m[results.MetricChildCPUMB] = (u + m[results.MetricChildSys]) / mb
		}
	}
}

// timerShare is what the clock reads cost against one op: per-op mode pays
// one per op, batch mode one per batch (batches grow after the first:
// samples ÷ ops). Either way it must be negligible. Ops the workload
// timed (ReportOpTime) pay none: this process's clock is not in them.
func (b *B) timerShare(res *results.Benchmark, m map[results.Metric]float64) {
	if b.external {
		return
	}
	to := float64(b.cfg.TimerOverhead.Nanoseconds())
	perOpCost := to * float64(len(res.Samples)) / float64(max(1, res.Iterations))
	if b.perOp {
		perOpCost = to
	}
	opTime := res.Summary.Median
	if b.par != nil {
		// Parallel: the figure is aggregate ns/op; each worker's op lasts
		// workers × that, and only workers pay per-op clock reads.
		opTime *= float64(len(b.par.workers))
		if !b.perOp {
			perOpCost = 0
		}
	}
	if opTime <= 0 {
		return
	}
	frac := perOpCost / opTime
	m[results.MetricTimerShare] = frac
	if frac > 0.01 {
		res.Warn(results.WarnClock, fmt.Sprintf("clock reads cost %.1f%% of each op (%.0f ns of %.0f ns): figure slightly inflated", 100*frac, perOpCost, opTime))
	}
}

// qualityWarnings are the load guard and the statistical caveats.
func (b *B) qualityWarnings(res *results.Benchmark) {
	wall := b.sampleEnd.Sub(b.sampleStart)
	foreign, steal := b.usage1.Sub(b.usage0).Shares(wall)
	res.LoadShare = foreign
	if foreign > b.cfg.LoadWarnShare {
		res.Warn(results.WarnBusy, fmt.Sprintf("busy machine: other processes used %.0f%% of the CPUs while this was measured; the figure may be inflated", 100*foreign))
	}
	if steal > 0.05 {
		res.Warn(results.WarnSteal, fmt.Sprintf("hypervisor steal: %.0f%% of CPU time was taken by the host", 100*steal))
	}
	if b.stopReason == "bound" {
		// Said apart from the sample count: few samples is the symptom, the
		// bound is why.
		res.Warn(results.WarnBound, fmt.Sprintf("a safety bound ended sampling after %s (the larger of 10× the %s budget and 3× what %d samples of %s should take) with %d samples, below --min-samples %d", b.sampleEnd.Sub(b.sampleStart).Round(time.Millisecond), b.cfg.Budget, b.cfg.MinSamples, b.cfg.SampleTime, len(b.samples), b.cfg.MinSamples))
	}
	switch {
	case b.cfg.Visit:
		// One visit of several: the merge judges the figure.
	case len(b.samples) < 6:
		res.Warn(results.WarnFewSamples, fmt.Sprintf("only %d samples: no confidence interval (needs 6)", len(b.samples)))
	case b.openLoop:
		// An open loop always runs its whole budget: no CI target to miss.
	default:
		if w := res.Summary.CIWidth(); w > b.cfg.TargetCIWidth && b.stopReason == "budget" {
			res.Warn(results.WarnNoisy, fmt.Sprintf("noisy: median's 95%% CI is ±%.1f%% (target ±%.1f%%) when the %s budget ran out", 50*w, 50*b.cfg.TargetCIWidth, b.cfg.Budget))
		}
	}
	if b.stopReason == "interrupted" {
		res.Warn(results.WarnInterrupted, "interrupted before the adaptive stop")
	}
}
