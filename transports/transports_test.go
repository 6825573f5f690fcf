package transports_test

import (
	"github.com/ipcbench/ipcbench/internal/testmain"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/transports"
	"github.com/ipcbench/ipcbench/transports/transportstest"
)

func TestMain(m *testing.M) { testmain.Run(m, transportstest.Roles()) }

func TestConformance(t *testing.T) {
	for _, name := range transports.Names() {
		for _, mode := range transports.Modes(name) {
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				leakcheck.Check(t)
				before := shmMappings()
				transportstest.Run(t, func() transports.Transport {
					tr, err := transports.New(name, mode)
					if err != nil {
						t.Fatal(err)
					}
					return tr
				})
				if after := shmMappings(); after != before {
					t.Errorf("shared memory mappings: %d before, %d after", before, after)
				}
			})
		}
	}
}

func shmMappings() int {
	data, _ := os.ReadFile("/proc/self/maps")
	return strings.Count(string(data), "memfd:ipcbench")
}

func TestNewRejects(t *testing.T) {
	if _, err := transports.New("carrier-pigeon", transports.Raw); err == nil || !strings.Contains(err.Error(), "accepted: pipe") {
		t.Fatalf("unknown transport: %v", err)
	}
	if _, err := transports.New("shm-futex", transports.Go); err == nil || !strings.Contains(err.Error(), "accepted: raw") {
		t.Fatalf("unsupported mode: %v", err)
	}
	if _, err := transports.New("pipe", "fast"); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

// TestRawSyscalls runs the script with both ends on syscall.RawSyscall, as
// the round-trip scenario does, with the GC off as that requires.
func TestRawSyscalls(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("RawSyscall needs GOMAXPROCS >= 2")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, name := range []string{"pipe", "unix", "unixpacket", "tcp"} {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			tr, _ := transports.New(name, transports.Raw)
			n := 0
			transportstest.RunInProcess(t, tr, func(c transports.Conn) {
				c.(transports.RawSyscaller).SetRawSyscalls(true)
				n++
			})
			if n != 2 {
				t.Fatalf("tuned %d ends, want 2", n)
			}
		})
	}
}
