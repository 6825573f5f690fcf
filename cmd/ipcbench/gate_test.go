package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/compare"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
)

// fakeArm writes a stand-in for an ipcbench binary: `list` prints names,
// `run` prints a results document whose median for every benchmark is
// median × (1 + (n mod 5 - 2)/1000), n counting its runs (a little
// deterministic noise), after doing whatever extra says; it records its
// arguments in NAME.args, and its `run --help` offers --rounds when
// NAME.rounds exists. The gate's
// plumbing (invocation, parsing, pairing, verdicts, exit codes, faults)
// is tested on it without measuring anything.
func fakeArm(t *testing.T, dir, name string, median int, names []string, extra string) string {
	t.Helper()
	var bench []string
	for _, n := range names {
		bench = append(bench, fmt.Sprintf(`{"name":"%s","unit":"ns/op","samples":[{"iters":1,"ns_per_op":$m}],"summary":{"median":$m}}`, n))
	}
	script := fmt.Sprintf(`#!/bin/sh
cnt=%[1]s/%[2]s.count
case "$1" in
list)
	%[3]s
	printf '%%s\n' %[4]s
	exit 0;;
run)
	if [ "$2" = --help ]; then
		echo "Usage: fake run"
		if [ -e %[1]s/%[2]s.rounds ]; then echo "      --rounds int   rounds"; fi
		exit 0
	fi
	echo "$*" >> %[1]s/%[2]s.args
	n=$(cat "$cnt" 2>/dev/null || echo 0); echo $((n+1)) > "$cnt"
	m=$(( %[5]d * (1000 + n %% 5 - 2) / 1000 ))
	%[6]s
	echo '{"schema_version":2,"env":{"hostname":"fake","cpu_model":"Fake CPU","num_cpu":2},"benchmarks":[%[7]s]}' | sed "s/\$m/$m/g"
	exit 0;;
esac
echo "fake: unknown command $1" >&2
exit 2
`, dir, name, listHook(extra), quoteAll(names), median, runHook(extra), strings.Join(bench, ","))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// extra is "list:CMD" (run in list) or CMD (run in run).
func listHook(extra string) string {
	if s, ok := strings.CutPrefix(extra, "list:"); ok {
		return s
	}
	return ":"
}

func runHook(extra string) string {
	if strings.HasPrefix(extra, "list:") || extra == "" {
		return ":"
	}
	return extra
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, " ")
}

var fakeNames = []string{"Spawn/mode=spawn/cmd=true/cores=1", "RoundTrip/transport=unix/mode=raw/size=64/placement=same-core/cores=1"}

// quick keeps fake gates to a fraction of a second.
var quick = []string{"--stages", "8,16", "--time", "1m", "--budget", "1ms"}

