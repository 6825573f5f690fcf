package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // a benchmark failed (the rest ran and were saved), or a run error
	exitUsage  = 2 // bad flags or arguments
	exitWeak   = 3 // --strict: a figure is weak (noisy, busy machine, steal, too few samples)
	// A signal ends a run with 128 + its number (SIGINT 130, SIGTERM 143,
	// SIGHUP 129), what was measured saved.
)

// usageError marks errors that are the user's input, not the run's.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errBenchFailed ends a run in which a benchmark failed (the others ran).
var errBenchFailed = errors.New("a benchmark failed")

// run is the whole CLI, callable in-process by tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var st exitStatus // compare and gate choose their own status (gate.go)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(interruptError)):
		var ie interruptError
		errors.As(err, &ie)
		return 128 + int(ie.sig)
	case errors.As(err, &st):
		if st.msg != "" {
			fmt.Fprintln(stderr, "ipcbench: "+st.msg)
		}
		return st.code
	case errors.Is(err, errBenchFailed):
		return exitFailed
	case errors.Is(err, errWeak):
		return exitWeak
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

func newRoot(stdout, stderr io.Writer, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "ipcbench",
		Short:         "Benchmark process spawning, child output and IPC on Linux",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newCompareCmd(stdout), newGateCmd(stdout, stderr))
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCmd(stdout, stderr, args), newListCmd(stdout, stderr), newReportCmd(stdout, stderr), newVersionCmd(stdout))
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
