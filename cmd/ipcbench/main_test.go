package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/testmain"

	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
	"golang.org/x/perf/benchfmt"
)

// envCLI makes the test binary the ipcbench command itself (the fault
// tests start it as a real process, to signal and kill it).
const envCLI = "IPCBENCH_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envCLI) == "1" {
		if isChild, err := child.Run(scenarios.Roles()); isChild {
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	testmain.Run(m, scenarios.Roles())
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// tiny keeps CLI runs short; they check behaviour, never timings.
var tiny = []string{"--budget", "30ms", "--min-samples", "3"}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []usageCase{
		{[]string{"run", "nosuch"}, `unknown scenario "nosuch" (accepted: all, spawn`},
		{[]string{"run", "spawn", "--budget", "fast"}, `--budget "fast" is not a positive duration`},
		{[]string{"run", "spawn", "--budget", "-1s"}, `--budget "-1s"`},
		{[]string{"run", "spawn", "--cpus", "0-"}, "--cpus: bad CPU range"},
		{[]string{"run", "spawn", "--cpus", "4000"}, "is not in the allowed set"},
		{[]string{"run", "spawn", "--format", "yaml"}, `unknown format "yaml" (accepted: bench, csv, json, markdown, text)`},
		{[]string{"run", "spawn", "--filter", "("}, "--filter"},
		{[]string{"run", "spawn", "--filter", "nomatch"}, "no benchmark matches"},
		{[]string{"run", "spawn", "--cmd", "/no/such/prog"}, `"/no/such/prog" not found`},
		{[]string{"run", "spawn", "--sizes", "0"}, "--sizes: size \"0\" must be positive"},
		{[]string{"run", "spawn", "--sizes", "2MiB"}, "larger than the limit 1MiB"},
		{[]string{"run", "spawn", "--cores", "0"}, "--cores"},
		{[]string{"run", "spawn", "--cores", "100000"}, "more than the"},
		{[]string{"run", "spawn", "--profile", "gpu"}, "unknown profile kind \"gpu\" (accepted: cpu, heap, allocs, mutex, block)"},
		{[]string{"run", "spawn", "--nosuchflag"}, "unknown flag"},
		// 0 is not a silent "default" for these.
		{[]string{"run", "spawn", "--rounds", "0"}, "--rounds 0 is out of range (1..100); leave the flag out for the default"},
		{[]string{"run", "spawn", "--min-samples=0"}, "--min-samples 0 is out of range (1..10000)"},
		{[]string{"list", "spawn", "--target-ci", "0"}, "--target-ci 0 is out of range"},
		{[]string{"run", "spawn", "--out", "/proc/ipcbench-no"}, "is not writable"},
		{[]string{"report"}, "requires at least 1 arg"},
		{[]string{"run", "parentmem", "--parent-mem", "0,1000000GiB"}, "--parent-mem 1000000GiB: holding it touched needs 1000000GiB plus a 256MiB margin, but only"},
		{[]string{"run", "output", "--parent-mem", "lots"}, `--parent-mem: bad size "lots"`},
		{[]string{"run", "node", "--node", "/no/such/node"}, `--node "/no/such/node": not found (give the path to Node.js 20 or later)`},
		{[]string{"list", "node", "--node", "/bin/true"}, `--node "/bin/true": is not Node.js`},
		{[]string{"run", "spawn", "--node", "/bin/true"}, `--node "/bin/true": is not Node.js`},
		{[]string{"report", filepath.Join(dir, "missing.json")}, "no such file"},
	}
	checkUsageErrors(t, cases)
}

// usageCase is a command line and what its one-line error must say.
type usageCase struct {
	args []string
	want string
}

// checkUsageErrors runs each case: exit 2, the message on one line of
// stderr, nothing on stdout.
func checkUsageErrors(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, c := range cases {
		code, out, errs := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout on a usage error: %q", c.args, out)
		}
		if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 {
			t.Errorf("%v: error is %d lines, want one: %q", c.args, n+1, errs)
		}
	}
}

