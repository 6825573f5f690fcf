package child

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// EnvToken names the variable that marks every process of a run: Guard
// sets it in this process's environment, every child inherits it, and so
// do their children, however deep.
const EnvToken = "IPCBENCH_RUN_TOKEN"

const guardianRole = "ipcbench-guardian"

var guardian struct {
	sync.Mutex
	cmd *exec.Cmd
	w   *os.File
}

func guardianPid() int {
	guardian.Lock()
	defer guardian.Unlock()
	if guardian.cmd == nil || guardian.cmd.Process == nil {
		return 0
	}
	return guardian.cmd.Process.Pid
}

// Guard starts the guardian of a run: a small process of its own (this
// binary in a role) that outlives ipcbench. Pdeathsig ends direct children
// when ipcbench dies, but not their descendants (the command /bin/sh
// forked, a script's children). The guardian holds the read end of a pipe
// whose write end only ipcbench has: when ipcbench ends, however (SIGKILL,
// an OOM kill, a crash), the pipe closes and the guardian kills every
// process carrying the run's token (EnvToken), then exits. stop, on a
// clean exit, kills the live children itself, lets the guardian sweep and
// waits for it (a second at most).
func Guard() (stop func(), err error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	if err := os.Setenv(EnvToken, token); err != nil {
		return nil, fmt.Errorf("child: guardian: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("child: guardian: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("child: guardian: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envRole+"="+guardianRole, envNFiles+"=1")
	cmd.ExtraFiles = []*os.File{r}
	// Its own process group: a Ctrl-C at the terminal, meant for the run,
	// must not end the one process that cleans up after it. No Pdeathsig:
	// it must outlive us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("child: start guardian: %w", err)
	}
	guardian.Lock()
	guardian.cmd, guardian.w = cmd, w
	guardian.Unlock()
	return func() {
		KillAll()
		guardian.Lock()
		defer guardian.Unlock()
		guardian.w.Close()
		done := make(chan struct{})
		go func() { _ = guardian.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}, nil
}

// runGuardian is the guardian's life: wait for the pipe to close, then end
// every process of the run.
func runGuardian(files []*os.File) error {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if len(files) == 1 {
		_, _ = io.Copy(io.Discard, files[0]) // returns when ipcbench is gone
	}
	token := os.Getenv(EnvToken)
	if token == "" {
		return nil
	}
	// Killing one may let another fork first: sweep until none is left.
	for try := 0; try < 50; try++ {
		pids := WithEnv(EnvToken + "=" + token)
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
