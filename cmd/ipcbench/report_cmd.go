package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/report"
	"github.com/ipcbench/ipcbench/results"
	"github.com/spf13/cobra"
)

// reportFormats are report's --format values: the capacity report (text,
// markdown, html) over one or more runs, and the one-run renderings.
var reportFormats = []string{"text", "markdown", "html", "csv", "json", "bench"}

type reportFlags struct {
	format       string
	out          string
	full         bool
	filter       string
	targets      []string
	bufferFactor float64
	allowNoisy   bool
}

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report <results.json|run-dir>...",
		Short: "Answer capacity questions from saved runs (text, markdown, html), or re-render one run",
		Long: "Report on saved runs without re-running anything. text, markdown and html open with capacity answers\n" +
			"(spawns per core, the transport per message size, when buffering output stops being fine, what one\n" +
			"more core buys, --target what-ifs), then charts and tables; several runs (hosts, before/after) are\n" +
			"set side by side. csv, json and bench re-render one run.",
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return doReport(args, &f, stdout, stderr)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: "+strings.Join(reportFormats, ", "))
	fl.StringVarP(&f.out, "output", "o", "", "write to this file (html, text, csv, json, bench) or directory (markdown: DIR/report.md and DIR/charts/*.svg) instead of stdout")
	fl.BoolVar(&f.full, "full", false, "append every run's full statistical table")
	fl.StringVar(&f.filter, "filter", "", "only benchmarks whose name matches this regular expression")
	fl.StringArrayVar(&f.targets, "target", nil, "what-if, e.g. 'roundtrip:transport=unix,size=64,placement=cross-core,rate=50000/s,p99<=1ms' (repeatable)")
	fl.Float64Var(&f.bufferFactor, "buffer-factor", 2, "N in \"buffered output costs more than N× streamed\"")
	fl.BoolVar(&f.allowNoisy, "allow-noisy", false, "let answers use benchmarks warned noisy (their wide intervals are printed)")
	return c
}

func doReport(args []string, f *reportFlags, stdout, stderr io.Writer) error {
	if !slices.Contains(reportFormats, f.format) {
		return usagef("unknown format %q (accepted: %s)", f.format, strings.Join(reportFormats, ", "))
	}
	opt, err := reportOptions(f)
	if err != nil {
		return err
	}
	var runs []report.Run
	for _, a := range args {
		s, err := results.Load(a)
		if err != nil {
			return usageError{err}
		}
		runs = append(runs, report.Run{Set: s, Source: a})
	}
	single := f.format == "csv" || f.format == "json" || f.format == "bench"
	if single && len(runs) > 1 {
		return usagef("--format %s renders one run, got %d (text, markdown and html take several)", f.format, len(runs))
	}
	if f.out != "" {
		if err := report.CheckWritable(f.out, f.format == "markdown"); err != nil {
			return usagef("-o %q is not writable: %v", f.out, err)
		}
	}
	var buf bytes.Buffer
	switch {
	case single:
		fm, _ := report.Lookup(f.format)
		if err := fm(&buf, runs[0].Set); err != nil {
			return err
		}
	case f.format == "markdown" && f.out != "":
		d, err := report.Build(runs, opt)
		if err != nil {
			return err
		}
		path, err := report.WriteMarkdownDir(f.out, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s and %d chart(s) in %s\n", path, chartCount(d), filepath.Join(f.out, "charts"))
		noteLeftOut(stderr, d)
		return nil
	default:
		if f.format != "html" {
			opt.NoCharts = true
		}
		d, err := report.Build(runs, opt)
		if err != nil {
			return err
		}
		switch f.format {
		case "html":
			err = report.WriteHTML(&buf, d)
		case "markdown":
			err = report.WriteMarkdown(&buf, d, report.MarkdownOptions{})
		default:
			err = report.WriteText(&buf, d)
		}
		if err != nil {
			return err
		}
		if len(runs) == 1 && f.format != "html" {
			report.Profiles(&buf, runs[0].Set, runDirOf(args[0]))
		}
		defer noteLeftOut(stderr, d)
	}
	if f.out == "" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := results.WriteFileAtomic(f.out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", f.out)
	return nil
}

// reportOptions validates report's flags into report.Options.
func reportOptions(f *reportFlags) (report.Options, error) {
	opt := report.Options{Full: f.full, AllowNoisy: f.allowNoisy, BufferFactor: f.bufferFactor}
	if f.bufferFactor <= 1 {
		return opt, usagef("--buffer-factor %g must be greater than 1 (e.g. 2 for \"twice streamed\")", f.bufferFactor)
	}
	if f.filter != "" {
		re, err := regexp.Compile(f.filter)
		if err != nil {
			return opt, usagef("--filter %q is not a valid regular expression: %v", f.filter, err)
		}
		opt.Filter = re
	}
	for _, t := range f.targets {
		tg, err := report.ParseTarget(t)
		if err != nil {
			return opt, usageError{err}
		}
		opt.Targets = append(opt.Targets, tg)
	}
	return opt, nil
}

func chartCount(d *report.Doc) int {
	n := 0
	for _, s := range d.Sections {
		n += len(s.Charts)
	}
	return n
}

// noteLeftOut says on stderr that a report is partial (the report itself
// says what and why).
func noteLeftOut(stderr io.Writer, d *report.Doc) {
	if len(d.Left) > 0 {
		fmt.Fprintf(stderr, "ipcbench: the report left out %d item(s); its \"Left out\" part says what and why\n", len(d.Left))
	}
}

func runDirOf(path string) string {
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		return filepath.Dir(path)
	}
	return path
}

// checkRunReport validates `run --report` before anything is measured.
func checkRunReport(format string, noSave bool) error {
	if format == "" {
		return nil
	}
	if !slices.Contains(report.ReportFormats, format) {
		return usagef("--report: unknown format %q (accepted: %s)", format, strings.Join(report.ReportFormats, ", "))
	}
	if noSave {
		return usagef("--report writes beside results.json: drop --no-save")
	}
	return nil
}

// writeRunReport writes the capacity report of a run just saved.
func writeRunReport(runDir string, set *results.Set, format string, stderr io.Writer) error {
	if format == "" || runDir == "" {
		return nil
	}
	path, err := report.WriteBeside(runDir, set, format, report.Options{})
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", path)
	return nil
}
