package report

import (
	"bytes"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/golden"
	"github.com/ipcbench/ipcbench/results"
)

// The capacity fixture: a results file with round figures, so that every
// answer can be computed by hand in capacity_test.go. TestCapacityFixture
// keeps testdata/capacity.json equal to what capacityRun builds.

type bopt func(*results.Benchmark)

// mk is a benchmark that ran: median m ns with the 95% CI [lo, hi].
func mk(name string, m, lo, hi float64, opts ...bopt) results.Benchmark {
	n := results.Name(name)
	b := results.Benchmark{
		Name: n, Scenario: n.Base(), Params: n.Params(), Unit: "ns/op",
		Samples:          []results.Sample{{Iters: 100, NsPerOp: m}},
		Summary:          results.Summary{N: 20, Mean: m, Median: m, Min: lo, Max: hi, P50: m, P90: 1.5 * m, P99: 2 * m, P999: 3 * m, CI95Low: lo, CI95High: hi},
		PercentileSource: "batch", Metrics: map[results.Metric]float64{results.MetricOpsPerSec: 1e9 / m},
		DurationNS: 1e9, Iterations: 2000,
	}
	for _, o := range opts {
		o(&b)
	}
	return b
}

// cpu sets the CPU per op of parent (user, sys) and child (user, sys).
func cpu(pu, ps, cu, cs float64) bopt {
	return func(b *results.Benchmark) {
		b.Metrics[results.MetricParentUser], b.Metrics[results.MetricParentSys] = pu, ps
		b.Metrics[results.MetricChildUser], b.Metrics[results.MetricChildSys] = cu, cs
	}
}

// perOp marks the percentiles as per operation, with this p99.
func perOp(p99 float64) bopt {
	return func(b *results.Benchmark) { b.PercentileSource, b.Summary.P99 = "per-op", p99 }
}

// hist gives the benchmark a per-op histogram: values spread evenly
// from its median/2 to 2×median, and the p99 of it.
func hist(phases ...results.Phase) bopt {
	return func(b *results.Benchmark) {
		mkh := func(med float64) results.Summary {
			h := results.NewHist()
			for i := 0; i < 1000; i++ {
				_ = h.RecordValue(int64(med/2 + med*1.5*float64(i)/999))
			}
			return results.HistSummary(h)
		}
		s := mkh(b.Summary.Median)
		b.Summary.Hist, b.PercentileSource = s.Hist, "per-op"
		for _, ph := range phases {
			if b.Distributions == nil {
				b.Distributions = map[results.Phase]results.Summary{}
			}
			b.Distributions[ph] = mkh(b.Summary.Median / 5)
		}
	}
}

func warn(k results.WarningKind, text string) bopt {
	return func(b *results.Benchmark) { b.Warn(k, text) }
}

// out sets an output benchmark's bytes, MB/s of the transfer and memory growth.
func out(size int64, mbps, growth float64) bopt {
	return func(b *results.Benchmark) {
		b.BytesPerOp = size
		b.Params["max_buffer"] = strconv.Itoa(64 << 20)
		b.Metrics[results.MetricMBPerSec] = mbps
		b.Metrics[results.MetricParentGrowth] = growth
	}
}

func bytesOp(n int64) bopt { return func(b *results.Benchmark) { b.BytesPerOp = n } }

// ci2 is a ±2% interval around m.
func ci2(name string, m float64, opts ...bopt) results.Benchmark {
	return mk(name, m, m*0.98, m*1.02, opts...)
}

const (
	us  = 1e3
	ms  = 1e6
	kib = 1 << 10
	mib = 1 << 20
)

