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
	return exitCode(root.ExecuteContext(ctx), stderr)
}

// exitCode is the exit status for a command's result, its reason printed
// on stderr.
func exitCode(err error, stderr io.Writer) int {
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
	// Cobra's own flag and argument errors arrive as usageError too
	// (newRoot: SetFlagErrorFunc, usageArgs): classified by where they come
	// from, never by their text, so that an EINVAL ("invalid argument")
	// from a system call stays exit 1.
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// usageArgs makes a command's argument validator report usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// rootArgs refuses an unknown command, with cobra's suggestions on one
// line.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, ", ") + "?)"
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return fmt.Errorf("%s; commands: %s", msg, strings.Join(names, ", "))
}

func newRoot(stdout, stderr io.Writer, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "ipcbench",
		Short:         "Benchmark process spawning, child output and IPC on Linux",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Cobra checks for an unknown command only on a root without Args,
		// and returns that error unmarked; with Args of its own the root is
		// found for any word, so it must run: its help, with no command.
		Args:                       usageArgs(rootArgs),
		SuggestionsMinimumDistance: 2,
		RunE:                       func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// Flag errors of every command (unknown flag, missing or bad value)
	// are the user's: exit 2.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
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
		Args:  usageArgs(cobra.NoArgs),
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