func TestRunSpawnSavesAndReports(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	args := append([]string{"run", "spawn", "--format", "json", "--out", dir, "--filter", "spawn/cmd=true|fork"}, tiny...)
	code, out, errs := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	printed, err := results.Unmarshal([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := os.ReadDir(dir)
	if len(runs) != 1 {
		t.Fatalf("%d run dirs", len(runs))
	}
	runDir := filepath.Join(dir, runs[0].Name())
	saved, err := results.Load(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.RunID != printed.RunID || len(saved.Benchmarks) != 2*len(saved.Config.Cores) || saved.Env.NumCPU < 1 {
		t.Fatalf("saved %q with %d benchmarks; printed %q", saved.RunID, len(saved.Benchmarks), printed.RunID)
	}
	ents, _ := os.ReadDir(runDir)
	if len(ents) != 1 {
		t.Fatalf("run dir holds %d entries, want only results.json (temp files left?)", len(ents))
	}
	for _, f := range []string{"text", "markdown", "csv", "json", "bench"} {
		code, out, errs := runCLI(t, "report", "--format", f, runDir)
		if code != 0 || !strings.Contains(out, "Spawn/mode=fork") {
			t.Errorf("report --format %s: exit %d %s\n%s", f, code, errs, out)
		}
		if f == "bench" {
			r := benchfmt.NewReader(strings.NewReader(out), "x")
			n := 0
			for r.Scan() {
				if _, ok := r.Result().(*benchfmt.Result); ok {
					n++
				}
			}
			if n < 6 {
				t.Errorf("bench format: %d result lines", n)
			}
		}
	}
}

func TestFailingCommandFailsItsBenchmarkOnly(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	args := append([]string{"run", "spawn", "--out", dir, "--cmd", "false"}, tiny...)
	code, out, errs := runCLI(t, args...)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, errs)
	}
	if !strings.Contains(errs, "FAILED") || !strings.Contains(errs, "exit status 1") || strings.Contains(out, "FAILED") {
		t.Fatalf("the failure and its reason belong on stderr:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	if !strings.Contains(errs, "benchmarks in") || strings.Count(errs, "FAILED") != 3 || !strings.Contains(errs, " 3 failed") {
		t.Fatalf("no summary line on stderr:\n%s", errs)
	}
	runs, _ := os.ReadDir(dir)
	s, err := results.Load(filepath.Join(dir, runs[0].Name()))
	if err != nil || len(s.Benchmarks) < 2 || s.Failures() != len(s.Benchmarks) {
		t.Fatalf("saved run: %v, %+v", err, s)
	}
}

func TestReportRefusesCorruptAndFuture(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "c.json")
	os.WriteFile(corrupt, []byte(`{"schema_version": 1, "benchmarks": [`), 0o644)
	future := filepath.Join(dir, "f.json")
	os.WriteFile(future, []byte(`{"schema_version": 7}`), 0o644)
	// A gate's verdict document (it has a schema_version too) is named,
	// as a file and as a run directory's results.json, not reported as an
	// empty run with exit 0.
	gate := filepath.Join(dir, "gate.json")
	os.WriteFile(gate, []byte(`{"schema_version": 1, "kind": "ipcbench-gate", "outcome": "pass", "benchmarks": []}`), 0o644)
	gateRun := filepath.Join(dir, "run")
	os.Mkdir(gateRun, 0o755)
	os.WriteFile(filepath.Join(gateRun, results.FileName), []byte(`{"schema_version": 1, "kind": "ipcbench-noise", "benchmarks": []}`), 0o644)
	for p, want := range map[string]string{corrupt: "corrupt", future: "newer than this ipcbench",
		gate: "is an ipcbench gate document, not a run", gateRun: "is an ipcbench noise document, not a run"} {
		code, out, errs := runCLI(t, "report", p)
		if code != exitUsage || !strings.Contains(errs, want) || out != "" {
			t.Errorf("%s: exit %d stderr %q", p, code, errs)
		}
	}
}

func TestListAndVersion(t *testing.T) {
	code, out, _ := runCLI(t, "list", "spawn")
	if code != 0 || !strings.Contains(out, "Spawn/mode=fork") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ipcbench ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestCPUsConfinesTheRun(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	allowed, _ := sys.AllowedCPUs()
	first := fmt.Sprint(allowed[0])
	args := append([]string{"run", "spawn", "--cpus", first, "--cores", "1", "--filter", "spawn/cmd=true", "--out", dir, "--format", "json"}, tiny...)
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	s, err := results.Unmarshal([]byte(out))
	if err != nil || len(s.Config.CPUs) != 1 || s.Config.CPUs[0] != allowed[0] {
		t.Fatalf("config cpus: %v %v", s.Config.CPUs, err)
	}
	// Restored afterwards.
	if cpus, _ := sys.AllowedCPUs(); len(cpus) < len(s.Env.AllowedCPUs) {
		t.Fatalf("affinity not restored: %v", cpus)
	}
}

func TestFailedRunLeavesNoDirectory(t *testing.T) {
	dir := t.TempDir()
	// Interrupted before anything was measured: the run is saved (possibly
	// empty), never half-written; a usage error creates nothing at all.
	code, _, _ := runCLI(t, "run", "spawn", "--out", dir, "--format", "yaml")
	ents, _ := os.ReadDir(dir)
	if code != exitUsage || len(ents) != 0 {
		t.Fatalf("exit %d, %d entries left", code, len(ents))
	}
}

func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []usageCase{
		{[]string{"report", "/dev/zero"}, "is not a regular file"},
		{[]string{"report", fifo}, "is not a regular file"},
		{[]string{"run", "spawn", "--cmd", ""}, "--cmd is empty"},
		{[]string{"run", "spawn", "--cpus", " "}, "--cpus is empty"},
		{[]string{"run", "spawn", "--out", ""}, "--out is empty"},
		{[]string{"run", "spawn", "--target-ci", "NaN"}, "--target-ci NaN must be between 0 and 1"},
		{[]string{"run", "spawn", "--min-samples", "100000"}, "--min-samples 100000 is out of range"},
		{[]string{"run", "output", "--output-sizes", "1KiB", "--write-sizes", "4KiB"}, "--write-sizes 4KiB is larger than the output size 1KiB"},
		{[]string{"run", "spawn", "--op-timeout", "soon"}, `--op-timeout "soon"`},
		{[]string{"run", "spawn", "--rounds", "0", "--time", "-1s"}, `--time "-1s"`},
		{[]string{"run", "spawn", "--budget", "1s", "--time", "1m"}, "exclude each other"},
	}
	for _, c := range cases {
		done := make(chan struct{})
		var code int
		var errs string
		go func() { code, _, errs = runCLI(t, c.args...); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: still running after 10s", c.args)
		}
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// A crafted results file: escape sequences in names, warnings and the CPU
// model must not reach the terminal, and the pprof command printed for
// pasting must keep a hostile path one argument.
func TestCraftedResultsFile(t *testing.T) {
	dir := t.TempDir()
	doc := `{"schema_version": 2, "run_id": "x", "env": {"cpu_model": "\u001b[2J\u001b[31mEVIL"},
	  "benchmarks": [{"name": "Spawn/cmd=\u001b]0;owned\u0007/cores=1", "scenario": "Spawn", "samples": [{"iters": 1, "ns_per_op": 5}],
	    "summary": {"n": 1, "median": 5}, "warnings": [{"kind": "scenario", "text": "\u001b[1mbold\u001b[0m"}]}],
	  "profiles": [{"kind": "cpu", "path": "x.pprof; touch PWNED #"}]}`
	path := filepath.Join(dir, "evil.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "report", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("control characters reached the output: %q", out)
	}
	if !strings.Contains(out, `go tool pprof -http=: '`) || strings.Contains(out, "-http=: "+dir+"/x.pprof; touch") {
		t.Fatalf("the pprof path must be shell-quoted:\n%s", out)
	}
}

func TestFailingStdout(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	var errb bytes.Buffer
	code := run(context.Background(), []string{"report", filepath.Join("..", "..", "results", "testdata", "set.json")}, full, &errb)
	if code != exitFailed || !strings.Contains(errb.String(), "no space left on device") {
		t.Fatalf("exit %d, stderr %q: a failing stdout must fail the command", code, errb.String())
	}
}

// The fork worker and the output writer are timed as part of their ops:
// they must answer before ipcbench's own packages initialise (charts
// parse fonts at init), as a small Go program would (internal/early).
func TestSmallRolesStartBeforeHeavyInits(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "1000", "100", "0", "0")
	cmd.Env = append(os.Environ(), "IPCBENCH_CHILD_ROLE=output-writer", "GODEBUG=inittrace=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.Len() != 1000 {
		t.Fatalf("writer: %v, %d bytes", err, stdout.Len())
	}
	// (internal/early exits inside its own init, so the trace, written as
	// each init returns, does not show it: what matters is what it spares.)
	trace := stderr.String()
	if !strings.Contains(trace, "init runtime") {
		t.Fatalf("no init trace:\n%s", trace)
	}
	for _, heavy := range []string{"gonum.org/v1/plot", "ipcbench/report", "google/pprof/profile", "tablewriter"} {
		if strings.Contains(trace, "init "+heavy) {
			t.Errorf("the writer initialised %s before writing: its start-up is no longer a small program's", heavy)
		}
	}
}

// run --help lists every exit status README documents.
func TestRunHelpExitStatuses(t *testing.T) {
	code, out, _ := runCLI(t, "run", "--help")
	for _, want := range []string{"0 all ran", "1 a benchmark failed", "2 usage error", "3 --strict", "128+N ended by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("run --help (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}

// Usage errors are told by where they come from, not by their text: a
// system call's EINVAL ("invalid argument") is a failure (1); cobra's
// own flag and argument errors are usage errors (2), with one line.
func TestUsageClassifiedByOrigin(t *testing.T) {
	if code := exitCode(fmt.Errorf("sched_setaffinity: %w", syscall.EINVAL), io.Discard); code != exitFailed {
		t.Errorf("EINVAL from a system call: exit %d, want %d", code, exitFailed)
	}
	if code := exitCode(fmt.Errorf("unknown flag: --x"), io.Discard); code != exitFailed {
		t.Errorf("an unmarked error reading like cobra's: exit %d, want %d", code, exitFailed)
	}
	checkUsageErrors(t, []usageCase{
		{[]string{"nosuch"}, `unknown command "nosuch" for "ipcbench"`},
		{[]string{"rnu"}, "did you mean run?"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"run", "--rounds", "x"}, `invalid argument "x" for "--rounds" flag`},
		{[]string{"run", "--rounds"}, "flag needs an argument: --rounds"},
		{[]string{"version", "x"}, `unknown command "x" for "ipcbench version"`},
		{[]string{"report"}, "requires at least 1 arg(s)"},
		{[]string{"gate", "--repeat", "many"}, `invalid argument "many" for "--repeat" flag`},
	})
	if code, out, _ := runCLI(t); code != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("no command: exit %d, want the help:\n%s", code, out)
	}
}
