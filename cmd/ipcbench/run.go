package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/iox"
	"github.com/ipcbench/ipcbench/internal/profiling"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/report"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// runFlags are the flags of `ipcbench run` (and `list`).
type runFlags struct {
	format     string
	out        string
	noSave     bool
	quick      bool
	filter     string
	budget     string
	cpus       string
	cmd        string
	sizes      string
	outSizes   string
	writeSizes string
	maxBuffer  string
	stderr     bool
	transports string
	modes      string
	placements string
	cores      string
	minSamples int
	targetCI   float64
	profile    string
	time       string
	rounds     int
	full       bool
	strict     bool
	seed       uint64
	opTimeout  string
	report     string // --report: a capacity report beside results.json
	node       string
	parentMem  string
	load       loadFlags
	args       []string        // as typed, for the record
	given      map[string]bool // flags given on the command line
}

func addRunFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: "+strings.Join(report.FormatNames(), ", "))
	fl.StringVar(&f.out, "out", "ipcbench-results", "directory for saved runs (<out>/<run-id>/results.json)")
	fl.BoolVar(&f.noSave, "no-save", false, "do not save the run")
	fl.BoolVar(&f.quick, "quick", false, "short budgets and fewer sizes (a smoke run, not for decisions)")
	fl.StringVar(&f.filter, "filter", "", "only benchmarks whose name matches this regular expression")
	fl.StringVar(&f.time, "time", "", "time budget of the whole run, shared by its benchmarks (default 3m, --quick 40s)")
	fl.StringVar(&f.budget, "budget", "", "sampling time per benchmark over all its rounds, instead of --time (e.g. 1s)")
	fl.IntVar(&f.rounds, "rounds", 0, "visits per benchmark, in shuffled rounds (default 6; 1: one visit with an adaptive stop)")
	fl.BoolVar(&f.full, "full", false, "the whole cross product (all sizes, output modes and core counts) instead of the representative matrix")
	fl.BoolVar(&f.strict, "strict", false, "exit 3 when a figure is weak (noisy, busy machine, steal, too few samples): for CI")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the rounds' shuffled order (default: random, recorded in the run)")
	fl.StringVar(&f.opTimeout, "op-timeout", "", "fail a benchmark in which no op finishes for this long, killing what it started (default 10s, or 5× --budget when longer)")
	fl.StringVar(&f.cpus, "cpus", "", "CPUs the benchmarks may use, e.g. 0-3 or 0,2 (default: all allowed)")
	fl.StringVar(&f.cmd, "cmd", "", "your own command for spawn and output, e.g. 'gzip -c file' (as hyperfine takes one)")
	fl.IntVar(&f.minSamples, "min-samples", 0, "samples a benchmark should have (default: the rounds; 1..10000; never beyond the time budget, a warning says so)")
	fl.Float64Var(&f.targetCI, "target-ci", 0, "no more rounds once the median's 95% CI is within this relative width (default 0.10 = ±5%; --rounds 1: 0.02)")
	fl.StringVar(&f.report, "report", "", "also write a capacity report beside results.json: html (report.html) or markdown (report/)")
	addMatrixFlags(c, f)
}

func newRunCmd(stdout, stderr io.Writer, all []string) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [all|" + strings.Join(scenarios.GroupNames(), "|") + "]...",
		Short: "Run benchmarks and print a table (data on stdout, progress on stderr)",
		Long: "Run benchmarks. Exit status: 0 all ran; 1 a benchmark failed (the others still ran and were saved),\n" +
			"or the results could not be saved or printed; 2 usage error; 3 --strict and a figure is weak (noisy,\n" +
			"busy machine, steal, too few samples); 128+N ended by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP),\n" +
			"what was measured saved and marked partial. A second signal ends ipcbench at once.",
		RunE: func(cmd *cobra.Command, args []string) error {
			f.args, f.given = all, givenFlags(cmd)
			return doRun(cmd.Context(), args, &f, stdout, stderr)
		},
	}
	addRunFlags(c, &f)
	return c
}

