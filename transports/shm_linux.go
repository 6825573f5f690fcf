package transports

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shared memory: one memfd mapped MAP_SHARED by both processes, holding two
// rings (parent→child, child→parent) of shmSlots slots each. Messages larger
// than a slot travel as consecutive slots (stream semantics, like a pipe).
//
// Memory-ordering protocol (one producer and one consumer per ring):
//   - head counts slots published by the producer, tail slots released by the
//     consumer; both are uint32 and wrap (head-tail is the fill level).
//   - Producer: wait until head-tail < shmSlots; copy the payload into slot
//     head%shmSlots and store its length; then head.Swap(head+1). Go's
//     atomics are sequentially consistent, so this store is a release: a
//     consumer whose atomic load sees the new head also sees the payload.
//   - Consumer: load head (acquire); if it differs from tail, copy slot
//     tail%shmSlots out; then tail.Swap(tail+1), which releases the slot
//     (the producer's later write cannot overtake our read of it).
//   - Sleeping (futex, eventfd) uses a waiter flag per direction, Dekker
//     style: the waiter stores flag=1 then re-loads the counter; the other
//     side stores the counter then loads the flag. If neither store can be
//     passed by the load after it, at least one side sees the other's store,
//     so a wakeup is never lost: either the waiter sees the new counter and
//     does not sleep, or the waker sees the flag and wakes it. FUTEX_WAIT
//     also re-checks the counter in the kernel and returns EAGAIN if moved.
//     Those two stores are Swaps: an XCHG, a full barrier on x86. A Store
//     is one too in normal builds, but under the race detector Go's atomic
//     Store becomes a release store (a plain MOV) that a later load may
//     pass, and wakeups were lost (seen: a hang under go test -race).
//   - Every counter and flag sits on its own 128-byte line (adjacent-line
//     prefetch pairs 64-byte lines on x86), so the producer's and consumer's
//     hot words do not false-share. A slot's length word shares the line of
//     its first payload bytes: one line moves for a small message, not two.
//   - The consumer publishes tail lazily: every half ring, and whenever it
//     is about to wait for data (spin: after a short spin; futex/eventfd:
//     before sleeping). A producer that finds the ring full therefore always
//     gets space eventually, and in a ping-pong the tail line never moves:
//     the reply is the acknowledgement, as in a hand-written ping-pong.
//   - Each side caches the other side's counter (the producer its last view
//     of tail, the consumer of head) and re-reads the shared word only when
//     the cached value says "full" or "empty". A stale cache only
//     underestimates progress, so it is safe, and it saves one cache-line
//     transfer per message, which is most of the cost of a spin round trip.
//   - wclosed (producer closed) and rclosed (consumer closed) end the
//     channel: a consumer that finds the ring empty and wclosed set returns
//     io.EOF; a producer that finds rclosed set returns ErrClosed.
//   - The kernel cannot tell us that the peer died (unlike a pipe). The
//     parent calls Abort when its child exits; futex waits also time out
//     every 100 ms to re-check, so even a missed Abort cannot hang.
const (
	shmLine     = 128
	shmSlots    = 8
	shmSlotSize = 64 << 10
	// One ring's control block, a line per word; the slots' length words
	// share head's line (written before head, read after it).
	offHead     = 0 * shmLine
	offLens     = offHead + 8 // shmSlots uint32, within the 128-byte block
	offTail     = 1 * shmLine
	offWaitData = 2 * shmLine
	offWaitSpc  = 3 * shmLine
	offWClosed  = 4 * shmLine
	offRClosed  = 5 * shmLine
	ctrlSize    = 6 * shmLine
	offSlots    = 4096
	shmSize     = offSlots + 2*shmSlots*shmSlotSize
)

type waitKind int

const (
	waitSpin waitKind = iota
	waitFutex
	waitEventfd
)

var waitNames = map[waitKind]string{waitSpin: "shm-spin", waitFutex: "shm-futex", waitEventfd: "shm-eventfd"}

