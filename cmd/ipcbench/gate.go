package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/compare"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/report"
	"github.com/ipcbench/ipcbench/results"
	"github.com/spf13/cobra"
)

// exitStatus ends a command with a given exit status; msg (when set) is
// printed as the one-line reason.
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.msg
}

// armError is an arm that could not produce a round: missing, crashed,
// hung, printed garbage or failed a benchmark (exit 4).
type armError struct {
	arm string // "base" or "head"
	msg string
}

func (e *armError) Error() string { return e.arm + " arm: " + e.msg }

// gateFlags are the flags of `ipcbench gate`.
type gateFlags struct {
	base, head         string
	baseCmd, headCmd   string
	scenarios          string
	filter             string
	aa                 bool
	repeat             int
	noise              string
	timeLimit          string
	maxRegression      string
	stages             string
	inconclusive       string
	budget             string
	roundTimeout       string
	seed               uint64
	markdown, jsonFile string
	githubBench        string
	benchFile          string
}

func newGateCmd(stdout, stderr io.Writer) *cobra.Command {
	var f gateFlags
	c := &cobra.Command{
		Use:   "gate (--base BIN --head BIN [-- run-args...] | --base-cmd CMD --head-cmd CMD) [flags]",
		Short: "CI regression gate: base and head measured in one job, interleaved in rounds",
		Long: `Measure base and head in the same job, interleaved: rounds of short measurements, each
running both arms back to back in a random, order-balanced order (AB/BA) after a discarded
warmup round. Per benchmark, the change is the Hodges-Lehmann estimate of the rounds' paired log
ratios ln(head/base) with its Wilcoxon signed-rank CI, looked at in stages (--stages) with the
error rate split across the looks, Holm-corrected across benchmarks.

  regression    the whole CI lies beyond +T       (T = max(--max-regression, noise floor))
  pass          the CI's worse end is below +T    (inside ±T, or an improvement)
  inconclusive  anything else, with the MDE: the change this run could resolve

Arms: two ipcbench binaries (--base ./old/ipcbench --head ./new/ipcbench), each round running
'BIN run <args after --> --budget B --no-save --format json --filter <undecided>' (the args say
what to measure: --time, --budget, --rounds, --format, --out, --no-save, --profile, --report and
--strict are the gate's or make no sense per round, and are refused); or two
commands for the spawn and output scenarios (--base-cmd 'node old.js' --head-cmd 'node new.js'),
measured in this process.
--aa runs the same arm twice: the noise floor and false-alarm rate of this runner per benchmark,
saved with --noise FILE; later gates read that file (--noise FILE) and raise T to each floor.

Exit status: 0 pass, 1 regression, 2 usage error, 3 inconclusive (0 with --inconclusive=pass),
4 an arm failed (missing, crashed, hung, printed garbage, a benchmark failed) or the gate's files
could not be written, 128+N on signal N (130 for Ctrl-C).
A partial gate never passes.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash > 0 || (dash < 0 && len(args) > 0) {
				return usagef("gate takes no arguments before --; put run arguments after -- (e.g. gate --base A --head B -- spawn --filter fork)")
			}
			return doGate(cmd.Context(), &f, args, stdout, stderr)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.base, "base", "", "base arm: an ipcbench binary (e.g. built from the target branch)")
	fl.StringVar(&f.head, "head", "", "head arm: an ipcbench binary (e.g. built from the pull request)")
	fl.StringVar(&f.baseCmd, "base-cmd", "", "base arm: your command for the spawn and output scenarios, e.g. 'node old.js'")
	fl.StringVar(&f.headCmd, "head-cmd", "", "head arm: your command, e.g. 'node new.js'")
	fl.StringVar(&f.scenarios, "scenarios", "spawn,output", "with --base-cmd: the scenarios to gate (spawn, output)")
	fl.StringVar(&f.filter, "filter", "", "with --base-cmd: only benchmarks matching this regular expression (binary arms: put --filter after --)")
	fl.BoolVar(&f.aa, "aa", false, "A/A calibration: the base arm on both sides (or two builds of one commit as --base and --head)")
	fl.IntVar(&f.repeat, "repeat", 1, "with --aa: A/A gates to run (false-alarm rate = regressions / repeats)")
	fl.StringVar(&f.noise, "noise", "", "noise file: written by --aa, read by a gate (T per benchmark = max(margin, floor))")
	fl.StringVar(&f.timeLimit, "time", "3m", "the most the gate may take, warmup round included")
	fl.StringVar(&f.maxRegression, "max-regression", "5%", "the margin T: a change smaller than this is not a regression")
	fl.StringVar(&f.stages, "stages", "10,20,40", "round counts at which the gate looks (the error rate is split across them)")
	fl.StringVar(&f.inconclusive, "inconclusive", "fail", "exit status of an inconclusive gate: fail (3) or pass (0)")
	fl.StringVar(&f.budget, "budget", "", "sampling time per benchmark per arm and round (default: from --time and the stages)")
	fl.StringVar(&f.roundTimeout, "round-timeout", "", "the most one arm may take for one round before it is called hung (default: from the budget)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the AB/BA order (default: random; the JSON records it)")
	fl.StringVar(&f.markdown, "markdown", "", "write a Markdown summary (pull-request comment, $GITHUB_STEP_SUMMARY) to this file")
	fl.StringVar(&f.jsonFile, "json", "", "write the JSON verdict document to this file")
	fl.StringVar(&f.githubBench, "github-benchmark", "", "write github-action-benchmark JSON (customSmallerIsBetter) to this file")
	fl.StringVar(&f.benchFile, "bench", "", "write the rounds in the Go benchmark format (benchstat -col arm FILE) to this file")
	return c
}

// gateSetup is a validated gate.
type gateSetup struct {
	arms         rounder
	base, head   compare.Arm
	selection    []string
	plan         compare.Plan
	timeLimit    time.Duration
	budget       time.Duration // 0: derived
	roundTimeout time.Duration // 0: derived
	seed         uint64
	noise        *compare.Noise
	noisePath    string
	inconclPass  bool
	aa           bool
}

func parseGate(f *gateFlags, sel []string) (*gateSetup, error) {
	g := &gateSetup{plan: compare.DefaultPlan(), seed: f.seed, aa: f.aa}
	var err error
	if g.plan.MaxRegression, err = parsePercent("--max-regression", f.maxRegression); err != nil {
		return nil, err
	}
	if g.plan.MaxRegression <= 0 {
		return nil, usagef("--max-regression %q must be above 0", f.maxRegression)
	}
	if g.plan.Stages, err = stagesFlag(f.stages); err != nil {
		return nil, err
	}
	if g.timeLimit, err = positiveDuration("--time", f.timeLimit); err != nil {
		return nil, err
	}
	if f.budget != "" {
		if g.budget, err = positiveDuration("--budget", f.budget); err != nil {
			return nil, err
		}
	}
	if f.roundTimeout != "" {
		if g.roundTimeout, err = positiveDuration("--round-timeout", f.roundTimeout); err != nil {
			return nil, err
		}
	}
	switch f.inconclusive {
	case "fail":
	case "pass":
		g.inconclPass = true
	default:
		return nil, usagef("--inconclusive %q: accepted fail, pass", f.inconclusive)
	}
	if f.repeat < 1 {
		return nil, usagef("--repeat %d must be at least 1", f.repeat)
	}
	if f.repeat > 1 && !f.aa {
		return nil, usagef("--repeat is for --aa calibrations")
	}
	if f.noise != "" && !f.aa {
		if g.noise, err = compare.LoadNoise(f.noise); err != nil {
			return nil, usageError{err}
		}
	}
	g.noisePath = f.noise
	// Output files are checked before minutes are spent measuring.
	outputs := []struct{ flag, path string }{{"--markdown", f.markdown}, {"--json", f.jsonFile}, {"--github-benchmark", f.githubBench}, {"--bench", f.benchFile}}
	if f.aa {
		outputs = append(outputs, struct{ flag, path string }{"--noise", f.noise}) // written by a calibration
	}
	for _, o := range outputs {
		if o.path == "" {
			continue
		}
		if err := report.CheckWritable(o.path, false); err != nil {
			// The probe's own name would only confuse: say why.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, usagef("%s %q cannot be written: %v", o.flag, o.path, err)
		}
	}
	binary := f.base != "" || f.head != ""
	command := f.baseCmd != "" || f.headCmd != ""
	switch {
	case binary && command:
		return nil, usagef("give binary arms (--base/--head) or command arms (--base-cmd/--head-cmd), not both")
	case !binary && !command:
		return nil, usagef("no arms: give --base BIN --head BIN (ipcbench binaries) or --base-cmd CMD --head-cmd CMD")
	case binary:
		if f.base == "" {
			return nil, usagef("--head without --base: the base arm is missing")
		}
		head := f.head
		if head == "" {
			if !f.aa {
				return nil, usagef("--base without --head: give the head binary, or --aa to calibrate with the base on both sides")
			}
			head = f.base
		}
		if f.filter != "" || f.scenarios != "spawn,output" {
			return nil, usagef("--filter and --scenarios are for command arms; for binary arms put run arguments after -- (e.g. -- spawn --filter fork)")
		}
		if err := checkGateRunArgs(sel); err != nil {
			return nil, err
		}
		g.base, g.head = compare.Arm{Kind: "binary", What: f.base}, compare.Arm{Kind: "binary", What: head}
		g.selection = sel
		g.arms = &binaryArms{base: f.base, head: head, sel: sel}
	default:
		if f.baseCmd == "" {
			return nil, usagef("--head-cmd without --base-cmd: the base arm is missing")
		}
		headCmd := f.headCmd
		if headCmd == "" {
			if !f.aa {
				return nil, usagef("--base-cmd without --head-cmd: give the head command, or --aa to calibrate")
			}
			headCmd = f.baseCmd
		}
		if len(sel) > 0 {
			return nil, usagef("run arguments after -- are for binary arms; command arms take --scenarios and --filter")
		}
		ca, err := newCommandArms(f.baseCmd, headCmd, f.scenarios, f.filter)
		if err != nil {
			return nil, err
		}
		g.base, g.head = compare.Arm{Kind: "command", What: f.baseCmd}, compare.Arm{Kind: "command", What: headCmd}
		g.selection = []string{"--scenarios", f.scenarios}
		if f.filter != "" {
			g.selection = append(g.selection, "--filter", f.filter)
		}
		g.arms = ca
	}
	return g, nil
}

// gateOwnedRunFlags are the run flags a gate's run arguments (after --)
// may not carry, and why: the gate sets them itself on every round, or
// they make no sense for one short round. Given to the arms they would
// fail every round ("arm failed", exit 4, after the warmup) or be quietly
// overridden; `BIN list`, the gate's only look at the arguments before
// measuring, ignores them all.
var gateOwnedRunFlags = map[string]string{
	"time":    "the gate sets each round's sampling time (--budget) itself; give the gate's own --time or --budget, before --",
	"budget":  "the gate sets each round's sampling time itself; give the gate's own --budget (per benchmark, arm and round) or --time, before --",
	"rounds":  "the gate runs its own rounds (each arm invocation is one visit); set how many with the gate's --stages",
	"format":  "the gate reads each round's results as JSON; for other formats use the gate's --markdown, --json, --bench, --github-benchmark",
	"out":     "the gate saves no round (--no-save); its own files are --json, --markdown, --bench, --github-benchmark",
	"no-save": "the gate passes it itself",
	"profile": "a round's profile would cover one short round and be written nowhere (--no-save); profile with ipcbench run --profile",
	"report":  "a capacity report needs a saved run, and a gate saves none; use ipcbench run --report",
	"strict":  "a short round's figure is often weak, and --strict would fail the arm (exit 3) for it; the gate judges its precision itself (the MDE)",
}

// checkGateRunArgs refuses run arguments of binary arms that carry a flag
// the gate owns (gateOwnedRunFlags), as --flag or --flag=value. The values
// of run's other flags are skipped, so a value that looks like a flag
// (--filter --time) is not mistaken for one; a flag this build does not
// know (a newer head's) is passed on.
func checkGateRunArgs(sel []string) error {
	var rf runFlags
	known := &cobra.Command{}
	addRunFlags(known, &rf)
	for i := 0; i < len(sel); i++ {
		a := sel[i]
		if a == "--" {
			break // what follows is arguments, not flags
		}
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		name, _, inline := strings.Cut(name, "=")
		if why, owned := gateOwnedRunFlags[name]; owned {
			return usagef("--%s in the run arguments after -- is not for a gate: %s", name, why)
		}
		if fl := known.Flags().Lookup(name); fl != nil && !inline && fl.NoOptDefVal == "" {
			i++ // its value
		}
	}
	return nil
}

// stagesFlag is --stages: increasing round counts of at least 2, parsed
// as every list of counts is (units.ParseIntList refuses "10,,20").
func stagesFlag(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, usagef("--stages is empty: give round counts, e.g. 10,20,40")
	}
	out, err := units.ParseIntList(s)
	if err != nil {
		return nil, usagef("--stages: %v", err)
	}
	for i, n := range out {
		if n < 2 {
			return nil, usagef("--stages %q: stages are round counts of at least 2, e.g. 10,20,40", s)
		}
		if i > 0 && n <= out[i-1] {
			return nil, usagef("--stages %q must increase, e.g. 10,20,40", s)
		}
	}
	return out, nil
}

func positiveDuration(flag, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("%s %q is not a positive duration (e.g. 500ms, 3m)", flag, s)
	}
	return d, nil
}

func doGate(ctx context.Context, f *gateFlags, sel []string, stdout, stderr io.Writer) error {
	sys.SetGOMAXPROCS(0) // as `run` does: command arms are measured in this process
	g, err := parseGate(f, sel)
	if err != nil {
		return err
	}
	// As `run`: a signal ends the gate (never as a pass) and kills the
	// arms; the guardian sweeps what a killed gate leaves.
	ctx, interrupted, stopSignals := catchSignals(ctx, stderr)
	defer stopSignals()
	defer guard(stderr)()
	if g.seed == 0 {
		g.seed = rand.Uint64()
	}
	if !g.aa {
		r, err := runGate(ctx, g, g.seed, interrupted, stderr)
		if err != nil {
			return err
		}
		if err := writeGateFiles(f, r, stderr); err != nil {
			compare.GateText(stdout, r)
			return exitStatus{code: compare.ExitArmFailed, msg: err.Error()}
		}
		if err := compare.GateText(stdout, r); err != nil {
			return err
		}
		return gateExit(r)
	}
	// A/A: repeats of one gate with every stage run; their spread is the
	// noise floor, their regression verdicts the false-alarm rate.
	var reports []*compare.GateReport
	for i := 0; i < f.repeat; i++ {
		r, err := runGate(ctx, g, g.seed+uint64(i), interrupted, stderr)
		if err != nil {
			return err
		}
		if r.Outcome == compare.ArmFailed || r.Outcome == compare.Interrupted {
			writeGateFiles(f, r, stderr)
			compare.GateText(stdout, r)
			return gateExit(r)
		}
		fmt.Fprintf(stderr, "A/A %d/%d: %s\n", i+1, f.repeat, oneLineSummary(r))
		reports = append(reports, r)
	}
	last := reports[len(reports)-1]
	if err := writeGateFiles(f, last, stderr); err != nil {
		return exitStatus{code: compare.ExitArmFailed, msg: err.Error()}
	}
	n := compare.NoiseFromAA(reports, g.plan.MaxRegression)
	if err := compare.NoiseText(stdout, n); err != nil {
		return err
	}
	if g.noisePath != "" {
		data, err := compare.EncodeNoise(n)
		if err != nil {
			return err
		}
		if err := results.WriteFileAtomic(g.noisePath, data); err != nil {
			return exitStatus{code: compare.ExitArmFailed, msg: "gate: " + err.Error()}
		}
		fmt.Fprintf(stderr, "saved %s\n", g.noisePath)
	}
	return nil
}

func oneLineSummary(r *compare.GateReport) string {
	p, reg, inc := r.Counts()
	return fmt.Sprintf("%s after %d rounds in %s: %d pass, %d regression, %d inconclusive", r.Outcome, r.Rounds, time.Duration(r.ElapsedNS).Round(time.Second), p, reg, inc)
}

// gateExit is the command's result for a finished gate.
func gateExit(r *compare.GateReport) error {
	switch {
	case r.ExitCode == 0:
		return nil
	case r.Failure != "":
		return exitStatus{code: r.ExitCode, msg: "gate: " + r.Failure}
	}
	return exitStatus{code: r.ExitCode}
}

// writeGateFiles writes the files asked for, atomically; they are written
// for every outcome (a CI job uploads them whether the gate passed or not).
func writeGateFiles(f *gateFlags, r *compare.GateReport, stderr io.Writer) error {
	type out struct {
		path   string
		render func(io.Writer) error
	}
	outs := []out{
		{f.markdown, func(w io.Writer) error { return compare.GateMarkdown(w, r) }},
		{f.jsonFile, func(w io.Writer) error { return compare.GateJSON(w, r) }},
		{f.benchFile, func(w io.Writer) error { return compare.GateBench(w, r) }},
		{f.githubBench, func(w io.Writer) error { _, err := compare.GateGitHubBenchmark(w, r, false); return err }},
	}
	if f.githubBench != "" {
		// github-action-benchmark reads one direction per file: rates
		// (better higher) go next to it, when there are any.
		var buf bytes.Buffer
		if n, err := compare.GateGitHubBenchmark(&buf, r, true); err == nil && n > 0 {
			p := biggerPath(f.githubBench)
			outs = append(outs, out{p, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }})
			fmt.Fprintf(stderr, "ipcbench: gate: %d benchmark(s) better higher written to %s (customBiggerIsBetter)\n", n, p)
		}
	}
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		var buf bytes.Buffer
		if err := o.render(&buf); err != nil {
			return err
		}
		if err := results.WriteFileAtomic(o.path, buf.Bytes()); err != nil {
			return fmt.Errorf("gate: %w", err)
		}
	}
	return nil
}

// biggerPath is where higher-is-better entries go: bench.json → bench.bigger.json.
func biggerPath(p string) string {
	if i := strings.LastIndex(p, "."); i > strings.LastIndex(p, "/") {
		return p[:i] + ".bigger" + p[i:]
	}
	return p + ".bigger"
}

// rounder measures rounds on both arms.
type rounder interface {
	// list is what both arms would measure, by gate key: the benchmarks
	// in both, those only in one, and those skipped (with why).
	list(ctx context.Context, timeout time.Duration) (common, onlyBase, onlyHead []results.Name, skipped []compare.Skip, err error)
	// round measures the keys on both arms, base first or head first,
	// and returns each arm's round median and unit per key, and the
	// environment it ran in.
	round(ctx context.Context, keys []results.Name, baseFirst bool, budget, timeout time.Duration) (base, head map[results.Name]float64, units map[results.Name]string, env *results.Env, err error)
}

// orders are the rounds' arm orders: blocks of two rounds, one AB and one
// BA in random order, so that each arm goes first equally often and an
// order effect (a warm cache, a cooling CPU) cancels in the pairs.
func orders(seed uint64, n int) []bool {
	r := rand.New(rand.NewPCG(seed, 0x1b5))
	out := make([]bool, 0, n+1)
	for len(out) < n {
		first := r.IntN(2) == 0
		out = append(out, first, !first)
	}
	return out[:n]
}

// runGate runs one gate to its end and returns its report, finished. Its
// error is a usage error found before anything was measured (the run
// arguments, no benchmark in common): exit 2, no report. signal says which
// signal, if any, cancelled ctx (catchSignals): the report's exit code is
// 128 + its number.
func runGate(ctx context.Context, g *gateSetup, seed uint64, signal func() *interruptError, stderr io.Writer) (*compare.GateReport, error) {
	start := time.Now()
	deadline := start.Add(g.timeLimit)
	r := &compare.GateReport{
		SchemaVersion: compare.GateSchemaVersion, Kind: compare.KindGate, AA: g.aa,
		Base: g.base, Head: g.head, Selection: g.selection, Seed: seed,
		StartedAt: start.UTC(), TimeNS: g.timeLimit.Nanoseconds(), InconclusivePass: g.inconclPass,
	}
	r.SetPlan(g.plan)
	if g.noise != nil {
		r.NoiseFile = g.noisePath
	}
	interrupted, sig := false, 0
	finish := func(gt *compare.Gate) *compare.GateReport {
		if gt != nil {
			r.Benchmarks = gt.Verdicts()
			r.Looks = gt.Looks()
			r.SetSeries(gt.SeriesList())
		}
		r.ElapsedNS = time.Since(start).Nanoseconds()
		r.Finish(interrupted, sig)
		return r
	}
	// fail records why the gate cannot finish; the report is then
	// partial and never a pass.
	fail := func(err error) {
		if ctx.Err() != nil {
			interrupted = true
			r.Failure = "interrupted; the gate is incomplete"
			if ie := signal(); ie != nil {
				// The exit status (and the document's exit_code) is the
				// shell's for that signal: a CI runner's cancel (SIGTERM)
				// reads 143, not 130 as if someone pressed Ctrl-C.
				sig = int(ie.sig)
				r.Failure = ie.Error() + "; the gate is incomplete"
			}
			return
		}
		r.Failure = err.Error()
	}

	listTimeout := 30 * time.Second
	if g.roundTimeout > 0 {
		listTimeout = min(listTimeout, g.roundTimeout)
	}
	keys, onlyBase, onlyHead, skipped, err := g.arms.list(ctx, listTimeout)
	r.OnlyBase, r.OnlyHead, r.Skipped = onlyBase, onlyHead, skipped
	var ue usageError
	if errors.As(err, &ue) {
		return nil, err
	}
	if err != nil {
		fail(err)
		return finish(nil), nil
	}
	if len(keys) == 0 {
		return nil, usagef("gate: %v: the arms have no benchmark in common that runs here (only in base: %d, only in head: %d, skipped: %d)", compare.ErrNoCommon, len(onlyBase), len(onlyHead), len(skipped))
	}
	budget := g.budget
	auto := budget == 0
	last := g.plan.Stages[len(g.plan.Stages)-1]
	target := g.timeLimit / time.Duration(last+1) // one round, both arms
	if auto {
		// Most of an arm's half of a round is sampling; the rest is its
		// warmup (a tenth of the budget), setup and process start.
		budget = clampDur(target/2*6/10/time.Duration(len(keys)), 20*time.Millisecond, 2*time.Second)
	}
	timeout := func() time.Duration {
		if g.roundTimeout > 0 {
			return g.roundTimeout
		}
		// The engine stops a pathological benchmark at 10× its budget;
		// beyond 12× plus start-up, the arm is hung.
		return 30*time.Second + time.Duration(len(keys))*(12*budget+2*time.Second)
	}

	// Warmup round: discarded; it checks both arms, learns the units and
	// what a round costs.
	t0 := time.Now()
	_, _, units, env, err := g.arms.round(ctx, keys, true, budget, timeout())
	if err != nil {
		fail(fmt.Errorf("warmup round: %w", err))
		return finish(nil), nil
	}
	if env != nil {
		r.Env = *env
	}
	lastDur := time.Since(t0)
	if auto && lastDur > target && budget > 20*time.Millisecond {
		budget = clampDur(time.Duration(float64(budget)*float64(target)/float64(lastDur)), 20*time.Millisecond, budget)
		fmt.Fprintf(stderr, "ipcbench: gate: a round took %s, more than %s fits in --time %s: budget lowered to %s\n", lastDur.Round(time.Millisecond), target.Round(time.Millisecond), g.timeLimit, budget.Round(time.Millisecond))
	}
	r.BudgetNS = budget.Nanoseconds()

	unitList := make([]string, len(keys))
	for i, k := range keys {
		unitList[i] = units[k]
	}
	var floors map[results.Name]float64
	if g.noise != nil {
		floors = g.noise.Floors()
		r.Notes = append(r.Notes, noiseNotes(g.noise, keys, r.Env, g.plan.MaxRegression)...)
	}
	gt, err := compare.NewGate(g.plan, keys, unitList, floors, g.aa)
	if err != nil {
		fail(err)
		return finish(nil), nil
	}
	ord := orders(seed, last)
	round, looked := 0, 0
	timeUp := false
	for stage := gt.NextStage(); stage != 0 && !timeUp; stage = gt.NextStage() {
		for round < stage {
			// Start a round only if one like the last (with a margin for
			// its variation) still ends before the deadline.
			if time.Now().Add(lastDur * 5 / 4).After(deadline) {
				timeUp = true
				break
			}
			t := time.Now()
			todo := gt.Undecided()
			if g.aa {
				todo = keys
			}
			base, head, _, _, err := g.arms.round(ctx, todo, ord[round], budget, timeout())
			if err != nil {
				r.Rounds = round
				fail(fmt.Errorf("round %d: %w", round+1, err))
				return finish(gt), nil
			}
			round++
			for _, k := range todo {
				if err := gt.Add(k, round, base[k], head[k]); err != nil {
					r.Rounds = round
					fail(&armError{arm: "base/head", msg: err.Error()})
					return finish(gt), nil
				}
			}
			lastDur = time.Since(t)
		}
		if round == looked {
			break // time ran out right after a look: nothing new to look at
		}
		looked = round
		over := gt.Look()
		undecided := len(gt.Undecided())
		fmt.Fprintf(stderr, "gate: look %d at %d rounds (%s): %d of %d benchmark(s) decided\n", gt.Looks(), round, time.Since(start).Round(time.Second), len(keys)-undecided, len(keys))
		if over {
			break
		}
	}
	r.Rounds = round
	if timeUp {
		r.Notes = append(r.Notes, fmt.Sprintf("--time %s ran out after %d rounds, before the last stage (%d)", g.timeLimit, round, last))
	}
	return finish(gt), nil
}

func clampDur(d, lo, hi time.Duration) time.Duration { return max(lo, min(d, hi)) }

// noiseNotes say which floors raise T and whether the noise file fits
// this machine.
func noiseNotes(n *compare.Noise, keys []results.Name, env results.Env, margin float64) []string {
	var out []string
	if n.Env.Hostname != env.Hostname || n.Env.CPUModel != env.CPUModel || n.Env.NumCPU != env.NumCPU {
		out = append(out, fmt.Sprintf("the noise file was measured on another machine (%s, %d CPUs, host %s): its floors may not fit this one", n.Env.CPUModel, n.Env.NumCPU, n.Env.Hostname))
	}
	in := map[results.Name]bool{}
	for _, k := range keys {
		in[k] = true
	}
	for _, b := range n.Benchmarks {
		if !in[b.Name] || !b.TooNoisy {
			continue
		}
		if b.Floor < 0 || math.IsInf(b.Floor, 0) {
			out = append(out, fmt.Sprintf("%s: the calibration found no finite noise floor; it can never be called a regression here", b.Name))
			continue
		}
		out = append(out, fmt.Sprintf("%s: noise floor %.1f%% exceeds the margin %.0f%%: too noisy to gate at that margin here; gated at its floor", b.Name, 100*b.Floor, 100*margin))
	}
	return out
}
