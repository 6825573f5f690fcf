package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/compare"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
)

// The fault-injection suite: a real `ipcbench run` (this test binary in
// CLI mode) on each kind of workload, hit by a fault mid-run, and then
// checked as a user would: the documented exit status within a bounded
// time, no process of the run left (every process of a run carries the
// test's tag in its environment, however deep), no temp file left, and
// results either valid (marked partial when the run was cut short) or
// absent, never torn, losing at most what was in flight.

// workloads: a user command with a grandchild (sh forks sleep), output
// collection from a user command, a round trip over a Unix socket and one
// over shared memory. Children live long enough to be hit.
var workloads = []struct {
	name string
	args []string
}{
	{"spawn-cmd", []string{"spawn", "--cmd", "sh -c 'sleep 0.2; true'", "--cores", "1"}},
	{"output", []string{"output", "--cmd", "sh -c 'sleep 0.2; head -c 65536 /dev/zero'", "--output-sizes", "64KiB", "--cores", "1", "--filter", "streamed"}},
	{"roundtrip-unix", []string{"roundtrip", "--transports", "unix", "--modes", "raw", "--sizes", "64", "--placements", "same-core", "--cores", "1"}},
	{"roundtrip-shm", []string{"roundtrip", "--transports", "shm-futex", "--sizes", "64", "--placements", "same-core", "--cores", "1"}},
}

// cli is one ipcbench run started for a fault.
type cli struct {
	t      *testing.T
	cmd    *exec.Cmd
	tag    string // IPCBENCH_FAULT_TAG=…, in the environment of every process of the run
	out    string // --out
	tmp    string // TMPDIR
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int
	took   time.Duration
	t0     time.Time
}

func startCLI(t *testing.T, out string, wrap []string, args ...string) *cli {
	t.Helper()
	argv := append([]string{"run"}, args...)
	argv = append(argv, "--out", out, "--format", "text")
	return startCommand(t, out, wrap, argv...)
}

// startCommand starts this test binary as `ipcbench ARGS...` (any
// command), wrapped in wrap (e.g. a prlimit), tagged and in a process
// group of its own.
func startCommand(t *testing.T, out string, wrap []string, args ...string) *cli {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	c := &cli{t: t, tag: "IPCBENCH_FAULT_TAG=" + hex.EncodeToString(b[:]), out: out, tmp: t.TempDir(), done: make(chan struct{})}
	argv := append(append(append([]string{}, wrap...), exe), args...)
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(os.Environ(), envCLI+"=1", c.tag, "TMPDIR="+c.tmp, "GORACE=atexit_sleep_ms=0")
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // our signals only, not the test's group
	c.t0 = time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := c.cmd.Wait()
		c.took = time.Since(c.t0)
		c.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			c.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				c.code = 128 + int(ws.Signal())
			}
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
		killTagged(c.tag)
	})
	return c
}

// wait waits for the run to end, at most d.
func (c *cli) wait(d time.Duration) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
		c.t.Fatalf("the run did not end within %s\nstderr:\n%s", d, c.stderr.String())
	}
}

