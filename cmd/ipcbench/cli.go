package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/report"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit statuses.
const (
	exitOK        = 0
	exitFailed    = 1 // a benchmark failed (the rest ran and were saved), or a run error
	exitUsage     = 2 // bad flags or arguments
	exitInterrupt = 130
)

// usageError marks errors that are the user's input, not the run's.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errInterrupted ends a run stopped by a signal (results so far are saved).
var errInterrupted = errors.New("interrupted")

// run is the whole CLI, callable in-process by tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(ctx, stdout, stderr, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "ipcbench: interrupted; results so far were saved")
		return exitInterrupt
	case errors.Is(err, errBenchFailed):
		return exitFailed
	}
	fmt.Fprintln(stderr, "ipcbench: "+err.Error())
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailed
}

// isCobraUsage recognises cobra's own flag and argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "unknown command", "accepts ", "requires at least", "bad flag syntax"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(ctx context.Context, stdout, stderr io.Writer, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "ipcbench",
		Short:         "Benchmark process spawning, child output and IPC on Linux",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCmd(stdout, stderr, args), newListCmd(stdout), newReportCmd(stdout, stderr), newVersionCmd(stdout))
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(stdout, "ipcbench", version())
			return nil
		},
	}
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + bi.GoVersion
}

// runFlags are the flags of `ipcbench run`.
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

var errBenchFailed = errors.New("a benchmark failed")

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
	p := &plan{}
	if len(args) == 0 {
		args = []string{"all"}
	}
	seen := map[string]bool{}
	for _, a := range args {
		if a == "all" {
			for _, g := range scenarios.Groups {
				if !seen[g.Name] {
					p.groups = append(p.groups, g)
					seen[g.Name] = true
				}
			}
			continue
		}
		g, err := scenarios.Lookup(a)
		if err != nil {
			return nil, usageError{err}
		}
		if !seen[g.Name] {
			p.groups = append(p.groups, g)
			seen[g.Name] = true
		}
	}
	var err error
	if p.format, err = report.Lookup(f.format); err != nil {
		return nil, usageError{err}
	}
	var re *regexp.Regexp
	if f.filter != "" {
		if re, err = regexp.Compile(f.filter); err != nil {
			return nil, usagef("--filter %q is not a valid regular expression: %v", f.filter, err)
		}
	}
	cfg := bench.Config{}
	if f.quick {
		cfg.Budget, cfg.Warmup, cfg.MinSamples, cfg.SampleTime = 300*time.Millisecond, 30*time.Millisecond, 6, 5*time.Millisecond
		cfg.TargetCIWidth = 0.05
	}
	if f.budget != "" {
		d, err := time.ParseDuration(f.budget)
		if err != nil || d <= 0 {
			return nil, usagef("--budget %q is not a positive duration (e.g. 500ms, 2s, 1m)", f.budget)
		}
		cfg.Budget = d
		if cfg.Warmup == 0 || cfg.Warmup > d/5 {
			cfg.Warmup = min(d/10, 200*time.Millisecond)
		}
	}
	if f.minSamples < 0 {
		return nil, usagef("--min-samples %d must be positive", f.minSamples)
	} else if f.minSamples > 0 {
		cfg.MinSamples = f.minSamples
	}
	if f.targetCI < 0 || f.targetCI >= 1 {
		return nil, usagef("--target-ci %g must be between 0 and 1 (e.g. 0.02 for ±1%%)", f.targetCI)
	} else if f.targetCI > 0 {
		cfg.TargetCIWidth = f.targetCI
	}
	opts, err := matrixOptions(f)
	if err != nil {
		return nil, err
	}
	p.opts = opts
	for _, g := range p.groups {
		list, err := g.Build(opts)
		if err != nil {
			return nil, usageError{err}
		}
		for _, s := range list {
			if re == nil || re.MatchString(s.Name()) {
				p.list = append(p.list, s)
			}
		}
	}
	if len(p.list) == 0 {
		return nil, usagef("no benchmark matches --filter %q (see 'ipcbench list')", f.filter)
	}
	if p.profile, err = parseProfiles(f.profile); err != nil {
		return nil, err
	}
	p.cfg = cfg
	p.outDir = f.out
	return p, nil
}

func doRun(ctx context.Context, args []string, f *runFlags, stdout, stderr io.Writer) error {
	gmp := bench.SetGOMAXPROCS(0)
	p, err := buildPlan(args, f)
	if err != nil {
		return err
	}
	if f.cpus != "" {
		// The whole run, and every child it starts (affinity is inherited),
		// stays on the CPUs given; placements pin further inside them.
		unpin, err := bench.PinProcess(p.opts.CPUs...)
		if err != nil {
			return err
		}
		defer unpin()
	}
	runID := newRunID()
	var runDir string
	saved := false
	if !f.noSave {
		runDir = filepath.Join(p.outDir, runID)
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			return usagef("--out %q is not writable: %v", p.outDir, err)
		}
		// Nothing half-written: a run that ends before its results are
		// saved leaves no directory behind.
		defer func() {
			if !saved {
				os.RemoveAll(runDir)
			}
		}()
		// Prove the directory takes a file before spending minutes measuring.
		if err := results.WriteFileAtomic(filepath.Join(runDir, ".probe"), nil); err != nil {
			os.Remove(runDir)
			return usagef("--out %q is not writable: %v", p.outDir, err)
		}
		os.Remove(filepath.Join(runDir, ".probe"))
	}
	cfg := p.cfg.Defaults()
	set := &results.Set{
		SchemaVersion: results.SchemaVersion,
		RunID:         runID,
		StartedAt:     time.Now().UTC(),
		Env:           bench.Fingerprint(),
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
	prof, err := newProfiler(p.profile, runDir, set)
	if err != nil {
		return err
	}
	if prof != nil {
		cfg.Hooks = append(cfg.Hooks, prof)
	}
	progress := newProgress(stderr, len(p.list))
	interrupted := false
	for i, s := range p.list {
		progress.start(i, s.Name())
		b, err := bench.Run(ctx, s, cfg)
		set.Benchmarks = append(set.Benchmarks, b)
		progress.done(&b)
		if err != nil {
			interrupted = true
			break
		}
	}
	progress.finish()
	if prof != nil {
		for _, w := range prof.finish(set) {
			fmt.Fprintln(stderr, "ipcbench: profiles: "+w)
		}
	}
	set.FinishedAt = time.Now().UTC()
	if !f.noSave {
		var buf bytes.Buffer
		if err := results.Encode(&buf, set); err != nil {
			return err
		}
		path := filepath.Join(runDir, results.FileName)
		if err := results.WriteFileAtomic(path, buf.Bytes()); err != nil {
			return err
		}
		saved = true
		fmt.Fprintf(stderr, "saved %s\n", path)
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

func (p *progress) start(i int, name string) {
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
				line := s.Name()
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

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "report <results.json|run-dir>",
		Short: "Re-render a saved run in any format, without re-running anything",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fm, err := report.Lookup(format)
			if err != nil {
				return usageError{err}
			}
			s, err := results.Load(args[0])
			if err != nil {
				return usageError{err}
			}
			if err := fm(stdout, s); err != nil {
				return err
			}
			if format == "text" || format == "markdown" {
				dir := args[0]
				if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
					dir = filepath.Dir(dir)
				}
				report.Profiles(stdout, s, dir)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(report.FormatNames(), ", "))
	return c
}
