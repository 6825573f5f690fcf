// Package transports is ipcbench's IPC seam: a Conn carries whole messages
// between two processes, and a Transport makes connected pairs of them, the
// parent's end in this process and files for the child's end (passed to it
// as ExtraFiles and rebuilt there with Open).
//
// Each fd mechanism comes in two modes:
//   - raw: fds in blocking mode, read(2)/write(2) through syscall.Syscall on
//     the caller's (locked, pinned) thread, no allocation per message. This is
//     the kernel's cost, what a C program pays.
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
// sysmon's interference (MEASURING.md: 1.07× a C ping-pong on one CPU,
// against 1.1–1.6× with syscall.Syscall). It is only safe in a loop that
// does not allocate, with GOMAXPROCS >= 2 and the GC off (pitfall 7): a
// thread blocked in RawSyscall holds its P, so a stop-the-world would wait
// for the peer. The caller guarantees that.
type RawSyscaller interface {
	SetRawSyscalls(on bool)
}

// Mode is raw (kernel cost) or go (idiomatic Go).
type Mode string

// Modes.
const (
	Raw Mode = "raw"
	Go  Mode = "go"
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

type entry struct {
	name  string
	modes []Mode
	make  func(Mode) Transport
	help  string
}

var registry = []entry{
	{"pipe", []Mode{Raw, Go}, func(m Mode) Transport { return &fdTransport{name: "pipe", mode: m, make: pipePair} }, "a pair of pipes"},
	{"unix", []Mode{Raw, Go}, func(m Mode) Transport { return &fdTransport{name: "unix", mode: m, make: unixStreamPair} }, "AF_UNIX SOCK_STREAM socketpair"},
	{"unixpacket", []Mode{Raw, Go}, func(m Mode) Transport {
		return &fdTransport{name: "unixpacket", mode: m, make: unixPacketPair, chunk: packetChunk}
	}, "AF_UNIX SOCK_SEQPACKET socketpair"},
	{"tcp", []Mode{Raw, Go}, func(m Mode) Transport { return &fdTransport{name: "tcp", mode: m, make: tcpPair} }, "TCP over 127.0.0.1, TCP_NODELAY"},
	{"shm-spin", []Mode{Raw}, func(Mode) Transport { return &shmTransport{wait: waitSpin} }, "shared memory, busy polling"},
	{"shm-futex", []Mode{Raw}, func(Mode) Transport { return &shmTransport{wait: waitFutex} }, "shared memory, futex wait/wake"},
	{"shm-eventfd", []Mode{Raw}, func(Mode) Transport { return &shmTransport{wait: waitEventfd} }, "shared memory, eventfd wakeups"},
	{"channel", []Mode{Go}, func(Mode) Transport { return channelTransport{} }, "Node fork() style JSON message channel over a socketpair"},
}

// Names lists every transport, in the order they are measured.
func Names() []string {
	var n []string
	for _, e := range registry {
		n = append(n, e.name)
	}
	return n
}

// Modes lists the modes a transport supports.
func Modes(name string) []Mode {
	for _, e := range registry {
		if e.name == name {
			return slices.Clone(e.modes)
		}
	}
	return nil
}

// Help describes a transport in a few words.
func Help(name string) string {
	for _, e := range registry {
		if e.name == name {
			return e.help
		}
	}
	return ""
}

// New returns the named transport in the given mode.
func New(name string, mode Mode) (Transport, error) {
	for _, e := range registry {
		if e.name != name {
			continue
		}
		if !slices.Contains(e.modes, mode) {
			var ms []string
			for _, m := range e.modes {
				ms = append(ms, string(m))
			}
			return nil, fmt.Errorf("transport %s has no mode %q (accepted: %s)", name, mode, strings.Join(ms, ", "))
		}
		return e.make(mode), nil
	}
	return nil, fmt.Errorf("unknown transport %q (accepted: %s)", name, strings.Join(Names(), ", "))
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
