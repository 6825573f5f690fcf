package report

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/browsertest"
	"github.com/ipcbench/ipcbench/results"
)

// The parent-memory and latency-under-load sections appear when a run
// has such benchmarks, in the shapes the parentmem, node and load groups
// save.
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
		ci2("Spawn/mode=spawn/cmd=true/method=vfork/parent_mem=0/cores=1", 1*ms, cpu(100*us, 100*us, 200*us, 100*us), perOp(2*ms)),
		ci2("Spawn/mode=spawn/cmd=true/method=vfork/parent_mem=1073741824/cores=1", 1.1*ms, cpu(100*us, 150*us, 200*us, 100*us), perOp(2.2*ms)),
		ci2("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=0/cores=1", 1*ms, cpu(100*us, 200*us, 200*us, 100*us), perOp(2*ms)),
		ci2("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=268435456/cores=1", 10.75*ms, cpu(1*ms, 3*ms, 400*us, 100*us), perOp(15*ms)),
		ci2("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=1073741824/cores=1", 40*ms, cpu(5*ms, 14*ms, 800*us, 200*us), perOp(60*ms)),
		ci2("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=0/runtime=node/cores=1", 2*ms, cpu(200*us, 200*us, 200*us, 100*us)),
		mk("Spawn/mode=spawn/cmd=true/method=fork/parent_mem=1073741824/runtime=node/cores=1", 45*ms, 30*ms, 60*ms, cpu(5*ms, 14*ms, 800*us, 200*us),
			warn(results.WarnNoisy, "noisy: the median's 95% CI is ±33%")),
		// 10 µs of CPU per op (parent 3+2 µs less 1 µs of harness, child 3+3):
		// one core carries 100k/s, whatever the cores= of the name says.
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=10000/cores=1", 15*us, perOp(20*us), achieved(10000), loadCPU, loadVerdictIs(results.VerdictOK)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=50000/cores=1", 25*us, perOp(45*us), achieved(50000), loadCPU, loadVerdictIs(results.VerdictOK)),
		ci2("Load/transport=unix/mode=raw/size=4096/placement=cross-core/rate=100000/cores=1", 90*us, perOp(200*us), achieved(90000), loadCPU, loadVerdictIs(results.VerdictSaturated)),
	)
	return s
}

