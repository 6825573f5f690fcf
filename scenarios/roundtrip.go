package scenarios

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/transports"
)

// Pair measures one parent–child pair over a transport:
//   - RoundTrip: the parent sends size bytes, the child echoes them; one op
//     is one round trip.
//   - Throughput: the child streams size-byte messages as fast as it can,
//     the parent reads; one op is one message received.
//
// Both processes pin their measuring thread (raw mode) or every thread (go
// mode) to the placement's CPUs. Messages carry a sequence number that the
// parent checks on every op (bytes in = bytes out, in order).
type Pair struct {
	Kind      string // "RoundTrip" or "Throughput"
	Transport string
	Mode      transports.Mode
	Size      int
	Placement string
	ParentCPU int // -1: unpinned
	ChildCPU  int
	skip      string
	warn      string
	dieAfter  int // tests: the child exits abruptly after this many messages
}

const (
	echoRole   = "ipc-echo"
	streamRole = "ipc-stream"
)

func init() {
	register(echoRole, func(ctx context.Context, files []*os.File, args []string) error {
		return ipcChild(files, args, false)
	})
	register(streamRole, func(ctx context.Context, files []*os.File, args []string) error {
		return ipcChild(files, args, true)
	})
	transportNames = transports.Names()
}

// Name implements bench.Scenario.
func (p *Pair) Name() string {
	return fmt.Sprintf("%s/transport=%s/mode=%s/size=%d/placement=%s", p.Kind, p.Transport, p.Mode, p.Size, p.Placement)
}

// SkipReason implements bench.Skipper.
func (p *Pair) SkipReason() string { return p.skip }

// ExtraParams implements bench.ParamsReporter.
func (p *Pair) ExtraParams() map[string]string {
	return map[string]string{"parent_cpu": strconv.Itoa(p.ParentCPU), "child_cpu": strconv.Itoa(p.ChildCPU),
		"transport_help": transports.Help(p.Transport), "io": ioPath(p.Transport, p.Mode)}
}

// ioPath says how the loop talks to the kernel, for the record.
func ioPath(transport string, mode transports.Mode) string {
	switch {
	case strings.HasPrefix(transport, "shm-"):
		return "shared memory, locked thread"
	case mode == transports.Go:
		return "runtime poller (os.File / net.Conn)"
	case rawSyscallsOK():
		return "syscall.RawSyscall on a locked thread, GC off during the loop"
	}
	return "syscall.Syscall on a locked thread (GOMAXPROCS 1: RawSyscall would be unsafe)"
}

// rawSyscallsOK: RawSyscall blocks while holding its P, so another P must
// exist for the rest of the process (MEASURING.md pitfall 7).
func rawSyscallsOK() bool { return runtime.GOMAXPROCS(0) >= 2 }

// rawLoop switches a raw Conn to RawSyscall with the GC off, when that is
// safe; the returned func undoes both. The loops it guards do not allocate.
func rawLoop(c transports.Conn) func() {
	rs, ok := c.(transports.RawSyscaller)
	if !ok || !rawSyscallsOK() {
		return func() {}
	}
	old := debug.SetGCPercent(-1)
	rs.SetRawSyscalls(true)
	return func() {
		rs.SetRawSyscalls(false)
		debug.SetGCPercent(old)
	}
}

// defaultSizes are the message sizes measured unless --sizes says otherwise.
var defaultSizes = []int{64, 4096, 65536}

func buildRoundTrip(o Options) ([]bench.Scenario, error) { return buildPairs("RoundTrip", o) }
func buildThroughput(o Options) ([]bench.Scenario, error) {
	return buildPairs("Throughput", o)
}

