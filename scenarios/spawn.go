package scenarios

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
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

const forkRole = "fork-worker"

func init() { register(forkRole, forkWorker) }

// Name implements bench.Scenario.
func (s *Spawn) Name() string {
	c := fmt.Sprintf("/cores=%d", max(1, s.Cores))
	if s.Mode == "fork" {
		return "Spawn/mode=fork" + c
	}
	return "Spawn/mode=" + s.Mode + "/cmd=" + s.Label + c
}

// ExtraParams implements bench.ParamsReporter.
func (s *Spawn) ExtraParams() map[string]string {
	switch s.Mode {
	case "exec":
		return map[string]string{"command": "/bin/sh -c " + shellquote.Join(s.Line)}
	case "spawn":
		return map[string]string{"command": shellquote.Join(s.Argv...)}
	}
	return map[string]string{"command": "ipcbench " + forkRole}
}

func buildSpawn(o Options) ([]bench.Scenario, error) {
	list, err := spawnList(o)
	if err != nil {
		return nil, err
	}
	return expandCores(list, coresOf(o), func(s *Spawn, n int) { s.Cores = n }), nil
}

func spawnList(o Options) ([]*Spawn, error) {
	if o.Cmd != "" {
		argv, label, err := userCommand(o.Cmd)
		if err != nil {
			return nil, err
		}
		return []*Spawn{
			{Mode: "exec", Label: label, Line: o.Cmd, Command: o.Cmd},
			{Mode: "spawn", Label: label, Argv: argv, Command: o.Cmd},
		}, nil
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
		{Mode: "exec", Label: "true", Line: truePath},
		{Mode: "spawn", Label: "true", Argv: []string{truePath}},
		{Mode: "exec", Label: "echo", Line: echoPath + " ipcbench"},
		{Mode: "spawn", Label: "echo", Argv: []string{echoPath, "ipcbench"}},
		{Mode: "fork"},
	}, nil
}

// phases are one spawn's milestones, from the call that creates it.
type phases struct {
	started, firstByte, ready time.Duration
}

// Run implements bench.Scenario: one spawner, or Cores of them at once
// (spawns per second in total; each spawner's phases as percentiles).
func (s *Spawn) Run(ctx context.Context, b *bench.B) error {
	if s.Mode != "exec" && s.Mode != "spawn" && s.Mode != "fork" {
		return fmt.Errorf("spawn: unknown mode %q (accepted: exec, spawn, fork)", s.Mode)
	}
	return b.Workers(s.Cores, func(l bench.Looper, _ int) error {
		once := s.forkOnce
		switch s.Mode {
		case "exec":
			var out strings.Builder // each spawner its own buffer
			once = func(ctx context.Context) (phases, error) { return s.execOnce(&out) }
		case "spawn":
			once = s.spawnFunc()
		}
		for l.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ph, err := once(ctx)
			if err != nil {
				return err
			}
			l.Observe("started", ph.started)
			if ph.firstByte > 0 {
				l.Observe("first_byte", ph.firstByte)
			}
			if ph.ready > 0 {
				l.Observe("ready", ph.ready)
			}
		}
		return nil
	})
}

// newCmd builds a child that dies with us. exec.Command, not
// CommandContext: the latter adds a watcher goroutine per spawn, a cost
// hyperfine does not pay; cancellation is checked between ops instead.
func newCmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	bench.Harden(cmd)
	return cmd
}

func (s *Spawn) execOnce(out *strings.Builder) (phases, error) {
	out.Reset()
	t0 := time.Now()
	cmd := newCmd("/bin/sh", "-c", s.Line)
	cmd.Stdout = out // buffered, handed back whole at exit (os/exec copies through a pipe)
	if err := cmd.Start(); err != nil {
		return phases{}, fmt.Errorf("exec %q: %w", s.Line, err)
	}
	started := time.Since(t0)
	if err := cmd.Wait(); err != nil {
		return phases{}, commandFailed("exec", s.Line, err, func() *exec.Cmd { return exec.Command("/bin/sh", "-c", s.Line) })
	}
	return phases{started: started}, nil
}

