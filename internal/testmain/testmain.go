// Package testmain is the TestMain of every test binary that starts
// children: the binary is its own child (bench.RunChild), then the tests.
package testmain

import (
	"fmt"
	"os"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
)

// Run runs the child role the parent asked for, or the tests, and exits.
func Run(m *testing.M, roles map[string]bench.ChildFunc) {
	if err, isChild := bench.RunChild(roles); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