// waitVisits waits until the run has measured something (its journal
// holds a finished visit), so a fault lands mid-run with figures to keep.
func (c *cli) waitVisits(n int) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if js, _ := filepath.Glob(filepath.Join(c.out, "*", results.JournalName)); len(js) == 1 {
			if data, err := os.ReadFile(js[0]); err == nil && bytes.Count(data, []byte("\n")) > n {
				return
			}
		}
		select {
		case <-c.done:
			c.t.Fatalf("the run ended before the fault (exit %d):\n%s", c.code, c.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	c.t.Fatal("no visit finished in 30s")
}

// victim is a process the run started (not the run itself, not its
// guardian): a child to kill or stop.
func (c *cli) victim() int {
	c.t.Helper()
	for try := 0; try < 500; try++ {
		for _, pid := range child.WithEnv(c.tag) {
			if pid == c.cmd.Process.Pid || isGuardian(pid) || sys.PPid(pid) != c.cmd.Process.Pid {
				continue
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no child of the run found")
	return 0
}

func isGuardian(pid int) bool {
	env, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return bytes.Contains(env, []byte("IPCBENCH_CHILD_ROLE=ipcbench-guardian"))
}

func killTagged(tag string) {
	for _, pid := range child.WithEnv(tag) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// checkClean asserts nothing of the run is left: no process carrying its
// tag (within a bound: the guardian sweeps after a SIGKILL), no temp file,
// and in the run directory only results.json or a journal.
func (c *cli) checkClean() {
	c.t.Helper()
	var left []int
	for try := 0; try < 150; try++ {
		if left = child.WithEnv(c.tag); len(left) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(left) > 0 {
		var desc []string
		for _, pid := range left {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			desc = append(desc, fmt.Sprintf("%d %q", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
		c.t.Errorf("processes of the run survived it: %v", desc)
	}
	if ents, _ := os.ReadDir(c.tmp); len(ents) > 0 {
		c.t.Errorf("temp files left in TMPDIR: %v", ents)
	}
	runs, _ := os.ReadDir(c.out)
	for _, r := range runs {
		ents, _ := os.ReadDir(filepath.Join(c.out, r.Name()))
		for _, e := range ents {
			if e.Name() != results.FileName && e.Name() != results.JournalName {
				c.t.Errorf("left in the run directory: %s", e.Name())
			}
		}
	}
}

// failedBy counts the saved benchmarks that failed with reason in their error.
func (c *cli) failedBy(reason string) int {
	n := 0
	if r := c.results(); r != nil {
		for _, b := range r.Benchmarks {
			if strings.Contains(b.Error, reason) {
				n++
			}
		}
	}
	return n
}

// results loads what the run saved: nil when it saved nothing.
func (c *cli) results() *results.Set {
	c.t.Helper()
	runs, _ := os.ReadDir(c.out)
	if len(runs) == 0 {
		return nil
	}
	if len(runs) > 1 {
		c.t.Fatalf("%d run directories", len(runs))
	}
	s, err := results.Load(filepath.Join(c.out, runs[0].Name()))
	if err != nil {
		c.t.Fatalf("saved results are torn or unreadable: %v", err)
	}
	return s
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection starts real runs")
	}
	signals := []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}}
	for _, w := range workloads {
		t.Run(w.name, func(t *testing.T) {
			for _, s := range signals {
				t.Run(sigName(s.sig), func(t *testing.T) {
					t.Parallel()
					c := startCLI(t, t.TempDir(), nil, append(w.args, "--time", "60s")...)
					c.waitVisits(1)
					syscall.Kill(c.cmd.Process.Pid, s.sig)
					c.wait(15 * time.Second)
					if c.code != s.code {
						t.Fatalf("exit %d, want %d\n%s", c.code, s.code, c.stderr.String())
					}
					c.checkClean()
					r := c.results()
					if r == nil || r.Partial == "" || len(r.Benchmarks) == 0 || measured(r) == 0 {
						t.Fatalf("an interrupted run must save what it measured, marked partial: %s", describe(r))
					}
				})
			}
			t.Run("SIGKILL-parent", func(t *testing.T) {
				t.Parallel()
				c := startCLI(t, t.TempDir(), nil, append(w.args, "--time", "60s")...)
				c.waitVisits(1)
				syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
				c.wait(5 * time.Second)
				c.checkClean() // the guardian's sweep
				r := c.results()
				if r == nil || !strings.Contains(r.Partial, "journal") || measured(r) == 0 {
					t.Fatalf("a killed run keeps its finished visits in the journal: %s", describe(r))
				}
			})
			t.Run("SIGKILL-child", func(t *testing.T) {
				t.Parallel()
				c := startCLI(t, t.TempDir(), nil, append(w.args, "--time", "6s")...)
				c.waitVisits(0)
				syscall.Kill(c.victim(), syscall.SIGKILL)
				c.wait(30 * time.Second)
				if c.code != exitFailed || !strings.Contains(c.stderr.String(), "FAILED") {
					t.Fatalf("exit %d: a killed child fails its benchmark (exit 1) and the run goes on\n%s", c.code, c.stderr.String())
				}
				c.checkClean()
				if r := c.results(); r == nil || r.Partial != "" || r.Failures() == 0 {
					t.Fatalf("the run must complete and record the failure: %s", describe(r))
				}
			})
			t.Run("SIGSTOP-child", func(t *testing.T) {
				t.Parallel()
				c := startCLI(t, t.TempDir(), nil, append(w.args, "--time", "6s", "--op-timeout", "1s")...)
				c.waitVisits(0)
				syscall.Kill(c.victim(), syscall.SIGSTOP)
				c.wait(30 * time.Second)
				if c.code != exitFailed || c.failedBy("per-op timeout") == 0 {
					t.Fatalf("exit %d: a stopped child must fail its benchmark by the per-op timeout\n%s", c.code, c.stderr.String())
				}
				c.checkClean()
			})
		})
	}
}

// A signal ends a gate with 128 + its number, in the exit status and in
// the verdict document: a CI runner's cancel (SIGTERM) reads 143, not the
// 130 of Ctrl-C. The head arm's command is hit mid-spawn.
func TestFaultGateSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection starts real gates")
	}
	for _, s := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(sigName(s.sig), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			started, js := filepath.Join(dir, "started"), filepath.Join(dir, "g.json")
			head := fmt.Sprintf("sh -c 'touch %s; exec sleep 30'", started)
			c := startCommand(t, t.TempDir(), nil, "gate", "--base-cmd", "/bin/true", "--head-cmd", head,
				"--scenarios", "spawn", "--filter", "mode=spawn", "--stages", "4", "--budget", "20ms", "--json", js)
			for deadline := time.Now().Add(30 * time.Second); ; {
				if _, err := os.Stat(started); err == nil {
					break
				}
				select {
				case <-c.done:
					t.Fatalf("the gate ended before the signal (exit %d):\n%s", c.code, c.stderr.String())
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatal("the head arm did not start in 30s")
				}
			}
			syscall.Kill(c.cmd.Process.Pid, s.sig)
			c.wait(15 * time.Second)
			if c.code != s.code || !strings.Contains(c.stderr.String(), sigName(s.sig)) || strings.Contains(c.stdout.String(), "PASS") {
				t.Fatalf("exit %d, want %d, the signal named and no pass\n%s\n%s", c.code, s.code, c.stdout.String(), c.stderr.String())
			}
			data, _ := os.ReadFile(js)
			if r, err := compare.DecodeGate(data); err != nil || r.Outcome != compare.Interrupted || r.ExitCode != s.code {
				t.Fatalf("verdict document: %v %+v", err, r)
			}
			c.checkClean()
		})
	}
}

// A command arm that hangs is ended by the engine's abort (child.KillAll)
// and the gate's watchdog, which kill the round's processes and spare the
// run's guardian: it must outlive the hang to sweep up should the gate
// itself be killed later.
func TestGateHangSparesGuardian(t *testing.T) {
	leakcheck.Check(t)
	defer guard(io.Discard)()
	guardian := 0
	for _, pid := range sys.ChildrenOf(os.Getpid()) {
		if isGuardian(pid) {
			guardian = pid
		}
	}
	if guardian == 0 {
		t.Skip("no guardian started here")
	}
	a, err := newCommandArms("/bin/true", "sleep 30", "spawn", "mode=spawn")
	if err != nil {
		t.Fatal(err)
	}
	keys, _, _, _, err := a.list(context.Background(), time.Second)
	if err != nil || len(keys) == 0 {
		t.Fatalf("list: %v %v", keys, err)
	}
	t0 := time.Now()
	_, _, _, _, err = a.round(context.Background(), keys, true, 20*time.Millisecond, time.Second)
	var ae *armError
	if !errors.As(err, &ae) || ae.arm != "head" || !strings.Contains(ae.msg, "hung") {
		t.Fatalf("round: %v, want the head arm hung", err)
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Errorf("a 1s round timeout took %s to end the round", took)
	}
	if syscall.Kill(guardian, 0) != nil || !isGuardian(guardian) {
		t.Fatal("the hang's kill took the guardian with it")
	}
}

func TestFaultHungCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection starts real runs")
	}
	t.Run("op-timeout", func(t *testing.T) {
		t.Parallel()
		c := startCLI(t, t.TempDir(), nil, "spawn", "--cmd", "sh -c 'sleep 1000'", "--cores", "1", "--time", "5s", "--op-timeout", "1s")
		c.wait(30 * time.Second)
		if c.code != exitFailed || c.failedBy("per-op timeout") < 2 {
			t.Fatalf("exit %d: each benchmark of a hung command fails by the timeout\n%s", c.code, c.stderr.String())
		}
		c.checkClean()
	})
	t.Run("SIGINT", func(t *testing.T) {
		t.Parallel()
		c := startCLI(t, t.TempDir(), nil, "spawn", "--cmd", "sh -c 'sleep 1000'", "--cores", "1", "--time", "60s", "--op-timeout", "10m")
		time.Sleep(time.Second)
		syscall.Kill(c.cmd.Process.Pid, syscall.SIGINT)
		c.wait(10 * time.Second)
		if c.code != 130 {
			t.Fatalf("exit %d, want 130 at once: a hung command must not hold an interrupt\n%s", c.code, c.stderr.String())
		}
		c.checkClean()
	})
	t.Run("second-SIGINT", func(t *testing.T) {
		t.Parallel()
		c := startCLI(t, t.TempDir(), nil, "spawn", "--cmd", "sh -c 'sleep 1000'", "--cores", "1", "--time", "60s", "--op-timeout", "10m")
		time.Sleep(time.Second)
		syscall.Kill(c.cmd.Process.Pid, syscall.SIGINT)
		syscall.Kill(c.cmd.Process.Pid, syscall.SIGINT)
		c.wait(10 * time.Second)
		if c.code != 130 {
			t.Fatalf("exit %d, want 130\n%s", c.code, c.stderr.String())
		}
		c.checkClean()
	})
}

