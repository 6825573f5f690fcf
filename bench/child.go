package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Environment variables that turn this binary into a child in a role.
const (
	envRole   = "IPCBENCH_CHILD_ROLE"
	envNFiles = "IPCBENCH_CHILD_NFILES"
)

// ChildFunc is a child role: files are the ExtraFiles the parent passed
// (fd 3, 4, … in order), args the role's arguments.
type ChildFunc func(ctx context.Context, files []*os.File, args []string) error

// RunChild must be the first statement of main and of every TestMain whose
// tests spawn children. In a parent it returns (nil, false) at once. In a
// child it runs the role named by the parent and returns (its error, true);
// the caller then exits (status 1 on error), so that a child never runs the
// parent's code:
//
//	if err, isChild := bench.RunChild(roles); isChild { ... os.Exit(...) }
func RunChild(roles map[string]ChildFunc) (err error, isChild bool) {
	role, ok := os.LookupEnv(envRole)
	if !ok {
		return nil, false
	}
	// Our own children (a fork worker's, say) must not inherit the role.
	os.Unsetenv(envRole)
	n, _ := strconv.Atoi(os.Getenv(envNFiles))
	os.Unsetenv(envNFiles)
	// Explicit GOMAXPROCS: pinning threads later must not make the runtime
	// change it mid-run (MEASURING.md pitfall 5).
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	fn, ok := roles[role]
	if !ok {
		return fmt.Errorf("ipcbench child: unknown role %q", role), true
	}
	files := make([]*os.File, n)
	for i := range files {
		files[i] = os.NewFile(uintptr(3+i), "extra-"+strconv.Itoa(i))
	}
	args := os.Args[1:]
	stop := childProfileStart(role)
	err = fn(context.Background(), files, args)
	stop()
	return err, true
}

// Command prepares this binary re-executed as a child in role, with files as
// its fd 3, 4, …. The child is killed if ctx is cancelled or if this process
// dies (Pdeathsig), so a crash or Ctrl-C leaves no orphan. Its stderr is
// captured (the last 4 KiB) for failure messages: see ChildError.
//
// The caller must close its copies of files right after Start (MEASURING.md
// pitfall 1: otherwise EOF never arrives).
func Command(ctx context.Context, role string, files []*os.File, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: find own executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), envRole+"="+role, envNFiles+"="+strconv.Itoa(len(files)))
	cmd.Env = append(cmd.Env, profileEnv()...)
	cmd.ExtraFiles = files
	cmd.Stderr = &tailBuffer{max: 4096}
	Harden(cmd)
	return cmd, nil
}

// Harden sets what every child ipcbench starts needs: death with the parent
// and a bounded wait for its I/O after it is killed.
func Harden(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.WaitDelay = 2 * time.Second
}

// ChildError wraps a child's failure with what it wrote to stderr.
func ChildError(cmd *exec.Cmd, err error) error {
	if err == nil {
		return nil
	}
	if tb, ok := cmd.Stderr.(*tailBuffer); ok {
		if msg := strings.TrimSpace(tb.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, lastLine(msg))
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ProcessState != nil {
		return fmt.Errorf("child %s", ee.ProcessState.String())
	}
	return err
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return n, nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
