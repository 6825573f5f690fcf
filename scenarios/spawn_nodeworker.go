package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kballard/go-shellquote"
	"golang.org/x/sys/unix"
)

// nodeWorkerChannel says how Spawn/mode=fork talks to a user's Node worker.
const nodeWorkerChannel = "Node's IPC channel: NODE_CHANNEL_FD=3 on an AF_UNIX socketpair, serialization json; ready = its first message; exit = when the channel closes"

var nodeProgram = regexp.MustCompile(`^node(js)?[0-9.]*$`)

// isNodeWorker reports whether a user command runs a Node script
// (`node [options] script [args]`), which fork mode can run as a worker.
func isNodeWorker(argv []string) bool {
	if len(argv) < 2 || !nodeProgram.MatchString(filepath.Base(argv[0])) {
		return false
	}
	_, module, _ := splitNodeArgs(argv[1:])
	return module != ""
}

// splitNodeArgs splits what follows `node`: its options (up to the first
// word that is not one: options taking a value must be written
// --opt=value), the script, and the script's arguments.
func splitNodeArgs(words []string) (execArgv []string, module string, args []string) {
	for i, w := range words {
		if !strings.HasPrefix(w, "-") {
			return words[:i], w, words[i+1:]
		}
		if w == "-e" || w == "--eval" || w == "-p" || w == "--print" || w == "-" {
			return nil, "", nil // not a script
		}
	}
	return nil, "", nil
}

// forkNodeFunc returns a spawner of the user's Node worker, the way Node's
// fork() starts one but from Go: an AF_UNIX socketpair whose child end is
// the worker's fd 3, announced by NODE_CHANNEL_FD. Ready is the worker's
// first message (one JSON line); then the channel is closed (Node's
// disconnect) and the worker must exit.
func (s *Spawn) forkNodeFunc() func() (phases, error) {
	env := append(os.Environ(), "NODE_CHANNEL_FD=3", "NODE_CHANNEL_SERIALIZATION_MODE=json")
	what := fmt.Sprintf("fork %q", shellquote.Join(s.Argv...))
	buf := make([]byte, 64<<10)
	return func() (phases, error) {
		t0 := time.Now()
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return phases{}, fmt.Errorf("fork: socketpair: %w", err)
		}
		childEnd := os.NewFile(uintptr(fds[1]), "node-channel")
		p := newProc(what, s.Argv...)
		p.Cmd.Env = env
		p.Cmd.ExtraFiles = []*os.File{childEnd}
		err = p.Start()
		childEnd.Close() // the worker has its copy; ours would hide its end
		if err != nil {
			unix.Close(fds[0])
			return phases{}, err
		}
		ph := phases{started: time.Since(t0)}
		_, err = readLine(fds[0], buf)
		if err != nil {
			unix.Close(fds[0])
			werr := p.Wait()
			return phases{}, fmt.Errorf("%s: no message from the worker (in fork mode a --cmd must be a worker that sends one when ready, e.g. process.send('ready'); to leave fork mode out: --filter 'mode=(exec|spawn)/|^Output/'): %w", what, errors.Join(err, werr))
		}
		ph.ready = time.Since(t0)
		unix.Close(fds[0]) // disconnect: a worker ends when its channel closes
		if err := p.Wait(); err != nil {
			return phases{}, err
		}
		return ph, nil
	}
}
