// Package child starts and explains every process ipcbench runs: this same
// binary re-executed in a named role (as os/exec's own tests re-execute
// their test binary), and any other program (a user's command, /bin/sh).
//
// Every child is hardened: it dies with ipcbench (Pdeathsig), its I/O is
// waited for a bounded time after it was killed (WaitDelay), and its stderr
// goes to an anonymous in-memory file that the kernel writes directly (no
// pipe, no copying goroutine, so capturing it costs a measured spawn no
// more than /dev/null would). When a child fails, Proc.Wait explains it
// once: how it ended and the last line it wrote to stderr; nothing is ever
// run a second time to learn why.
package child

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/internal/early"
)

// Environment variables that turn this binary into a child in a role.
const (
	envRole   = early.EnvRole
	envNFiles = early.EnvNFiles
)

// Func is a child role: files are the ExtraFiles the parent passed (fd 3,
// 4, … in order), args the role's arguments.
type Func func(ctx context.Context, files []*os.File, args []string) error

// Roles maps role names to their functions.
type Roles map[string]Func

var (
	hooksMu sync.Mutex
	// envHook adds variables to the environment of re-executed children
	// (the profiler asks them to profile themselves).
	envHook func() []string
	// startHook runs around a role in the child (the profiler's side there).
	startHook func(role string) (stop func())
)

// SetEnvHook installs the function whose variables Self adds to every
// re-executed child's environment.
func SetEnvHook(f func() []string) {
	hooksMu.Lock()
	defer hooksMu.Unlock()
	envHook = f
}

// SetStartHook installs the function Run calls in a child before its role,
// and whose result it calls after.
func SetStartHook(f func(role string) (stop func())) {
	hooksMu.Lock()
	defer hooksMu.Unlock()
	startHook = f
}

// Run must be the first statement of main and of every TestMain whose
// tests start children. In a parent it returns (false, nil) at once. In a
// child it runs the role named by the parent and returns (true, its error);
// the caller then exits (status 1 on error), so that a child never runs the
// parent's code:
//
//	if isChild, err := child.Run(roles); isChild { ... os.Exit(...) }
func Run(roles Roles) (isChild bool, err error) {
	role, ok := os.LookupEnv(envRole)
	if !ok {
		return false, nil
	}
	// Our own children (a fork worker's, say) must not inherit the role.
	os.Unsetenv(envRole)
	n, _ := strconv.Atoi(os.Getenv(envNFiles))
	os.Unsetenv(envNFiles)
	if role == guardianRole {
		return true, runGuardian(files(n))
	}
	// Explicit GOMAXPROCS: pinning threads later must not make the runtime
	// change it mid-run (docs/measuring.md, pitfall 5).
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	fn, ok := roles[role]
	if !ok {
		return true, fmt.Errorf("ipcbench child: unknown role %q", role)
	}
	hooksMu.Lock()
	start := startHook
	hooksMu.Unlock()
	stop := func() {}
	if start != nil {
		stop = start(role)
	}
	err = fn(context.Background(), files(n), os.Args[1:])
	stop()
	return true, err
}

// files are the n ExtraFiles a parent passed, fd 3, 4, ….
func files(n int) []*os.File {
	fs := make([]*os.File, n)
	for i := range fs {
		fs[i] = os.NewFile(uintptr(3+i), "extra-"+strconv.Itoa(i))
	}
	return fs
}

// Proc is one child process: its exec.Cmd, hardened, and the tail of its
// stderr. Set Cmd's Stdin, Stdout, Stderr and ExtraFiles before Start; a
// nil Stderr is captured for the explanation of a failure.
type Proc struct {
	Cmd     *exec.Cmd
	what    string // how errors name it: "exec \"cmd\"", "child ipc-echo"
	tail    *os.File
	hookEnv int // variables the env hook appended (at the end of Cmd.Env)
}