func TestParentMemAndLoadSections(t *testing.T) {
	d, err := Build([]Run{{Set: extraRun()}}, Options{Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us")}})
	if err != nil {
		t.Fatal(err)
	}
	// fork+exec: 1 ms → 40 ms (40×), on a line: 39 ms per GiB = 3.81 ms per
	// 100 MiB; CPU 0.6 ms → 1.67k/s, 20 ms → 50/s.
	a := answerOf(t, d, "parentmem", "go fork+exec:")
	want(t, a, false, "1.00ms [980µs–1.02ms] with a 0B parent and 40.0ms [39.2ms–40.8ms] with a 1GiB parent (**40.0×**), +3.81ms per 100 MiB held",
		"one core sustains 1.67k spawns/s at 0B and 50.0 at 1GiB")
	wantInputs(t, a, "Spawn/mode=spawn/cmd=true/method=fork/parent_mem=0/cores=1", "Spawn/mode=spawn/cmd=true/method=fork/parent_mem=1073741824/cores=1")
	// vfork: 1.0 → 1.1 ms, 0.1 ms per GiB = 9.77 µs per 100 MiB.
	want(t, answerOf(t, d, "parentmem", "go os/exec (vfork):"), false, "(**1.10×**), +9.77µs per 100 MiB held")
	// Node's 1 GiB figure is noisy: refused, and said so.
	want(t, answerOf(t, d, "parentmem", "node spawn (libuv fork) with a 0B parent"), false, "2.00ms", "a second size is needed", "Left out: 1GiB (noisy).")
	tb := tableOf(t, d, "parentmem", "Spawn against the parent's memory")
	if !slices.Equal(tb.Head, []string{"parent memory", "go os/exec (vfork)", "go fork+exec", "node spawn (libuv fork)"}) || len(tb.Rows) != 3 ||
		!slices.Equal(tb.Rows[1], []string{"256MiB", "", "10.8ms · 222/s", ""}) || tb.Rows[2][3] != "45.0ms · 50.0/s †" {
		t.Errorf("parent-memory table %q %q", tb.Head, tb.Rows)
	}
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
	for _, id := range []string{"parentmem-spawn", "load-latency"} {
		if !charts[id] {
			t.Errorf("no chart %s", id)
		}
	}
	path := filepath.Join(t.TempDir(), "extra.html")
	if err := WriteHTMLFile(path, d); err != nil {
		t.Fatal(err)
	}
	browsertest.CheckReport(t, path, "report-parentmem-load")
}

// Without such benchmarks, the sections are absent.
func TestExtraSectionsAbsentWithoutData(t *testing.T) {
	d := capacityDoc(t, Options{})
	for _, s := range d.Sections {
		if s.ID == "parentmem" || s.ID == "load" {
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

// Two load families of one workload (constant and Poisson arrivals): the
// target's answer is the harsher, and names what the other carried.
func TestLoadVerdictHarshestFamily(t *testing.T) {
	a := harshest(t, 10000)
	// 10 µs of CPU per op: 100k/s per core either way, so 2 cores each; the
	// first in the run's order (constant) is the answer, poisson named.
	want(t, a, false, "Under load (unix raw 4KiB cross-core constant): 50.0k/s was carried", "→ 2 core(s)",
		"(the harshest of the matching load families; unix raw 4KiB cross-core poisson: 10.0k/s carried, 2 core(s))")
	// Poisson carried nothing: that is the answer, constant named.
	a = harshest(t, 0)
	want(t, a, false, "Under load (unix raw 4KiB cross-core poisson): no offered rate was carried",
		"(the harshest of the matching load families; unix raw 4KiB cross-core constant: 50.0k/s carried, 2 core(s))")
}

func harshest(t *testing.T, poissonTop float64) Answer {
	t.Helper()
	s := capacityRun()
	for _, f := range []struct {
		arrivals string
		top      float64 // the highest step carried
	}{{"constant", 50000}, {"poisson", poissonTop}} {
		fam := "Load/transport=unix/mode=raw/size=4096/placement=cross-core/arrivals=" + f.arrivals + "/"
		for _, r := range []float64{10000, 50000} {
			v := results.VerdictOK
			if r > f.top {
				v = results.VerdictSLO
			}
			s.Benchmarks = append(s.Benchmarks, ci2(fmt.Sprintf("%srate=%.0f/cores=1", fam, r), 15*us, perOp(20*us), achieved(r), loadCPU, loadVerdictIs(v)))
		}
	}
	d, err := Build([]Run{{Set: s}}, Options{Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=4096,rate=200000/s")}})
	if err != nil {
		t.Fatal(err)
	}
	return answerOf(t, d, "targets", "roundtrip transport=unix")
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

// Node's own figures (runtime=node) never share a row, a line or a cell
// with ipcbench's Go figures of the same transport or collect mode, and
// each runtime's transport is chosen among its own.
func TestNodeFiguresKeepTheirOwnRows(t *testing.T) {
	s := capacityRun()
	node := func(b *results.Benchmark) { b.Params[results.KeyRuntime] = results.RuntimeNode }
	nodeGrowth := func(v float64) bopt {
		return func(b *results.Benchmark) {
			delete(b.Metrics, results.MetricParentGrowth)
			b.Metrics[results.MetricNodeGrowth] = v
		}
	}
	s.Benchmarks = append(s.Benchmarks,
		ci2("RoundTrip/transport=unix/api=net/size=64/placement=cross-core/runtime=node/cores=1", 100*us, cpu(50*us, 50*us, 50*us, 50*us), node),
		ci2("RoundTrip/transport=unix/api=stdio/size=64/placement=cross-core/runtime=node/cores=1", 90*us, cpu(50*us, 50*us, 50*us, 50*us), node),
		ci2("RoundTrip/transport=channel/serialization=json/size=64/placement=cross-core/runtime=node/cores=1", 120*us, cpu(50*us, 50*us, 50*us, 50*us), node),
		ci2("Output/collect=buffered/size=1048576/write=65536/runtime=node/cores=1", 9*ms, out(1*mib, 300, 0), nodeGrowth(30*mib), node),
		ci2("Output/collect=streamed/size=1048576/write=65536/runtime=node/cores=1", 5*ms, out(1*mib, 800, 0), nodeGrowth(12*mib), node),
	)
	d, err := Build([]Run{{Set: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tb := tableOf(t, d, "roundtrip", "Round trip, cross-core")
	rows := map[string][]string{}
	for _, r := range tb.Rows {
		if rows[r[0]] != nil {
			t.Errorf("two rows %q", r[0])
		}
		rows[r[0]] = r
	}
	// unix/raw keeps Go's 20 µs; Node's two APIs have their own rows.
	for k, v := range map[string]string{"unix/raw": "20.0µs", "unix/net [node]": "100µs", "unix/stdio [node]": "90.0µs", "channel/json [node]": "120µs"} {
		if r := rows[k]; r == nil || !strings.HasPrefix(r[1], v) {
			t.Errorf("row %s = %q, want %s", k, r, v)
		}
	}
	// Go's answer is chosen among Go's transports, Node's among Node's.
	want(t, answerOf(t, d, "roundtrip", "64B round trips, cross-core:"), false, "choose **pipe/raw**")
	a := answerOf(t, d, "roundtrip", "64B round trips, cross-core [node]:")
	want(t, a, false, "choose **unix/stdio [node]**", "unix/net [node]")
	if strings.Contains(a.Text, "pipe/raw") {
		t.Errorf("Node's answer names a Go transport: %s", a.Text)
	}
	// Output: buffered 1 MiB keeps Go's 6 ms; Node's is its own column,
	// with the Node process's memory.
	ot := tableOf(t, d, "output", "Output collection")
	bi, ni := slices.Index(ot.Head, "buffered"), slices.Index(ot.Head, "buffered [node]")
	if bi < 0 || ni < 0 {
		t.Fatalf("output columns %q", ot.Head)
	}
	for _, r := range ot.Rows {
		if r[0] == "1MiB" && r[1] == "64KiB" {
			if !strings.HasPrefix(r[bi], "6.00ms") || !strings.HasPrefix(r[ni], "9.00ms") || !strings.Contains(r[ni], "+30.0MiB") {
				t.Errorf("1 MiB row %q (head %q)", r, ot.Head)
			}
		}
	}
	want(t, answerOf(t, d, "output", "Buffered [node] vs streamed [node], writes of 64KiB, in parent peak memory"), false, "+30.0MiB vs +12.0MiB")
	want(t, answerOf(t, d, "output", "Buffered vs streamed/go, writes of 64KiB, in time"), false, "from **16MiB**")
	// Chart lines: every name once per chart.
	for _, sec := range d.Sections {
		for _, c := range sec.Charts {
			seen := map[string]bool{}
			for _, m := range regexp.MustCompile(`data-series="([^"]*)"`).FindAllStringSubmatch(string(c.SVG), -1) {
				if m[1] == "band" {
					continue
				}
				if seen[m[1]] {
					t.Errorf("chart %s: two lines named %q", c.ID, m[1])
				}
				seen[m[1]] = true
			}
		}
	}
}
