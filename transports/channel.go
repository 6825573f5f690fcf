package transports

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
)

// channelTransport imitates, in Go, the framing of Node's
// child_process.fork() IPC channel: each message is serialised to JSON and
// written as one line over a Unix socketpair; the receiver splits lines and
// parses them. The payload travels as a JSON string, base64 of the bytes
// (Go's encoding of a []byte). Node itself serialises a Buffer as
// {"type":"Buffer","data":[...]}, an array of numbers, and runs in its own
// runtime: these are Go's figures for a Node-style channel, not Node's (the
// node scenario measures Node's own). It exists in go mode only: it is a
// message channel on the runtime poller.
type channelTransport struct{}

var _ Transport = channelTransport{}

func (channelTransport) Name() string { return "channel" }
func (channelTransport) Mode() Mode   { return Go }

type channelMsg struct {
	Seq  uint64 `json:"seq"`
	Data []byte `json:"data"`
}

type channelConn struct {
	c   net.Conn
	w   *bufio.Writer
	enc *json.Encoder
	dec *json.Decoder
	seq uint64
	in  channelMsg
	// closed makes Close idempotent, like every Conn.
	closed bool
}

func (channelTransport) Pair() (Conn, []*os.File, error) {
	s, err := unixStreamPair()
	if err != nil {
		return nil, nil, fmt.Errorf("channel: %w", err)
	}
	child := os.NewFile(uintptr(s.child[0]), "channel-child")
	c, err := newChannelConn(os.NewFile(uintptr(s.pr), "channel-parent"))
	if err != nil {
		child.Close()
		return nil, nil, err
	}
	return c, []*os.File{child}, nil
}

func (channelTransport) Open(files []*os.File) (Conn, error) {
	if len(files) != 1 {
		closeFiles(files)
		return nil, fmt.Errorf("channel: needs 1 file, got %d", len(files))
	}
	return newChannelConn(files[0])
}

func newChannelConn(f *os.File) (*channelConn, error) {
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("channel: net.FileConn: %w", err)
	}
	w := bufio.NewWriterSize(nc, 64<<10)
	return &channelConn{c: nc, w: w, enc: json.NewEncoder(w), dec: json.NewDecoder(bufio.NewReaderSize(nc, 64<<10))}, nil
}

func (c *channelConn) Send(msg []byte) error {
	c.seq++
	// Encode appends the '\n' that frames the message.
	if err := c.enc.Encode(channelMsg{Seq: c.seq, Data: msg}); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *channelConn) Recv(buf []byte) error {
	c.in.Data = c.in.Data[:0]
	if err := c.dec.Decode(&c.in); err != nil {
		if err == io.ErrUnexpectedEOF {
			return err
		}
		return netEOF(err)
	}
	if len(c.in.Data) != len(buf) {
		return fmt.Errorf("channel: message of %d bytes, want %d", len(c.in.Data), len(buf))
	}
	copy(buf, c.in.Data)
	return nil
}

func (c *channelConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.c.Close()
}
