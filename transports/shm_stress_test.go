package transports

import (
	"testing"
	"time"
)

// TestShmWakeupsUnderStress runs multi-slot round trips in-process for a
// while and fails, with both rings' state, if a side sleeps through a
// wakeup. It caught the lost wakeup of Store-based waiter flags under the
// race detector (see the protocol comment in shm_linux.go).
func TestShmWakeupsUnderStress(t *testing.T) {
	for _, w := range []waitKind{waitFutex, waitEventfd} {
		for _, size := range []int{64, 70_000} {
			tr := &shmTransport{wait: w}
			c, files, err := tr.Pair()
			if err != nil {
				t.Fatal(err)
			}
			peer, err := tr.Open(files)
			if err != nil {
				t.Fatal(err)
			}
			peerDone := make(chan struct{})
			go func() {
				defer close(peerDone)
				buf := make([]byte, size)
				for peer.Recv(buf) == nil && peer.Send(buf) == nil {
				}
				peer.Close()
			}()
			msg, buf := make([]byte, size), make([]byte, size)
			stuck := make(chan struct{})
			progress := make(chan int, 1)
			go func() {
				// A watchdog: no round trip for 5 s is a lost wakeup.
				for {
					select {
					case _, ok := <-progress:
						if !ok {
							return
						}
					case <-time.After(5 * time.Second):
						close(stuck)
						return
					}
				}
			}()
			n := 0
			for end := time.Now().Add(time.Second); time.Now().Before(end); n++ {
				done := make(chan error, 1)
				go func() {
					if err := c.Send(msg); err != nil {
						done <- err
						return
					}
					done <- c.Recv(buf)
				}()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("%s size %d: round trip %d: %v", tr.Name(), size, n, err)
					}
				case <-stuck:
					pc := c.(*shmConn)
					t.Fatalf("%s size %d: round trip %d never completed (lost wakeup): tx head=%d tail=%d waitData=%d; rx head=%d tail=%d waitData=%d",
						tr.Name(), size, n, pc.tx.head.Load(), pc.tx.tail.Load(), pc.tx.waitData.Load(), pc.rx.head.Load(), pc.rx.tail.Load(), pc.rx.waitData.Load())
				}
				select {
				case progress <- n:
				default:
				}
			}
			close(progress)
			c.Close()
			<-peerDone // its mapping is gone before the next test looks
			t.Logf("%s size %d: %d round trips", tr.Name(), size, n)
		}
	}
}
