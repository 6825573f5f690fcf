package report

import (
	"bytes"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/golden"
	"github.com/ipcbench/ipcbench/results"
)

// Every capacity answer, checked against a hand computation on the fixed
// results file testdata/capacity.json (built by capacityRun).

var capacityTargets = []string{
	"roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us",
	"roundtrip:transport=pipe,size=64,rate=300k/s,p99<=50us",
	"spawn:mode=spawn,rate=5000/s",
	"throughput:transport=pipe,size=64KiB,rate=1000MB/s",
	"roundtrip:transport=shm-futex,size=64,rate=1k/s",
}

func capacityDoc(t *testing.T, opt Options) *Doc {
	t.Helper()
	s, err := results.Load(filepath.Join("testdata", "capacity.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range capacityTargets {
		opt.Targets = append(opt.Targets, mustTarget(t, spec))
	}
	d, err := Build([]Run{{Set: s}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// answer finds the one answer of a section that begins with prefix.
func answerOf(t *testing.T, d *Doc, section, prefix string) Answer {
	t.Helper()
	var found []Answer
	for _, s := range d.Sections {
		if s.ID != section {
			continue
		}
		for _, a := range s.Answers {
			if strings.HasPrefix(a.Text, prefix) {
				found = append(found, a)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("section %s: %d answers begin with %q", section, len(found), prefix)
	}
	return found[0]
}

func want(t *testing.T, a Answer, refused bool, parts ...string) {
	t.Helper()
	if a.Refused != refused {
		t.Errorf("refused = %v, want %v: %s", a.Refused, refused, a.Text)
	}
	for _, p := range parts {
		if !strings.Contains(a.Text, p) {
			t.Errorf("answer lacks %q:\n%s", p, a.Text)
		}
	}
}

func wantInputs(t *testing.T, a Answer, names ...string) {
	t.Helper()
	for _, n := range names {
		if !slices.Contains(a.Inputs, results.Name(n)) {
			t.Errorf("answer does not name input %s (has %v)", n, a.Inputs)
		}
	}
}

// TestSpawnCheapestWithinRuntime: a parent-memory variant (cheaper than
// all) is not a way of spawning to pick, and Node's ways are compared among
// themselves, not with Go's.
func TestSpawnCheapestWithinRuntime(t *testing.T) {
	s, err := results.Load(filepath.Join("testdata", "capacity.json"))
	if err != nil {
		t.Fatal(err)
	}
	variant := func(from, name string, scale float64) {
		i := slices.IndexFunc(s.Benchmarks, func(b results.Benchmark) bool { return b.Name == results.Name(from) })
		if i < 0 {
			t.Fatalf("no %s", from)
		}
		b := s.Benchmarks[i]
		b.Name = results.Name(name)
		b.Metrics = maps.Clone(b.Metrics)
		for k := range b.Metrics {
			b.Metrics[k] *= scale
		}
		s.Benchmarks = append(s.Benchmarks, b)
	}
	variant("Spawn/mode=spawn/cmd=true/cores=1", "Spawn/mode=spawn/cmd=true/method=vfork/parent_mem=0/cores=1", 0.5)
	variant("Spawn/mode=spawn/cmd=true/cores=1", "Spawn/mode=spawn/cmd=true/runtime=node/cores=1", 2)
	variant("Spawn/mode=exec/cmd=true/cores=1", "Spawn/mode=exec/cmd=true/runtime=node/cores=1", 3)
	d, err := Build([]Run{{Set: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := answerOf(t, d, "spawn", "Cheapest per core:")
	want(t, a, false, "**spawn true**", "one core carries 2.00× the spawns of exec true, 4.00× those of fork.")
	// Node: exec 3 × 1 ms against spawn 2 × 0.5 ms of CPU.
	a = answerOf(t, d, "spawn", "Cheapest per core of node's ways:")
	want(t, a, false, "**spawn true [node]**", "one core carries 3.00× the spawns of exec true [node].")
}

func TestSpawnAnswers(t *testing.T) {
	d := capacityDoc(t, Options{})
	// exec: 100+150 µs parent + 500+250 µs child = 1 ms of CPU → 1000 spawns/s per core.
	a := answerOf(t, d, "spawn", "exec true:")
	want(t, a, false, "**1.00k spawns/s per core**", "1.00ms of CPU per spawn", "2.00ms [1.90ms–2.10ms]")
	wantInputs(t, a, "Spawn/mode=exec/cmd=true/cores=1")
	// spawn: 50+100+250+100 = 500 µs → 2000/s.
	want(t, answerOf(t, d, "spawn", "spawn true:"), false, "**2.00k spawns/s per core**", "500µs of CPU per spawn", "1.00ms [950µs–1.05ms]")
	// fork: 200+300+1000+500 = 2 ms → 500/s.
	want(t, answerOf(t, d, "spawn", "fork:"), false, "**500 spawns/s per core**", "2.00ms of CPU")
	// spawn is cheapest: 1 ms / 0.5 ms = 2×, 2 ms / 0.5 ms = 4×.
	want(t, answerOf(t, d, "spawn", "Cheapest per core"), false, "**spawn true**", "one core carries 2.00× the spawns of exec true, 4.00× those of fork")
	// exec echo is warned noisy: its CI [1.5, 2.9] ms is ±31.8% of 2.2 ms.
	a = answerOf(t, d, "spawn", "Refused:")
	want(t, a, true, "exec echo — noisy (95% CI ±31.8%)")
	wantInputs(t, a, "Spawn/mode=exec/cmd=echo/cores=1")
}

func TestRoundTripAnswers(t *testing.T) {
	d := capacityDoc(t, Options{})
	// 64 B cross-core: pipe/raw 10 µs, unix/raw 20 µs (2× slower, CIs apart),
	// tcp/raw noisy and left out; pipe's CPU 1+1.5+1+1.5 = 5 µs → 200k/s per core.
	a := answerOf(t, d, "roundtrip", "64B round trips, cross-core")
	want(t, a, false, "choose **pipe/raw** — 10.0µs [9.80µs–10.2µs] per round trip", "2.00× faster than the next, unix/raw (20.0µs [19.5µs–20.5µs])",
		"one core carries 200k round trips/s of it (5.00µs CPU per round trip", "In idiomatic Go (mode=go): unix/go, 30.0µs", "3 of 4 transports", "Left out: tcp/raw (noisy)")
	wantInputs(t, a, "RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1", "RoundTrip/transport=unix/mode=raw/size=64/placement=cross-core/cores=1")
	// 4 KiB: unix/raw 12.0 [11.8, 12.2] and pipe/raw 12.1 [11.9, 12.3] overlap: a tie;
	// unix's CPU 5×4 = 20 µs → 50k/s per core.
	want(t, answerOf(t, d, "roundtrip", "4KiB round trips"), false, "choose **unix/raw**", "tied with pipe/raw (12.1µs [11.9µs–12.3µs]; the 95% CIs overlap)", "50.0k round trips/s")
	// The table: pipe/raw 64 B cross-core 200k/s, 4 KiB 1e9/(2+3+2+3 µs) = 100k/s; tcp marked †.
	tb := tableOf(t, d, "roundtrip", "Round trip, cross-core")
	if got := tb.Rows[0]; !slices.Equal(got, []string{"pipe/raw", "10.0µs · 200k/s", "12.1µs · 100k/s"}) {
		t.Errorf("pipe/raw row %q", got)
	}
	if got := tb.Rows[3]; got[0] != "tcp/raw" || !strings.HasSuffix(got[1], "†") {
		t.Errorf("tcp/raw row %q: refused figures are marked †", got)
	}
}

func TestThroughputAnswers(t *testing.T) {
	d := capacityDoc(t, Options{})
	// 65536 B / 20 µs = 3276.8 MB/s [65536e3/20400 = 3212.5, 65536e3/19600 = 3343.7];
	// unix 65536e3/25000 = 2621.4: 25/20 = 1.25× slower. CPU 25 µs → 40k msgs/s, 65536e3/25000 MB/s.
	want(t, answerOf(t, d, "throughput", "64KiB messages, cross-core"), false,
		"choose **pipe/raw** — 3277 MB/s [3213–3344] one way (50.0k messages/s)", "1.25× faster than the next, unix/raw (2621 MB/s [2521–2731])",
		"one core carries 40.0k messages/s of it (2621 MB/s; 25.0µs CPU per message")
}

func TestOutputAnswers(t *testing.T) {
	d := capacityDoc(t, Options{})
	// Time ratios buffered/streamed: 4/3.5 = 1.14, 6/4 = 1.5, 30/10 = 3, 100/30 = 3.33:
	// first above 2 at 16 MiB, within 2 at 1 MiB; log-linear crossing at
	// 1 MiB × 16^((2−1.5)/(3−1.5)) = 1 MiB × 16^(1/3) = 2.52 MiB.
	a := answerOf(t, d, "output", "Buffered vs streamed/go, writes of 64KiB, in time")
	want(t, a, false, "more than 2× from **16MiB** (30.0ms [29.4ms–30.6ms] vs 10.0ms [9.80ms–10.2ms], 3.00×)", "at 1MiB it was within 2×",
		"crossing ≈ "+Bytes(mib*math.Pow(16, 1.0/3)), "Sizes compared: 64KiB, 1MiB, 16MiB, 64MiB")
	if Bytes(mib*math.Pow(16, 1.0/3)) != "2.5MiB" {
		t.Errorf("hand computation: %s", Bytes(mib*math.Pow(16, 1.0/3)))
	}
	wantInputs(t, a, "Output/collect=buffered/size=16777216/write=65536/cores=1", "Output/collect=streamed/mode=go/size=16777216/write=65536/cores=1")
	// Memory ratios 256KiB/1MiB = 0.25, 4, 64, 256: above 2 from 1 MiB; crossing at
	// 64 KiB × 16^((2−0.25)/(4−0.25)) = 64 KiB × 16^0.4667 = 233 KiB.
	want(t, answerOf(t, d, "output", "Buffered vs streamed/go, writes of 64KiB, in parent peak memory"), false,
		"more than 2× from **1MiB** (+4.0MiB vs +1.0MiB, 4.00×)", "at 64KiB it was within 2×", "crossing ≈ "+Bytes(64*kib*math.Pow(16, 1.75/3.75)))
	if Bytes(64*kib*math.Pow(16, 1.75/3.75)) != "233KiB" {
		t.Errorf("hand computation: %s", Bytes(64*kib*math.Pow(16, 1.75/3.75)))
	}
	// The largest buffered output, 64 MiB, grew the parent by 256 MiB: 4×; 1 GiB was skipped.
	want(t, answerOf(t, d, "output", "Node-style exec"), false, "needs maxBuffer ≥ S", "64MiB, the parent's peak memory grew by 256.0MiB (4.00× the output)",
		"Not measured buffered: 1GiB (over the run's --max-buffer 64MiB)")
	// With N = 4 the time crossing moves: no ratio above 4 (3.33 at 64 MiB).
	d4 := capacityDoc(t, Options{BufferFactor: 4})
	want(t, answerOf(t, d4, "output", "Buffered vs streamed/go, writes of 64KiB, in time"), false, "within 4× up to the largest size compared, 64MiB (100ms [98.0ms–102ms] vs 30.0ms [29.4ms–30.6ms], 3.33×)")
}

func TestScalingAnswers(t *testing.T) {
	d := capacityDoc(t, Options{})
	// Spawn: 1e9/1 ms = 1.00k at N=1, 1e9/600 µs = 1.67k at N=2: ×1.67, efficiency 1.67/2 = 83%.
	want(t, answerOf(t, d, "scaling", "Spawn (spawn true)"), false, "by **1.67×** (1.00k → 1.67k spawns/s; efficiency 83%)")
	// RoundTrip: the same-core family 100k, 167k, 250k; the cross-core family's N=2 shared CPUs.
	a := answerOf(t, d, "scaling", "RoundTrip (pipe raw 64B same-core)")
	want(t, a, false, "by **1.67×** (100k → 167k round trips/s; efficiency 83%)", "Left out: pairs had to share CPUs ×1")
	// USL by hand: y(N) = N/C(N) − 1 = 0.2 at N=2, 0.6 at N=4; least squares over
	// a = N−1 (1, 3) and b = N(N−1) (2, 12): Saa 10, Sab 38, Sbb 148, Say 2.0,
	// Sby 7.6, det 36: σ = (2·148 − 7.6·38)/36 = 0.2, κ = (7.6·10 − 2·38)/36 = 0.
	// κ = 0: no peak; X levels off at λ/σ = 100k/0.2 = 500k.
	want(t, answerOf(t, d, "scaling", "RoundTrip, Universal Scalability Law"), false, "no peak: it levels off towards 500k round trips/s (σ=0.200, κ=0, R²=1.00)")
	// Spawn has two core counts: no fit, and says why.
	want(t, answerOf(t, d, "scaling", "Spawn, predicted peak (USL)"), true, "refused — measured at 2 core count(s) (1, 2); a fit needs at least 3")
}

func TestTargetAnswers(t *testing.T) {
	d := capacityDoc(t, Options{})
	// unix/raw 4 KiB: 20 µs CPU × 200k/s = 4.00 cores ≤ 4 CPUs, but its p99 is 60 µs > 50 µs.
	a := answerOf(t, d, "targets", "roundtrip transport=unix size=4KiB at 200k/s with p99 ≤ 50.0µs")
	want(t, a, false, "→ **4 core(s)** from cost (4.00 cores of CPU: 20.0µs CPU per operation × 200k/s; unix/raw 4KiB cross-core)",
		"**not reachable on this machine**: its p99 at no load is already 60.0µs > 50.0µs")
	wantInputs(t, a, "RoundTrip/transport=unix/mode=raw/size=4096/placement=cross-core/cores=1")
	// pipe/raw 64 B: 5 µs × 300k/s = 1.5 cores → 2; p99 40 µs ≤ 50 µs. The same-core match has
	// no per-op p99, so the cross-core one (latency checked) is the answer.
	want(t, answerOf(t, d, "targets", "roundtrip transport=pipe size=64B"), false, "→ **2 core(s)** from cost (1.50 cores of CPU: 5.00µs CPU per operation × 300k/s; pipe/raw 64B cross-core)",
		"**reachable on this machine**; p99 at no load 40.0µs", "The measurement at 2 workers is refused (pairs had to share CPUs)", "Other matches: pipe/raw 64B same-core 2 core(s)")
	// spawn: 0.5 ms × 5000/s = 2.5 cores → 3 of 4; measured at 2 workers: 1.67k/s only.
	want(t, answerOf(t, d, "targets", "spawn mode=spawn at 5.00k/s"), false, "→ **3 core(s)** from cost (2.50 cores of CPU", "reachable on this machine", "Measured: 2 concurrent workers carried only 1.67k/s")
	// 1000 MB/s of 64 KiB messages = 1e9/65536 = 15.3k msgs/s × 25 µs = 0.38 cores → 1.
	want(t, answerOf(t, d, "targets", "throughput transport=pipe size=64KiB at 1000 MB/s"), false, "→ **1 core(s)** from cost (0.38 cores of CPU: 25.0µs CPU per operation × 15.3k/s")
	// Nothing measured matches shm-futex.
	want(t, answerOf(t, d, "targets", "roundtrip transport=shm-futex"), true, "refused — no RoundTrip benchmark in this run matches")
	// A machine with 2 CPUs cannot give 4 cores.
	s, _ := results.Load(filepath.Join("testdata", "capacity.json"))
	s.Env.AllowedCPUs, s.Env.NumCPU = []int{0, 1}, 2
	d2, err := Build([]Run{{Set: s}}, Options{Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=4096,rate=200000/s")}})
	if err != nil {
		t.Fatal(err)
	}
	want(t, answerOf(t, d2, "targets", "roundtrip transport=unix"), false, "not reachable on this machine**: it needs 4 cores of CPU and this machine has 2")
}

func TestAllowNoisy(t *testing.T) {
	d := capacityDoc(t, Options{AllowNoisy: true})
	// tcp/raw (15 µs, noisy) is now a candidate; pipe/raw still wins, 1.5× over it.
	want(t, answerOf(t, d, "roundtrip", "64B round trips"), false, "1.50× faster than the next, tcp/raw (15.0µs [12.0µs–18.0µs])")
	a := answerOf(t, d, "roundtrip", "64B round trips")
	if !slices.Contains(a.Caveats, "noisy (±20.0%)") {
		t.Errorf("caveats %q lack the noisy runner-up's", a.Caveats)
	}
}

func tableOf(t *testing.T, d *Doc, section, prefix string) Table {
	t.Helper()
	for _, s := range d.Sections {
		for _, tb := range s.Tables {
			if s.ID == section && strings.HasPrefix(tb.Title, prefix) {
				return tb
			}
		}
	}
	t.Fatalf("no table %q in %s", prefix, section)
	return Table{}
}

func TestTargetParse(t *testing.T) {
	tg, err := ParseTarget("roundtrip:transport=unix,size=4KiB,rate=200k/s,p99<=50us")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Base != results.ScenarioRoundTrip || tg.Rate != 200000 || tg.Pct != "p99" || tg.Bound != 50000 || !slices.Equal(tg.Params, [][2]string{{"transport", "unix"}, {"size", "4096"}}) {
		t.Errorf("%+v", tg)
	}
	for spec, msg := range map[string]string{
		"roundtrip":                        "expected SCENARIO:key=value",
		"fly:rate=1/s":                     `unknown scenario "fly" (accepted: roundtrip, throughput, spawn)`,
		"roundtrip:transport=unix":         "needs rate=N/s",
		"roundtrip:rate=fast":              "rate=fast: not a positive rate",
		"roundtrip:rate=1/s,p98<=1ms":      `unknown latency bound "p98"`,
		"roundtrip:rate=1/s,p99<=soon":     "p99<=soon: not a positive duration",
		"roundtrip:rate=1/s,colour=blue":   `unknown key "colour"`,
		"roundtrip:rate=1/s,size=huge":     "size=huge",
		"roundtrip:rate=10MB/s":            "a rate in MB/s is for throughput",
		"roundtrip:transport=unix,rate=1k": "", // /s is optional
	} {
		_, err := ParseTarget(spec)
		switch {
		case msg == "" && err != nil:
			t.Errorf("%s: %v", spec, err)
		case msg != "" && (err == nil || !strings.Contains(err.Error(), msg) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: error %v, want one line with %q", spec, err, msg)
		}
	}
}

// The text and Markdown reports of the fixture, and its HTML page, are
// deterministic: golden files.
func TestGoldenReports(t *testing.T) {
	d := capacityDoc(t, Options{})
	var txt, md, md2, html bytes.Buffer
	if err := WriteText(&txt, d); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "capacity.txt.golden"), txt.Bytes())
	if err := WriteMarkdown(&md, d, MarkdownOptions{ChartDir: "charts"}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "capacity.md.golden"), md.Bytes())
	if err := WriteHTML(&html, d); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "capacity.html.golden"), html.Bytes())
	// Building twice gives the same bytes (charts included).
	if err := WriteMarkdown(&md2, capacityDoc(t, Options{}), MarkdownOptions{ChartDir: "charts"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md.Bytes(), md2.Bytes()) {
		t.Error("two builds of one report differ")
	}
}

// WriteAnswers is the answers part of the full report (what `run` can print
// before its tables); NoCharts skips drawing.
func TestWriteAnswersAndNoCharts(t *testing.T) {
	d := capacityDoc(t, Options{NoCharts: true})
	for _, s := range d.Sections {
		if len(s.Charts) > 0 {
			t.Errorf("section %s drew charts under NoCharts", s.ID)
		}
	}
	for _, md := range []bool{false, true} {
		var part, whole bytes.Buffer
		if err := WriteAnswers(&part, d, md); err != nil {
			t.Fatal(err)
		}
		if md {
			err := WriteMarkdown(&whole, d, MarkdownOptions{})
			if err != nil {
				t.Fatal(err)
			}
		} else if err := WriteText(&whole, d); err != nil {
			t.Fatal(err)
		}
		if part.Len() < 1000 || !strings.Contains(whole.String(), part.String()) {
			t.Errorf("markdown=%v: the answers (%d bytes) are not the report's answers", md, part.Len())
		}
	}
}

func TestAxisLabels(t *testing.T) {
	var got []string
	for _, tk := range (ticker{kind: axisQuantile}).Ticks(1.8, 20000) {
		got = append(got, tk.Label)
	}
	if want := []string{"p50", "p90", "p99", "p99.9", "p99.99"}; !slices.Equal(got, want) {
		t.Errorf("percentile axis %q, want %q", got, want)
	}
	// Ten powers of two: every other one labelled.
	got = nil
	for _, tk := range (ticker{kind: axisSize}).Ticks(60, 70000) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if want := []string{"64B", "256B", "1KiB", "4KiB", "16KiB", "64KiB"}; !slices.Equal(got, want) {
		t.Errorf("size axis %q, want %q", got, want)
	}
}

// A partial run (rebuilt from its journal, or interrupted) says so in
// the host table and first among what was left out, in every format.
func TestPartialRunIsFlagged(t *testing.T) {
	s, err := results.Load(filepath.Join("testdata", "capacity.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.Partial = "rebuilt from the journal: the run ended before saving its results; 20 of 40 planned benchmarks have figures (60 visits)"
	d, err := Build([]Run{{Set: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Left) == 0 || !strings.Contains(d.Left[0], "a partial run: rebuilt from the journal") {
		t.Errorf("left out: %q", d.Left)
	}
	if row := d.Hosts.Rows[0]; !strings.Contains(row[len(row)-1], "PARTIAL RUN") {
		t.Errorf("host row %q", row)
	}
	var txt, md, html bytes.Buffer
	if err := WriteText(&txt, d); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, d, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, d); err != nil {
		t.Fatal(err)
	}
	for f, out := range map[string]string{"text": txt.String(), "markdown": md.String(), "html": html.String()} {
		if !strings.Contains(out, "a partial run") || !strings.Contains(out, "PARTIAL RUN") {
			t.Errorf("%s does not flag the partial run", f)
		}
	}
}