func newListCmd(stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "list [all|" + strings.Join(scenarios.GroupNames(), "|") + "]...",
		Short: "List the benchmarks a run would take, and how long (same flags as run)",
		RunE: func(cmd *cobra.Command, args []string) error {
			f.given = givenFlags(cmd)
			p, err := buildPlan(args, &f)
			if err != nil {
				return err
			}
			skipped := 0
			for _, s := range p.list {
				line := string(s.Name())
				if sk, ok := s.(bench.Skipper); ok {
					if why := sk.SkipReason(); why != "" {
						line += "\t(skipped: " + why + ")"
						skipped++
					}
				}
				fmt.Fprintln(stdout, line)
			}
			fmt.Fprintln(stderr, planSummary(args, &f, p, skipped))
			return nil
		},
	}
	addRunFlags(c, &f)
	return c
}

// planSummary is list's account of a plan: how many benchmarks, what
// --full would build, and the time arithmetic.
func planSummary(args []string, f *runFlags, p *plan, skipped int) string {
	n := len(p.list) - skipped
	line := fmt.Sprintf("%d benchmarks (+%d skipped) at core counts %v", n, skipped, p.opts.Cores)
	if !f.full {
		full := *f
		full.full = true
		if fp, err := buildPlan(args, &full); err == nil {
			line += fmt.Sprintf("; --full builds %d", len(fp.list))
		}
	}
	if p.single() {
		return line + fmt.Sprintf("; one visit each, up to %s sampling: at most ~%s", p.cfg.Budget, (time.Duration(n)*p.cfg.Budget).Round(time.Second))
	}
	r := p.rounds
	if r.PerBenchmark > 0 {
		return line + fmt.Sprintf("; %d rounds of %s per benchmark (--budget %s): ~%s of sampling", r.MinRounds,
			r.PerBenchmark/time.Duration(r.MinRounds), r.PerBenchmark, (time.Duration(n)*r.PerBenchmark).Round(time.Second))
	}
	visits := n * min(r.MaxRounds, r.MinRounds+(r.MinRounds+1)/2)
	return line + fmt.Sprintf("; --time %s shared by %d benchmarks × %d–%d rounds: ~%s per visit (less ~15 ms of overhead each)",
		r.Time, n, r.MinRounds, r.MaxRounds, (r.Time/time.Duration(max(1, visits))).Round(time.Millisecond))
}

// givenFlags lists the flags given on the command line ("--cmd": true).
func givenFlags(cmd *cobra.Command) map[string]bool {
	m := map[string]bool{}
	cmd.Flags().Visit(func(fl *pflag.Flag) { m["--"+fl.Name] = true })
	return m
}

// plan is a validated run: what to run and how.
type plan struct {
	groups  []scenarios.Group
	list    []bench.Scenario
	cfg     bench.Config // one visit's sampling (--rounds 1: the whole benchmark's)
	rounds  bench.Rounds // the run in rounds (unused with --rounds 1)
	format  report.Format
	fname   string
	opts    scenarios.Options
	outDir  string
	profile []string
}

// single: each benchmark measured in one visit with an adaptive stop, as
// with --rounds 1 and under --profile (a profile covers one visit).
func (p *plan) single() bool { return p.rounds.MinRounds <= 1 }

func buildPlan(args []string, f *runFlags) (*plan, error) {
	for flag, v := range map[string]string{"--cmd": f.cmd, "--cpus": f.cpus, "--out": f.out} {
		if f.given[flag] && strings.TrimSpace(v) == "" {
			return nil, usagef("%s is empty (give a value, or leave the flag out)", flag)
		}
	}
	p := &plan{outDir: f.out, fname: f.format}
	var err error
	if p.groups, err = selectGroups(args); err != nil {
		return nil, err
	}
	if p.format, err = report.Lookup(f.format); err != nil {
		return nil, usageError{err}
	}
	if p.profile, err = parseProfiles(f.profile); err != nil {
		return nil, err
	}
	if p.cfg, p.rounds, err = samplingConfig(f, len(p.profile) > 0); err != nil {
		return nil, err
	}
	if p.opts, err = matrixOptions(f); err != nil {
		return nil, err
	}
	if p.list, err = buildList(p.groups, p.opts, f.filter); err != nil {
		return nil, err
	}
	return p, nil
}

