package scenarios

import (
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/testmain"

	"github.com/ipcbench/ipcbench/bench"
)

func TestMain(m *testing.M) { testmain.Run(m, Roles()) }

// tinyCfg keeps scenario tests fast: they check correctness, never timings.
func tinyCfg() bench.Config {
	return bench.Config{Budget: 40 * time.Millisecond, Warmup: 5 * time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 3, MaxSamples: 20}
}

func timeNow() time.Time { return time.Now() }

// dieCfg is for tests whose child dies after a number of ops: the timed
// region must outlast that count however slow the machine (race detector,
// two spinners on one CPU), so the minimum sample count is far beyond it;
// the benchmark ends when the child dies.
func dieCfg() bench.Config {
	return bench.Config{Budget: 2 * time.Second, Warmup: time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 1000, MaxSamples: 2000}
}
