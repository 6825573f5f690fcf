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
	// Cores is how many pairs run at once (each its own child); Pairs
	// their CPUs and PlaceNote how they were placed when CPUs ran short.
	Cores     int
	Pairs     [][2]int
	PlaceNote string
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
	return fmt.Sprintf("%s/transport=%s/mode=%s/size=%d/placement=%s/cores=%d", p.Kind, p.Transport, p.Mode, p.Size, p.Placement, max(1, p.Cores))
}

// SkipReason implements bench.Skipper.
func (p *Pair) SkipReason() string { return p.skip }

// ProfilesChildren implements bench.ChildProfiler: every pair's child lives
// for the whole benchmark and writes its own profile when asked.
func (p *Pair) ProfilesChildren() bool { return true }

// ExtraParams implements bench.ParamsReporter.
func (p *Pair) ExtraParams() map[string]string {
	m := map[string]string{"parent_cpu": strconv.Itoa(p.ParentCPU), "child_cpu": strconv.Itoa(p.ChildCPU),
		"transport_help": transports.Help(p.Transport), "io": ioPath(p.Transport, p.Mode)}
	if len(p.Pairs) > 1 {
		var pl []string
		for _, c := range p.Pairs {
			pl = append(pl, fmt.Sprintf("%d/%d", c[0], c[1]))
		}
		m["pair_cpus"] = strings.Join(pl, ",")
	}
	return m
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

// rawLoop switches a raw Conn to RawSyscall when that is safe (spare: Ps
// not held by measuring loops, at least one; the GC must be off, see
// gcOff); the returned func undoes it. The loops it guards do not allocate.
func rawLoop(c transports.Conn, spare int) func() {
	rs, ok := c.(transports.RawSyscaller)
	if !ok || spare < 1 {
		return func() {}
	}
	rs.SetRawSyscalls(true)
	return func() { rs.SetRawSyscalls(false) }
}

// gcOff turns the GC off for a raw-mode measurement (a stop-the-world would
// wait for threads blocked in RawSyscall). It is process-wide: call it once
// per measurement, not per worker.
func gcOff(mode transports.Mode) func() {
	if mode != transports.Raw {
		return func() {}
	}
	old := debug.SetGCPercent(-1)
	return func() { debug.SetGCPercent(old) }
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
	cores := coresOf(o)
	var out []bench.Scenario
	for _, name := range names {
		for _, mode := range transports.Modes(name) {
			if len(o.Modes) > 0 && !slices.Contains(o.Modes, string(mode)) {
				continue
			}
			for _, size := range sizes {
				for _, pl := range placements {
					for _, n := range cores {
						p := &Pair{Kind: kind, Transport: name, Mode: mode, Size: size, Placement: pl, Cores: n}
						pairs, note, err := bench.PlacePairs(pl, topo, n)
						if err == nil {
							p.Pairs, p.PlaceNote = pairs, note
							p.ParentCPU, p.ChildCPU = pairs[0][0], pairs[0][1]
						}
						switch {
						case err != nil:
							p.skip = err.Error()
						case name == "shm-spin" && pl == bench.SameCore:
							p.skip = "busy polling cannot work on one core: each side spins away its time slice waiting for the other (milliseconds per message)"
						case name == "shm-spin" && pl == bench.Unpinned:
							p.warn = "shm-spin unpinned: if the scheduler puts both processes on one CPU, each message costs a time slice"
						case name == "shm-spin" && note != "":
							p.skip = "busy polling with pairs sharing CPUs cannot work (" + note + ")"
						}
						out = append(out, p)
					}
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
func (p *Pair) startPeer(ctx context.Context, role string, childCPU int) (*guardedConn, *childProc, error) {
	tr, err := transports.New(p.Transport, p.Mode)
	if err != nil {
		return nil, nil, err
	}
	conn, files, err := tr.Pair()
	if err != nil {
		return nil, nil, err
	}
	args := []string{p.Transport, string(p.Mode), strconv.Itoa(p.Size), strconv.Itoa(childCPU), strconv.Itoa(p.dieAfter)}
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
		return bench.PinProcess(cpu)
	}
	return bench.Pin(cpu)
}

// Run implements bench.Scenario.
func (p *Pair) Run(ctx context.Context, b *bench.B) error {
	if p.warn != "" {
		b.Warn("%s", p.warn)
	}
	if p.PlaceNote != "" {
		b.Warn("placement: %s", p.PlaceNote)
	}
	if p.Kind == "Throughput" {
		b.SetBytes(int64(p.Size))
	}
	if p.Cores <= 1 {
		return p.runSingle(ctx, b)
	}
	return p.runParallel(ctx, b)
}

// session is one live pair: the parent's end and its child.
type session struct {
	p     *Pair
	conn  *guardedConn
	child *childProc
	msg   []byte
	buf   []byte
	seq   uint64
}

func (p *Pair) start(ctx context.Context, childCPU int) (*session, error) {
	role := echoRole
	if p.Kind == "Throughput" {
		role = streamRole
	}
	conn, child, err := p.startPeer(ctx, role, childCPU)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, conn: conn, child: child, msg: make([]byte, p.Size), buf: make([]byte, p.Size)}
	for i := range s.msg {
		s.msg[i] = byte(i)
	}
	return s, nil
}

// first makes one untimed exchange: the child's start-up (1–2 ms of Go
// runtime initialisation) must not count in the warmup's estimate.
func (s *session) first() error {
	if s.p.Kind == "Throughput" {
		if err := s.conn.Recv(s.buf); err != nil {
			return fmt.Errorf("first message: %w", eofIsChildGone(err))
		}
		s.seq = 1
		return nil
	}
	if err := s.conn.Send(s.msg); err != nil {
		return fmt.Errorf("first send: %w", err)
	}
	if err := s.conn.Recv(s.buf); err != nil {
		return fmt.Errorf("first reply: %w", eofIsChildGone(err))
	}
	return nil
}

// op is one timed operation: a round trip, or one message received. The
// sequence number in the first 8 bytes is checked every time.
func (s *session) op() error {
	c, check := s.conn, s.p.Size >= 8
	if s.p.Kind == "Throughput" {
		if err := c.Recv(s.buf); err != nil {
			return fmt.Errorf("message %d: %w", s.seq, eofIsChildGone(err))
		}
		if check && binary.LittleEndian.Uint64(s.buf) != s.seq {
			return fmt.Errorf("message %d arrived as %d (lost or reordered)", s.seq, binary.LittleEndian.Uint64(s.buf))
		}
		s.seq++
		return nil
	}
	s.seq++
	if check {
		binary.LittleEndian.PutUint64(s.msg, s.seq)
	}
	if err := c.Send(s.msg); err != nil {
		return fmt.Errorf("round trip %d: send: %w", s.seq, err)
	}
	if err := c.Recv(s.buf); err != nil {
		return fmt.Errorf("round trip %d: %w", s.seq, eofIsChildGone(err))
	}
	if check && binary.LittleEndian.Uint64(s.buf) != s.seq {
		return fmt.Errorf("round trip %d: reply carries message %d (lost or reordered)", s.seq, binary.LittleEndian.Uint64(s.buf))
	}
	return nil
}

// finish closes the pair and returns the child's report; err is the loop's.
func (s *session) finish(err error) (childReport, error) {
	s.conn.Close()
	werr := s.child.wait(10 * time.Second)
	if err != nil {
		if werr != nil {
			return childReport{}, fmt.Errorf("%v (child: %v)", err, werr)
		}
		return childReport{}, err
	}
	if werr != nil {
		return childReport{}, fmt.Errorf("child: %w", werr)
	}
	return readReport(s.child.out.String())
}

func (p *Pair) runSingle(ctx context.Context, b *bench.B) (err error) {
	s, err := p.start(ctx, p.ChildCPU)
	if err != nil {
		return err
	}
	b.TrackProcess(s.child.cmd.Process.Pid)
	defer func() {
		r, ferr := s.finish(err)
		switch {
		case errors.Is(ferr, errNoReport):
			b.Warn("no CPU figures from the child: %v", ferr)
		case ferr != nil:
			err = ferr
		default:
			reportChild(b, r)
		}
	}()
	unpin, err := pin(p.Mode, p.ParentCPU)
	if err != nil {
		return err
	}
	defer unpin()
	if err := s.first(); err != nil {
		return err
	}
	defer gcOff(p.Mode)()
	defer rawLoop(s.conn.Conn, runtime.GOMAXPROCS(0)-1)()
	for b.Loop() {
		if err := s.op(); err != nil {
			return err
		}
	}
	return nil
}

// runParallel runs Cores pairs at once, each on its own goroutine, thread
// and child, on the CPUs PlacePairs chose.
func (p *Pair) runParallel(ctx context.Context, b *bench.B) error {
	n := p.Cores
	prev := runtime.GOMAXPROCS(bench.ParallelGOMAXPROCS(n))
	defer runtime.GOMAXPROCS(prev)
	if p.Mode == transports.Go {
		// Goroutines move between threads: confine the whole process to the
		// parents' CPUs rather than pin threads.
		var cpus []int
		for _, c := range p.Pairs {
			cpus = append(cpus, c[0])
		}
		unpin, err := bench.PinProcess(cpus...)
		if err != nil {
			return err
		}
		defer unpin()
	}
	sessions := make([]*session, n)
	for i := range sessions {
		s, err := p.start(ctx, p.Pairs[i][1])
		if err != nil {
			for _, o := range sessions[:i] {
				o.finish(err)
			}
			return fmt.Errorf("pair %d: %w", i, err)
		}
		sessions[i] = s
		b.TrackProcess(s.child.cmd.Process.Pid)
	}
	var mu sync.Mutex
	var total childReport
	defer gcOff(p.Mode)()
	err := b.Parallel(n, func(w *bench.Worker) (err error) {
		s := sessions[w.ID()]
		defer func() {
			r, ferr := s.finish(err)
			if ferr != nil && !errors.Is(ferr, errNoReport) {
				err = ferr // carries the loop's error and the child's exit
			}
			mu.Lock()
			total.Ops += r.Ops
			total.UserNS += r.UserNS
			total.SysNS += r.SysNS
			total.Nvcsw += r.Nvcsw
			total.Nivcsw += r.Nivcsw
			total.MaxRSSKB = max(total.MaxRSSKB, r.MaxRSSKB)
			mu.Unlock()
		}()
		if p.Mode != transports.Go {
			unpin, err := bench.Pin(p.Pairs[w.ID()][0])
			if err != nil {
				return err
			}
			defer unpin()
		}
		if err := s.first(); err != nil {
			return err
		}
		defer rawLoop(s.conn.Conn, runtime.GOMAXPROCS(0)-n)()
		for w.Next() {
			if err := s.op(); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		reportChild(b, total)
	}
	return err
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
	defer gcOff(tr.Mode())()
	defer rawLoop(c, runtime.GOMAXPROCS(0)-1)()
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
