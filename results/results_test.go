package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/golden"
	"golang.org/x/perf/benchfmt"
)

// Fixture is a small deterministic set used by golden tests here and in report.
func fixture() *Set {
	vals := []float64{1000, 1010, 990, 1005, 995, 1020, 980, 1000}
	b1 := Benchmark{Name: "Spawn/mode=spawn/cmd=true", Scenario: "Spawn", Params: map[string]string{"mode": "spawn", "cmd": "true"}, Unit: "ns/op", PercentileSource: "per-op",
		Distributions: map[Phase]Summary{PhaseStarted: {N: 80, Median: 100, P50: 100, P90: 120, P99: 150, P999: 160}},
		Metrics:       map[Metric]float64{MetricOpsPerSec: 1e6, MetricParentUser: 10, MetricParentSys: 20, MetricParentVcsw: 1, MetricParentIvcsw: 0.5},
		Warnings:      []Warning{{Kind: WarnNoisy, Text: "noisy"}}, Iterations: 80, WarmupOps: 5, DurationNS: 1e9}
	for _, v := range vals {
		b1.Samples = append(b1.Samples, Sample{Iters: 10, NsPerOp: v})
	}
	b1.Summary = Summarize(vals)
	b2 := Benchmark{Name: "Throughput/transport=pipe/mode=raw/size=65536", Scenario: "Throughput", Params: map[string]string{"transport": "pipe"}, Unit: "ns/op", BytesPerOp: 65536, PercentileSource: "batch"}
	for _, v := range vals {
		b2.Samples = append(b2.Samples, Sample{Iters: 100, NsPerOp: v * 20})
	}
	b2.Summary = Summarize(b2.Values())
	b2.Metrics = map[Metric]float64{MetricMBPerSec: 65536 * 1e3 / b2.Summary.Median}
	b3 := Benchmark{Name: "RoundTrip/transport=shm-spin/mode=raw/size=64/placement=same-core", Scenario: "RoundTrip", Unit: "ns/op", Skipped: "busy polling on one core"}
	b4 := Benchmark{Name: "Spawn/mode=exec/cmd=false", Scenario: "Spawn", Unit: "ns/op", Error: "exec \"false\": exit status 1"}
	return &Set{SchemaVersion: SchemaVersion, RunID: "20260101T000000Z-abcdef",
		StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC),
		Env:        Env{OS: "linux", Arch: "amd64", Kernel: "6.18.0 #1", GoVersion: "go1.26", CPUModel: "Test CPU", NumCPU: 2, AllowedCPUs: []int{0, 1}, GOMAXPROCS: 2},
		Config:     Config{BudgetNS: 1e9, MinSamples: 6, TargetCIWidth: 0.02},
		Benchmarks: []Benchmark{b1, b2, b3, b4}}
}