// selectGroups turns the arguments (default: all) into scenario groups,
// each once, in the order given.
func selectGroups(args []string) ([]scenarios.Group, error) {
	if len(args) == 0 {
		args = []string{"all"}
	}
	var groups []scenarios.Group
	seen := map[string]bool{}
	add := func(g scenarios.Group) {
		if !seen[g.Name] {
			groups = append(groups, g)
			seen[g.Name] = true
		}
	}
	for _, a := range args {
		if a == "all" {
			for _, g := range scenarios.Groups {
				add(g)
			}
			continue
		}
		g, err := scenarios.Lookup(a)
		if err != nil {
			return nil, usageError{err}
		}
		add(g)
	}
	return groups, nil
}

// samplingConfig is the engine's configuration from the sampling flags:
// the run in rounds, and one visit's sampling. With --rounds 1 (and under
// --profile, whose profiles cover one visit) each benchmark is one visit
// with an adaptive stop inside --budget.
func samplingConfig(f *runFlags, profiling bool) (bench.Config, bench.Rounds, error) {
	var cfg bench.Config
	r := bench.Rounds{Seed: f.seed}
	if r.Seed == 0 {
		r.Seed = mrand.Uint64()
	}
	if f.quick {
		r.Time = 40 * time.Second
		cfg.SampleTime = 5 * time.Millisecond
	}
	if f.time != "" {
		d, err := time.ParseDuration(f.time)
		if err != nil || d <= 0 {
			return cfg, r, usagef("--time %q is not a positive duration (e.g. 90s, 3m)", f.time)
		}
		r.Time = d
	}
	if f.budget != "" {
		d, err := time.ParseDuration(f.budget)
		if err != nil || d <= 0 {
			return cfg, r, usagef("--budget %q is not a positive duration (e.g. 500ms, 2s, 1m)", f.budget)
		}
		if f.time != "" {
			return cfg, r, usagef("--budget (per benchmark) and --time (the whole run) exclude each other: give one")
		}
		r.PerBenchmark, cfg.Budget = d, d
	}
	// 0 is these flags' "not given", never a value: given, it would
	// silently mean the default (README documents no such meaning), so it
	// is refused.
	for _, z := range []struct {
		flag, accepted string
		zero           bool
	}{
		{"--rounds", "1..100", f.rounds == 0},
		{"--min-samples", "1..10000", f.minSamples == 0},
		{"--target-ci", "between 0 and 1, e.g. 0.10 for ±5%", f.targetCI == 0},
	} {
		if z.zero && f.given[z.flag] {
			return cfg, r, usagef("%s 0 is out of range (%s); leave the flag out for the default", z.flag, z.accepted)
		}
	}
	switch {
	case f.rounds < 0 || f.rounds > 100:
		return cfg, r, usagef("--rounds %d is out of range (1..100)", f.rounds)
	case f.rounds > 0:
		r.MinRounds = f.rounds
	case profiling:
		r.MinRounds = 1
	}
	if f.minSamples != 0 {
		if f.minSamples < 1 || f.minSamples > 10000 {
			return cfg, r, usagef("--min-samples %d is out of range (1..10000)", f.minSamples)
		}
		r.MinSamples, cfg.MinSamples = f.minSamples, f.minSamples
	}
	if f.targetCI != 0 {
		if !(f.targetCI > 0 && f.targetCI < 1) { // also refuses NaN
			return cfg, r, usagef("--target-ci %v must be between 0 and 1 (e.g. 0.10 for ±5%%)", f.targetCI)
		}
		r.TargetCIWidth, cfg.TargetCIWidth = f.targetCI, f.targetCI
	}
	cfg.OpTimeout = max(10*time.Second, 5*cfg.Budget)
	if f.opTimeout != "" {
		d, err := time.ParseDuration(f.opTimeout)
		if err != nil || d <= 0 {
			return cfg, r, usagef("--op-timeout %q is not a positive duration (e.g. 5s, 1m)", f.opTimeout)
		}
		cfg.OpTimeout = d
	}
	if r.MinRounds == 1 && cfg.Budget == 0 {
		cfg.Budget = 2 * time.Second
		if f.quick {
			cfg.Budget, cfg.MinSamples = 300*time.Millisecond, max(cfg.MinSamples, 6)
		}
	}
	r.Config = cfg
	return cfg, r.Defaults(), nil
}

