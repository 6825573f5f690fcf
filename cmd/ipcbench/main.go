// Command ipcbench benchmarks process creation, child output collection and
// inter-process communication on Linux. See README.md.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/scenarios"
)

func main() {
	// The binary is its own child: this must come first.
	if isChild, err := child.Run(scenarios.Roles()); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Signals are caught by the commands that must save what they measured
	// (run, gate); the others die of them as any program does.
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
