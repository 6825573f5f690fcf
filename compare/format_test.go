package compare

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/golden"
	"github.com/ipcbench/ipcbench/results"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"
)

// fixedReport is a gate report with every kind of row, built by hand so
// its renderings are stable.
func fixedReport() *GateReport {
	r := &GateReport{
		SchemaVersion: GateSchemaVersion, Kind: KindGate,
		Base:      Arm{Kind: "binary", What: "./old/ipcbench"},
		Head:      Arm{Kind: "binary", What: "./new/ipcbench"},
		Selection: []string{"spawn", "roundtrip", "--filter", "Spawn/mode=spawn/cmd=true/cores=1|RoundTrip/transport=unix/mode=raw/size=64/placement=same-core/cores=1"},
		Rounds:    20, Looks: 2, Seed: 42,
		StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		ElapsedNS: int64(95 * time.Second), TimeNS: int64(3 * time.Minute), BudgetNS: int64(400 * time.Millisecond),
		Env:       results.Env{OS: "linux", Arch: "amd64", Hostname: "ci-1", CPUModel: "Intel(R) Xeon(R) Processor", NumCPU: 2, AllowedCPUs: []int{0, 1}, Kernel: "6.18.44 #1 SMP", GoVersion: "go1.26.8", Virtualized: true},
		NoiseFile: "noise.json",
		OnlyHead:  []results.Name{"Spawn/mode=fork/cores=1"},
		Notes:     []string{"noise floor of RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1 is 12.0%: too noisy to gate at 5% here; gated at its floor"},
	}
	r.SetPlan(DefaultPlan())
	lvl := r.Plan.LookLevel
	r.Benchmarks = []Verdict{
		{Name: "Spawn/mode=spawn/cmd=true/cores=1", Unit: "ns/op", Rounds: 10, BaseMedian: 924e3, HeadMedian: 1118e3,
			Change: Interval{Est: 0.21, Lo: 0.185, Hi: 0.236, Level: lvl, OK: true}, Threshold: 0.05, MDE: 0.0255, PRegression: 0.00098,
			Outcome: Regression, Reason: "the whole interval lies beyond +5%", DecidedAt: 10},
		{Name: "RoundTrip/transport=unix/mode=raw/size=64/placement=same-core/cores=1", Unit: "ns/op", Rounds: 20, BaseMedian: 3120, HeadMedian: 3131,
			Change: Interval{Est: 0.004, Lo: -0.012, Hi: 0.019, Level: lvl, OK: true}, Threshold: 0.05, MDE: 0.0155, PRegression: 1,
			Outcome: Pass, Reason: "within ±5%", DecidedAt: 20},
		{Name: "RoundTrip/transport=pipe/mode=raw/size=64/placement=cross-core/cores=1", Unit: "ns/op", Rounds: 20, BaseMedian: 70.1e3, HeadMedian: 74.9e3,
			Change: Interval{Est: 0.068, Lo: -0.02, Hi: 0.16, Level: lvl, OK: true}, Threshold: 0.12, NoiseFloor: 0.12, MDE: 0.09, PRegression: 0.4,
			Outcome: Inconclusive, Reason: "the interval straddles +12%; this run resolves ±9.0%"},
		{Name: "Output/collect=streamed/mode=raw/size=67108864/write=65536/cores=1", Unit: "MB/s", HigherIsBetter: true, Rounds: 3, BaseMedian: 4300, HeadMedian: 4350,
			Change: Interval{Est: 0.01, Lo: math.Inf(-1), Hi: math.Inf(1), Level: lvl}, Threshold: 0.05, MDE: math.Inf(1), PRegression: 1,
			Outcome: Inconclusive, Reason: "3 rounds are too few for a 98.3% interval"},
	}
	r.Samples = []SeriesDoc{
		{Name: "Spawn/mode=spawn/cmd=true/cores=1", Unit: "ns/op", Rounds: []int{1, 2}, Base: []float64{924e3, 930e3}, Head: []float64{1118e3, 1120e3}},
		{Name: "Output/collect=streamed/mode=raw/size=67108864/write=65536/cores=1", Unit: "MB/s", Rounds: []int{1}, Base: []float64{4300}, Head: []float64{4350}},
	}
	r.InconclusivePass = false
	r.Finish(false, 0)
	return r
}