type shmTransport struct{ wait waitKind }

var _ Transport = (*shmTransport)(nil)

func (t *shmTransport) Name() string { return waitNames[t.wait] }
func (t *shmTransport) Mode() Mode   { return Raw }

// ring is one direction's view into the mapping.
type ring struct {
	head, tail, waitData, waitSpace, wclosed, rclosed *atomic.Uint32
	lens                                              [shmSlots]*atomic.Uint32
	base                                              []byte // the ring's slots
	dataEv, spaceEv                                   int    // eventfds (waitEventfd only)
	// seen is this side's private cache of the other side's counter: the
	// producer's last view of tail, the consumer's last view of head.
	seen uint32
	// next and published are the consumer's private tail (slots consumed)
	// and the last value it stored into the shared tail.
	next, published uint32
	// sink is the eventfd read buffer of this ring's waits. One per ring,
	// not per Conn: Send (waiting for space on tx) and Recv (waiting for
	// data on rx) may run on two goroutines at once (an open-loop
	// sender and receiver), and must share nothing they write.
	sink [8]byte
}

func (r *ring) slotLen(i uint32) *atomic.Uint32 { return r.lens[i%shmSlots] }

func (r *ring) payload(i uint32) []byte {
	off := int(i%shmSlots) * shmSlotSize
	return r.base[off : off+shmSlotSize]
}

func word(b []byte, off int) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Pointer(&b[off])) }

// newRing maps ring idx (produced by process idx, consumed by the other).
func newRing(mem []byte, idx int, evs []int) ring {
	c := idx * ctrlSize
	r := ring{head: word(mem, c+offHead), tail: word(mem, c+offTail),
		waitData: word(mem, c+offWaitData), waitSpace: word(mem, c+offWaitSpc), wclosed: word(mem, c+offWClosed), rclosed: word(mem, c+offRClosed),
		base: mem[offSlots+idx*shmSlots*shmSlotSize : offSlots+(idx+1)*shmSlots*shmSlotSize], dataEv: -1, spaceEv: -1}
	for i := range r.lens {
		r.lens[i] = word(mem, c+offLens+4*i)
	}
	if evs != nil {
		r.dataEv, r.spaceEv = evs[2*idx], evs[2*idx+1]
	}
	return r
}

type shmConn struct {
	wait    waitKind
	mem     []byte
	files   []*os.File
	tx, rx  ring
	partial uint32 // bytes of the current rx slot already copied out
	aborted atomic.Bool
	closed  bool
	ts      unix.Timespec // futex timeout, kept here so the syscall arg does not allocate
	one     [8]byte       // eventfd increment (only read)
}

// Pair creates the mapping (and the eventfds) and the parent's end.
func (t *shmTransport) Pair() (Conn, []*os.File, error) {
	fd, err := unix.MemfdCreate("ipcbench-"+t.Name(), unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: memfd_create: %w", t.Name(), err)
	}
	files := []*os.File{os.NewFile(uintptr(fd), "ipcbench-shm")}
	if err := unix.Ftruncate(fd, shmSize); err != nil {
		closeFiles(files)
		return nil, nil, fmt.Errorf("%s: ftruncate: %w", t.Name(), err)
	}
	if t.wait == waitEventfd {
		for i := 0; i < 4; i++ {
			// Blocking eventfds: a waiter sleeps in read(2).
			efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
			if err != nil {
				closeFiles(files)
				return nil, nil, fmt.Errorf("%s: eventfd: %w", t.Name(), err)
			}
			files = append(files, os.NewFile(uintptr(efd), "ipcbench-eventfd"))
		}
	}
	// The parent keeps dups, so the child's copies can be closed after Start.
	mine := make([]*os.File, len(files))
	for i, f := range files {
		nfd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			closeFiles(files)
			closeFiles(mine)
			return nil, nil, fmt.Errorf("%s: dup: %w", t.Name(), err)
		}
		mine[i] = os.NewFile(uintptr(nfd), f.Name())
	}
	c, err := t.open(mine, 0)
	if err != nil {
		closeFiles(files)
		return nil, nil, err
	}
	return c, files, nil
}

