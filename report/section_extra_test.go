package report

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/browsertest"
	"github.com/ipcbench/ipcbench/results"
)

// The sections for data other groups will produce (Node spawns with a
// parent holding memory; latency under offered load) appear when a run
// has such benchmarks, in the shapes documented in section_extra.go.
func achieved(v float64) bopt {
	return func(b *results.Benchmark) { b.Metrics[results.MetricAchievedRate] = v }
}

func loadVerdictIs(v string) bopt {
	return func(b *results.Benchmark) { b.Params[results.ParamVerdict] = v }
}

func loadCPU(b *results.Benchmark) {
	cpu(3*us, 2*us, 3*us, 3*us)(b)
	b.Metrics[results.MetricHarness] = 1 * us
}

func extraRun() *results.Set {
	s := capacityRun()
	s.Benchmarks = append(s.Benchmarks,
		ci2("Node/method=vfork/parent_mem=0/cores=1", 1*ms, cpu(100*us, 100*us, 200*us, 100*us), perOp(2*ms)),
		ci2("Node/method=vfork/parent_mem=1073741824/cores=1", 1.1*ms, cpu(100*us, 150*us, 200*us, 100*us), perOp(2.2*ms)),
		ci2("Node/method=fork+exec/parent_mem=0/cores=1", 1*ms, cpu(100*us, 200*us, 200*us, 100*us), perOp(2*ms)),
		ci2("Node/method=fork+exec/parent_mem=1073741824/cores=1", 40*ms, cpu(5*ms, 14*ms, 800*us, 200*us), perOp(60*ms)),
		// 10 µs of CPU per op (parent 3+2 µs less 1 µs of harness, child 3+3):
		// one core carries 100k/s, whatever the cores= of the name says.
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), loadCPU, loadVerdictIs(results.VerdictOK)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=50000/cores=1", 25*us, perOp(45*us), achieved(50000), loadCPU, loadVerdictIs(results.VerdictOK)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=100000/cores=1", 90*us, perOp(200*us), achieved(90000), loadCPU, loadVerdictIs(results.VerdictSaturated)),
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
	// Load: 10k/s (p99 20 µs) and 50k/s (45 µs) meet p99 ≤ 50 µs; 100k/s
	// carried only 90k. At 50k/s, 10 µs of CPU per op is 0.5 cores: 100k/s
	// per core (not the offered 50k/s ÷ cores=1).
	want(t, answerOf(t, d, "load", "unix raw 4KiB cross-core"), false, "the highest offered rate carried with p99 ≤ 50.0µs is **50.0k/s** (p99 45.0µs); 100k/s was not (achieved 90.0k/s, saturated, p99 200µs) — **100k/s per core** (0.50 cores of CPU at that rate")
	// The target uses it: 200k/s ÷ 100k/s per core = 2 cores.
	want(t, answerOf(t, d, "targets", "roundtrip transport=unix"), false, "Under load (unix raw 4KiB cross-core): 50.0k/s was carried with p99 ≤ 50.0µs, 100k/s per core (0.50 cores of CPU at that rate) → 2 core(s).")
	// Without a bound of the report's own, the answer is the run's own
	// sweep finding: its max rate and max_rate_per_core/s.
	sw := results.LoadSweeps(extraRun())
	if len(sw) != 1 || sw[0].Metrics[results.MetricMaxRate] != 50000 {
		t.Fatalf("sweeps %+v", sw)
	}
	d0, err := Build([]Run{{Set: extraRun()}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want(t, answerOf(t, d0, "load", "unix raw 4KiB cross-core"), false, "the highest offered rate carried is **50.0k/s**",
		fmt.Sprintf("**%s/s per core** (%.2f cores", Count(sw[0].Metrics[results.MetricMaxRatePerCore]), sw[0].Metrics[results.MetricCoresUsed]))
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
	s.Benchmarks = append(s.Benchmarks,
		// 902k/s of 1M/s offered, within the bound: short of the rate.
		ci2("Load/transport=pipe/mode=raw/size=64/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), loadVerdictIs(results.VerdictOK)),
		ci2("Load/transport=pipe/mode=raw/size=64/placement=cross-core/rate=1000000/cores=1", 25*us, perOp(40*us), achieved(902000), loadVerdictIs(results.VerdictOK)),
		// The rate carried, within the bound, but saturated.
		ci2("Load/transport=unix/mode=raw/size=64/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), loadVerdictIs(results.VerdictOK)),
		ci2("Load/transport=unix/mode=raw/size=64/placement=cross-core/rate=1000000/cores=1", 25*us, perOp(40*us), achieved(1000000), loadVerdictIs(results.VerdictSaturated)),
	)
	for _, opt := range []Options{{}, {Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=64,rate=1000/s,p99<=50us")}}} {
		d, err := Build([]Run{{Set: s}}, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"pipe raw 64B cross-core", "unix raw 64B cross-core"} {
			a := answerOf(t, d, "load", name)
			if strings.Contains(a.Text, "**1.00M/s**") {
				t.Errorf("bound %v: a step short of its rate or saturated counts as carried: %s", opt.Targets, a.Text)
			}
			want(t, a, false, "is **10.0k/s**", "1.00M/s was not (")
		}
	}
}

// A step that passed but is refused for answers (noisy) neither carries
// the answer nor disappears from it: it is named.
func TestLoadNamesRefusedSteps(t *testing.T) {
	s := capacityRun()
	noisy := warn(results.WarnNoisy, "noisy: the median's 95% CI is ±30%")
	fam := "Load/transport=pipe/mode=raw/size=64/placement=cross-core/arrivals=constant/"
	s.Benchmarks = append(s.Benchmarks,
		ci2(fam+"rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), loadCPU, loadVerdictIs(results.VerdictOK)),
		mk(fam+"rate=30000/cores=1", 15*us, 10*us, 20*us, perOp(20*us), achieved(30000), loadCPU, loadVerdictIs(results.VerdictOK), noisy),
		ci2(fam+"rate=100000/cores=1", 900*us, perOp(2*ms), achieved(80000), loadCPU, loadVerdictIs(results.VerdictSaturated)),
	)
	d, err := Build([]Run{{Set: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want(t, answerOf(t, d, "load", "pipe raw 64B cross-core constant:"), false, "is **10.0k/s**", "100k/s was not (achieved 80.0k/s, saturated",
		"left out, refused for answers: 30.0k/s (noisy)")
}
