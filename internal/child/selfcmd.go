package child

import (
	"fmt"
	"os"
	"strconv"
)

// SelfCommand is how another program (a Node driver) starts this binary
// in a role: the executable, and the variables to add to the environment
// it passes on. No files are passed (the role gets none) and the
// profiler's variables are left out: such a grandchild is not profiled.
func SelfCommand(role string) (exe string, env []string, err error) {
	exe, err = os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("child: find own executable: %w", err)
	}
	return exe, []string{envRole + "=" + role, envNFiles + "=" + strconv.Itoa(0)}, nil
}
