// Package transports is ipcbench's IPC seam: a Conn carries whole messages
// between two processes, and a Transport makes connected pairs of them, the
// parent's end in this process and files for the child's end (passed to it
// as ExtraFiles and rebuilt there with Open).
//
// Each fd mechanism comes in two modes:
//   - raw: fds in blocking mode, read(2)/write(2) on the caller's (locked,
//     pinned) thread, through syscall.RawSyscall where that is safe (see
//     RawSyscaller and raw.go), no allocation per message. This is the
//     kernel's cost, what a C program pays.
//   - go: *os.File / net.Conn through the runtime's poller (non-blocking fds,
//     epoll, goroutine parking). This is what an idiomatic Go program pays.
//
// Shared memory transports (shm-spin, shm-futex, shm-eventfd) exist in raw
// mode only; channel (Node's fork() IPC: newline-delimited JSON over a
// socketpair) in go mode only.
//
// Transports know nothing of timing.
package transports

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// Conn is one end of a connected channel carrying whole messages.
type Conn interface {
	// Send writes all of msg.
	Send(msg []byte) error
	// Recv fills buf exactly. It returns io.EOF when the peer closed before
	// the first byte and io.ErrUnexpectedEOF when it closed in the middle.
	Recv(buf []byte) error
	// Close releases this end; the peer's Recv then sees io.EOF.
	Close() error
}

// Aborter is implemented by Conns whose peer's death the kernel cannot
// signal (shared memory): Abort makes every wait on this end return.
type Aborter interface {
	Abort()
}

// RawSyscaller is implemented by raw-mode fd Conns. SetRawSyscalls(true)
// makes reads and writes use syscall.RawSyscall: the runtime is not told
// that the thread blocks, which saves the scheduler's bookkeeping and
// sysmon's interference (docs/measuring.md: 1.07× a C ping-pong on one CPU,
// against 1.1–1.6× with syscall.Syscall). It is only safe in a loop that
// does not allocate, with GOMAXPROCS >= 2 and the GC off (pitfall 7): a
// thread blocked in RawSyscall holds its P, so a stop-the-world would wait
// for the peer. EnterRaw (raw.go) arranges all of that.
type RawSyscaller interface {
	SetRawSyscalls(on bool)
}

// Mode is raw (kernel cost) or go (idiomatic Go).
type Mode string

// Modes.
const (
	Raw Mode = results.ModeRaw
	Go  Mode = results.ModeGo
)

// Transport makes connected pairs.
type Transport interface {
	Name() string // "pipe", "unix", "unixpacket", "tcp", "shm-spin", ...
	Mode() Mode
	// Pair returns the parent's end and the files for the child's end. The
	// caller passes files to the child (ExtraFiles) and closes its copies
	// right after the child started; in one process, pass them to Open,
	// which takes ownership of them.
	Pair() (Conn, []*os.File, error)
	// Open rebuilds the child's end from the files Pair returned. It owns files.
	Open(files []*os.File) (Conn, error)
}

// ErrClosed is returned when the peer closed a shared-memory channel while
// this end was sending, or after Abort.
var ErrClosed = errors.New("transport: peer closed")

// Info is what ipcbench knows of a transport, so that no caller ever
// matches its name.
type Info struct {
	Name  string
	Modes []Mode // the modes it exists in, raw first
	Help  string // a few words: "AF_UNIX SOCK_STREAM socketpair"
	// SharedMemory: messages move through a mapping, not a descriptor, so
	// the kernel cannot tell one end that the other died (see Aborter).
	SharedMemory bool
	// BusyPolls: a waiting end spins on its CPU rather than sleeping, so
	// the two ends need a CPU each; on one CPU each message costs a time
	// slice.
	BusyPolls bool
	make      func(Mode) Transport
}

// HasMode reports whether the transport exists in mode.
func (i Info) HasMode(m Mode) bool { return slices.Contains(i.Modes, m) }

// IOPath says how a measuring loop in mode talks to the kernel, for the record.
func (i Info) IOPath(mode Mode) string {
	switch {
	case i.SharedMemory:
		return "shared memory, locked thread"
	case mode == Go:
		return "runtime poller (os.File / net.Conn)"
	case RawSyscallsSafe():
		return "syscall.RawSyscall on a locked thread, GC off during the loop"
	}
	return "syscall.Syscall on a locked thread (GOMAXPROCS 1: RawSyscall would be unsafe)"
}

func fd(name string, help string, make func() (fdSet, error), chunk int) Info {
	return Info{Name: name, Modes: []Mode{Raw, Go}, Help: help, make: func(m Mode) Transport {
		return &fdTransport{name: name, mode: m, make: make, chunk: chunk}
	}}
}

func shm(w waitKind, help string, busy bool) Info {
	return Info{Name: waitNames[w], Modes: []Mode{Raw}, Help: help, SharedMemory: true, BusyPolls: busy,
		make: func(Mode) Transport { return &shmTransport{wait: w} }}
}

var registry = []Info{
	fd("pipe", "a pair of pipes", pipePair, 0),
	fd("unix", "AF_UNIX SOCK_STREAM socketpair", unixStreamPair, 0),
	fd("unixpacket", "AF_UNIX SOCK_SEQPACKET socketpair", unixPacketPair, packetChunk),
	fd("tcp", "TCP over 127.0.0.1, TCP_NODELAY", tcpPair, 0),
	shm(waitSpin, "shared memory, busy polling", true),
	shm(waitFutex, "shared memory, futex wait/wake", false),
	shm(waitEventfd, "shared memory, eventfd wakeups", false),
	{Name: "channel", Modes: []Mode{Go}, Help: "JSON lines over a socketpair, as Node's fork() channel (a Go imitation)",
		make: func(Mode) Transport { return channelTransport{} }},
}

// All lists every transport, in the order they are measured.
func All() []Info { return slices.Clone(registry) }

// Names lists every transport's name, in the order they are measured.
func Names() []string {
	var n []string
	for _, e := range registry {
		n = append(n, e.Name)
	}
	return n
}

// Lookup is the one place a transport name is validated.
func Lookup(name string) (Info, error) {
	for _, e := range registry {
		if e.Name == name {
			return e, nil
		}
	}
	return Info{}, fmt.Errorf("unknown transport %q (accepted: %s)", name, strings.Join(Names(), ", "))
}

// ParseMode validates a mode name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Raw, Go:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown mode %q (accepted: raw, go)", s)
}

// New returns the named transport in the given mode.
func New(name string, mode Mode) (Transport, error) {
	info, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if !info.HasMode(mode) {
		var ms []string
		for _, m := range info.Modes {
			ms = append(ms, string(m))
		}
		return nil, fmt.Errorf("transport %s has no mode %q (accepted: %s)", name, mode, strings.Join(ms, ", "))
	}
	return info.make(mode), nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
