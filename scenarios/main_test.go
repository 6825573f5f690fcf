package scenarios

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/bench"
)

func TestMain(m *testing.M) {
	if err, isChild := bench.RunChild(Roles()); isChild {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyCfg keeps scenario tests fast: they check correctness, never timings.
func tinyCfg() bench.Config {
	return bench.Config{Budget: 40 * time.Millisecond, Warmup: 5 * time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 3, MaxSamples: 20}
}

func timeNow() time.Time { return time.Now() }