func TestJSONRoundTripAndGolden(t *testing.T) {
	s := fixture()
	var buf bytes.Buffer
	if err := Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "set.json"), buf.Bytes())
	back, err := Unmarshal(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip changed the set:\n%+v\n%+v", back, s)
	}
	for _, key := range []string{`"schema_version"`, `"run_id"`, `"started_at"`, `"env"`, `"config"`, `"benchmarks"`, `"summary"`, `"ci95_low"`, `"p999"`, `"outliers"`, `"samples"`, `"params"`, `"unit"`, `"metrics"`, `"warnings"`, `"error"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("document lacks key %s", key)
		}
	}
}

func TestDecodeRefusesBadDocuments(t *testing.T) {
	cases := map[string]string{
		"future":  `{"schema_version": 99, "benchmarks": []}`,
		"zero":    `{"schema_version": 0}`,
		"missing": `{"run_id": "x"}`,
		"corrupt": `{"schema_version": 1, "benchmarks": [`,
		"wrong":   `{"schema_version": 1, "benchmarks": 7}`,
	}
	for name, doc := range cases {
		if _, err := Unmarshal([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	_, err := Unmarshal([]byte(fmt.Sprintf(`{"schema_version": %d}`, SchemaVersion+1)))
	if !errors.Is(err, ErrFutureVersion) {
		t.Errorf("future version error %v does not wrap ErrFutureVersion", err)
	}
	// ipcbench's other documents carry a schema_version and a kind: they
	// are named, never read as a run with no benchmarks.
	for doc, want := range map[string]string{
		`{"schema_version": 1, "kind": "ipcbench-gate", "benchmarks": []}`:    "this is an ipcbench gate document, not a run",
		`{"schema_version": 1, "kind": "ipcbench-noise", "benchmarks": []}`:   "this is an ipcbench noise document, not a run",
		`{"schema_version": 1, "kind": "ipcbench-compare", "benchmarks": []}`: "this is an ipcbench compare document, not a run",
		`{"schema_version": 99, "kind": "ipcbench-gate"}`:                     "this is an ipcbench gate document, not a run",
		`{"schema_version": 2, "kind": "Evil\u001b[2J"}`:                      `this is a document of kind "Evil[2J", not a run`,
	} {
		_, err := Unmarshal([]byte(doc))
		if !errors.Is(err, ErrNotRun) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrNotRun and %q", doc, err, want)
		}
	}
}

// TestReadsSchema1 reads a document of the first schema, whose warnings
// were plain strings: each gets its kind back from its text.
func TestReadsSchema1(t *testing.T) {
	doc := `{"schema_version": 1, "benchmarks": [{"name": "Spawn/mode=fork/cores=1", "warnings": ["noisy: median's 95% CI is ±3%", "placement: 2 pairs share", "something else"]}]}`
	s, err := Unmarshal([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	w := s.Benchmarks[0].Warnings
	if len(w) != 3 || w[0].Kind != WarnNoisy || w[1].Kind != WarnPlacement || w[2].Kind != WarnScenario || w[2].Text != "something else" {
		t.Fatalf("warnings %+v", w)
	}
}

func TestName(t *testing.T) {
	n := NewName("RoundTrip", KeyTransport, "unix", KeySize, "64", KeyMode, "raw", KeyCores, "2")
	if n != "RoundTrip/transport=unix/size=64/mode=raw/cores=2" || n.Base() != "RoundTrip" {
		t.Fatalf("%q base %q", n, n.Base())
	}
	if p := n.Params(); p[KeyTransport] != "unix" || p[KeySize] != "64" || p[KeyMode] != "raw" || len(p) != 4 {
		t.Fatalf("params %v", p)
	}
	if n.Param(KeyCores) != "2" || n.Param("nosuch") != "" {
		t.Fatal("Param")
	}
	if got := n.Without(KeyCores, KeyMode); got != "RoundTrip/transport=unix/size=64" {
		t.Fatalf("Without: %q", got)
	}
	if got := NewName("Spawn", KeyCmd, "my prog/x=1"); got != "Spawn/cmd=my_prog_x_1" {
		t.Fatalf("labels are cleaned: %q", got)
	}
	if Name("Plain").Params()["x"] != "" || len(Name("Plain").Parts()) != 0 {
		t.Fatal("a name without parameters")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := WriteFileAtomic(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	ents, _ := os.ReadDir(dir)
	if string(got) != "two" || len(ents) != 1 {
		t.Fatalf("got %q with %d entries (temp files left?)", got, len(ents))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "x"), nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestBenchFormatReadsBack(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBench(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(&buf, "ipcbench.txt")
	names := map[string]int{}
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			names[rec.Name.String()]++
			if v, ok := rec.Value("sec/op"); !ok || v <= 0 {
				t.Errorf("%s: no sec/op", rec.Name)
			}
			if rec.GetConfig("goos") != "linux" {
				t.Errorf("file config goos missing")
			}
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if names["Spawn/mode=spawn/cmd=true"] != 8 || names["Throughput/transport=pipe/mode=raw/size=65536"] != 8 || len(names) != 2 {
		t.Fatalf("results read back: %v (want 8 samples each of the 2 ok benchmarks)", names)
	}
}

func TestSummarize(t *testing.T) {
	if s := Summarize(nil); s.N != 0 {
		t.Fatal("empty summary")
	}
	s := Summarize([]float64{5})
	if s.Median != 5 || s.CI95High != 0 {
		t.Fatalf("single value: %+v", s)
	}
	s = Summarize([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 100})
	if s.Outliers < 1 || s.Median != 5.5 || s.P99 > s.Max || s.P50 > s.P90 {
		t.Fatalf("%+v", s)
	}
}

func FuzzUnmarshal(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join("testdata", "set.json"))
	f.Add(data)
	f.Add([]byte(`{"schema_version":1}`))
	f.Add([]byte(`{"schema_version":1e99}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Unmarshal(b)
		if err != nil {
			return
		}
		if s.SchemaVersion < 1 || s.SchemaVersion > SchemaVersion {
			t.Fatalf("accepted schema version %d", s.SchemaVersion)
		}
	})
}

func TestHistRoundTrip(t *testing.T) {
	h := NewHist()
	for v := int64(1000); v < 2000; v++ {
		_ = h.RecordValue(v)
	}
	s := HistSummary(h)
	if s.N != 1000 || s.Hist == "" || s.P50 < 1490 || s.P50 > 1510 {
		t.Fatalf("summary %+v", s)
	}
	back, err := DecodeHist(s.Hist)
	if err != nil || back.TotalCount() != 1000 || back.ValueAtQuantile(99) != h.ValueAtQuantile(99) {
		t.Fatalf("decoded %v, %v", back, err)
	}
	if _, err := DecodeHist("not base64!"); err == nil {
		t.Fatal("garbage accepted")
	}
	if h, err := DecodeHist(""); h != nil || err != nil {
		t.Fatal("empty")
	}
}
