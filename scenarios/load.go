package scenarios

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/transports"
)

// Load measures latency under offered load over one transport: the parent
// sends size-byte messages on a fixed schedule (constant or Poisson
// arrivals at Rate per second) whatever happened to earlier ones, the echo
// child (the round trip's, which echoes in order) sends each one back, and
// each message's latency runs from its scheduled send to its reply. The
// sender and the receiver are apart: sending never waits for a reply, only
// for the in-flight window. One op is one message; the main figure is the
// latency; service time and lag are phases. See openloop.go for the
// machinery, and results/load.go for the vocabulary and the sweep.
//
// Threads. raw mode: the sender, the receiver and the recorder each on a
// locked thread pinned to the parent's CPU (the sender to a third CPU when
// the receiver busy-polls), reads and writes through syscall.Syscall, the
// GC off during the run. Not RawSyscall, unlike the closed loop: a thread
// blocked in RawSyscall holds its P and stops a stop-the-world from
// completing (docs/measuring.md, pitfalls 7 and 14), and here the
// receiver's read can only complete once our own sender sends, which a
// stop-the-world has stopped: a deadlock, where the closed loop's single
// thread has none.
// go mode: the whole process confined to the parent's CPU, the receiver a
// plain goroutine on the poller; the sender still paces on a locked thread
// (the generator's precision is not the transport's to pay for).
//
// Conns are used by two goroutines at once, Send on one and Recv on the
// other: every transport keeps the two directions apart (fd pairs and
// sockets in the kernel; shared memory has one ring per direction, each
// single-producer single-consumer, see transports/shm_linux.go; channel
// encodes and decodes with separate state).
type Load struct {
	Pair
	Rate     float64
	Arrivals string
	Window   int
	SLO      units.SLO
	// SpinAhead: the generator's busy wait before each send (0: calibrated
	// on the sending thread; negative: sleep only).
	SpinAhead time.Duration
	Seed      uint64
	// SenderCPU is the sender's CPU: the parent's, or a third one when the
	// receiver busy-polls (it would take the CPU the sender needs).
	SenderCPU int

	family  *family // the rate sweep this step belongs to (nil: a rate given)
	acc     loadAcc
	spun    time.Duration
	verdict string
	why     string
}

// Name implements bench.Scenario.
func (l *Load) Name() results.Name {
	return results.NewName(results.ScenarioLoad, results.KeyTransport, l.Transport.Name, results.KeyMode, string(l.Mode),
		results.KeySize, strconv.Itoa(l.Size), results.KeyPlacement, l.Placement, results.KeyArrivals, l.Arrivals,
		results.KeyRate, units.FormatRate(l.Rate), results.KeyCores, "1")
}

// SkipReason implements bench.Skipper: what the pair cannot do here, or a
// rate beyond two already saturated in its sweep.
func (l *Load) SkipReason() string {
	if l.skip != "" {
		return l.skip
	}
	if l.family != nil {
		return l.family.beyond(l.Rate)
	}
	return ""
}

// ExtraParams implements bench.ParamsReporter.
func (l *Load) ExtraParams() map[string]string {
	m := l.Pair.ExtraParams()
	m["io"] = l.ioPath()
	m["sender_cpu"] = strconv.Itoa(l.SenderCPU)
	loadParams(m, l.SLO, l.Window, l.spun, l.Arrivals, l.Seed, l.verdict, l.why)
	return m
}

func loadParams(m map[string]string, slo units.SLO, window int, spun time.Duration, arrivals string, seed uint64, verdict, why string) {
	m[results.ParamSLO] = "none"
	if !slo.IsZero() {
		m[results.ParamSLO] = slo.String()
	}
	m[results.ParamWindow] = strconv.Itoa(window)
	m[results.ParamSpinAhead] = spun.String()
	if arrivals == results.ArrivalsPoisson {
		m["seed"] = strconv.FormatUint(seed, 10)
	}
	if verdict != "" {
		m[results.ParamVerdict] = verdict
	}
	if why != "" {
		m["verdict_reason"] = why
	}
}

func (l *Load) ioPath() string {
	switch {
	case l.Transport.SharedMemory:
		return "shared memory, sender and receiver on two locked threads"
	case l.Mode == transports.Go:
		return "runtime poller (os.File / net.Conn), sender pacing on a locked thread"
	}
	return "syscall.Syscall on locked threads (sender, receiver), GC off during the run"
}

