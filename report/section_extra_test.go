package report

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/browsertest"
	"github.com/ipcbench/ipcbench/results"
)

// The sections for data other groups will produce (Node spawns with a
// parent holding memory; latency under offered load) appear when a run
// has such benchmarks, in the shapes documented in section_extra.go.
func extraRun() *results.Set {
	s := capacityRun()
	achieved := func(v float64) bopt { return func(b *results.Benchmark) { b.Metrics[results.MetricAchievedRate] = v } }
	s.Benchmarks = append(s.Benchmarks,
		ci2("Node/method=vfork/parent_mem=0/cores=1", 1*ms, cpu(100*us, 100*us, 200*us, 100*us), perOp(2*ms)),
		ci2("Node/method=vfork/parent_mem=1073741824/cores=1", 1.1*ms, cpu(100*us, 150*us, 200*us, 100*us), perOp(2.2*ms)),
		ci2("Node/method=fork+exec/parent_mem=0/cores=1", 1*ms, cpu(100*us, 200*us, 200*us, 100*us), perOp(2*ms)),
		ci2("Node/method=fork+exec/parent_mem=1073741824/cores=1", 40*ms, cpu(5*ms, 14*ms, 800*us, 200*us), perOp(60*ms)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=50000/cores=1", 25*us, perOp(45*us), achieved(50000)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=100000/cores=1", 90*us, perOp(200*us), achieved(90000)),
	)
	return s
}

func TestNodeAndLoadSections(t *testing.T) {
	d, err := Build([]Run{{Set: extraRun()}}, Options{Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us")}})
	if err != nil {
		t.Fatal(err)
	}
	// fork+exec: 1 ms → 40 ms (40×); CPU 0.6 ms → 1.67k/s, 20 ms → 50/s.
	want(t, answerOf(t, d, "node", "Node fork+exec:"), false, "1.00ms [980µs–1.02ms] with a 0B parent and 40.0ms [39.2ms–40.8ms] with a 1.0GiB parent (40.0×)",
		"one core sustains 1.67k spawns/s at 0B and 50.0 at 1.0GiB")
	want(t, answerOf(t, d, "node", "Node vfork:"), false, "(1.10×)")
	// Load: 10k/s (p99 20 µs) and 50k/s (45 µs) meet p99 ≤ 50 µs; 100k/s carried only 90k.
	want(t, answerOf(t, d, "load", "unix raw 4KiB cross-core"), false, "with p99 ≤ 50.0µs is **50.0k/s per core** (offered 50.0k/s on 1 core(s); p99 45.0µs)")
	// The target uses it: 200k / 50k per core = 4 cores.
	want(t, answerOf(t, d, "targets", "roundtrip transport=unix"), false, "at most 50.0k/s per core was carried with p99 ≤ 50.0µs (at rate=50.0k, cores=1) → 4 core(s)")
	charts := map[string]bool{}
	for _, s := range d.Sections {
		for _, c := range s.Charts {
			charts[c.ID] = true
		}
	}
	for _, id := range []string{"node-parent-mem", "load-latency"} {
		if !charts[id] {
			t.Errorf("no chart %s", id)
		}
	}
	path := filepath.Join(t.TempDir(), "extra.html")
	if err := WriteHTMLFile(path, d); err != nil {
		t.Fatal(err)
	}
	browsertest.CheckReport(t, path, "report-extra-sections")
}

// Without such benchmarks, the sections are absent.
func TestExtraSectionsAbsentWithoutData(t *testing.T) {
	d := capacityDoc(t, Options{})
	for _, s := range d.Sections {
		if s.ID == "node" || s.ID == "load" {
			t.Errorf("section %s without data", s.ID)
		}
	}
}

// A load step that did not carry its offered rate (the run's achieved
// rate below it), or that the run judged saturated, is not "carried",
// whatever its percentiles: a saturated queue's p99 depends on how long
// the step ran.
func TestLoadStepNotCarriedWhenSaturated(t *testing.T) {
	s := capacityRun()
	achieved := func(v float64) bopt { return func(b *results.Benchmark) { b.Metrics[results.MetricAchievedRate] = v } }
	verdict := func(v string) bopt { return func(b *results.Benchmark) { b.Params[results.ParamVerdict] = v } }
	s.Benchmarks = append(s.Benchmarks,
		// 902k/s of 1M/s offered, within the bound: short of the rate.
		ci2("Load/transport=pipe/mode=raw/size=64/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), verdict(results.VerdictOK)),
		ci2("Load/transport=pipe/mode=raw/size=64/placement=cross-core/rate=1000000/cores=1", 25*us, perOp(40*us), achieved(902000), verdict(results.VerdictOK)),
		// The rate carried, within the bound, but saturated.
		ci2("Load/transport=unix/mode=raw/size=64/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), verdict(results.VerdictOK)),
		ci2("Load/transport=unix/mode=raw/size=64/placement=cross-core/rate=1000000/cores=1", 25*us, perOp(40*us), achieved(1000000), verdict(results.VerdictSaturated)),
	)
	for _, opt := range []Options{{}, {Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=64,rate=1000/s,p99<=50us")}}} {
		d, err := Build([]Run{{Set: s}}, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"pipe raw 64B cross-core", "unix raw 64B cross-core"} {
			a := answerOf(t, d, "load", name)
			if strings.Contains(a.Text, "1.00M") {
				t.Errorf("bound %v: a step short of its rate or saturated counts as carried: %s", opt.Targets, a.Text)
			}
			want(t, a, false, "10.0k")
		}
	}
}