func TestGateFakeArmsVerdicts(t *testing.T) {
	dir := t.TempDir()
	base := fakeArm(t, dir, "base", 1000000, fakeNames, "")
	same := fakeArm(t, dir, "same", 1001000, fakeNames, "")
	slow := fakeArm(t, dir, "slow", 1200000, fakeNames, "")
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	files := []string{"--json", filepath.Join(out, "g.json"), "--markdown", filepath.Join(out, "g.md"), "--github-benchmark", filepath.Join(out, "gh.json"), "--bench", filepath.Join(out, "g.txt")}

	args := append(append([]string{"gate", "--base", base, "--head", slow}, quick...), files...)
	code, stdout, stderr := runCLI(t, args...)
	if code != compare.ExitRegression || !strings.Contains(stdout, "REGRESSION") || !strings.Contains(stdout, "+20.0%") {
		t.Fatalf("+20%%: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var r compare.GateReport
	data, _ := os.ReadFile(filepath.Join(out, "g.json"))
	if err := json.Unmarshal(data, &r); err != nil || r.Outcome != compare.Regression || r.ExitCode != 1 || len(r.Benchmarks) != 2 || r.Rounds != 8 {
		t.Fatalf("json: %v %+v", err, r)
	}
	for _, f := range []string{"g.md", "gh.json", "g.txt"} {
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || len(b) == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	// Decided at the first look: 8 rounds, 1 warmup; each round runs both.
	if b, _ := os.ReadFile(filepath.Join(dir, "slow.count")); strings.TrimSpace(string(b)) != "9" {
		t.Errorf("head ran %s times, want 9 (warmup + 8 rounds)", b)
	}

	// The arm's command line: the gate's flags after the selection; one
	// round per invocation where `run` knows --rounds.
	invoked, _ := os.ReadFile(filepath.Join(dir, "slow.args"))
	first := strings.SplitN(string(invoked), "\n", 2)[0]
	want := "run --budget 1ms --no-save --format json --filter ^(?:Spawn/mode=spawn/cmd=true/cores=1|RoundTrip/transport=unix/mode=raw/size=64/placement=same-core/cores=1)$"
	if first != want {
		t.Errorf("arm invoked as %q, want %q", first, want)
	}

	os.WriteFile(filepath.Join(dir, "same.rounds"), nil, 0o644)
	code, stdout, stderr = runCLI(t, append([]string{"gate", "--base", base, "--head", same}, quick...)...)
	if code != compare.ExitPass || !strings.Contains(stdout, "PASS (exit 0)") {
		t.Fatalf("+0.1%%: exit %d\n%s\n%s", code, stdout, stderr)
	}
	invoked, _ = os.ReadFile(filepath.Join(dir, "same.args"))
	if !strings.HasSuffix(strings.SplitN(string(invoked), "\n", 2)[0], " --rounds 1") {
		t.Errorf("an arm whose run takes --rounds was invoked as %q", invoked)
	}
}

func TestGateFakeArmsFaults(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	base := fakeArm(t, dir, "base", 1000000, fakeNames, "")
	cases := []struct {
		name, extra string
		names       []string
		flags       []string
		code        int
		want        string
	}{
		{"garbage", "echo hello; exit 0", fakeNames, nil, 4, "not an ipcbench results document"},
		{"truncated", `echo '{"schema_version":2,"benchmarks":['; exit 0`, fakeNames, nil, 4, "not an ipcbench results document"},
		{"future", `echo '{"schema_version":99}'; exit 0`, fakeNames, nil, 4, "newer than this ipcbench"},
		{"crash", "echo boom >&2; exit 3", fakeNames, nil, 4, "exit status 3: boom"},
		{"hang", "exec sleep 30", fakeNames, []string{"--round-timeout", "1s"}, 4, "hung: no result within 1s"},
		{"benchfail", `echo '{"schema_version":2,"benchmarks":[{"name":"Spawn/mode=spawn/cmd=true/cores=1","unit":"ns/op","error":"exec: boom"}]}'; exit 1`, fakeNames, nil, 4, "benchmark Spawn/mode=spawn/cmd=true/cores=1 failed: exec: boom"},
		{"listgarbage", "list:echo 'this is not a list'; exit 0", fakeNames, nil, 4, "not a benchmark list"},
		{"rejects", "list:echo 'ipcbench: unknown scenario \"x\"' >&2; exit 2", fakeNames, nil, 2, "head arm rejected the run arguments after --"},
		{"disjoint", "", []string{"Other/cores=1"}, nil, 2, "no benchmark in common"},
	}
	for _, c := range cases {
		head := fakeArm(t, dir, c.name, 1000000, c.names, c.extra)
		args := append(append([]string{"gate", "--base", base, "--head", head}, quick...), c.flags...)
		code, stdout, stderr := runCLI(t, args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, code, stderr, c.code, c.want)
		}
		last := strings.TrimSpace(stderr)
		if i := strings.LastIndex(last, "\n"); i >= 0 {
			last = last[i+1:]
		}
		if !strings.HasPrefix(last, "ipcbench: ") || !strings.Contains(last, c.want) {
			t.Errorf("%s: the reason is not one last line: %q", c.name, stderr)
		}
		if code == 4 && (!strings.Contains(stdout, "ARM-FAILED") || strings.Contains(stdout, "PASS")) {
			t.Errorf("%s: a failed gate must say so and never pass:\n%s", c.name, stdout)
		}
	}
	code, stdout, stderr := runCLI(t, append([]string{"gate", "--base", base, "--head", filepath.Join(dir, "missing")}, quick...)...)
	if code != 4 || !strings.Contains(stderr, "head arm: "+filepath.Join(dir, "missing")+" cannot be run") {
		t.Errorf("missing binary: exit %d %q", code, stderr)
	}
	// Nothing was measured, so nothing is known of the machine.
	if !strings.Contains(stdout, "machine: not known (no round was measured)") || strings.Contains(stdout, "0 CPUs") {
		t.Errorf("a gate that failed before measuring describes the machine as:\n%s", stdout)
	}
}

func TestGateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	noise := filepath.Join(dir, "noise.json")
	os.WriteFile(noise, []byte(`{"schema_version":2,"benchmarks":[]}`), 0o644)
	gateDoc := filepath.Join(dir, "gate.json")
	os.WriteFile(gateDoc, []byte(`{"schema_version":1,"kind":"ipcbench-gate","benchmarks":[]}`), 0o644)
	cases := []usageCase{
		{[]string{"gate"}, "no arms"},
		{[]string{"gate", "--base", "a"}, "--base without --head"},
		{[]string{"gate", "--head", "a"}, "--head without --base"},
		{[]string{"gate", "--base", "a", "--head", "b", "--base-cmd", "c"}, "not both"},
		{[]string{"gate", "--base-cmd", "true"}, "--base-cmd without --head-cmd"},
		{[]string{"gate", "--base", "a", "--head", "b", "--time", "soon"}, `--time "soon" is not a positive duration`},
		{[]string{"gate", "--base", "a", "--head", "b", "--max-regression", "5"}, `--max-regression "5" is ambiguous: write 5% or 0.05`},
		{[]string{"gate", "--base", "a", "--head", "b", "--max-regression", "0%"}, "must be above 0"},
		{[]string{"gate", "--base", "a", "--head", "b", "--stages", "20,10"}, "must increase"},
		{[]string{"gate", "--base", "a", "--head", "b", "--stages", "1"}, "at least 2"},
		{[]string{"gate", "--base", "a", "--head", "b", "--stages", "10,,20"}, `--stages: bad number "" in list "10,,20"`},
		{[]string{"gate", "--base", "a", "--head", "b", "--stages", ""}, "--stages is empty"},
		{[]string{"gate", "--base", "a", "--head", "b", "--stages", "10,x"}, `--stages: bad number "x"`},
		{[]string{"gate", "--base", "a", "--head", "b", "--inconclusive", "maybe"}, "accepted fail, pass"},
		{[]string{"gate", "--base", "a", "--head", "b", "--repeat", "3"}, "--repeat is for --aa"},
		{[]string{"gate", "--base", "a", "--head", "b", "--filter", "x"}, "put run arguments after --"},
		{[]string{"gate", "--base-cmd", "true", "--head-cmd", "true", "--", "spawn"}, "after -- are for binary arms"},
		{[]string{"gate", "--base-cmd", "true", "--head-cmd", "true", "--scenarios", "roundtrip"}, `"roundtrip" cannot take a command`},
		{[]string{"gate", "--base-cmd", "true", "--head-cmd", "true", "--filter", "nomatch"}, "matches no benchmark"},
		{[]string{"gate", "--base", "a", "--head", "b", "--noise", noise}, "a results document, not a noise file"},
		{[]string{"gate", "--base", "a", "--head", "b", "--noise", gateDoc}, "is an ipcbench-gate document, not a noise file"},
		{[]string{"gate", "--base", "a", "--head", "b", "--noise", filepath.Join(dir, "none.json")}, "no such file"},
		{[]string{"gate", "spawn", "--base", "a", "--head", "b"}, "no arguments before --"},
		// Run flags the gate sets itself, or that make no sense per round,
		// are refused before anything runs (not an arm failure minutes later).
		{[]string{"gate", "--base", "a", "--head", "b", "--", "spawn", "--time", "10s"}, "--time in the run arguments after -- is not for a gate: the gate sets"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "spawn", "--time=10s"}, "--time in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--budget", "1s"}, "--budget in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--rounds=3"}, "--rounds in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--format", "text"}, "--format in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--out", "x"}, "--out in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--no-save"}, "--no-save in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "spawn", "--report", "bogus"}, "--report in the run arguments after -- is not for a gate: a capacity report needs a saved run"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--profile", "cpu"}, "--profile in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--", "--strict"}, "--strict in the run arguments"},
		{[]string{"gate", "--base", "a", "--head", "b", "--json", "/proc/nope/g.json"}, `--json "/proc/nope/g.json" cannot be written`},
		{[]string{"gate", "--base", "a", "--head", "b", "--markdown", dir}, fmt.Sprintf("--markdown %q cannot be written: report: %s is a directory", dir, dir)},
		{[]string{"gate", "--base", "a", "--head", "b", "--json", "/proc/nope/g.json"}, `--json "/proc/nope/g.json" cannot be written: no such file or directory`},
	}
	checkUsageErrors(t, cases)
}

