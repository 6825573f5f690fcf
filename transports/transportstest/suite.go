// Package transportstest is the conformance suite every transport must
// pass, in the manner of golang.org/x/net/nettest: exact delivery at every
// size, ordering in both directions, EOF when the peer closes, each run
// in-process (the peer in a goroutine) and across a real child process.
//
// A test binary that runs the suite across processes must call
// child.Run(transportstest.Roles()) first thing in TestMain.
package transportstest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/transports"
)

// Sizes covers one byte, odd sizes, page and slot boundaries and the limit.
var Sizes = []int{1, 7, 64, 4095, 4096, 65536, 65537, 200_000, 1 << 20}

const role = "transportstest-peer"

// Roles returns the child role the cross-process tests start.
func Roles() child.Roles {
	return child.Roles{role: childPeer}
}

func childPeer(ctx context.Context, files []*os.File, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("peer: want transport mode behaviour, got %q", args)
	}
	tr, err := transports.New(args[0], transports.Mode(args[1]))
	if err != nil {
		return err
	}
	c, err := tr.Open(files)
	if err != nil {
		return err
	}
	defer c.Close()
	return Peer(c, args[2])
}

// Fill writes a pattern derived from seq into b; Check verifies it.
func Fill(b []byte, seq uint64) {
	for i := range b {
		b[i] = byte(seq*31 + uint64(i)*7)
	}
	if len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, seq)
	}
}

// Check reports whether b holds Fill's pattern for seq.
func Check(b []byte, seq uint64) error {
	if len(b) >= 8 {
		if got := binary.LittleEndian.Uint64(b); got != seq {
			return fmt.Errorf("message %d arrived where %d was due (reordered or lost)", got, seq)
		}
	}
	for i := 8; i < len(b); i++ {
		if b[i] != byte(seq*31+uint64(i)*7) {
			return fmt.Errorf("message %d: byte %d corrupted", seq, i)
		}
	}
	if len(b) < 8 {
		for i := range b {
			if b[i] != byte(seq*31+uint64(i)*7) {
				return fmt.Errorf("message %d: byte %d corrupted", seq, i)
			}
		}
	}
	return nil
}

// orderCases are the (size, count) pairs of the ordering tests: many small
// messages, and a few that span several shared-memory slots and packets.
var orderCases = []struct{ size, count int }{{100, 500}, {70_000, 20}}

// Peer is the far end's behaviour:
//   - script: echo 3 messages at every size of Sizes; stream each order
//     case to the parent; sink each order case from the parent and ack it;
//     then wait for the parent to close (io.EOF);
//   - stream: send the order cases, then close first.
func Peer(c transports.Conn, behaviour string) error {
	switch behaviour {
	case "script":
		for _, size := range Sizes {
			buf := make([]byte, size)
			for i := 0; i < 3; i++ {
				if err := c.Recv(buf); err != nil {
					return fmt.Errorf("echo %d bytes: recv: %w", size, err)
				}
				if err := c.Send(buf); err != nil {
					return fmt.Errorf("echo %d bytes: send: %w", size, err)
				}
			}
		}
		if err := stream(c); err != nil {
			return err
		}
		for _, oc := range orderCases {
			buf := make([]byte, oc.size)
			for i := 0; i < oc.count; i++ {
				if err := c.Recv(buf); err != nil {
					return fmt.Errorf("sink recv %d: %w", i, err)
				}
				if err := Check(buf, uint64(i)); err != nil {
					return err
				}
			}
			var ack [8]byte
			binary.LittleEndian.PutUint64(ack[:], uint64(oc.count))
			if err := c.Send(ack[:]); err != nil {
				return err
			}
		}
		var one [1]byte
		if err := c.Recv(one[:]); err != io.EOF {
			return fmt.Errorf("want io.EOF once the parent closed, got %v", err)
		}
		return nil
	case "stream":
		if err := stream(c); err != nil {
			return err
		}
		return c.Close()
	}
	return fmt.Errorf("unknown behaviour %q", behaviour)
}

func stream(c transports.Conn) error {
	for _, oc := range orderCases {
		buf := make([]byte, oc.size)
		for i := 0; i < oc.count; i++ {
			Fill(buf, uint64(i))
			if err := c.Send(buf); err != nil {
				return fmt.Errorf("stream send %d: %w", i, err)
			}
		}
	}
	return nil
}

// peerFunc starts the far end over files and returns a func that waits for it.
type peerFunc func(t *testing.T, tr transports.Transport, files []*os.File, behaviour string) (wait func() error)

// tune is applied to both ends of in-process pairs (RunInProcess).
var tune func(transports.Conn)

