package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/early"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
	"golang.org/x/sys/unix"
)

// Spawn measures creating a process, the three ways Node names them:
//   - exec: through /bin/sh -c, output buffered and handed back whole at exit;
//   - spawn: direct argv, no shell, output streamed from a pipe as it comes;
//   - fork: this binary re-executed as a worker with an IPC channel (a
//     socketpair), ready when it says so, then told to exit.
//
// One op is the whole lifecycle (start → exit); the phases (started,
// first_byte, ready) are kept as distributions. Each child's CPU time and
// context switches come from rusage of the reaped children.
type Spawn struct {
	Mode    string   // exec, spawn, fork
	Label   string   // cmd=… in the name: "true", "echo", or the user's program
	Argv    []string // spawn mode
	Line    string   // exec mode: the shell command line
	Command string   // what the user typed, for params
	Cores   int      // concurrent spawners
}

const forkRole = early.ForkWorkerRole

func init() { register(forkRole, forkWorker) }

// Name implements bench.Scenario.
func (s *Spawn) Name() results.Name {
	c := strconv.Itoa(max(1, s.Cores))
	if s.Mode == results.SpawnFork && s.Argv == nil {
		return results.NewName(results.ScenarioSpawn, results.KeyMode, s.Mode, results.KeyCores, c)
	}
	return results.NewName(results.ScenarioSpawn, results.KeyMode, s.Mode, results.KeyCmd, s.Label, results.KeyCores, c)
}

// ExtraParams implements bench.ParamsReporter.
func (s *Spawn) ExtraParams() map[string]string {
	switch s.Mode {
	case results.SpawnExec:
		return map[string]string{"command": "/bin/sh -c " + shellquote.Join(s.Line)}
	case results.SpawnSpawn:
		return map[string]string{"command": shellquote.Join(s.Argv...)}
	}
	if s.Argv != nil {
		return map[string]string{"command": shellquote.Join(s.Argv...), "channel": nodeWorkerChannel}
	}
	return map[string]string{"command": "ipcbench " + forkRole}
}

func buildSpawn(o Options) ([]bench.Scenario, error) {
	list, err := spawnList(o)
	if err != nil {
		return nil, err
	}
	// Across cores: spawning argv directly, and forking a worker.
	sweep := func(s *Spawn) bool {
		return s.Mode == results.SpawnFork || (s.Mode == results.SpawnSpawn && s.Label == "true") || (s.Mode == results.SpawnSpawn && o.Cmd != "")
	}
	return expandCores(list, coresOf(o), o.SweepAll, sweep, func(s *Spawn, n int) { s.Cores = n }), nil
}

func spawnList(o Options) ([]*Spawn, error) {
	if o.Cmd != "" {
		argv, label, err := userCommand(o.Cmd)
		if err != nil {
			return nil, err
		}
		list := []*Spawn{
			{Mode: results.SpawnExec, Label: label, Line: o.Cmd, Command: o.Cmd},
			{Mode: results.SpawnSpawn, Label: label, Argv: argv, Command: o.Cmd},
		}
		if isNodeWorker(argv) {
			// `node worker.js`: fork mode runs it as a Node worker.
			list = append(list, &Spawn{Mode: results.SpawnFork, Label: label, Argv: argv, Command: o.Cmd})
		}
		return list, nil
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, fmt.Errorf("spawn: no 'true' program on PATH: %w", err)
	}
	echoPath, err := exec.LookPath("echo")
	if err != nil {
		return nil, fmt.Errorf("spawn: no 'echo' program on PATH: %w", err)
	}
	return []*Spawn{
		{Mode: results.SpawnExec, Label: "true", Line: truePath},
		{Mode: results.SpawnSpawn, Label: "true", Argv: []string{truePath}},
		{Mode: results.SpawnExec, Label: "echo", Line: echoPath + " ipcbench"},
		{Mode: results.SpawnSpawn, Label: "echo", Argv: []string{echoPath, "ipcbench"}},
		{Mode: results.SpawnFork},
	}, nil
}

// phases are one spawn's milestones, from the call that creates it.
type phases struct {
	started, firstByte, ready time.Duration
}

// Run implements bench.Scenario: one spawner, or Cores of them at once
// (spawns per second in total; each spawner's phases as percentiles).
func (s *Spawn) Run(ctx context.Context, b *bench.B) error {
	if s.Mode != results.SpawnExec && s.Mode != results.SpawnSpawn && s.Mode != results.SpawnFork {
		return fmt.Errorf("spawn: unknown mode %q (accepted: exec, spawn, fork)", s.Mode)
	}
	return b.RunParallel(s.Cores, func(pb *bench.PB) error {
		once := s.spawner() // each spawner its own buffers
		for pb.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ph, err := once()
			if err != nil {
				return err
			}
			pb.Observe(results.PhaseStarted, ph.started)
			if ph.firstByte > 0 {
				pb.Observe(results.PhaseFirstByte, ph.firstByte)
			}
			if ph.ready > 0 {
				pb.Observe(results.PhaseReady, ph.ready)
			}
		}
		return nil
	})
}