// Run implements bench.Scenario: one open-loop run at the offered rate.
func (l *Load) Run(ctx context.Context, b *bench.B) error {
	b.OpenLoop()
	if l.warn != "" {
		b.Warn(results.WarnScenario, "%s", l.warn)
	}
	if l.PlaceNote != "" {
		b.Warn(results.WarnPlacement, "placement: %s", l.PlaceNote)
	}
	// A P for each of the three locked threads and one for the runtime
	// (the child watcher, timers): the receiver must never wait for a P
	// when its reply arrives.
	prev := runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4))
	defer runtime.GOMAXPROCS(prev)
	s, err := l.start(ctx, l.ChildCPU)
	if err != nil {
		return err
	}
	b.TrackProcess(s.child.proc.Pid())
	runErr := l.run(ctx, b, s)
	r, ferr := s.finish(runErr)
	switch {
	case errors.Is(ferr, errNoReport):
		b.Warn(results.WarnMeasurement, "no CPU figures from the child: %v", ferr)
	case ferr != nil:
		return ferr
	default:
		reportChild(b, r)
	}
	return nil
}

// run is the open loop over a started pair; the caller finishes the pair.
func (l *Load) run(ctx context.Context, b *bench.B, s *session) error {
	if l.Mode == transports.Go {
		// After the child started (it must not inherit the confinement).
		unpin, err := sys.PinProcess(l.ParentCPU, l.SenderCPU)
		if err != nil {
			return err
		}
		defer unpin()
	}
	if err := s.first(); err != nil {
		return err
	}
	return l.drive(ctx, b, s.conn, s.child.proc.Kill)
}

// drive runs the open loop over conn, whose peer echoes in order; kill
// ends the peer when it does not finish in time after the run.
func (l *Load) drive(ctx context.Context, b *bench.B, conn transports.Conn, kill func()) error {
	// Raw mode: the GC off for the run (nothing in the three loops
	// allocates per message); RawSyscall stays off (see Load).
	defer transports.EnterRaw(l.Mode, 0)()
	unpin, err := l.pin(l.ParentCPU)
	if err != nil {
		return err
	}
	defer unpin()

	o := newOpenLoop(l.Rate, l.Arrivals, l.Seed, l.Window)
	o.startWhat = "the transport's send"
	msg := make([]byte, l.Size)
	ready := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		unpin, err := l.pin(l.SenderCPU)
		if err != nil {
			ready <- err
			return
		}
		defer unpin()
		o.prepare(l.SpinAhead)
		ready <- nil
		n := o.send(func(k int64) error {
			if l.Size >= 8 {
				binary.LittleEndian.PutUint64(msg, uint64(k))
			}
			if err := conn.Send(msg); err != nil {
				return fmt.Errorf("message %d: send: %w", k, err)
			}
			return nil
		})
		// One message past the last: its reply tells the receiver that
		// the run is over, so it never waits for a message not sent.
		o.final.Store(n)
		if l.Size >= 8 {
			binary.LittleEndian.PutUint64(msg, uint64(n))
		}
		if err := conn.Send(msg); err != nil {
			o.fail(fmt.Errorf("last message: send: %w", err))
		}
	})
	if err := <-ready; err != nil {
		wg.Wait()
		return err
	}
	l.spun = time.Duration(o.pace.spin)
	wg.Go(func() { l.receive(o, conn) })

	v := &visit{}
	err = o.record(ctx, b, v)
	o.halt()
	if werr := waitOrKill(&wg, kill); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		err = o.failed()
	}
	if err != nil {
		return err
	}
	l.verdict, l.why = l.acc.finish(b, o, v, l.Rate, l.SLO, l.family)
	return nil
}

// pin puts the calling goroutine on a locked thread, pinned to cpu in raw
// mode (in go mode the process is confined already).
func (l *Load) pin(cpu int) (func(), error) {
	if l.Mode == transports.Go {
		runtime.LockOSThread()
		return runtime.UnlockOSThread, nil
	}
	return sys.Pin(cpu)
}

// receive stamps each reply and checks its sequence number, until the
// reply to the message past the last.
func (l *Load) receive(o *openLoop, conn transports.Conn) {
	if l.Mode != transports.Go {
		unpin, err := sys.Pin(l.ParentCPU)
		if err != nil {
			o.fail(err)
			return
		}
		defer unpin()
	}
	buf := make([]byte, l.Size)
	for k := int64(0); ; k++ {
		if err := conn.Recv(buf); err != nil {
			o.fail(fmt.Errorf("reply %d: %w", k, eofIsChildGone(err)))
			return
		}
		// The clock read is the first thing after the reply arrived.
		now := o.now()
		if l.Size >= 8 {
			if got := binary.LittleEndian.Uint64(buf); got != uint64(k) {
				o.fail(fmt.Errorf("reply %d carries message %d (lost or reordered)", k, got))
				return
			}
		}
		if k == o.final.Load() {
			return
		}
		o.complete(k, now)
	}
}

// waitOrKill waits for the parties in wg to end (sender and receiver; or
// each child's waiter); if they have not 10 s after the run (a child
// stopped, or stuck), it kills the peer (or every live child), which ends
// them (EOF, or ErrClosed through shared memory's Abort; a reaped child).
func waitOrKill(wg *sync.WaitGroup, kill func()) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
	}
	kill()
	<-done
	return errStopTimeout
}
