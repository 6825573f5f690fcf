package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/profiling"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/report"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
	"github.com/spf13/cobra"
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
	load       loadFlags
	args       []string // as typed, for the record
}

func addRunFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: "+strings.Join(report.FormatNames(), ", "))
	fl.StringVar(&f.out, "out", "ipcbench-results", "directory for saved runs (<out>/<run-id>/results.json)")
	fl.BoolVar(&f.noSave, "no-save", false, "do not save the run")
	fl.BoolVar(&f.quick, "quick", false, "short budgets and fewer sizes (a smoke run, not for decisions)")
	fl.StringVar(&f.filter, "filter", "", "only benchmarks whose name matches this regular expression")
	fl.StringVar(&f.budget, "budget", "", "sampling time budget per benchmark, e.g. 500ms or 3s (default 2s, --quick 300ms)")
	fl.StringVar(&f.cpus, "cpus", "", "CPUs the benchmarks may use, e.g. 0-3 or 0,2 (default: all allowed)")
	fl.StringVar(&f.cmd, "cmd", "", "your own command for spawn and output, e.g. 'gzip -c file' (as hyperfine takes one)")
	fl.IntVar(&f.minSamples, "min-samples", 0, "samples before the adaptive stop may end (default 10, --quick 6)")
	fl.Float64Var(&f.targetCI, "target-ci", 0, "stop when the median's 95% CI is within this relative width (default 0.02)")
	addMatrixFlags(c, f)
}

func newRunCmd(stdout, stderr io.Writer, all []string) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [all|" + strings.Join(scenarios.GroupNames(), "|") + "]...",
		Short: "Run benchmarks and print a table (data on stdout, progress on stderr)",
		Long: "Run benchmarks. Exit status: 0 all ran, 1 a benchmark failed (the others still ran and were saved),\n" +
			"2 usage error, 130 interrupted (what was measured is saved).",
		RunE: func(cmd *cobra.Command, args []string) error {
			f.args = all
			return doRun(cmd.Context(), args, &f, stdout, stderr)
		},
	}
	addRunFlags(c, &f)
	return c
}

func newListCmd(stdout io.Writer) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "list [all|" + strings.Join(scenarios.GroupNames(), "|") + "]...",
		Short: "List the benchmarks a run would take (same flags as run)",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := buildPlan(args, &f)
			if err != nil {
				return err
			}
			for _, s := range p.list {
				line := string(s.Name())
				if sk, ok := s.(bench.Skipper); ok {
					if why := sk.SkipReason(); why != "" {
						line += "\t(skipped: " + why + ")"
					}
				}
				fmt.Fprintln(stdout, line)
			}
			return nil
		},
	}
	addRunFlags(c, &f)
	return c
}

// plan is a validated run: what to run and how.
type plan struct {
	groups  []scenarios.Group
	list    []bench.Scenario
	cfg     bench.Config
	format  report.Format
	opts    scenarios.Options
	outDir  string
	profile []string
}

