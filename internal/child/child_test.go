package child

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWaitExplainsFailureOnce(t *testing.T) {
	// The command counts its runs in a file: an explanation must never
	// come from running it again.
	dir := t.TempDir()
	p := New(context.Background(), `exec "x"`, "/bin/sh", "-c", "echo run >> "+dir+"/count; printf 'first\\n\\033[31mbad news\\n' >&2; exit 3")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	err := p.Wait()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *child.Error", err)
	}
	if got := err.Error(); got != `exec "x": exit status 3: [31mbad news` {
		t.Fatalf("explanation %q (control characters must be stripped, last line kept)", got)
	}
	p2 := New(context.Background(), "cat", "/bin/sh", "-c", "cat "+dir+"/count")
	var out strings.Builder
	p2.Cmd.Stdout = &out
	if err := p2.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p2.Wait(); err != nil || out.String() != "run\n" {
		t.Fatalf("the command ran %q times (%v)", out.String(), err)
	}
}

func TestWaitSignal(t *testing.T) {
	p := New(context.Background(), "sleeper", "/bin/sleep", "10")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "signal: killed") {
		t.Fatalf("killed child: %v", err)
	}
}

// procState is a process's state letter from /proc ("" once it is gone).
func procState(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// TestKillByProcess: a child that has exited but is not reaped (a
// zombie) still owns its group, which Kill ends; once Wait has reaped
// the child, its pid may be anyone's, and Kill signals nothing by
// number (the os.Process says the child is done).
func TestKillByProcess(t *testing.T) {
	p := New(context.Background(), "sh", "/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $!")
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sleeper, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(sleeper, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); procState(p.Pid()) != "Z"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the shell did not exit (state %q)", procState(p.Pid()))
		}
	}
	p.Kill() // the shell is a zombie: its group (the sleep) must go
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if st := procState(sleeper); st == "" || st == "Z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the group of an exited, unreaped child survived Kill")
		}
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal after Wait: %v, want os.ErrProcessDone (Kill relies on it)", err)
	}
	p.Kill() // reaped: nothing to do, nothing signalled by number
	if Live() != 0 {
		t.Fatalf("%d children still registered", Live())
	}
}

func TestWithEnv(t *testing.T) {
	tag := "IPCBENCH_TEST_TAG=" + strconv.Itoa(os.Getpid())
	p := New(context.Background(), "sleeper", "/bin/sleep", "10")
	p.Cmd.Env = append(os.Environ(), "OTHER=1", tag)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { p.Kill(); _ = p.Wait() }()
	if got := WithEnv(tag); len(got) != 1 || got[0] != p.Pid() {
		t.Fatalf("WithEnv(%q) = %v, want [%d]", tag, got, p.Pid())
	}
	if got := WithEnv(tag + "0"); len(got) != 0 {
		t.Fatalf("another value matched: %v", got)
	}
}
