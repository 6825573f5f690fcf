package transports

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// packetChunk bounds one SOCK_SEQPACKET message: a datagram larger than the
// socket buffer fails with EMSGSIZE, so larger messages travel as several
// records. Both ends cut at the same offsets, so reads never truncate.
const packetChunk = 64 << 10

// fdSet is what a pair maker returns: the parent's read and write fds (equal
// for sockets) and the child's fds in order (read, write) or (socket).
type fdSet struct {
	pr, pw int
	child  []int
	socket bool
}

// fdTransport is every fd mechanism, in either mode.
type fdTransport struct {
	name  string
	mode  Mode
	make  func() (fdSet, error)
	chunk int // 0: stream; >0: message boundaries every chunk bytes
}

var _ Transport = (*fdTransport)(nil)

func (t *fdTransport) Name() string { return t.name }
func (t *fdTransport) Mode() Mode   { return t.mode }

// Pair creates the fds blocking (raw mode must never see O_NONBLOCK, which
// lives on the shared open file description; docs/measuring.md, pitfall 3) and
// wraps the parent's in the mode's Conn.
func (t *fdTransport) Pair() (Conn, []*os.File, error) {
	s, err := t.make()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t.name, err)
	}
	files := make([]*os.File, len(s.child))
	for i, fd := range s.child {
		files[i] = os.NewFile(uintptr(fd), fmt.Sprintf("%s-child-%d", t.name, i))
	}
	var parent []*os.File
	if s.socket {
		parent = []*os.File{os.NewFile(uintptr(s.pr), t.name+"-parent")}
	} else {
		parent = []*os.File{os.NewFile(uintptr(s.pr), t.name+"-parent-r"), os.NewFile(uintptr(s.pw), t.name+"-parent-w")}
	}
	c, err := t.wrap(parent, s.socket)
	if err != nil {
		closeFiles(files)
		return nil, nil, err
	}
	return c, files, nil
}

// Open rebuilds the child's end.
func (t *fdTransport) Open(files []*os.File) (Conn, error) {
	want := 2
	if t.name != "pipe" {
		want = 1
	}
	if len(files) != want {
		closeFiles(files)
		return nil, fmt.Errorf("%s: child needs %d files, got %d", t.name, want, len(files))
	}
	return t.wrap(files, want == 1)
}

func (t *fdTransport) wrap(files []*os.File, socket bool) (Conn, error) {
	if t.mode == Raw {
		return newRawConn(files, t.chunk)
	}
	if socket {
		// net.FileConn dups the fd and puts the copy in non-blocking mode for
		// the poller; the original is closed right away, so nothing else
		// sees that flag.
		nc, err := net.FileConn(files[0])
		files[0].Close()
		if err != nil {
			return nil, fmt.Errorf("%s: net.FileConn: %w", t.name, err)
		}
		return &netConn{c: nc, chunk: t.chunk}, nil
	}
	r, err := pollable(files[0])
	if err != nil {
		files[1].Close()
		return nil, err
	}
	w, err := pollable(files[1])
	if err != nil {
		r.Close()
		return nil, err
	}
	return &fileConn{r: r, w: w}, nil
}