// spawnFunc returns a spawner with its own read buffer.
func (s *Spawn) spawnFunc() func(ctx context.Context) (phases, error) {
	buf := make([]byte, 64<<10)
	line := shellquote.Join(s.Argv...)
	return func(ctx context.Context) (phases, error) {
		t0 := time.Now()
		cmd := newCmd(s.Argv[0], s.Argv[1:]...)
		r, w, err := os.Pipe()
		if err != nil {
			return phases{}, fmt.Errorf("spawn: pipe: %w", err)
		}
		cmd.Stdout = w
		err = cmd.Start()
		// Our copy of the write end must go at once, or EOF never comes.
		w.Close()
		if err != nil {
			r.Close()
			return phases{}, fmt.Errorf("spawn %q: %w", line, err)
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
		if err := cmd.Wait(); err != nil {
			return phases{}, commandFailed("spawn", line, err, func() *exec.Cmd { return exec.Command(s.Argv[0], s.Argv[1:]...) })
		}
		return ph, nil
	}
}

// commandFailed explains a failed user command: the exit status and, from
// one more run with stderr captured, what it said.
func commandFailed(mode, line string, err error, again func() *exec.Cmd) error {
	msg := fmt.Sprintf("%s %q: %v", mode, line, err)
	cmd := again()
	bench.Harden(cmd)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	_ = cmd.Run()
	if s := strings.TrimSpace(stderr.String()); s != "" {
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		msg += ": " + s
	}
	return errors.New(msg)
}

func (s *Spawn) forkOnce(ctx context.Context) (phases, error) {
	var rd [256]byte
	t0 := time.Now()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return phases{}, fmt.Errorf("fork: socketpair: %w", err)
	}
	childEnd := os.NewFile(uintptr(fds[1]), "ipc-child")
	cmd, err := bench.Command(ctx, forkRole, []*os.File{childEnd})
	if err != nil {
		childEnd.Close()
		unix.Close(fds[0])
		return phases{}, err
	}
	// A worker lives a few ms: writing a profile would lengthen the very
	// lifecycle measured. The phase profile covers spawn instead.
	cmd.Env = bench.NoChildProfile(cmd.Env)
	err = cmd.Start()
	childEnd.Close()
	if err != nil {
		unix.Close(fds[0])
		return phases{}, fmt.Errorf("fork: start worker: %w", err)
	}
	ph := phases{started: time.Since(t0)}
	ready, err := readLine(fds[0], rd[:])
	if err != nil || ready != `{"type":"ready"}` {
		unix.Close(fds[0])
		werr := cmd.Wait()
		if err == nil {
			err = fmt.Errorf("unexpected message %q", ready)
		}
		return phases{}, fmt.Errorf("fork: worker not ready: %v (%v)", err, bench.ChildError(cmd, werr))
	}
	ph.ready = time.Since(t0)
	_, err = unix.Write(fds[0], []byte(`{"type":"exit"}`+"\n"))
	unix.Close(fds[0])
	if werr := cmd.Wait(); werr != nil || err != nil {
		return phases{}, fmt.Errorf("fork: worker shutdown: %v", bench.ChildError(cmd, errors.Join(err, werr)))
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

// forkWorker is the child of Spawn/mode=fork: it says it is ready over its
// IPC channel (fd 3), then serves until told to exit or the channel closes.
func forkWorker(ctx context.Context, files []*os.File, args []string) error {
	if len(files) < 1 {
		return errors.New("fork-worker: no IPC channel")
	}
	ch := files[0]
	defer ch.Close()
	if _, err := ch.Write([]byte(`{"type":"ready"}` + "\n")); err != nil {
		return fmt.Errorf("fork-worker: send ready: %w", err)
	}
	sc := bufio.NewScanner(ch)
	for sc.Scan() {
		if sc.Text() == `{"type":"exit"}` {
			return nil
		}
	}
	return sc.Err()
}