// buildList builds every group's benchmarks and keeps those the filter matches.
func buildList(groups []scenarios.Group, opts scenarios.Options, filter string) ([]bench.Scenario, error) {
	var re *regexp.Regexp
	if filter != "" {
		var err error
		if re, err = regexp.Compile(filter); err != nil {
			return nil, usagef("--filter %q is not a valid regular expression: %v", filter, err)
		}
	}
	var list []bench.Scenario
	for _, g := range groups {
		built, err := g.Build(opts)
		if err != nil {
			return nil, usageError{err}
		}
		for _, s := range built {
			if re == nil || re.MatchString(string(s.Name())) {
				list = append(list, s)
			}
		}
	}
	if len(list) == 0 {
		return nil, usagef("no benchmark matches --filter %q (see 'ipcbench list')", filter)
	}
	return list, nil
}

func parseProfiles(s string) ([]string, error) {
	kinds := splitList(s)
	for _, k := range kinds {
		if err := checkAccepted("--profile", "profile kind", k, profiling.Kinds); err != nil {
			return nil, err
		}
	}
	return kinds, nil
}

func doRun(ctx context.Context, args []string, f *runFlags, stdout, stderr io.Writer) error {
	gmp := sys.SetGOMAXPROCS(0)
	p, err := buildPlan(args, f)
	if err != nil {
		return err
	}
	if err := checkRunReport(f.report, f.noSave); err != nil {
		return err
	}
	// Children and threads: a pair each per core, the runtime's threads,
	// the guardian; the limit must not turn into a runtime crash mid-run.
	if err := sys.NeedProcs(64 + 4*len(p.opts.CPUs)); err != nil {
		return err
	}
	ctx, interrupted, stopSignals := catchSignals(ctx, stderr)
	defer stopSignals()
	defer guard(stderr)()
	if f.cpus != "" {
		// The whole run, and every child it starts (affinity is inherited),
		// stays on the CPUs given; placements pin further inside them.
		unpin, err := sys.PinProcess(p.opts.CPUs...)
		if err != nil {
			return err
		}
		defer unpin()
	}
	set := newSet(p, f, gmp)
	out, err := openRun(p, f, set, stderr)
	if err != nil {
		return err
	}
	defer out.close()
	prof, err := newProfiler(p.profile, out.dir, set)
	if err != nil {
		return err
	}
	t0 := time.Now()
	measure(ctx, p, prof, set, newProgress(stderr), out.visit)
	set.LoadSweeps = results.LoadSweeps(set) // the load group's findings (none without it)
	if prof != nil {
		for _, w := range prof.Finish(set) {
			fmt.Fprintln(stderr, "ipcbench: profiles: "+w)
		}
	}
	set.FinishedAt = time.Now().UTC()
	sig := interrupted()
	if sig != nil {
		set.Partial = fmt.Sprintf("%s after %s: %d of %d planned benchmarks have figures", sig, time.Since(t0).Round(time.Second), measured(set), len(p.list))
	}
	// Print first, then save: a failed save must not cost what was measured.
	printErr := printRun(p, set, stdout, stderr)
	saveErr := out.save(set)
	if saveErr == nil && sig == nil {
		saveErr = writeRunReport(out.dir, set, f.report, stderr)
	}
	fmt.Fprintln(stderr, summaryLine(set, time.Since(t0)))
	switch {
	case sig != nil:
		switch {
		case out.dir == "":
			fmt.Fprintf(stderr, "ipcbench: %s; what was measured is printed above (not saved: --no-save)\n", sig)
		case saveErr == nil:
			fmt.Fprintf(stderr, "ipcbench: %s; what was measured is saved (marked partial)\n", sig)
		}
		return *sig
	case saveErr != nil:
		return saveErr
	case printErr != nil:
		return printErr
	case set.Failures() > 0:
		return errBenchFailed
	case f.strict && weak(set) > 0:
		fmt.Fprintf(stderr, "ipcbench: --strict: %d benchmark(s) have weak figures (see the warnings)\n", weak(set))
		return errWeak
	}
	return nil
}

