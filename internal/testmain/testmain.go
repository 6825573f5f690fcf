// Package testmain is the TestMain of every test binary that starts
// children: the binary is its own child (child.Run), then the tests.
package testmain

import (
	"fmt"
	"os"
	"testing"

	"github.com/ipcbench/ipcbench/internal/child"
)

// Run runs the child role the parent asked for, or the tests, and exits.
func Run(m *testing.M, roles child.Roles) {
	if isChild, err := child.Run(roles); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
