package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// savedRun writes a results document with one benchmark per (name,
// median) pair, 20 batch values each, into dir/<id>/results.json.
func savedRun(t *testing.T, dir, id string, env results.Env, medians map[string]float64) string {
	t.Helper()
	s := &results.Set{SchemaVersion: results.SchemaVersion, RunID: id, StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), Env: env}
	for name, m := range medians {
		b := results.Benchmark{Name: results.Name(name), Scenario: results.Name(name).Base(), Unit: "ns/op"}
		for i := 0; i < 20; i++ {
			b.Samples = append(b.Samples, results.Sample{Iters: 10, NsPerOp: m * math.Exp(0.01*math.Sin(float64(i)))})
		}
		b.Summary = results.Summarize(b.Values())
		s.Benchmarks = append(s.Benchmarks, b)
	}
	var buf bytes.Buffer
	if err := results.Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, id)
	os.MkdirAll(runDir, 0o755)
	if err := os.WriteFile(filepath.Join(runDir, results.FileName), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return runDir
}

var vm = results.Env{OS: "linux", Arch: "amd64", Hostname: "vm", CPUModel: "Intel(R) Xeon(R) Processor", NumCPU: 2, AllowedCPUs: []int{0, 1}, Kernel: "6.18.44 #1"}

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	old := savedRun(t, dir, "old", vm, map[string]float64{"Spawn/mode=spawn/cmd=true/cores=1": 1e6, "Gone/cores=1": 5})
	new := savedRun(t, dir, "new", vm, map[string]float64{"Spawn/mode=spawn/cmd=true/cores=1": 1.5e6})
	code, out, errs := runCLI(t, "compare", old, filepath.Join(new, results.FileName))
	if code != 0 || !strings.Contains(out, "slower") || !strings.Contains(out, "only as strong as the drift") || !strings.Contains(out, "Gone/cores=1") {
		t.Fatalf("exit %d %s\n%s", code, errs, out)
	}
	code, out, _ = runCLI(t, "compare", "--format", "json", "--threshold", "60%", old, new)
	var doc struct {
		Threshold  float64
		Benchmarks []struct {
			Verdict string
			Change  float64
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || doc.Threshold != 0.6 || doc.Benchmarks[0].Verdict != "~" || doc.Benchmarks[0].Change < 0.45 {
		t.Fatalf("json: exit %d %v %+v\n%s", code, err, doc, out)
	}
	code, out, _ = runCLI(t, "compare", "--format", "markdown", old, new)
	if code != 0 || !strings.Contains(out, "| `Spawn/mode=spawn/cmd=true/cores=1` |") {
		t.Fatalf("markdown: %d\n%s", code, out)
	}
}

// Runs of two machines: the table, no verdict, and why.
func TestCompareAcrossMachines(t *testing.T) {
	dir := t.TempDir()
	other := vm
	other.Hostname, other.CPUModel, other.NumCPU = "big", "AMD EPYC 7763 64-Core Processor", 4
	a := savedRun(t, dir, "a", vm, map[string]float64{"X/cores=1": 1e6})
	b := savedRun(t, dir, "b", other, map[string]float64{"X/cores=1": 2e6})
	code, out, errs := runCLI(t, "compare", a, b)
	if code != 0 || !strings.Contains(out, "no verdict: the runs are from different machines") || !strings.Contains(out, "cpu_model") || !strings.Contains(out, "(refused)") {
		t.Fatalf("exit %d %s\n%s", code, errs, out)
	}
	if strings.Index(out, "environment differences") > strings.Index(out, "benchmark ") {
		t.Errorf("the differences must come first:\n%s", out)
	}
	code, out, _ = runCLI(t, "compare", "--allow-env-mismatch", a, b)
	if code != 0 || !strings.Contains(out, "slower") {
		t.Fatalf("--allow-env-mismatch: exit %d\n%s", code, out)
	}
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	good := savedRun(t, dir, "good", vm, map[string]float64{"X/cores=1": 1e6})
	other := savedRun(t, dir, "other", vm, map[string]float64{"Y/cores=1": 1e6})
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	noise := write("noise.json", `{"schema_version":1,"kind":"ipcbench-noise","benchmarks":[]}`)
	// A directory whose results.json is a gate's verdict document: the
	// kind is checked wherever the document comes from.
	gateDir := filepath.Join(dir, "gatedir")
	os.Mkdir(gateDir, 0o755)
	os.WriteFile(filepath.Join(gateDir, results.FileName), []byte(`{"schema_version":1,"kind":"ipcbench-gate","benchmarks":[]}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"compare", good}, "accepts 2 arg"},
		{[]string{"compare", filepath.Join(dir, "missing.json"), good}, "no such file"},
		{[]string{"compare", good, write("empty.json", "")}, "corrupt or not an ipcbench results document"},
		{[]string{"compare", good, write("trunc.json", `{"schema_version": 2, "benchmarks": [{"name":`)}, "corrupt"},
		{[]string{"compare", good, write("future.json", `{"schema_version": 99}`)}, "newer than this ipcbench"},
		{[]string{"compare", good, write("other.json", `{"hello": "world"}`)}, "not an ipcbench results document: no schema_version"},
		{[]string{"compare", good, noise}, "noise.json: results: this is an ipcbench noise document, not a run"},
		{[]string{"compare", good, gateDir}, "gatedir/results.json: results: this is an ipcbench gate document, not a run"},
		{[]string{"compare", good, other}, "share no benchmark"},
		{[]string{"compare", "--format", "csv", good, good}, `--format "csv" is not a compare format (accepted: json, markdown, text)`},
		{[]string{"compare", "--threshold", "15", good, good}, `--threshold "15" is ambiguous`},
		{[]string{"compare", "--threshold", "-1%", good, good}, "is not a percentage"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", c.args, out)
		}
		if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 {
			t.Errorf("%v: error is %d lines, want one: %q", c.args, n+1, errs)
		}
	}
}