// measured counts the benchmarks with figures.
func measured(set *results.Set) int {
	n := 0
	for i := range set.Benchmarks {
		if set.Benchmarks[i].OK() {
			n++
		}
	}
	return n
}

// printRun renders the run: tables (or the document) on stdout, notes on
// stderr. A failing stdout (a full disk, a closed pipe) is an error of the
// run, not a silent success.
func printRun(p *plan, set *results.Set, stdout, stderr io.Writer) error {
	w := &iox.ErrWriter{W: stdout}
	if p.fname == "text" || p.fname == "markdown" {
		// Answers first (spawns per core, the transport per size, when
		// buffering stops being fine...), then the tables they come from.
		if d, err := report.Build([]report.Run{{Set: set}}, report.Options{NoCharts: true}); err == nil {
			if err := report.WriteAnswers(w, d, p.fname == "markdown"); err != nil {
				return fmt.Errorf("writing the results to stdout: %w", err)
			}
			fmt.Fprintln(w)
		}
	}
	ok, err := report.TablesAndNotes(p.fname, w, stderr, set)
	if err == nil && !ok {
		err = p.format(w, set)
	}
	if err == nil {
		err = w.Err
	}
	if err != nil {
		return fmt.Errorf("writing the results to stdout: %w", err)
	}
	return nil
}

// errWeak ends a --strict run whose figures are weak.
var errWeak = errors.New("weak figures")

func weak(set *results.Set) int {
	n := 0
	for i := range set.Benchmarks {
		if set.Benchmarks[i].Weak() {
			n++
		}
	}
	return n
}

// summaryLine counts what the run did: benchmarks, how many reached their
// target, warned (by kind), failed and were skipped, and its wall time.
func summaryLine(set *results.Set, wall time.Duration) string {
	var ran, skipped, failed, reached, warned int
	for i := range set.Benchmarks {
		b := &set.Benchmarks[i]
		switch {
		case b.Skipped != "":
			skipped++
			continue
		case b.Failed():
			failed++
		}
		ran++
		if b.Stop == results.StopTarget || (b.Stop == "" && b.OK() && !b.HasWarning(results.WarnNoisy)) {
			reached++
		}
		if len(b.Warnings) > 0 {
			warned++
		}
	}
	noun := "benchmarks"
	if ran == 1 {
		noun = "benchmark"
	}
	line := fmt.Sprintf("ipcbench: %d %s in %s: %d reached the target precision, %d warned", ran, noun, wall.Round(time.Second), reached, warned)
	if kinds := set.WarningKinds(); len(kinds) > 0 {
		line += " (" + results.KindList(kinds) + ")"
	}
	line += fmt.Sprintf(", %d failed, %d skipped", failed, skipped)
	return line
}

// newProfiler is the run's profiler when --profile asked for one.
func newProfiler(kinds []string, runDir string, set *results.Set) (*profiling.Run, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	if runDir == "" {
		return nil, usagef("--profile writes files into the run directory: drop --no-save")
	}
	return profiling.NewRun(kinds, runDir, set)
}