func TestGateGolden(t *testing.T) {
	r := fixedReport()
	if r.Outcome != Regression || r.ExitCode != 1 {
		t.Fatalf("outcome %s exit %d", r.Outcome, r.ExitCode)
	}
	for _, c := range []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"testdata/gate.md.golden", func(b *bytes.Buffer) error { return GateMarkdown(b, r) }},
		{"testdata/gate.json.golden", func(b *bytes.Buffer) error { return GateJSON(b, r) }},
		{"testdata/gate.txt.golden", func(b *bytes.Buffer) error { return GateText(b, r) }},
	} {
		var b bytes.Buffer
		if err := c.render(&b); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, c.file, b.Bytes())
	}
}

// The JSON verdict document reads back to the same verdicts, infinite
// bounds included (written as null).
func TestGateJSONRoundTrip(t *testing.T) {
	r := fixedReport()
	var b bytes.Buffer
	if err := GateJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeGate(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Benchmarks) != 4 || back.Outcome != Regression || back.ExitCode != 1 {
		t.Fatalf("read back %+v", back)
	}
	for i, v := range back.Benchmarks {
		w := r.Benchmarks[i]
		if v.Outcome != w.Outcome || v.Change.OK != w.Change.OK || (w.Change.OK && (v.Change.Lo != w.Change.Lo || v.Change.Hi != w.Change.Hi)) {
			t.Errorf("%s: %+v, want %+v", v.Name, v, w)
		}
	}
	if !math.IsInf(back.Benchmarks[3].MDE, 1) || back.Benchmarks[3].Change.OK {
		t.Errorf("infinite interval read back as %+v", back.Benchmarks[3])
	}
	if _, err := DecodeGate([]byte(`{"kind":"ipcbench-noise"}`)); err == nil {
		t.Error("a noise document read as a gate")
	}
}

func TestGitHubBenchmarkAndBench(t *testing.T) {
	r := fixedReport()
	var small, big bytes.Buffer
	n, err := GateGitHubBenchmark(&small, r, false)
	if err != nil || n != 3 {
		t.Fatalf("smaller: %d, %v", n, err)
	}
	var entries []map[string]any
	if err := json.Unmarshal(small.Bytes(), &entries); err != nil {
		t.Fatal(err)
	}
	if entries[0]["name"] != "Spawn/mode=spawn/cmd=true/cores=1" || entries[0]["unit"] != "ns/op" || entries[0]["value"].(float64) != 1118e3 {
		t.Errorf("entry %v", entries[0])
	}
	if n, _ := GateGitHubBenchmark(&big, r, true); n != 1 || !strings.Contains(big.String(), "MB/s") {
		t.Errorf("bigger: %d %s", n, big.String())
	}
	var bb bytes.Buffer
	if err := GateBench(&bb, r); err != nil {
		t.Fatal(err)
	}
	rd := benchfmt.NewReader(&bb, "gate.txt")
	arms := map[string]int{}
	for rd.Scan() {
		if res, ok := rd.Result().(*benchfmt.Result); ok {
			arms[string(res.GetConfig("arm"))]++
		}
	}
	if arms["base"] != 3 || arms["head"] != 3 {
		t.Errorf("bench lines by arm: %v", arms)
	}
	units := rd.Units()
	if m := units[benchfmt.UnitMetadataKey{Unit: "sec/op", Key: "better"}]; m == nil || m.Value != "lower" {
		t.Errorf("ns/op metadata: %v", m)
	}
	_, mbs := benchunit.Tidy(1, "MB/s") // benchfmt keys metadata by the tidied unit
	if m := units[benchfmt.UnitMetadataKey{Unit: mbs, Key: "better"}]; m == nil || m.Value != "higher" {
		t.Errorf("MB/s metadata: %v", m)
	}
}
