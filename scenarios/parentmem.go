package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
)

// ParentMem measures spawning against the memory the spawning process
// holds: ipcbench maps and touches Mem bytes, then starts /bin/true (or
// the user's command) and waits for its exit, again and again, by one of
// two methods:
//   - vfork: Go's os/exec, clone(CLONE_VM|CLONE_VFORK): the child borrows
//     the parent's address space until execve, so the cost stays flat;
//   - fork: a real fork then execve (child.ForkExec), the way libuv and so
//     Node spawn: the kernel copies the parent's page tables, so the cost
//     grows with the parent's memory.
//
// The node group measures Node's own spawn the same way (a Node process
// holding touched Buffers). The report sets all of them side by side with
// the slope per 100 MiB. Stdio is /dev/null for both methods, so only the
// way the process is created differs.
type ParentMem struct {
	Method string // results.MethodVfork or results.MethodFork
	Mem    int64  // bytes held, touched
	Argv   []string
	Label  string // cmd=…: "true", or the user's command
	rss    int64  // VmRSS while holding (measured)
	skip   string
}

// Name implements bench.Scenario.
func (p *ParentMem) Name() results.Name {
	return results.NewName(results.ScenarioSpawn, results.KeyMode, results.SpawnSpawn, results.KeyCmd, p.Label,
		results.KeyMethod, p.Method, results.KeyParentMem, strconv.FormatInt(p.Mem, 10), results.KeyCores, "1")
}

// SkipReason implements bench.Skipper.
func (p *ParentMem) SkipReason() string { return p.skip }

// ExtraParams implements bench.ParamsReporter.
func (p *ParentMem) ExtraParams() map[string]string {
	how := "os/exec: clone(CLONE_VM|CLONE_VFORK) + execve"
	if p.Method == results.MethodFork {
		how = "clone(SIGCHLD) (a real fork: page tables copied) + execve, libuv's method"
	}
	m := map[string]string{"command": shellquote.Join(p.Argv...), "how": how, "stdio": "/dev/null", "thp": sys.THPMode()}
	if p.rss > 0 {
		m["parent_rss_bytes"] = strconv.FormatInt(p.rss, 10)
	}
	return m
}

// Run implements bench.Scenario.
func (p *ParentMem) Run(ctx context.Context, b *bench.B) error {
	release, err := sys.HoldMemory(p.Mem)
	if err != nil {
		return err
	}
	defer release()
	p.rss = sys.StatusKB("VmRSS") * 1024
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	env := os.Environ()
	what := fmt.Sprintf("spawn %q", p.Argv[0])
	for b.Loop() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t0 := time.Now()
		var started time.Duration
		if p.Method == results.MethodFork {
			pid, err := child.ForkExec(p.Argv[0], p.Argv, env, null)
			if err != nil {
				return err
			}
			started = time.Since(t0)
			if _, err := child.Reap(pid); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		} else {
			// Background: no watcher goroutine per spawn (see newProc).
			c := newProc(what, p.Argv...)
			c.Cmd.Stdin, c.Cmd.Stdout, c.Cmd.Stderr = null, null, null
			c.Cmd.Env = env
			if err := c.Start(); err != nil {
				return err
			}
			started = time.Since(t0)
			if err := c.Wait(); err != nil {
				return err
			}
		}
		b.Observe(results.PhaseStarted, started)
	}
	return nil
}

// buildParentMem is the parentmem group, spawn's parent-memory dimension
// in Go: each size × each method, on /bin/true or the user's command
// (one spawner: --cores does not apply).
func buildParentMem(o Options) ([]bench.Scenario, error) {
	sizes, err := parentMems(o)
	if err != nil {
		return nil, err
	}
	argv, label, err := parentMemCommand(o)
	if err != nil {
		return nil, err
	}
	var out []bench.Scenario
	for _, m := range sizes {
		for _, method := range []string{results.MethodVfork, results.MethodFork} {
			p := &ParentMem{Method: method, Mem: m, Argv: argv, Label: label}
			if method == results.MethodFork && !child.ForkExecSupported {
				p.skip = "fork+exec is implemented for linux/amd64 and linux/arm64 only"
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// parentMemCommand is what the parent-memory benchmarks spawn: /bin/true,
// or the user's command.
func parentMemCommand(o Options) ([]string, string, error) {
	if o.Cmd != "" {
		return userCommand(o.Cmd)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, "", fmt.Errorf("parentmem: no 'true' program on PATH: %w", err)
	}
	return []string{truePath}, "true", nil
}

// parentMemMargin is left free beyond the memory a parent holds: the rest
// of ipcbench (or Node), the children, page tables, the page cache.
const parentMemMargin = 256 << 20

// ParseParentMem parses --parent-mem: a comma-separated list of sizes,
// 0 allowed ("0,256MiB,1GiB"), sorted, duplicates dropped.
func ParseParentMem(s string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "0" {
			out = append(out, 0)
			continue
		}
		v, err := units.ParseSize(part)
		if err != nil {
			return nil, fmt.Errorf("--parent-mem: %v; 0 is accepted too", err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CheckParentMem refuses, before anything is allocated, sizes this
// machine cannot hold touched (MemAvailable, the cgroup's limit, strict
// overcommit), with a margin for everything else.
func CheckParentMem(sizes []int64) error {
	room, how := sys.MemHeadroom()
	for _, n := range sizes {
		if n > 0 && n+parentMemMargin > room {
			return fmt.Errorf("--parent-mem %s: holding it touched needs %s plus a %s margin, but only %.1fGiB is free (%s); accepted: sizes that fit, e.g. 0,256MiB",
				units.FormatSize(n), units.FormatSize(n), units.FormatSize(parentMemMargin), float64(room)/(1<<30), how)
		}
	}
	return nil
}

// parentMems is the sizes to measure: --parent-mem, checked, or 0 and
// the largest of 1GiB, 512MiB, …, 64MiB that fits.
func parentMems(o Options) ([]int64, error) {
	if len(o.ParentMem) > 0 {
		return o.ParentMem, CheckParentMem(o.ParentMem)
	}
	for n := int64(1 << 30); n >= 64<<20; n /= 2 {
		if CheckParentMem([]int64{n}) == nil {
			return []int64{0, n}, nil
		}
	}
	return []int64{0}, nil
}