func buildPlan(args []string, f *runFlags) (*plan, error) {
	p := &plan{outDir: f.out}
	var err error
	if p.groups, err = selectGroups(args); err != nil {
		return nil, err
	}
	if p.format, err = report.Lookup(f.format); err != nil {
		return nil, usageError{err}
	}
	if p.cfg, err = samplingConfig(f); err != nil {
		return nil, err
	}
	if p.opts, err = matrixOptions(f); err != nil {
		return nil, err
	}
	if p.profile, err = parseProfiles(f.profile); err != nil {
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

// samplingConfig is the engine's configuration from the sampling flags.
func samplingConfig(f *runFlags) (bench.Config, error) {
	cfg := bench.Config{}
	if f.quick {
		cfg.Budget, cfg.Warmup, cfg.MinSamples, cfg.SampleTime = 300*time.Millisecond, 30*time.Millisecond, 6, 5*time.Millisecond
		cfg.TargetCIWidth = 0.05
	}
	if f.budget != "" {
		d, err := time.ParseDuration(f.budget)
		if err != nil || d <= 0 {
			return cfg, usagef("--budget %q is not a positive duration (e.g. 500ms, 2s, 1m)", f.budget)
		}
		cfg.Budget = d
		if cfg.Warmup == 0 || cfg.Warmup > d/5 {
			cfg.Warmup = min(d/10, 200*time.Millisecond)
		}
	}
	if f.minSamples < 0 {
		return cfg, usagef("--min-samples %d must be positive", f.minSamples)
	} else if f.minSamples > 0 {
		cfg.MinSamples = f.minSamples
	}
	if f.targetCI < 0 || f.targetCI >= 1 {
		return cfg, usagef("--target-ci %g must be between 0 and 1 (e.g. 0.02 for ±1%%)", f.targetCI)
	} else if f.targetCI > 0 {
		cfg.TargetCIWidth = f.targetCI
	}
	return cfg, nil
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
	var runDir string
	if !f.noSave {
		if runDir, err = makeRunDir(p.outDir, set.RunID); err != nil {
			return err
		}
		// Nothing half-written: a run that ends before its results are
		// saved leaves no directory behind.
		defer func() {
			if _, err := os.Stat(filepath.Join(runDir, results.FileName)); err != nil {
				os.RemoveAll(runDir)
			}
		}()
	}
	cfg := p.cfg.Defaults()
	prof, err := newProfiler(p.profile, runDir, set)
	if err != nil {
		return err
	}
	if prof != nil {
		cfg.Hooks = append(cfg.Hooks, prof)
	}
	interrupted := measure(ctx, p.list, cfg, set, newProgress(stderr, len(p.list)))
	set.LoadSweeps = results.LoadSweeps(set) // the load group's findings (none without it)
	if prof != nil {
		for _, w := range prof.Finish(set) {
			fmt.Fprintln(stderr, "ipcbench: profiles: "+w)
		}
	}
	set.FinishedAt = time.Now().UTC()
	if runDir != "" {
		if err := save(runDir, set, stderr); err != nil {
			return err
		}
	}
	if err := p.format(stdout, set); err != nil {
		return err
	}
	if interrupted {
		return errInterrupted
	}
	if n := set.Failures(); n > 0 {
		fmt.Fprintf(stderr, "ipcbench: %d benchmark(s) failed (see above)\n", n)
		return errBenchFailed
	}
	return nil
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
		Args: f.args, Filter: f.filter, Quick: f.quick,
		BudgetNS: cfg.Budget.Nanoseconds(), SampleNS: cfg.SampleTime.Nanoseconds(),
		MinSamples: cfg.MinSamples, MaxSamples: cfg.MaxSamples, TargetCIWidth: cfg.TargetCIWidth,
		WarmupNS: cfg.Warmup.Nanoseconds(), CPUs: p.opts.CPUs, Cores: p.opts.Cores, GOMAXPROCS: gmp,
		Profiling:     p.profile,
		TimerOverhead: float64(cfg.TimerOverhead.Nanoseconds()), PerOpThreshold: float64(cfg.PerOpThreshold.Nanoseconds()),
	}
	for _, g := range p.groups {
		set.Config.Scenarios = append(set.Config.Scenarios, g.Name)
	}
	return set
}

// makeRunDir creates the run's directory and proves it takes a file
// before minutes are spent measuring.
func makeRunDir(out, runID string) (string, error) {
	runDir := filepath.Join(out, runID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return "", usagef("--out %q is not writable: %v", out, err)
	}
	if err := results.WriteFileAtomic(filepath.Join(runDir, ".probe"), nil); err != nil {
		os.Remove(runDir)
		return "", usagef("--out %q is not writable: %v", out, err)
	}
	os.Remove(filepath.Join(runDir, ".probe"))
	return runDir, nil
}

// measure runs every benchmark in turn into set; true when interrupted.
func measure(ctx context.Context, list []bench.Scenario, cfg bench.Config, set *results.Set, progress *progress) bool {
	defer progress.finish()
	for i, s := range list {
		progress.start(i, s.Name())
		b, err := bench.Run(ctx, s, cfg)
		set.Benchmarks = append(set.Benchmarks, b)
		progress.done(&b)
		if err != nil {
			return true
		}
	}
	return false
}

// save writes the results document atomically into the run directory.
func save(runDir string, set *results.Set, stderr io.Writer) error {
	var buf bytes.Buffer
	if err := results.Encode(&buf, set); err != nil {
		return err
	}
	path := filepath.Join(runDir, results.FileName)
	if err := results.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "saved %s\n", path)
	return nil
}

func newRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// progress is a live line on stderr when it is a terminal, silent otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	total int
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, total: total}
}

func (p *progress) start(i int, name results.Name) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K[%d/%d] %s …", i+1, p.total, name)
	}
}

func (p *progress) done(b *results.Benchmark) {
	if b.Error != "" {
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "FAILED %s: %s\n", b.Name, b.Error)
	}
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
