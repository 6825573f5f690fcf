package transports_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/transports"
)

// TestSendRecvConcurrently uses each end as an open loop does: Send on
// one goroutine while Recv runs on another, with many messages in flight
// (more than a shared-memory ring holds, so its sender waits for space
// while its receiver waits for data). Every message must come back once,
// in order; the race detector checks that the two directions share no
// unsynchronised state.
func TestSendRecvConcurrently(t *testing.T) {
	const n, size = 3000, 64
	for _, info := range transports.All() {
		for _, mode := range info.Modes {
			t.Run(info.Name+"/"+string(mode), func(t *testing.T) {
				leakcheck.Check(t)
				tr, err := transports.New(info.Name, mode)
				if err != nil {
					t.Fatal(err)
				}
				parent, files, err := tr.Pair()
				if err != nil {
					t.Fatal(err)
				}
				peer, err := tr.Open(files)
				if err != nil {
					parent.Close()
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 3)
				wg.Go(func() { // the echo, itself split in two goroutines
					buf := make(chan []byte, 64)
					var inner sync.WaitGroup
					inner.Go(func() {
						defer close(buf)
						for {
							m := make([]byte, size)
							if err := peer.Recv(m); err != nil {
								if !errors.Is(err, io.EOF) {
									errs[0] = err
								}
								return
							}
							buf <- m
						}
					})
					for m := range buf {
						if err := peer.Send(m); err != nil && errs[0] == nil {
							errs[0] = err
						}
					}
					inner.Wait()
				})
				wg.Go(func() { // the sender
					msg := make([]byte, size)
					for k := range uint64(n) {
						binary.LittleEndian.PutUint64(msg, k)
						if err := parent.Send(msg); err != nil {
							errs[1] = err
							return
						}
					}
				})
				in := make([]byte, size)
				for k := range uint64(n) {
					if err := parent.Recv(in); err != nil {
						errs[2] = fmt.Errorf("reply %d: %w", k, err)
						break
					}
					if got := binary.LittleEndian.Uint64(in); got != k {
						errs[2] = fmt.Errorf("reply %d carries %d", k, got)
						break
					}
				}
				parent.Close() // the peer sees EOF and ends the echo
				wg.Wait()
				peer.Close()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}