func capacityRun() *results.Set {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &results.Set{
		SchemaVersion: results.SchemaVersion, RunID: "20260102T030405Z-capa01", StartedAt: t0, FinishedAt: t0.Add(10 * time.Minute),
		Env: results.Env{Hostname: "capa", OS: "linux", Arch: "amd64", Kernel: "6.1.0 #1", GoVersion: "go1.26", CPUModel: "Fixture CPU",
			NumCPU: 4, AllowedCPUs: []int{0, 1, 2, 3}, GOMAXPROCS: 4},
		Config: results.Config{Scenarios: []string{"spawn", "output", "roundtrip", "throughput"}, BudgetNS: 2e9, MinSamples: 10, TargetCIWidth: 0.02, Cores: []int{1, 2, 4}},
	}
	noisy := warn(results.WarnNoisy, "noisy: median's 95% CI is ±9.0% (target ±1.0%) when the 2s budget ran out")
	shared := warn(results.WarnPlacement, "placement: 2 pairs on 1 CPU pair")
	add := func(bs ...results.Benchmark) { s.Benchmarks = append(s.Benchmarks, bs...) }

	// Spawn: CPU per spawn 1 ms (exec), 0.5 ms (spawn), 2 ms (fork).
	add(
		mk("Spawn/mode=exec/cmd=true/cores=1", 2*ms, 1.9*ms, 2.1*ms, cpu(100*us, 150*us, 500*us, 250*us), hist(results.PhaseStarted)),
		mk("Spawn/mode=spawn/cmd=true/cores=1", 1*ms, 0.95*ms, 1.05*ms, cpu(50*us, 100*us, 250*us, 100*us), hist(results.PhaseStarted)),
		mk("Spawn/mode=spawn/cmd=true/cores=2", 600*us, 580*us, 620*us, cpu(50*us, 100*us, 250*us, 100*us)),
		mk("Spawn/mode=fork/cores=1", 4*ms, 3.8*ms, 4.2*ms, cpu(200*us, 300*us, 1000*us, 500*us), hist(results.PhaseStarted, results.PhaseReady)),
		mk("Spawn/mode=exec/cmd=echo/cores=1", 2.2*ms, 1.5*ms, 2.9*ms, cpu(100*us, 150*us, 600*us, 250*us), noisy, hist(results.PhaseStarted)),
		results.Benchmark{Name: "Spawn/mode=exec/cmd=false/cores=1", Scenario: "Spawn", Error: `exec "false": exit status 1`},
	)
	// Round trips, cross-core, one pair.
	add(
		mk("RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1", 10*us, 9.8*us, 10.2*us, cpu(1*us, 1.5*us, 1*us, 1.5*us), perOp(40*us)),
		mk("RoundTrip/transport=unix/mode=raw/size=64/placement=cross-core/cores=1", 20*us, 19.5*us, 20.5*us, cpu(2*us, 2*us, 2*us, 2*us), perOp(50*us)),
		mk("RoundTrip/transport=unix/mode=go/size=64/placement=cross-core/cores=1", 30*us, 29*us, 31*us, cpu(3*us, 3*us, 3*us, 3*us), perOp(70*us)),
		mk("RoundTrip/transport=tcp/mode=raw/size=64/placement=cross-core/cores=1", 15*us, 12*us, 18*us, cpu(2*us, 2*us, 2*us, 2*us), perOp(60*us), noisy),
		mk("RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=2", 6*us, 5.9*us, 6.1*us, cpu(1*us, 1.5*us, 1*us, 1.5*us), perOp(45*us), shared),
		mk("RoundTrip/transport=unix/mode=raw/size=4096/placement=cross-core/cores=1", 12*us, 11.8*us, 12.2*us, cpu(5*us, 5*us, 5*us, 5*us), perOp(60*us)),
		mk("RoundTrip/transport=pipe/mode=raw/size=4096/placement=cross-core/cores=1", 12.1*us, 11.9*us, 12.3*us, cpu(2*us, 3*us, 2*us, 3*us), perOp(45*us)),
	)
	// Round trips, same-core: one family at 1, 2 and 4 pairs (X = 100k,
	// 166.7k, 250k round trips/s) for the scaling answers and the USL.
	add(
		ci2("RoundTrip/transport=pipe/mode=raw/size=64/placement=same-core/cores=1", 10*us, cpu(1*us, 1*us, 1*us, 1*us)),
		ci2("RoundTrip/transport=pipe/mode=raw/size=64/placement=same-core/cores=2", 6*us, cpu(1*us, 1*us, 1*us, 1*us)),
		ci2("RoundTrip/transport=pipe/mode=raw/size=64/placement=same-core/cores=4", 4*us, cpu(1*us, 1*us, 1*us, 1*us)),
	)
	// Throughput, cross-core, 64 KiB messages.
	add(
		mk("Throughput/transport=pipe/mode=raw/size=65536/placement=cross-core/cores=1", 20*us, 19.6*us, 20.4*us, cpu(5*us, 7.5*us, 5*us, 7.5*us), bytesOp(64*kib)),
		mk("Throughput/transport=unix/mode=raw/size=65536/placement=cross-core/cores=1", 25*us, 24*us, 26*us, cpu(5*us, 10*us, 5*us, 10*us), bytesOp(64*kib)),
	)
	// Output, 64 KiB writes: buffered against streamed (go) at four sizes.
	type o struct {
		size           int64
		buf, str       float64 // median ns per child
		bufMem, strMem float64
	}
	for _, x := range []o{
		{64 * kib, 4 * ms, 3.5 * ms, 256 * kib, 1 * mib},
		{1 * mib, 6 * ms, 4 * ms, 4 * mib, 1 * mib},
		{16 * mib, 30 * ms, 10 * ms, 64 * mib, 1 * mib},
		{64 * mib, 100 * ms, 30 * ms, 256 * mib, 1 * mib},
	} {
		sz := strconv.FormatInt(x.size, 10)
		add(
			ci2("Output/collect=buffered/size="+sz+"/write=65536/cores=1", x.buf, cpu(x.buf/4, x.buf/4, x.buf/8, x.buf/8), out(x.size, float64(x.size)*1e3/(x.buf/2), x.bufMem)),
			ci2("Output/collect=streamed/mode=go/size="+sz+"/write=65536/cores=1", x.str, cpu(x.str/8, x.str/8, x.str/8, x.str/8), out(x.size, float64(x.size)*1e3/(x.str/2), x.strMem)),
		)
	}
	add(results.Benchmark{Name: "Output/collect=buffered/size=1073741824/write=65536/cores=1", Scenario: "Output",
		Params:  map[string]string{"collect": "buffered", "size": "1073741824", "write": "65536", "cores": "1", "max_buffer": strconv.Itoa(64 << 20)},
		Skipped: "1GiB would exceed --max-buffer 64MiB (buffering it all is what breaks; raise --max-buffer to measure it)"})
	return s
}

func TestCapacityFixture(t *testing.T) {
	var buf bytes.Buffer
	if err := results.Encode(&buf, capacityRun()); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "capacity.json"), buf.Bytes())
}