func buildPairs(kind string, o Options) ([]bench.Scenario, error) {
	sizes := o.Sizes
	if len(sizes) == 0 {
		sizes = defaultSizes
	}
	for _, s := range sizes {
		if s <= 0 || s > MaxMessage {
			return nil, fmt.Errorf("message size %d out of range (1..%d)", s, MaxMessage)
		}
	}
	names := o.Transports
	if len(names) == 0 {
		names = transports.Names()
	}
	placements := o.Placements
	if len(placements) == 0 {
		placements = []string{bench.SameCore, bench.CrossCore}
	}
	cpus := o.CPUs
	if len(cpus) == 0 {
		var err error
		if cpus, err = bench.AllowedCPUs(); err != nil {
			return nil, err
		}
	}
	topo := bench.Topology(cpus)
	var out []bench.Scenario
	for _, name := range names {
		for _, mode := range transports.Modes(name) {
			if len(o.Modes) > 0 && !slices.Contains(o.Modes, string(mode)) {
				continue
			}
			for _, size := range sizes {
				for _, pl := range placements {
					p := &Pair{Kind: kind, Transport: name, Mode: mode, Size: size, Placement: pl}
					pc, cc, err := bench.PlaceCPUs(pl, topo)
					p.ParentCPU, p.ChildCPU = pc, cc
					switch {
					case err != nil:
						p.skip = err.Error()
					case name == "shm-spin" && pl == bench.SameCore:
						p.skip = "busy polling cannot work on one core: each side spins away its time slice waiting for the other (milliseconds per message)"
					case name == "shm-spin" && pl == bench.Unpinned:
						p.warn = "shm-spin unpinned: if the scheduler puts both processes on one CPU, each message costs a time slice"
					}
					out = append(out, p)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no transport has the requested modes")
	}
	return out, nil
}

// guardedConn serialises Close with an Abort from the child watcher: a
// shared-memory Conn must not be aborted after it was unmapped.
type guardedConn struct {
	transports.Conn
	mu     sync.Mutex
	closed bool
}

func (g *guardedConn) abort() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a, ok := g.Conn.(transports.Aborter); ok && !g.closed {
		a.Abort()
	}
}

func (g *guardedConn) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.Conn.Close()
}

// startPeer starts the child for a pair and returns the guarded parent end
// and a channel that yields the child's exit.
func (p *Pair) startPeer(ctx context.Context, role string) (*guardedConn, *childProc, error) {
	tr, err := transports.New(p.Transport, p.Mode)
	if err != nil {
		return nil, nil, err
	}
	conn, files, err := tr.Pair()
	if err != nil {
		return nil, nil, err
	}
	args := []string{p.Transport, string(p.Mode), strconv.Itoa(p.Size), strconv.Itoa(p.ChildCPU), strconv.Itoa(p.dieAfter)}
	cmd, err := bench.Command(ctx, role, files, args...)
	if err != nil {
		closeAll(files)
		conn.Close()
		return nil, nil, err
	}
	cp := &childProc{exited: make(chan error, 1)}
	cmd.Stdout = &cp.out
	err = cmd.Start()
	closeAll(files) // the child has its copies; ours would hide EOF
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("start child: %w", err)
	}
	g := &guardedConn{Conn: conn}
	cp.cmd = cmd
	go func() {
		err := cmd.Wait()
		// A dead peer is invisible through shared memory: wake our waits.
		g.abort()
		cp.exited <- bench.ChildError(cmd, err)
	}()
	return g, cp, nil
}

type childProc struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan error
	err    error
	done   bool
}

