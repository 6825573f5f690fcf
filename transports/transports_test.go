package transports_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/testmain"

	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/transports"
	"github.com/ipcbench/ipcbench/transports/transportstest"
)

func TestMain(m *testing.M) { testmain.Run(m, transportstest.Roles()) }

func TestConformance(t *testing.T) {
	for _, info := range transports.All() {
		name := info.Name
		for _, mode := range info.Modes {
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
	if _, err := transports.ParseMode("fast"); err == nil || !strings.Contains(err.Error(), "accepted: raw, go") {
		t.Fatalf("ParseMode: %v", err)
	}
}

func TestAttributes(t *testing.T) {
	for _, info := range transports.All() {
		if len(info.Modes) == 0 || info.Help == "" {
			t.Errorf("%s: modes %v help %q", info.Name, info.Modes, info.Help)
		}
		if info.SharedMemory && info.HasMode(transports.Go) {
			t.Errorf("%s: shared memory has no go mode", info.Name)
		}
		if info.BusyPolls && !info.SharedMemory {
			t.Errorf("%s: only shared memory busy-polls", info.Name)
		}
		if got, err := transports.Lookup(info.Name); err != nil || got.Name != info.Name {
			t.Errorf("Lookup(%s) = %v, %v", info.Name, got.Name, err)
		}
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