func inProcess(t *testing.T, tr transports.Transport, files []*os.File, behaviour string) func() error {
	done := make(chan error, 1)
	fn := tune
	go func() {
		c, err := tr.Open(files)
		if err != nil {
			done <- err
			return
		}
		if fn != nil {
			fn(c)
		}
		err = Peer(c, behaviour)
		done <- errors.Join(err, c.Close())
	}()
	return func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			return errors.New("in-process peer hung")
		}
	}
}

func inChild(t *testing.T, tr transports.Transport, files []*os.File, behaviour string) func() error {
	// A hung peer is killed after a minute: it fails the test, not the suite.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	p, err := child.Self(ctx, role, files, tr.Name(), string(tr.Mode()), behaviour)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	err = p.Start()
	for _, f := range files {
		f.Close() // the child has its copies; ours would hide EOF (docs/measuring.md, pitfall 1)
	}
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() error {
		defer cancel()
		return p.Wait()
	}
}

// Run runs the whole suite over the transport newTr makes, both in-process
// and across a child process. One peer runs the whole script (a child
// start costs a second under the race detector), so a failure names the
// step where it happened.
func Run(t *testing.T, newTr func() transports.Transport) {
	for _, where := range []struct {
		name string
		peer peerFunc
	}{{"inprocess", inProcess}, {"child", inChild}} {
		t.Run(where.name, func(t *testing.T) {
			t.Run("Script", func(t *testing.T) { script(t, newTr(), where.peer) })
			t.Run("EOFWhenPeerClosesFirst", func(t *testing.T) { peerCloses(t, newTr(), where.peer) })
		})
	}
}

// RunInProcess runs the script in-process with tuneConn applied to both
// ends first (e.g. switching raw Conns to RawSyscall). Not parallel-safe.
func RunInProcess(t *testing.T, tr transports.Transport, tuneConn func(transports.Conn)) {
	tune = tuneConn
	defer func() { tune = nil }()
	script(t, tr, inProcess)
}

func script(t *testing.T, tr transports.Transport, peer peerFunc) {
	c, files, err := tr.Pair()
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	if tune != nil {
		tune(c)
	}
	wait := peer(t, tr, files, "script")
	defer func() {
		c.Close()
		if err := wait(); err != nil {
			t.Errorf("peer: %v", err)
		}
	}()
	// Exact delivery at every size, both directions.
	for _, size := range Sizes {
		msg := make([]byte, size)
		got := make([]byte, size)
		for i := 0; i < 3; i++ {
			Fill(msg, uint64(i+size))
			if err := c.Send(msg); err != nil {
				t.Fatalf("exact delivery, %d bytes: send: %v", size, err)
			}
			if err := c.Recv(got); err != nil {
				t.Fatalf("exact delivery, %d bytes: recv: %v", size, err)
			}
			if err := Check(got, uint64(i+size)); err != nil {
				t.Fatalf("exact delivery, %d bytes: %v", size, err)
			}
		}
	}
	// Ordering, child to parent.
	for _, oc := range orderCases {
		buf := make([]byte, oc.size)
		for i := 0; i < oc.count; i++ {
			if err := c.Recv(buf); err != nil {
				t.Fatalf("order child→parent, %d bytes: recv %d: %v", oc.size, i, err)
			}
			if err := Check(buf, uint64(i)); err != nil {
				t.Fatalf("order child→parent: %v", err)
			}
		}
	}
	// Ordering, parent to child (the child checks and acks the count).
	for _, oc := range orderCases {
		buf := make([]byte, oc.size)
		for i := 0; i < oc.count; i++ {
			Fill(buf, uint64(i))
			if err := c.Send(buf); err != nil {
				t.Fatalf("order parent→child, %d bytes: send %d: %v", oc.size, i, err)
			}
		}
		var ack [8]byte
		if err := c.Recv(ack[:]); err != nil {
			t.Fatalf("order parent→child: ack: %v", err)
		}
		if n := binary.LittleEndian.Uint64(ack[:]); n != uint64(oc.count) {
			t.Fatalf("order parent→child: peer got %d messages, want %d", n, oc.count)
		}
	}
	// The deferred Close must give the peer io.EOF (it checks).
}

func peerCloses(t *testing.T, tr transports.Transport, peer peerFunc) {
	c, files, err := tr.Pair()
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	wait := peer(t, tr, files, "stream")
	defer c.Close()
	for _, oc := range orderCases {
		buf := make([]byte, oc.size)
		for i := 0; i < oc.count; i++ {
			if err := c.Recv(buf); err != nil {
				t.Fatalf("%d bytes: recv %d: %v", oc.size, i, err)
			}
			if err := Check(buf, uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var one [1]byte
	if err := c.Recv(one[:]); err != io.EOF {
		t.Fatalf("after the peer closed: %v, want io.EOF", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("peer: %v", err)
	}
}
