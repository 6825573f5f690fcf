package scenarios

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
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
	Kind      string // results.ScenarioRoundTrip or results.ScenarioThroughput
	Transport transports.Info
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
}

// Name implements bench.Scenario.
func (p *Pair) Name() results.Name {
	return results.NewName(p.Kind, results.KeyTransport, p.Transport.Name, results.KeyMode, string(p.Mode),
		results.KeySize, strconv.Itoa(p.Size), results.KeyPlacement, p.Placement, results.KeyCores, strconv.Itoa(max(1, p.Cores)))
}

// SkipReason implements bench.Skipper.
func (p *Pair) SkipReason() string { return p.skip }

// ProfilesChildren implements bench.ChildProfiler: every pair's child lives
// for the whole benchmark and writes its own profile when asked.
func (p *Pair) ProfilesChildren() bool { return true }

// ExtraParams implements bench.ParamsReporter.
func (p *Pair) ExtraParams() map[string]string {
	m := map[string]string{"parent_cpu": strconv.Itoa(p.ParentCPU), "child_cpu": strconv.Itoa(p.ChildCPU),
		"transport_help": p.Transport.Help, "io": p.Transport.IOPath(p.Mode)}
	if len(p.Pairs) > 1 {
		var pl []string
		for _, c := range p.Pairs {
			pl = append(pl, fmt.Sprintf("%d/%d", c[0], c[1]))
		}
		m["pair_cpus"] = strings.Join(pl, ",")
	}
	return m
}

// defaultSizes are the message sizes measured unless --sizes says
// otherwise: a small and a large one (--full adds 4 KiB).
var (
	defaultSizes = []int{64, 65536}
	fullSizes    = []int{64, 4096, 65536}
)

// sweepPair: round trips across cores, same-core (each pair on a CPU of
// its own: the one placement where N pairs on N CPUs are meaningful), for
// the kernel's cheapest path (pipe, raw), an idiomatic Go socket (unix,
// go) and shared memory that sleeps (shm-futex), at the small size.
func sweepPair(p *Pair) bool {
	if p.Kind != results.ScenarioRoundTrip || p.Placement != results.SameCore || p.Size != defaultSizes[0] {
		return false
	}
	switch {
	case p.Transport.Name == "pipe" && p.Mode == transports.Raw,
		p.Transport.Name == "unix" && p.Mode == transports.Go,
		p.Transport.Name == "shm-futex":
		return true
	}
	return false
}

func buildRoundTrip(o Options) ([]bench.Scenario, error) {
	return buildPairs(results.ScenarioRoundTrip, o)
}

func buildThroughput(o Options) ([]bench.Scenario, error) {
	return buildPairs(results.ScenarioThroughput, o)
}