// New prepares a child running a program (argv[0] resolved as os/exec
// does); what names it in errors. The child is killed when ctx is done. A
// context that is never done (context.Background) costs nothing per child;
// any other starts os/exec's watcher goroutine, a cost a measured spawn
// must not pay.
func New(ctx context.Context, what string, argv ...string) *Proc {
	p := &Proc{Cmd: exec.CommandContext(ctx, argv[0], argv[1:]...), what: what}
	harden(p.Cmd)
	// When ctx is done, the whole group goes, not just the child.
	p.Cmd.Cancel = func() error { killProc(p.Cmd.Process); return nil }
	return p
}

// Self prepares this binary re-executed as a child in role, with files as
// its fd 3, 4, …, killed when ctx is done. The caller must close its
// copies of files right after Start (docs/measuring.md, pitfall 1:
// otherwise EOF never arrives).
func Self(ctx context.Context, role string, files []*os.File, args ...string) (*Proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("child: find own executable: %w", err)
	}
	p := New(ctx, "child "+role, append([]string{exe}, args...)...)
	p.Cmd.Env = append(os.Environ(), envRole+"="+role, envNFiles+"="+strconv.Itoa(len(files)))
	hooksMu.Lock()
	if envHook != nil {
		extra := envHook()
		p.Cmd.Env = append(p.Cmd.Env, extra...)
		p.hookEnv = len(extra)
	}
	hooksMu.Unlock()
	p.Cmd.ExtraFiles = files
	return p, nil
}

// WithoutHookEnv drops what the env hook added (a fork worker must not
// profile itself: writing a profile would lengthen the very lifecycle
// measured).
func (p *Proc) WithoutHookEnv() {
	p.Cmd.Env = p.Cmd.Env[:len(p.Cmd.Env)-p.hookEnv]
	p.hookEnv = 0
}

// harden sets what every child needs: a process group of its own (killed
// whole), death with the parent, and a bounded wait for its I/O after it
// is killed.
func harden(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.WaitDelay = 2 * time.Second
}

// Start starts the child. A nil Stderr goes to an in-memory file read
// only if the child fails.
func (p *Proc) Start() error {
	if p.Cmd.Stderr == nil {
		t, err := newTail()
		if err != nil {
			return fmt.Errorf("%s: %w", p.what, err)
		}
		p.tail = t
		p.Cmd.Stderr = t
	}
	if err := p.Cmd.Start(); err != nil {
		p.closeTail()
		return fmt.Errorf("%s: %w", p.what, err)
	}
	register(p.Cmd.Process)
	return nil
}

// Pid is the child's process id (0 before Start).
func (p *Proc) Pid() int {
	if p.Cmd.Process == nil {
		return 0
	}
	return p.Cmd.Process.Pid
}

// Kill kills the child and its process group (it is then reaped by
// Wait). Once the child has been reaped it does nothing: its pid may be
// another process's by then (see killProc).
func (p *Proc) Kill() {
	killProc(p.Cmd.Process)
}

// Wait waits for the child and returns nil or the explained failure.
func (p *Proc) Wait() error {
	err := p.Cmd.Wait()
	if p.Cmd.Process != nil {
		unregister(p.Cmd.Process.Pid)
	}
	defer p.closeTail()
	if err == nil {
		return nil
	}
	return p.explain(err)
}

// Fail explains err (a failure seen while talking to the child) together
// with how the child ended, when it has.
func (p *Proc) Fail(err error) error {
	if p.tail != nil {
		if line := lastLine(p.tail); line != "" {
			return fmt.Errorf("%w (stderr: %s)", err, line)
		}
	}
	return err
}

// explain is the one child-failure explainer: "exec \"false\": exit
// status 1: false: some message".
func (p *Proc) explain(err error) error {
	msg := err.Error()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ProcessState != nil {
		msg = ee.ProcessState.String() // "exit status 3", "signal: killed"
	}
	if p.tail != nil {
		if line := lastLine(p.tail); line != "" {
			msg += ": " + line
		}
	}
	return &Error{What: p.what, Msg: msg, Err: err}
}

// Error is a child's failure, explained.
type Error struct {
	What string // which child
	Msg  string // how it ended and its last stderr line
	Err  error  // from os/exec
}

func (e *Error) Error() string { return e.What + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func (p *Proc) closeTail() {
	if p.tail != nil {
		p.tail.Close()
		p.tail = nil
	}
}