// newSet is the results document of a run about to start.
func newSet(p *plan, f *runFlags, gmp int) *results.Set {
	cfg := p.cfg.Defaults()
	set := &results.Set{
		SchemaVersion: results.SchemaVersion,
		RunID:         newRunID(),
		StartedAt:     time.Now().UTC(),
		Env:           sys.Fingerprint(),
	}
	set.Env.GOMAXPROCS = gmp
	set.Config = results.Config{
		Args: f.args, Filter: f.filter, Quick: f.quick, Full: f.full,
		BudgetNS: cfg.Budget.Nanoseconds(), SampleNS: cfg.SampleTime.Nanoseconds(),
		MinSamples: cfg.MinSamples, MaxSamples: cfg.MaxSamples, TargetCIWidth: cfg.TargetCIWidth,
		WarmupNS: cfg.Warmup.Nanoseconds(), CPUs: p.opts.CPUs, Cores: p.opts.Cores, GOMAXPROCS: gmp,
		Profiling:     p.profile,
		TimerOverhead: float64(cfg.TimerOverhead.Nanoseconds()), PerOpThreshold: float64(cfg.PerOpThreshold.Nanoseconds()),
	}
	if !p.single() {
		r := p.rounds
		set.Config.MinRounds, set.Config.MaxRounds, set.Config.Seed = r.MinRounds, r.MaxRounds, r.Seed
		set.Config.TimeNS, set.Config.BudgetNS = r.Time.Nanoseconds(), r.PerBenchmark.Nanoseconds()
		set.Config.MinSamples, set.Config.TargetCIWidth, set.Config.NoisyCIWidth = r.MinSamples, r.TargetCIWidth, r.NoisyCIWidth
		set.Config.WarmupNS = 0 // per visit: see bench.Rounds
	}
	for _, g := range p.groups {
		set.Config.Scenarios = append(set.Config.Scenarios, g.Name)
		if g.Name == "node" {
			set.Env.Node = scenarios.NodeEnv(p.opts)
		}
	}
	return set
}

// measure runs the plan into set, in rounds or (--rounds 1, --profile)
// one benchmark after the other; every finished visit goes to visited.
func measure(ctx context.Context, p *plan, prof *profiling.Run, set *results.Set, progress *progress, visited func(i, round int, v results.Benchmark)) {
	defer progress.finish()
	if p.single() {
		cfg := p.cfg.Defaults()
		cfg.Abort = child.KillAll
		if prof != nil {
			cfg.Hooks = append(cfg.Hooks, prof)
		}
		t0 := time.Now()
		for i, s := range p.list {
			progress.show(bench.Progress{Round: 1, Rounds: 1, Done: i, Planned: len(p.list), Elapsed: time.Since(t0), Name: s.Name()})
			b, err := bench.Run(ctx, s, cfg)
			set.Benchmarks = append(set.Benchmarks, b)
			visited(i, 1, b)
			progress.failed(&b)
			if err != nil {
				return
			}
		}
		return
	}
	r := p.rounds
	r.Config.Abort = child.KillAll
	r.Progress = progress.show
	r.Visited = func(i, round int, v results.Benchmark) {
		visited(i, round, v)
		progress.failed(&v)
	}
	set.Benchmarks, _ = r.Run(ctx, p.list)
}

func newRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// progress is a live line on stderr when it is a terminal, silent otherwise.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty}
}

// show draws "[round 3/6 · 245/780 · 1m02s · ETA 1m58s] name".
func (p *progress) show(s bench.Progress) {
	if !p.tty {
		return
	}
	eta := s.Remain
	if eta == 0 && s.Done > 0 {
		eta = s.Elapsed * time.Duration(s.Planned-s.Done) / time.Duration(s.Done)
	}
	fmt.Fprintf(p.w, "\r\033[K[round %d/%d · %d/%d · %s · ETA %s] %s", s.Round, s.Rounds, s.Done+1, s.Planned,
		s.Elapsed.Round(time.Second), eta.Round(time.Second), s.Name)
}

// failed says at once, on a terminal, that a benchmark failed (the notes
// after the tables say it again, with every other caveat).
func (p *progress) failed(b *results.Benchmark) {
	if b.Error != "" && p.tty {
		fmt.Fprintf(p.w, "\r\033[KFAILED %s: %s\n", b.Name, b.Error)
	}
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
