package transports_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/transports"
	"github.com/ipcbench/ipcbench/transports/transportstest"
)

func TestMain(m *testing.M) {
	if err, isChild := bench.RunChild(transportstest.Roles()); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

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