// Open maps the child's end: it sends on ring 1 and receives on ring 0.
func (t *shmTransport) Open(files []*os.File) (Conn, error) { return t.open(files, 1) }

func (t *shmTransport) open(files []*os.File, side int) (Conn, error) {
	want := 1
	if t.wait == waitEventfd {
		want = 5
	}
	if len(files) != want {
		closeFiles(files)
		return nil, fmt.Errorf("%s: needs %d files, got %d", t.Name(), want, len(files))
	}
	mem, err := unix.Mmap(int(files[0].Fd()), 0, shmSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		closeFiles(files)
		return nil, fmt.Errorf("%s: mmap: %w", t.Name(), err)
	}
	var evs []int
	if t.wait == waitEventfd {
		for _, f := range files[1:] {
			evs = append(evs, int(f.Fd()))
		}
	}
	c := &shmConn{wait: t.wait, mem: mem, files: files, ts: unix.NsecToTimespec(int64(100 * time.Millisecond))}
	c.one[0] = 1 // eventfd adds a native-endian uint64; x86-64 is little-endian
	c.tx, c.rx = newRing(mem, side, evs), newRing(mem, 1-side, evs)
	return c, nil
}

// Send copies msg into as many slots as it needs.
func (c *shmConn) Send(msg []byte) error {
	r := &c.tx
	for off := 0; off < len(msg); {
		h := r.head.Load() // our own counter: no transfer
		if h-r.seen >= shmSlots {
			for r.seen = r.tail.Load(); h-r.seen >= shmSlots; r.seen = r.tail.Load() {
				if r.rclosed.Load() != 0 || c.aborted.Load() {
					return ErrClosed
				}
				c.waitSpace(r, h)
			}
		}
		if r.rclosed.Load() != 0 || c.aborted.Load() {
			return ErrClosed
		}
		n := copy(r.payload(h), msg[off:])
		r.slotLen(h).Store(uint32(n))
		// Publish (a release of the payload written above). Swap, not Store:
		// the flag load below must not pass this store (see fence).
		r.head.Swap(h + 1)
		if c.wait != waitSpin && r.waitData.Load() != 0 {
			c.wake(r.head, r.dataEv)
		}
		off += n
	}
	return nil
}

// Recv fills buf from as many slots as it takes.
func (c *shmConn) Recv(buf []byte) error {
	r := &c.rx
	for off := 0; off < len(buf); {
		t := r.next
		if r.seen == t {
			for r.seen = r.head.Load(); r.seen == t; r.seen = r.head.Load() {
				if c.aborted.Load() {
					return eofAt(off)
				}
				if r.wclosed.Load() != 0 {
					if r.head.Load() == t { // closed and drained
						return eofAt(off)
					}
					continue
				}
				c.waitData(r, t)
			}
		}
		n := r.slotLen(t).Load()
		k := copy(buf[off:], r.payload(t)[c.partial:n])
		off += k
		c.partial += uint32(k)
		if c.partial == n {
			c.partial = 0
			r.next = t + 1
			if r.next-r.published >= shmSlots/2 {
				c.publishTail(r)
			}
		}
	}
	return nil
}

// publishTail releases consumed slots to the producer (the store is a
// release: our reads of those slots cannot be overtaken by its writes).
func (c *shmConn) publishTail(r *ring) {
	if r.published == r.next {
		return
	}
	r.published = r.next
	r.tail.Swap(r.next) // a fence before the flag load, as in Send
	if c.wait != waitSpin && r.waitSpace.Load() != 0 {
		c.wake(r.tail, r.spaceEv)
	}
}