// A real gate, end to end, kept to a few seconds: real processes, a real
// and large slowdown (a shell that starts eight processes where the base
// starts one) must be called a regression; an A/A calibration writes a
// noise file that a later gate reads. Timings are never asserted.
func TestGateRealCommands(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	common := []string{"--scenarios", "spawn", "--filter", "mode=spawn", "--stages", "6", "--budget", "30ms", "--time", "1m"}
	slow := "sh -c '/bin/true; /bin/true; /bin/true; /bin/true; /bin/true; /bin/true; /bin/true; /bin/true'"
	js := filepath.Join(dir, "g.json")
	code, stdout, stderr := runCLI(t, append([]string{"gate", "--base-cmd", "/bin/true", "--head-cmd", slow, "--json", js}, common...)...)
	if code != compare.ExitRegression {
		t.Fatalf("8 processes vs 1: exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(js)
	r, err := compare.DecodeGate(data)
	if err != nil || len(r.Benchmarks) != 1 || r.Benchmarks[0].Name != "Spawn/mode=spawn/cores=1" || r.Base.Kind != "command" {
		t.Fatalf("report %v %+v", err, r)
	}

	noise := filepath.Join(dir, "noise.json")
	code, stdout, stderr = runCLI(t, append([]string{"gate", "--aa", "--base-cmd", "/bin/true", "--noise", noise}, common...)...)
	if code != 0 || !strings.Contains(stdout, "noise floors of this runner") {
		t.Fatalf("A/A: exit %d\n%s\n%s", code, stdout, stderr)
	}
	n, err := compare.LoadNoise(noise)
	if err != nil || len(n.Benchmarks) != 1 || n.Benchmarks[0].Repeats != 1 || len(n.Benchmarks[0].Changes) != 1 {
		t.Fatalf("noise file: %v %+v", err, n)
	}
	code, stdout, stderr = runCLI(t, append([]string{"gate", "--base-cmd", "/bin/true", "--head-cmd", slow, "--noise", noise}, common...)...)
	if code != compare.ExitRegression && !strings.Contains(stdout, "too noisy") {
		t.Fatalf("with the noise file: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// An interrupt ends the gate at once, kills the arm, and never passes.
func TestGateInterrupted(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	base := fakeArm(t, dir, "base", 1000000, fakeNames, "")
	slow := fakeArm(t, dir, "slowarm", 1000000, fakeNames, "exec sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"gate", "--base", base, "--head", slow, "--json", filepath.Join(dir, "g.json")}, quick...), &out, &errb)
	if code != compare.ExitInterrupted || !strings.Contains(errb.String(), "interrupted") || strings.Contains(out.String(), "PASS") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	data, _ := os.ReadFile(filepath.Join(dir, "g.json"))
	if r, err := compare.DecodeGate(data); err != nil || r.Outcome != compare.Interrupted || r.ExitCode != 130 {
		t.Fatalf("report %v %+v", err, r)
	}
}

// A command that hangs is killed at the round timeout and reported.
func TestGateCommandHangs(t *testing.T) {
	leakcheck.Check(t)
	code, stdout, stderr := runCLI(t, "gate", "--base-cmd", "/bin/true", "--head-cmd", "sleep 30", "--scenarios", "spawn", "--filter", "mode=spawn",
		"--stages", "4", "--budget", "20ms", "--round-timeout", "1s")
	if code != compare.ExitArmFailed || !strings.Contains(stderr, "hung") || strings.Contains(stdout, "PASS") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// Two real ipcbench binaries (this one, built), A/A over one benchmark:
// the arm invocation `run ... --format json` is exercised for real.
func TestGateRealBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ipcbench")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build ipcbench")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ipcbench")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	js := filepath.Join(dir, "g.json")
	code, stdout, stderr := runCLI(t, "gate", "--base", bin, "--head", bin, "--stages", "3", "--budget", "30ms", "--time", "1m", "--json", js,
		"--", "spawn", "--filter", "Spawn/mode=spawn/cmd=true/cores=1")
	if code != compare.ExitInconclusive && code != compare.ExitPass {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, _ := os.ReadFile(js)
	r, err := compare.DecodeGate(data)
	if err != nil || r.Rounds != 3 || len(r.Benchmarks) != 1 || r.Env.NumCPU == 0 || r.Samples[0].Base[0] <= 0 {
		t.Fatalf("report %v %+v", err, r)
	}
}

// The values of run's flags, and what follows a second --, are not
// mistaken for the flags the gate owns; flags this build does not know
// (a newer head's) pass.
func TestGateRunArgsValuesPass(t *testing.T) {
	for _, sel := range [][]string{
		{"spawn", "--filter", "--time"},
		{"spawn", "--cmd", "--budget 1s", "--cores", "1"},
		{"spawn", "--stderr", "--filter", "x"},
		{"spawn", "--", "--time"},
		{"spawn", "--some-new-flag", "3"},
	} {
		if err := checkGateRunArgs(sel); err != nil {
			t.Errorf("%q: %v", sel, err)
		}
	}
	if err := checkGateRunArgs([]string{"spawn", "--stderr", "--time", "1s"}); err == nil {
		t.Error("--time after a boolean flag must be refused")
	}
}
