package scenarios

import (
	"github.com/ipcbench/ipcbench/internal/testmain"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/bench"
)

func TestMain(m *testing.M) { testmain.Run(m, Roles()) }

// tinyCfg keeps scenario tests fast: they check correctness, never timings.
func tinyCfg() bench.Config {
	return bench.Config{Budget: 40 * time.Millisecond, Warmup: 5 * time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 3, MaxSamples: 20}
}

func timeNow() time.Time { return time.Now() }
