// Package early runs ipcbench's two smallest child roles, the fork worker
// and the output writer, from its package initialiser, and exits: before
// most of ipcbench's packages initialise.
//
// Both are timed as part of an operation (the fork worker's whole life is
// Spawn/mode=fork; a writer's start-up is in every Output op), and both are
// this binary re-executed. ipcbench is a large program: its charts parse
// fonts at init (gonum.org/v1/plot), its tables and profiles initialise
// theirs; together over a millisecond of start-up that any Go worker of a
// user's would not pay.
//
// How early it runs, exactly. Go (1.21 on) initialises one package at a
// time: of all the program's packages whose imports are all initialised,
// the first in import-path order. So this init runs once its own imports
// are initialised (errors, io, os, strconv, syscall and theirs: the
// runtime, sync, time, internal/poll, io/fs…), but a package ready at the
// same moment whose path sorts before github.com/ipcbench/ipcbench/…
// goes first. In cmd/ipcbench, GODEBUG=inittrace=1 with
// IPCBENCH_CHILD_ROLE=output-writer shows about twenty inits before this
// one: those of its own imports (runtime, errors, iter, sync,
// internal/godebug, syscall, time, internal/poll, io/fs, os), and,
// interleaved with them, small packages that other parts of ipcbench
// import, that need no more than what is initialised by then and sort
// first: math, context, crypto, encoding/base64, hash/crc32 (its table),
// crypto/internal/fips140deps/*, codeberg.org/go-latex's symbol table,
// github.com/aclements/go-moremath/mathx. This package cannot move
// those: they are dependencies of main's other imports, not of this
// package; their paths (math, context, crypto/…, encoding/…, hash/…,
// codeberg.org/…, github.com/aclements/…) sort before this one whatever
// it is named inside this module; and it cannot do without os (os.Args,
// the files it is handed), whose own imports are most of that list. What
// it can do, it does: it imports as little as it can (no fmt, which would
// add reflect, unicode and internal/fmtsort to wait for, and with them
// let some thirty more run before it, all sorting first: database/sql,
// the crypto/fips140 self-check, compress/*, encoding/gob, encoding/json,
// encoding/xml, flag…). So those, and everything else not listed above
// (ipcbench's own packages, gonum.org/v1/plot, golang.org/x/…,
// google/pprof, the table writers), initialise only in a process that is
// not one of these roles. The figures are those of a small Go program's
// start plus those few inits, not of this tool's size.
//
// Under profiling (the profile environment set) the roles go the ordinary
// way (internal/child.Run), where the child profiles itself. The roles
// themselves are here, standard library only, for both ways.
package early

import (
	"errors"
	"io"
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
		_, _ = os.Stderr.WriteString(err.Error() + "\n")
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
		return wrap("fork-worker: send ready: ", err)
	}
	// Lines until {"type":"exit"} or EOF (no bufio: see the package doc).
	const exit = `{"type":"exit"}`
	var buf [4096]byte
	var line []byte
	for {
		n, err := ch.Read(buf[:])
		for _, c := range buf[:n] {
			if c != '\n' {
				line = append(line, c)
				continue
			}
			if string(line) == exit {
				return nil
			}
			line = line[:0]
		}
		if err == io.EOF {
			return nil // the channel closed: as good as told to exit
		}
		if err != nil {
			return wrap("fork-worker: ", err)
		}
	}
}

// wrap is fmt.Errorf(prefix+"%w", err) without fmt.
func wrap(prefix string, err error) error { return &wrapped{prefix + err.Error(), err} }

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// OutputWriter is the child of the output scenario: it writes size bytes
// to stdout in write-sized write(2) calls (alternating with stderr when
// asked), lines of LineLen bytes ending in '\n'. Args: size write stderr
// dieAfter (tests: exit abruptly, status 4, after that many bytes).
func OutputWriter(args []string) error {
	if len(args) != 4 {
		return errors.New("output writer: want size write stderr die-after, got " + quote(args))
	}
	size, err1 := strconv.ParseInt(args[0], 10, 64)
	write, err2 := strconv.Atoi(args[1])
	dieAfter, err3 := strconv.ParseInt(args[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || size <= 0 || write <= 0 {
		return errors.New("output writer: bad arguments " + quote(args))
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
			return wrap("output writer: ", err)
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

// quote is fmt's %q of a []string: ["a" "b"].
func quote(args []string) string {
	s := "["
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += strconv.Quote(a)
	}
	return s + "]"
}
