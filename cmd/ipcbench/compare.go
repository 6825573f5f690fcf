package main

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/compare"
	"github.com/ipcbench/ipcbench/results"
	"github.com/spf13/cobra"
)

// compareFormats are the renderings of `ipcbench compare`.
var compareFormats = map[string]func(io.Writer, *compare.Comparison) error{
	"text":     compare.CompareText,
	"markdown": compare.CompareMarkdown,
	"json":     compare.CompareJSON,
}

func newCompareCmd(stdout io.Writer) *cobra.Command {
	var (
		format    string
		threshold string
		allowEnv  bool
	)
	c := &cobra.Command{
		Use:   "compare OLD NEW",
		Short: "Compare two saved runs (results.json files or run directories) benchmark by benchmark",
		Long: "Compare two saved runs: per benchmark in both, the medians, the change with its 95% CI (Hodges-Lehmann),\n" +
			"a Mann-Whitney p and a verdict (faster, slower, ~, or ? with too few values for an interval). Runs of\n" +
			"different machines get no verdict unless --allow-env-mismatch. A verdict between two saved runs is only\n" +
			"as strong as the drift between them: it needs the change beyond +T or -T (--threshold) by a test against\n" +
			"that bound, Holm-corrected across the table. To decide, measure both in one job: ipcbench gate.\n" +
			"Exit status: 0 compared, 2 bad input (unreadable file, no benchmark in common, bad flag).",
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			render, ok := compareFormats[format]
			if !ok {
				return usagef("--format %q is not a compare format (accepted: json, markdown, text)", format)
			}
			opt := compare.DefaultOptions()
			opt.AllowEnvMismatch = allowEnv
			if threshold != "" {
				t, err := parsePercent("--threshold", threshold)
				if err != nil {
					return err
				}
				opt.Threshold = t
			}
			old, err := loadRun(args[0])
			if err != nil {
				return err
			}
			new, err := loadRun(args[1])
			if err != nil {
				return err
			}
			c, err := compare.Runs(old, new, args[0], args[1], opt)
			if errors.Is(err, compare.ErrNoCommon) {
				return usageError{err}
			} else if err != nil {
				return err
			}
			return render(stdout, c)
		},
	}
	fl := c.Flags()
	fl.StringVar(&format, "format", "text", "output format: json, markdown, text")
	fl.StringVar(&threshold, "threshold", "", "smallest change given a verdict, e.g. 15% or 0.15: the drift between runs of one machine (default 15%)")
	fl.BoolVar(&allowEnv, "allow-env-mismatch", false, "give verdicts across different machines or conditions")
	return c
}

// loadRun reads a saved run (a results.json or a run directory); the
// gate's verdict and noise documents are named, not misread as an empty
// run (results.Unmarshal refuses them with ErrNotRun).
func loadRun(path string) (*results.Set, error) {
	s, err := results.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// parsePercent reads a relative amount written as a percentage ("5%") or
// a fraction ("0.05").
func parsePercent(flag, s string) (float64, error) {
	v := strings.TrimSpace(s)
	pct := strings.HasSuffix(v, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	switch {
	case err != nil || f < 0 || f != f:
		return 0, usagef("%s %q is not a percentage (e.g. 5%% or 0.05)", flag, s)
	case pct:
		f /= 100
	case f >= 1:
		return 0, usagef("%s %q is ambiguous: write %s%% or %g", flag, s, v, f/100)
	}
	if f >= 10 {
		return 0, usagef("%s %q is larger than 1000%%", flag, s)
	}
	return f, nil
}