func buildPairs(kind string, o Options) ([]bench.Scenario, error) {
	sizes := o.Sizes
	switch {
	case len(sizes) > 0:
	case o.Full:
		sizes = fullSizes
	default:
		sizes = defaultSizes
	}
	for _, s := range sizes {
		if s <= 0 || s > MaxMessage {
			return nil, fmt.Errorf("message size %d out of range (1..%d)", s, MaxMessage)
		}
	}
	infos, err := pairTransports(o.Transports)
	if err != nil {
		return nil, err
	}
	placements := o.Placements
	if len(placements) == 0 {
		placements = []string{results.SameCore, results.CrossCore}
	}
	cpus := o.CPUs
	if len(cpus) == 0 {
		if cpus, err = sys.AllowedCPUs(); err != nil {
			return nil, err
		}
	}
	topo := sys.Topology(cpus)
	var out []bench.Scenario
	for _, info := range infos {
		for _, mode := range info.Modes {
			if len(o.Modes) > 0 && !slices.Contains(o.Modes, string(mode)) {
				continue
			}
			for _, size := range sizes {
				for _, pl := range placements {
					for _, n := range coresOf(o) {
						p := &Pair{Kind: kind, Transport: info, Mode: mode, Size: size, Placement: pl, Cores: n}
						if n > 1 && !o.SweepAll && !sweepPair(p) {
							continue
						}
						p.place(topo)
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

// pairTransports resolves the requested transport names (default: all).
func pairTransports(names []string) ([]transports.Info, error) {
	if len(names) == 0 {
		return transports.All(), nil
	}
	var out []transports.Info
	for _, n := range names {
		info, err := transports.Lookup(n)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// place puts the pairs on CPUs, or says why they cannot run here.
func (p *Pair) place(topo []results.CPUTopology) {
	pairs, note, err := sys.PlacePairs(p.Placement, topo, max(1, p.Cores))
	if err != nil {
		p.skip = err.Error()
		return
	}
	p.Pairs, p.PlaceNote = pairs, note
	p.ParentCPU, p.ChildCPU = pairs[0][0], pairs[0][1]
	if !p.Transport.BusyPolls {
		return
	}
	switch {
	case p.Placement == results.SameCore:
		p.skip = "busy polling cannot work on one core: each side spins away its time slice waiting for the other (milliseconds per message)"
	case p.Placement == results.Unpinned:
		p.warn = p.Transport.Name + " unpinned: if the scheduler puts both processes on one CPU, each message costs a time slice"
	case note != "":
		p.skip = "busy polling with pairs sharing CPUs cannot work (" + note + ")"
	}
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
// and the child, whose exit is watched.
func (p *Pair) startPeer(ctx context.Context, role string, childCPU int) (*guardedConn, *childProc, error) {
	tr, err := transports.New(p.Transport.Name, p.Mode)
	if err != nil {
		return nil, nil, err
	}
	conn, files, err := tr.Pair()
	if err != nil {
		return nil, nil, err
	}
	args := []string{p.Transport.Name, string(p.Mode), strconv.Itoa(p.Size), strconv.Itoa(childCPU), strconv.Itoa(p.dieAfter)}
	proc, err := child.Self(ctx, role, files, args...)
	if err != nil {
		closeAll(files)
		conn.Close()
		return nil, nil, err
	}
	cp := &childProc{proc: proc, exited: make(chan error, 1)}
	proc.Cmd.Stdout = &cp.out
	err = proc.Start()
	closeAll(files) // the child has its copies; ours would hide EOF
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	g := &guardedConn{Conn: conn}
	go func() {
		err := proc.Wait()
		// A dead peer is invisible through shared memory: wake our waits.
		g.abort()
		cp.exited <- err
	}()
	return g, cp, nil
}

type childProc struct {
	proc   *child.Proc
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

// Run implements bench.Scenario: one pair, or Cores pairs at once, each
// on its own goroutine, thread and child, on the CPUs PlacePairs chose.
func (p *Pair) Run(ctx context.Context, b *bench.B) error {
	if p.warn != "" {
		b.Warn(results.WarnScenario, "%s", p.warn)
	}
	if p.PlaceNote != "" {
		b.Warn(results.WarnPlacement, "placement: %s", p.PlaceNote)
	}
	if p.Kind == results.ScenarioThroughput {
		b.SetBytes(int64(p.Size))
	}
	n := max(1, p.Cores)
	if n > 1 {
		prev := runtime.GOMAXPROCS(bench.ParallelGOMAXPROCS(n))
		defer runtime.GOMAXPROCS(prev)
	}
	cpus := p.Pairs
	if len(cpus) < n {
		cpus = slices.Repeat([][2]int{{p.ParentCPU, p.ChildCPU}}, n)
	}
	sessions, err := p.startAll(ctx, b, cpus[:n])
	if err != nil {
		return err
	}
	if p.Mode == transports.Go {
		unpin, err := confineParents(cpus[:n])
		if err != nil {
			for _, s := range sessions {
				s.finish(err)
			}
			return err
		}
		defer unpin()
	}
	var reports childReports
	defer transports.EnterRaw(p.Mode, 0)() // the GC off, once for all pairs
	err = b.RunParallel(n, func(pb *bench.PB) (err error) {
		s := sessions[pb.ID()]
		defer func() { err = reports.finish(s, err) }()
		if p.Mode != transports.Go {
			unpin, err := sys.Pin(cpus[pb.ID()][0])
			if err != nil {
				return err
			}
			defer unpin()
		}
		if err := s.first(); err != nil {
			return err
		}
		defer transports.RawSyscalls(s.conn.Conn, runtime.GOMAXPROCS(0)-n)()
		for pb.Next() {
			if err := s.op(); err != nil {
				return err
			}
		}
		return nil
	})
	reports.attach(b, err)
	return err
}

// startAll starts one child per pair; on a failure the started ones are
// finished.
func (p *Pair) startAll(ctx context.Context, b *bench.B, cpus [][2]int) ([]*session, error) {
	sessions := make([]*session, len(cpus))
	for i := range sessions {
		s, err := p.start(ctx, cpus[i][1])
		if err != nil {
			for _, o := range sessions[:i] {
				o.finish(err)
			}
			if len(cpus) > 1 {
				err = fmt.Errorf("pair %d: %w", i, err)
			}
			return nil, err
		}
		sessions[i] = s
		b.TrackProcess(s.child.proc.Pid())
	}
	return sessions, nil
}

// confineParents confines the whole process to the parents' CPUs (go
// mode): goroutines move between threads, so pinning one thread would not
// hold them. It comes after the children started, which must not inherit
// the confinement.
func confineParents(cpus [][2]int) (func(), error) {
	var parents []int
	for _, c := range cpus {
		parents = append(parents, c[0])
	}
	return sys.PinProcess(parents...)
}

// childReports gathers what the pairs' children report as they finish.
type childReports struct {
	mu       sync.Mutex
	total    childReport
	noReport error
}

// finish ends a session and keeps its child's report; it returns the
// pair's error (the loop's, with the child's exit when it failed).
func (c *childReports) finish(s *session, err error) error {
	r, ferr := s.finish(err)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case errors.Is(ferr, errNoReport):
		c.noReport = ferr
	case ferr != nil:
		return ferr
	default:
		c.total.add(r)
	}
	return err
}

// attach puts the children's cost per op on the benchmark, or says why
// there is none.
func (c *childReports) attach(b *bench.B, err error) {
	if c.noReport != nil {
		b.Warn(results.WarnMeasurement, "no CPU figures from the child: %v", c.noReport)
	} else if err == nil {
		reportChild(b, c.total)
	}
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
	if p.Kind == results.ScenarioThroughput {
		role = streamRole
	}
	conn, cp, err := p.startPeer(ctx, role, childCPU)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, conn: conn, child: cp, msg: make([]byte, p.Size), buf: make([]byte, p.Size)}
	for i := range s.msg {
		s.msg[i] = byte(i)
	}
	return s, nil
}

// first makes one untimed exchange: the child's start-up (1–2 ms of Go
// runtime initialisation) must not count in the warmup's estimate.
func (s *session) first() error {
	if s.p.Kind == results.ScenarioThroughput {
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
	if s.p.Kind == results.ScenarioThroughput {
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
			return childReport{}, fmt.Errorf("%v (%v)", err, werr)
		}
		return childReport{}, err
	}
	if werr != nil {
		return childReport{}, werr
	}
	return readReport(s.child.out.String())
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
	unpin, err := transports.Pin(tr.Mode(), cpu)
	if err != nil {
		return err
	}
	defer unpin()
	buf := make([]byte, size)
	defer transports.EnterRaw(tr.Mode(), runtime.GOMAXPROCS(0)-1, c)()
	mark := sys.MarkRusage()
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
	return writeReport(os.Stdout, newReport(ops, mark.Since()))
}