// spawner returns one spawn of this mode, with buffers of its own.
func (s *Spawn) spawner() func() (phases, error) {
	switch s.Mode {
	case results.SpawnExec:
		var out strings.Builder
		return func() (phases, error) { return s.execOnce(&out) }
	case results.SpawnSpawn:
		return s.spawnFunc()
	}
	if s.Argv != nil {
		return s.forkNodeFunc()
	}
	return s.forkOnce
}

// newProc builds a child that dies with us. Its context is Background: a
// cancellable one adds os/exec's watcher goroutine per spawn, a cost
// hyperfine does not pay; cancellation is checked between ops instead.
func newProc(what string, argv ...string) *child.Proc {
	return child.New(context.Background(), what, argv...)
}

func (s *Spawn) execOnce(out *strings.Builder) (phases, error) {
	out.Reset()
	t0 := time.Now()
	p := newProc(fmt.Sprintf("exec %q", s.Line), "/bin/sh", "-c", s.Line)
	p.Cmd.Stdout = out // buffered, handed back whole at exit (os/exec copies through a pipe)
	if err := p.Start(); err != nil {
		return phases{}, err
	}
	started := time.Since(t0)
	if err := p.Wait(); err != nil {
		return phases{}, err
	}
	return phases{started: started}, nil
}

// spawnFunc returns a spawner with its own read buffer.
func (s *Spawn) spawnFunc() func() (phases, error) {
	buf := make([]byte, 64<<10)
	what := fmt.Sprintf("spawn %q", shellquote.Join(s.Argv...))
	return func() (phases, error) {
		t0 := time.Now()
		p := newProc(what, s.Argv...)
		r, w, err := os.Pipe()
		if err != nil {
			return phases{}, fmt.Errorf("spawn: pipe: %w", err)
		}
		p.Cmd.Stdout = w
		err = p.Start()
		// Our copy of the write end must go at once, or EOF never comes.
		w.Close()
		if err != nil {
			r.Close()
			return phases{}, err
		}
		ph := phases{started: time.Since(t0)}
		for {
			n, err := r.Read(buf)
			if n > 0 && ph.firstByte == 0 {
				ph.firstByte = time.Since(t0)
			}
			if err != nil {
				break
			}
		}
		r.Close()
		if err := p.Wait(); err != nil {
			return phases{}, err
		}
		return ph, nil
	}
}

func (s *Spawn) forkOnce() (phases, error) {
	var rd [256]byte
	t0 := time.Now()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return phases{}, fmt.Errorf("fork: socketpair: %w", err)
	}
	childEnd := os.NewFile(uintptr(fds[1]), "ipc-child")
	p, err := child.Self(context.Background(), forkRole, []*os.File{childEnd})
	if err != nil {
		childEnd.Close()
		unix.Close(fds[0])
		return phases{}, err
	}
	// A worker lives a few ms: writing a profile would lengthen the very
	// lifecycle measured. The phase profile covers spawn instead.
	p.WithoutHookEnv()
	err = p.Start()
	childEnd.Close()
	if err != nil {
		unix.Close(fds[0])
		return phases{}, fmt.Errorf("fork: %w", err)
	}
	ph := phases{started: time.Since(t0)}
	ready, err := readLine(fds[0], rd[:])
	if err != nil || ready != `{"type":"ready"}` {
		unix.Close(fds[0])
		werr := p.Wait()
		if err == nil {
			err = fmt.Errorf("unexpected message %q", ready)
		}
		return phases{}, fmt.Errorf("fork: worker not ready: %v (%v)", err, werr)
	}
	ph.ready = time.Since(t0)
	_, err = unix.Write(fds[0], []byte(`{"type":"exit"}`+"\n"))
	unix.Close(fds[0])
	if werr := p.Wait(); werr != nil || err != nil {
		return phases{}, fmt.Errorf("fork: worker shutdown: %w", errors.Join(err, werr))
	}
	return ph, nil
}

// readLine reads one '\n'-terminated line from a blocking fd, byte-exactly
// (no read-ahead, so nothing after the line is consumed).
func readLine(fd int, buf []byte) (string, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:n+1])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", err
		}
		if m == 0 {
			return "", io.ErrUnexpectedEOF
		}
		if buf[n] == '\n' {
			return string(buf[:n]), nil
		}
		n++
	}
	return "", errors.New("line too long")
}

// forkWorker is the child of Spawn/mode=fork (internal/early runs it
// before ipcbench's packages initialise, unless it is profiled).
func forkWorker(ctx context.Context, files []*os.File, args []string) error {
	if len(files) < 1 {
		return errors.New("fork-worker: no IPC channel")
	}
	return early.ForkWorker(files[0])
}