// pollable returns an *os.File that the runtime poller manages. A file made
// by os.NewFile from a blocking fd is not pollable (docs/measuring.md, pitfall
// 2): set O_NONBLOCK through SyscallConn (Fd() would undo it, pitfall 4)
// and wrap a dup, which os.NewFile then registers with the poller.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("pipe: syscallconn: %w", err)
	}
	var nfd int
	var cerr error
	err = rc.Control(func(fd uintptr) {
		if cerr = unix.SetNonblock(int(fd), true); cerr != nil {
			return
		}
		nfd, cerr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err = errors.Join(err, cerr); err != nil {
		return nil, fmt.Errorf("pipe: make pollable: %w", err)
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// rawConn does blocking read(2)/write(2) on raw fds. It keeps the *os.File
// values alive so their finalizers cannot close the fds under it
// (docs/measuring.md, pitfall 10), but never calls their methods in the loop.
type rawConn struct {
	files  []*os.File
	rfd    int
	wfd    int
	chunk  int
	closed bool
	raw    bool // syscall.RawSyscall instead of syscall.Syscall (see SetRawSyscalls)
}

// SetRawSyscalls implements RawSyscaller.
func (c *rawConn) SetRawSyscalls(on bool) { c.raw = on }

func (c *rawConn) write(b []byte) (int, error) {
	if !c.raw {
		return unix.Write(c.wfd, b)
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(c.wfd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func (c *rawConn) read(b []byte) (int, error) {
	if !c.raw {
		return unix.Read(c.rfd, b)
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(c.rfd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func newRawConn(files []*os.File, chunk int) (*rawConn, error) {
	c := &rawConn{files: files, chunk: chunk}
	// Fd() puts the descriptor in blocking mode, which is what raw wants.
	c.rfd = int(files[0].Fd())
	c.wfd = c.rfd
	if len(files) > 1 {
		c.wfd = int(files[1].Fd())
	}
	return c, nil
}

// Send writes all of msg: through syscall.Syscall by default, which tells
// the runtime the thread may block (other goroutines and the GC go on);
// through RawSyscall once SetRawSyscalls(true) was called (pitfall 7 says
// when that is safe).
func (c *rawConn) Send(msg []byte) error {
	for off := 0; off < len(msg); {
		end := len(msg)
		if c.chunk > 0 && end-off > c.chunk {
			end = off + c.chunk
		}
		n, err := c.write(msg[off:end])
		if err != nil {
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			return fmt.Errorf("write: %w", err)
		}
		off += n
	}
	return nil
}

// Recv fills buf; with message boundaries it reads at most one chunk at a
// time so a record is never truncated.
func (c *rawConn) Recv(buf []byte) error {
	for off := 0; off < len(buf); {
		end := len(buf)
		if c.chunk > 0 && end-off > c.chunk {
			end = off + c.chunk
		}
		n, err := c.read(buf[off:end])
		if err != nil {
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if err == unix.ECONNRESET {
				return eofAt(off)
			}
			return fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			return eofAt(off)
		}
		off += n
	}
	return nil
}

func eofAt(off int) error {
	if off == 0 {
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}

func (c *rawConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// fileConn is the idiomatic pipe end: *os.File through the poller.
type fileConn struct {
	r, w   *os.File
	closed bool
}

func (c *fileConn) Send(msg []byte) error {
	_, err := c.w.Write(msg)
	return err
}

func (c *fileConn) Recv(buf []byte) error {
	_, err := io.ReadFull(c.r, buf)
	return err
}

func (c *fileConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return errors.Join(c.r.Close(), c.w.Close())
}

// netConn is the idiomatic socket end: net.Conn through the poller.
type netConn struct {
	c      net.Conn
	chunk  int
	closed bool
}

func (c *netConn) Send(msg []byte) error {
	if c.chunk == 0 {
		_, err := c.c.Write(msg)
		return err
	}
	for off := 0; off < len(msg); off += c.chunk {
		if _, err := c.c.Write(msg[off:min(off+c.chunk, len(msg))]); err != nil {
			return err
		}
	}
	return nil
}

func (c *netConn) Recv(buf []byte) error {
	if c.chunk == 0 {
		_, err := io.ReadFull(c.c, buf)
		return netEOF(err)
	}
	for off := 0; off < len(buf); {
		n, err := c.c.Read(buf[off:min(off+c.chunk, len(buf))])
		off += n
		if err != nil {
			if err == io.EOF {
				return eofAt(off - n)
			}
			return netEOF(err)
		}
		if n == 0 {
			return eofAt(off)
		}
	}
	return nil
}

// netEOF maps a reset by a peer that exited to EOF, as for a clean close.
func netEOF(err error) error {
	if errors.Is(err, syscall.ECONNRESET) {
		return io.EOF
	}
	return err
}

func (c *netConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.c.Close()
}

func pipePair() (fdSet, error) {
	var p2c, c2p [2]int
	if err := unix.Pipe2(p2c[:], unix.O_CLOEXEC); err != nil {
		return fdSet{}, fmt.Errorf("pipe2: %w", err)
	}
	if err := unix.Pipe2(c2p[:], unix.O_CLOEXEC); err != nil {
		unix.Close(p2c[0])
		unix.Close(p2c[1])
		return fdSet{}, fmt.Errorf("pipe2: %w", err)
	}
	// Parent reads child→parent and writes parent→child; the child the reverse.
	return fdSet{pr: c2p[0], pw: p2c[1], child: []int{p2c[0], c2p[1]}}, nil
}

func socketPair(typ int) (fdSet, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fdSet{}, fmt.Errorf("socketpair: %w", err)
	}
	return fdSet{pr: fds[0], pw: fds[0], child: []int{fds[1]}, socket: true}, nil
}

func unixStreamPair() (fdSet, error) { return socketPair(unix.SOCK_STREAM) }

// acceptOwn accepts on ln the connection of our own client cl: any local
// process can connect to a loopback port between our listen and connect,
// so a connection whose peer is not cl's address is closed and the next
// one taken (a few strangers at most: then the pair fails).
func acceptOwn(ln, cl int) (int, error) {
	own, err := unix.Getsockname(cl)
	if err != nil {
		return -1, fmt.Errorf("getsockname: %w", err)
	}
	want, ok := own.(*unix.SockaddrInet4)
	if !ok {
		return -1, fmt.Errorf("getsockname: not IPv4: %T", own)
	}
	for tries := 0; tries < 8; {
		srv, peer, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("accept: %w", err)
		}
		if p, ok := peer.(*unix.SockaddrInet4); ok && p.Port == want.Port && p.Addr == want.Addr {
			return srv, nil
		}
		unix.Close(srv) // a stranger's connection
		tries++
	}
	return -1, errors.New("accept: only strangers connected to our loopback port")
}
func unixPacketPair() (fdSet, error) { return socketPair(unix.SOCK_SEQPACKET) }

// tcpPair connects two blocking TCP sockets over 127.0.0.1 on an ephemeral
// port, TCP_NODELAY on both; the listener is closed once accepted.
func tcpPair() (fdSet, error) {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fdSet{}, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(ln)
	lo := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(ln, lo); err != nil {
		return fdSet{}, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		return fdSet{}, fmt.Errorf("listen: %w", err)
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		return fdSet{}, fmt.Errorf("getsockname: %w", err)
	}
	cl, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fdSet{}, fmt.Errorf("socket: %w", err)
	}
	// A blocking connect to a listening loopback socket completes at once
	// (the handshake is done by the kernel against the backlog).
	for {
		err = unix.Connect(cl, sa)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(cl)
		return fdSet{}, fmt.Errorf("connect: %w", err)
	}
	srv, err := acceptOwn(ln, cl)
	if err != nil {
		unix.Close(cl)
		return fdSet{}, err
	}
	for _, fd := range []int{cl, srv} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			unix.Close(cl)
			unix.Close(srv)
			return fdSet{}, fmt.Errorf("TCP_NODELAY: %w", err)
		}
	}
	return fdSet{pr: cl, pw: cl, child: []int{srv}, socket: true}, nil
}
