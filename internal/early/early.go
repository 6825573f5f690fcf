// Package early runs ipcbench's two smallest child roles, the fork worker
// and the output writer, from the first package initialiser that can run
// them, and exits: before ipcbench's own packages initialise.
//
// Both are timed as part of an operation (the fork worker's whole life is
// Spawn/mode=fork; a writer's start-up is in every Output op), and both are
// this binary re-executed. ipcbench is a large program: its charts parse
// fonts at init (gonum.org/v1/plot), its tables and profiles initialise
// theirs; together over a millisecond of start-up that any Go worker of a
// user's would not pay. Go initialises packages in import-path order as
// soon as their dependencies are done (Go 1.21), and this package depends
// on the standard library only, so its init runs before all of those: the
// figures are those of a small Go program's start, not of this tool's size.
//
// Under profiling (the profile environment set) the roles go the ordinary
// way (internal/child.Run), where the child profiles itself. The roles
// themselves are here, standard library only, for both ways.
package early

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// The environment of a re-executed child (internal/child sets it; a
// profiled child has EnvProfileDir).
const (
	EnvRole         = "IPCBENCH_CHILD_ROLE"
	EnvNFiles       = "IPCBENCH_CHILD_NFILES"
	EnvProfileDir   = "IPCBENCH_CHILD_PROFILE_DIR"
	EnvProfileKinds = "IPCBENCH_CHILD_PROFILE_KINDS"
)

// Roles run early.
const (
	ForkWorkerRole   = "fork-worker"
	OutputWriterRole = "output-writer"
)

// LineLen is the length of the output writer's lines, newline included.
const LineLen = 100

func init() {
	role := os.Getenv(EnvRole)
	if role != ForkWorkerRole && role != OutputWriterRole || os.Getenv(EnvProfileDir) != "" {
		return
	}
	var err error
	if role == ForkWorkerRole {
		err = ForkWorker(os.NewFile(3, "ipc-channel"))
	} else {
		err = OutputWriter(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ForkWorker is the child of Spawn/mode=fork: it says it is ready over its
// IPC channel (fd 3), then serves until told to exit or the channel closes.
func ForkWorker(ch *os.File) error {
	if ch == nil {
		return errors.New("fork-worker: no IPC channel")
	}
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

// OutputWriter is the child of the output scenario: it writes size bytes
// to stdout in write-sized write(2) calls (alternating with stderr when
// asked), lines of LineLen bytes ending in '\n'. Args: size write stderr
// dieAfter (tests: exit abruptly, status 4, after that many bytes).
func OutputWriter(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("output writer: want size write stderr die-after, got %q", args)
	}
	size, err1 := strconv.ParseInt(args[0], 10, 64)
	write, err2 := strconv.Atoi(args[1])
	dieAfter, err3 := strconv.ParseInt(args[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || size <= 0 || write <= 0 {
		return fmt.Errorf("output writer: bad arguments %q", args)
	}
	alternate := args[2] == "1"
	// A pattern that repeats every LineLen bytes, so any window of the
	// stream is lines of LineLen bytes whatever the write size.
	period := LineLen * ((write + LineLen - 1) / LineLen)
	pat := make([]byte, period+write)
	for i := range pat {
		if i%LineLen == LineLen-1 {
			pat[i] = '\n'
		} else {
			pat[i] = 'a' + byte(i%26)
		}
	}
	var done int64
	fd := 1
	for done < size {
		n := int(min(int64(write), size-done))
		off := int(done % LineLen)
		// Raw write(2): no buffering, one syscall per write-size chunk.
		k, err := syscall.Write(fd, pat[off:off+n])
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return fmt.Errorf("output writer: %w", err)
		}
		done += int64(k)
		if dieAfter > 0 && done >= dieAfter {
			os.Exit(4)
		}
		if alternate {
			fd = 3 - fd // 1 ↔ 2
		}
	}
	return nil
}