// TestFaultFullDisk runs with --out on a filesystem that fills up mid-run:
// a 96 KiB tmpfs mounted by the test, or, where mount is not allowed, a
// file-size limit (ulimit -f) that fails writes past it the same way.
func TestFaultFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection starts real runs")
	}
	out := t.TempDir()
	var wrap []string
	if err := syscall.Mount("tmpfs", out, "tmpfs", 0, "size=96k"); err == nil {
		t.Cleanup(func() { syscall.Unmount(out, syscall.MNT_DETACH) })
	} else {
		t.Logf("mount: %v: using a file-size limit instead", err)
		wrap = []string{"/bin/sh", "-c", `ulimit -f 96; exec "$@"`, "sh"}
	}
	c := startCLI(t, out, wrap, "spawn", "--cmd", "true", "--time", "8s")
	c.wait(60 * time.Second)
	if c.code != exitFailed || !strings.Contains(c.stderr.String(), "could not save the run") {
		t.Fatalf("exit %d: a full disk must fail the save, and say so\n%s", c.code, c.stderr.String())
	}
	if !strings.Contains(c.stdout.String(), "Spawn/mode=spawn/cmd=true") {
		t.Fatalf("the results must be printed before the save:\n%s", c.stdout.String())
	}
	c.checkClean()
	if r := c.results(); r != nil && r.Partial == "" {
		t.Fatal("what was kept is a partial run and must say so")
	}
}

// describe summarises a saved run for a failure message.
func describe(r *results.Set) string {
	if r == nil {
		return "nothing saved"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "partial %q;", r.Partial)
	for _, x := range r.Benchmarks {
		fmt.Fprintf(&b, " [%s: %d rounds, %d samples, stop %q, error %q]", x.Name, x.Rounds, len(x.Samples), x.Stop, x.Error)
	}
	return b.String()
}
