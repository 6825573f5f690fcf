package report

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/browsertest"
	"github.com/ipcbench/ipcbench/results"
)

func loadRun(t *testing.T, name string) Run {
	t.Helper()
	p := filepath.Join("testdata", name)
	s, err := results.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return Run{Set: s, Source: p}
}

// The HTML report of a real `run all --quick`, and of it beside a second
// host, opened in a real headless Chromium: no console errors, every
// chart drawn with data, a readable screenshot, both hosts shown.
func TestHTMLInChromium(t *testing.T) {
	quick := loadRun(t, "run-quick.json")
	other := loadRun(t, "run-output.json")
	other.Set.Env.Hostname = "bigger-box"
	other.Set.Env.AllowedCPUs = []int{0, 1, 2, 3}
	for _, c := range []struct {
		name  string
		runs  []Run
		hosts []string
	}{
		{"one-run", []Run{quick}, []string{"vm"}},
		{"two-hosts", []Run{quick, other}, []string{"vm", "bigger-box"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Build(c.runs, Options{Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us")}})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "report.html")
			if err := WriteHTMLFile(path, d); err != nil {
				t.Fatal(err)
			}
			p := browsertest.CheckReport(t, path, "report-"+c.name)
			if !slices.Equal(p.Hosts, c.hosts) {
				t.Errorf("host table shows %q, want %q", p.Hosts, c.hosts)
			}
			if p.Answers < 5 {
				t.Errorf("%d answers on the page", p.Answers)
			}
			if want := chartCount(d); len(p.Charts) != want {
				t.Errorf("%d charts on the page, the report has %d", len(p.Charts), want)
			}
			if fi, err := os.Stat(path); err == nil {
				t.Logf("%s: %d bytes, %d charts", path, fi.Size(), len(p.Charts))
			}
		})
	}
}

func chartCount(d *Doc) int {
	n := 0
	for _, s := range d.Sections {
		n += len(s.Charts)
	}
	return n
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// Any document results.Load accepts builds a report and renders it in
// every capacity format without panicking.
func FuzzBuild(f *testing.F) {
	for _, name := range []string{"capacity.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"schema_version":1}`))
	f.Add([]byte(`{"schema_version":2,"benchmarks":[{"name":"RoundTrip/transport=pipe/mode=raw/size=0/placement=cross-core/cores=1","samples":[{"iters":1,"ns_per_op":0}],"summary":{"n":1}}]}`))
	f.Add([]byte(`{"schema_version":2,"benchmarks":[{"name":"Spawn/mode=exec/cores=1","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":5,"hist":"garbage"},"distributions":{"started":{"n":1}}}]}`))
	f.Add([]byte(`{"schema_version":2,"benchmarks":[{"name":"Output/collect=buffered/size=-5/write=x/cores=1","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":5}},{"name":"Spawn/mode=spawn/method=fork/parent_mem=-1/cores=1","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":5}},{"name":"Load/rate=5/cores=0","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":-5}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := results.Unmarshal(b)
		if err != nil {
			return
		}
		// A report that hangs is a failure the fuzzer must keep.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("report: Build and rendering took over 10s") })
		defer watchdog.Stop()
		d, err := Build([]Run{{Set: s}, {Set: s}}, Options{Full: true, AllowNoisy: true, Targets: []Target{{Spec: "x", Scenario: "roundtrip", Base: results.ScenarioRoundTrip, Rate: 1000, Pct: "p99", Bound: 5e4}}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, d); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&buf, d, MarkdownOptions{ChartDir: "charts"}); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&buf, d); err != nil {
			t.Fatal(err)
		}
	})
}