// wait returns the child's exit error, waiting at most d.
func (c *childProc) wait(d time.Duration) error {
	if c.done {
		return c.err
	}
	select {
	case c.err = <-c.exited:
	case <-time.After(d):
		c.err = errors.New("child did not exit")
	}
	c.done = true
	return c.err
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// pin confines the parent for this pair: the measuring thread in raw mode,
// the whole process in go mode (an idiomatic program's goroutines move
// between threads, so all of them must be on the CPU).
func pin(mode transports.Mode, cpu int) (func(), error) {
	if mode == transports.Go {
		unpin, err := bench.PinProcess(cpu)
		if err != nil {
			return nil, err
		}
		return unpin, nil
	}
	return bench.Pin(cpu)
}

// Run implements bench.Scenario.
func (p *Pair) Run(ctx context.Context, b *bench.B) (err error) {
	if p.warn != "" {
		b.Warn("%s", p.warn)
	}
	role := echoRole
	if p.Kind == "Throughput" {
		role = streamRole
		b.SetBytes(int64(p.Size))
	}
	conn, child, err := p.startPeer(ctx, role)
	if err != nil {
		return err
	}
	b.TrackProcess(child.cmd.Process.Pid)
	defer func() {
		conn.Close()
		werr := child.wait(10 * time.Second)
		if err != nil {
			if werr != nil {
				err = fmt.Errorf("%v (child: %v)", err, werr)
			}
			return
		}
		if werr != nil {
			err = fmt.Errorf("child: %w", werr)
			return
		}
		if r, rerr := readReport(child.out.String()); rerr == nil {
			reportChild(b, r)
		} else {
			b.Warn("no CPU figures from the child: %v", rerr)
		}
	}()
	unpin, err := pin(p.Mode, p.ParentCPU)
	if err != nil {
		return err
	}
	defer unpin()
	defer rawLoop(conn.Conn)()
	if p.Kind == "Throughput" {
		return p.throughput(b, conn)
	}
	return p.roundTrip(b, conn)
}

func (p *Pair) roundTrip(b *bench.B, c transports.Conn) error {
	msg := make([]byte, p.Size)
	buf := make([]byte, p.Size)
	for i := range msg {
		msg[i] = byte(i)
	}
	// One untimed round trip first: the child's start-up (1–2 ms of Go
	// runtime initialisation) must not count in the warmup's estimate.
	if err := c.Send(msg); err != nil {
		return fmt.Errorf("first send: %w", err)
	}
	if err := c.Recv(buf); err != nil {
		return fmt.Errorf("first reply: %w", eofIsChildGone(err))
	}
	var seq uint64
	check := p.Size >= 8
	for b.Loop() {
		seq++
		if check {
			binary.LittleEndian.PutUint64(msg, seq)
		}
		if err := c.Send(msg); err != nil {
			return fmt.Errorf("round trip %d: send: %w", seq, err)
		}
		if err := c.Recv(buf); err != nil {
			return fmt.Errorf("round trip %d: %w", seq, eofIsChildGone(err))
		}
		if check && binary.LittleEndian.Uint64(buf) != seq {
			return fmt.Errorf("round trip %d: reply carries message %d (lost or reordered)", seq, binary.LittleEndian.Uint64(buf))
		}
	}
	return nil
}

func (p *Pair) throughput(b *bench.B, c transports.Conn) error {
	buf := make([]byte, p.Size)
	if err := c.Recv(buf); err != nil { // the first message: child is up
		return fmt.Errorf("first message: %w", eofIsChildGone(err))
	}
	check := p.Size >= 8
	seq := uint64(1)
	for b.Loop() {
		if err := c.Recv(buf); err != nil {
			return fmt.Errorf("message %d: %w", seq, eofIsChildGone(err))
		}
		if check && binary.LittleEndian.Uint64(buf) != seq {
			return fmt.Errorf("message %d arrived as %d (lost or reordered)", seq, binary.LittleEndian.Uint64(buf))
		}
		seq++
	}
	return nil
}

func eofIsChildGone(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the child closed the channel (it exited or crashed): %w", err)
	}
	return err
}

// ipcChild serves one pair: echo (round trip) or stream (throughput).
// Args: transport mode size cpu dieAfter.
func ipcChild(files []*os.File, args []string, stream bool) error {
	if len(args) != 5 {
		return fmt.Errorf("ipc child: want transport mode size cpu die-after, got %q", args)
	}
	tr, err := transports.New(args[0], transports.Mode(args[1]))
	if err != nil {
		return err
	}
	size, err1 := strconv.Atoi(args[2])
	cpu, err2 := strconv.Atoi(args[3])
	dieAfter, err3 := strconv.Atoi(args[4])
	if err := errors.Join(err1, err2, err3); err != nil || size <= 0 {
		return fmt.Errorf("ipc child: bad arguments %q", args)
	}
	c, err := tr.Open(files)
	if err != nil {
		return err
	}
	defer c.Close()
	unpin, err := pin(tr.Mode(), cpu)
	if err != nil {
		return err
	}
	defer unpin()
	buf := make([]byte, size)
	defer rawLoop(c)()
	mark := markRusage()
	var ops int64
	if stream {
		for seq := uint64(0); ; seq++ {
			if size >= 8 {
				binary.LittleEndian.PutUint64(buf, seq)
			}
			if err := c.Send(buf); err != nil {
				break // the parent closed: the measurement is over
			}
			ops++
			if dieAfter > 0 && ops >= int64(dieAfter) {
				os.Exit(3)
			}
		}
	} else {
		for {
			if err := c.Recv(buf); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("echo: %w", err)
			}
			if err := c.Send(buf); err != nil {
				return fmt.Errorf("echo: %w", err)
			}
			ops++
			if dieAfter > 0 && ops >= int64(dieAfter) {
				os.Exit(3)
			}
		}
	}
	return writeReport(os.Stdout, mark.report(ops))
}