// waitData blocks (or spins) briefly until head moves past t; callers loop.
func (c *shmConn) waitData(r *ring, t uint32) {
	switch c.wait {
	case waitSpin:
		for i := 0; i < 4096; i++ {
			if r.head.Load() != t {
				return
			}
		}
		// No data for a while: the producer may be waiting for space.
		c.publishTail(r)
	case waitFutex:
		c.publishTail(r)
		r.waitData.Swap(1) // fence: the head load below must not pass it
		if r.head.Load() == t && r.wclosed.Load() == 0 && !c.aborted.Load() {
			c.futexWait(r.head, t)
		}
		r.waitData.Store(0)
	case waitEventfd:
		c.publishTail(r)
		r.waitData.Swap(1)
		if r.head.Load() == t && r.wclosed.Load() == 0 && !c.aborted.Load() {
			c.evWait(r, r.dataEv)
		}
		r.waitData.Store(0)
	}
}

// waitSpace blocks (or spins) briefly until the ring has a free slot.
func (c *shmConn) waitSpace(r *ring, h uint32) {
	switch c.wait {
	case waitSpin:
		for i := 0; i < 4096; i++ {
			if h-r.tail.Load() < shmSlots {
				return
			}
		}
	case waitFutex:
		r.waitSpace.Swap(1)
		if t := r.tail.Load(); h-t >= shmSlots && r.rclosed.Load() == 0 && !c.aborted.Load() {
			c.futexWait(r.tail, t)
		}
		r.waitSpace.Store(0)
	case waitEventfd:
		r.waitSpace.Swap(1)
		if h-r.tail.Load() >= shmSlots && r.rclosed.Load() == 0 && !c.aborted.Load() {
			c.evWait(r, r.spaceEv)
		}
		r.waitSpace.Store(0)
	}
}

func (c *shmConn) wake(w *atomic.Uint32, ev int) {
	switch c.wait {
	case waitFutex:
		futexWake(w)
	case waitEventfd:
		for {
			if _, err := unix.Write(ev, c.one[:]); err != unix.EINTR {
				return
			}
		}
	}
}

// futexWait sleeps while *w == val. Plain FUTEX_WAIT, not the PRIVATE
// variant: the word is shared between processes (docs/measuring.md, pitfall 9).
// EINTR (the runtime's preemption signal), EAGAIN (value moved) and the
// timeout all just return: the caller re-checks (pitfall 8).
func (c *shmConn) futexWait(w *atomic.Uint32, val uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWaitOp, uintptr(val), uintptr(unsafe.Pointer(&c.ts)), 0, 0)
}

// Futex operations (linux/futex.h); x/sys/unix does not export them.
const (
	futexWaitOp = 0
	futexWakeOp = 1
)

func futexWake(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWakeOp, 1, 0, 0, 0)
}

func (c *shmConn) evWait(r *ring, ev int) {
	// Reading resets the counter; a stale count only causes one extra loop.
	unix.Read(ev, r.sink[:])
}

// Abort marks both rings closed and wakes every waiter; used when the peer
// died, which the kernel does not signal for shared memory.
func (c *shmConn) Abort() {
	c.aborted.Store(true)
	c.markClosed()
}

func (c *shmConn) markClosed() {
	c.tx.wclosed.Store(1)
	c.rx.rclosed.Store(1)
	switch c.wait {
	case waitFutex:
		futexWake(c.tx.head)
		futexWake(c.rx.tail)
		futexWake(c.rx.head)
		futexWake(c.tx.tail)
	case waitEventfd:
		for _, ev := range []int{c.tx.dataEv, c.rx.spaceEv, c.rx.dataEv, c.tx.spaceEv} {
			unix.Write(ev, c.one[:])
		}
	}
}

// Close tells the peer (EOF on its Recv, ErrClosed on its Send) and unmaps.
func (c *shmConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.markClosed()
	errs := []error{unix.Munmap(c.mem)}
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	c.mem = nil
	return errors.Join(errs...)
}

var _ io.Closer = (*shmConn)(nil)
var _ Aborter = (*shmConn)(nil)
