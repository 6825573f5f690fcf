package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/browsertest"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
)

var (
	quickRun    = filepath.Join("..", "..", "report", "testdata", "run-quick.json")
	outputRun   = filepath.Join("..", "..", "report", "testdata", "run-output.json")
	capacityRun = filepath.Join("..", "..", "report", "testdata", "capacity.json")
)

func TestReportUsageErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"report", "--format", "yaml", quickRun}, `unknown format "yaml" (accepted: text, markdown, html, csv, json, bench)`},
		{[]string{"report", "--format", "csv", quickRun, outputRun}, "--format csv renders one run, got 2"},
		{[]string{"report", "--target", "roundtrip:transport=unix", quickRun}, `--target "roundtrip:transport=unix": needs rate=N/s`},
		{[]string{"report", "--target", "fly:rate=1/s", quickRun}, `unknown scenario "fly"`},
		{[]string{"report", "--buffer-factor", "1", quickRun}, "--buffer-factor 1 must be greater than 1"},
		{[]string{"report", "--filter", "(", quickRun}, "--filter"},
		{[]string{"report", "--format", "html", "-o", "/proc/ipcbench-no/r.html", quickRun}, `-o "/proc/ipcbench-no/r.html" is not writable`},
		{[]string{"report", "--format", "markdown", "-o", file, quickRun}, "exists and is not a directory"},
		{[]string{"report", "--format", "html", "-o", dir, quickRun}, "is a directory"},
		{[]string{"run", "spawn", "--report", "pdf"}, `--report: unknown format "pdf" (accepted: html, markdown)`},
		{[]string{"run", "spawn", "--report", "html", "--no-save"}, "--report writes beside results.json: drop --no-save"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout on a usage error", c.args)
		}
		if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 {
			t.Errorf("%v: error is %d lines, want one: %q", c.args, n+1, errs)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("a refused report left files behind: %v", ents)
	}
}

// Answers first, and the Markdown of a whole `run all` fits a pull-request
// comment (GitHub's limit is 65536 characters).
func TestReportAnswersFirstAndFitsAComment(t *testing.T) {
	code, out, errs := runCLI(t, "report", quickRun)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if a, tb := strings.Index(out, "ANSWERS"), strings.Index(out, "Round trip, cross-core: median latency"); a < 0 || tb < 0 || a > tb {
		t.Errorf("text report does not open with its answers (answers at %d, tables at %d)", a, tb)
	}
	code, md, errs := runCLI(t, "report", "--format", "markdown", quickRun)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if len(md) >= 64<<10 {
		t.Errorf("markdown of a run all is %d bytes; a PR comment takes < 64 KiB", len(md))
	}
	for _, want := range []string{"## Answers", "<details><summary>", "| transport/mode |", "_Charts: give `-o DIR`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// --full adds every benchmark's row.
	_, full, _ := runCLI(t, "report", "--full", quickRun)
	if !strings.Contains(full, "FULL TABLE") || !strings.Contains(full, "Throughput/transport=channel/mode=go/size=65536/placement=cross-core/cores=2") {
		t.Error("--full lacks the full table")
	}
	// --filter narrows what is read, and says so.
	_, filt, errs := runCLI(t, "report", "--filter", "^Spawn/", quickRun)
	if strings.Contains(filt, "round trips, cross-core") || !strings.Contains(filt, `only benchmarks matching --filter "^Spawn/"`) {
		t.Errorf("--filter: %s", filt)
	}
	if !strings.Contains(errs, "the report left out") {
		t.Errorf("stderr does not say the report is partial: %q", errs)
	}
}

// A run with a failed benchmark: the report is made, and says what it left out.
func TestReportSaysWhatItLeftOut(t *testing.T) {
	code, out, errs := runCLI(t, "report", capacityRun)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "LEFT OUT") || !strings.Contains(out, "1 failed benchmark(s) left out of answers and charts: Spawn/mode=exec/cmd=false/cores=1") || !strings.Contains(out, "exit status 1)") {
		t.Errorf("the failed benchmark is not listed as left out:\n%s", out)
	}
	if !strings.Contains(errs, "the report left out 2 item(s)") {
		t.Errorf("stderr: %q", errs)
	}
}

func TestReportMarkdownDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rep")
	code, _, errs := runCLI(t, "report", "--format", "markdown", "-o", dir, quickRun, outputRun)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	svgs, _ := filepath.Glob(filepath.Join(dir, "charts", "*.svg"))
	if len(svgs) < 8 {
		t.Fatalf("%d charts written", len(svgs))
	}
	for _, p := range svgs {
		link := "](charts/" + filepath.Base(p) + ")"
		if !strings.Contains(string(md), link) {
			t.Errorf("report.md does not link %s relatively", filepath.Base(p))
		}
		b, _ := os.ReadFile(p)
		if !strings.HasPrefix(string(b), "<?xml") || !strings.Contains(string(b), `<g class="marks"`) || strings.Contains(string(b), "http://") && !strings.Contains(string(b), "xmlns") {
			t.Errorf("%s is not a standalone SVG with data", p)
		}
	}
	for _, e := range []string{"## Hosts and runs", "| vm · 11-27 21:10 |", "| vm · 11-27 21:12 |"} {
		if !strings.Contains(string(md), e) {
			t.Errorf("report.md lacks %q (two runs of one host, before and after)", e)
		}
	}
}

// `run` saved → `report --format html` in a real headless Chromium: no
// console errors, every chart drawn with data, a readable screenshot;
// a second run with another fingerprint (--cpus 0) shows both hosts; and
// `run --report html` writes the page beside results.json.
func TestRunThenHTMLReportInChromium(t *testing.T) {
	if browsertest.Find() == "" && !browsertest.Require() {
		t.Skip("no Chromium found (install Debian's chromium: apt-get install -y chromium): the HTML report is not checked in a browser")
	}
	leakcheck.Check(t)
	dir := t.TempDir()
	start := time.Now()
	args := append([]string{"run", "spawn", "output", "roundtrip", "--out", dir, "--report", "html",
		"--filter", `Spawn/mode=(spawn/cmd=true|fork)|Output/collect=(buffered|streamed/mode=go)/|RoundTrip/transport=(pipe|unix)/mode=raw`,
		"--transports", "pipe,unix", "--sizes", "64,4096", "--output-sizes", "64KiB,1MiB", "--write-sizes", "64KiB", "--cores", "1,2"}, tiny...)
	if code, _, errs := runCLI(t, args...); code != 0 && code != exitFailed {
		t.Fatalf("run: exit %d: %s", code, errs)
	} else if !strings.Contains(errs, "report.html") {
		t.Errorf("run --report html did not say where it wrote: %q", errs)
	}
	runs, _ := os.ReadDir(dir)
	if len(runs) != 1 {
		t.Fatalf("%d run dirs", len(runs))
	}
	first := filepath.Join(dir, runs[0].Name())
	if _, err := os.Stat(filepath.Join(first, "report.html")); err != nil {
		t.Errorf("run --report html: %v", err)
	}
	// A second host: the same machine confined to CPU 0 has another fingerprint.
	dir2 := t.TempDir()
	args = append([]string{"run", "spawn", "--out", dir2, "--cpus", "0", "--filter", "Spawn/mode=spawn/cmd=true", "--cores", "1"}, tiny...)
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	runs2, _ := os.ReadDir(dir2)
	second := filepath.Join(dir2, runs2[0].Name())
	t.Logf("two runs measured in %v", time.Since(start).Round(time.Millisecond))
	html := filepath.Join(t.TempDir(), "report.html")
	code, out, errs := runCLI(t, "report", "--format", "html", "-o", html, first, second)
	if code != 0 || out != "" {
		t.Fatalf("report: exit %d, stdout %d bytes: %s", code, len(out), errs)
	}
	a, _ := results.Load(first)
	b, _ := results.Load(second)
	if len(a.Env.AllowedCPUs) == len(b.Env.AllowedCPUs) {
		t.Skipf("this machine has one CPU: --cpus 0 gives no second fingerprint")
	}
	p := browsertest.CheckReport(t, html, "run-then-report")
	if len(p.Hosts) != 2 || p.Hosts[0] == p.Hosts[1] {
		t.Errorf("host table %q: want two distinct hosts", p.Hosts)
	}
	var ids []string
	for _, c := range p.Charts {
		ids = append(ids, c.ID)
	}
	for _, id := range []string{"chart-spawn-latency", "chart-roundtrip-cross-core", "chart-output-memory", "chart-scaling-roundtrip"} {
		if !slices.Contains(ids, id) {
			t.Errorf("no %s among the charts drawn: %v", id, ids)
		}
	}
	page, _ := os.ReadFile(html)
	for _, h := range p.Hosts {
		if strings.Count(string(page), h) < 3 {
			t.Errorf("host %q appears in the host table but not in the charts and answers", h)
		}
	}
}
