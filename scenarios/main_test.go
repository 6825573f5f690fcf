package scenarios

import (
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/testmain"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/results"
)

func TestMain(m *testing.M) { testmain.Run(m, Roles()) }

// tinyCfg keeps scenario tests fast: they check correctness, never timings.
func tinyCfg() bench.Config {
	return bench.Config{Budget: 40 * time.Millisecond, Warmup: 5 * time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 3, MaxSamples: 20}
}

func timeNow() time.Time { return time.Now() }

// tooFew says whether a tinyCfg run took fewer samples than its minimum
// without the engine's say-so. The budget never cuts below MinSamples; only
// the runaway bound (10× the budget) may, on a machine loaded enough that
// three slow ops (a Node fork under -race and a busy neighbour) outlast it,
// and then the result carries a bound warning. A test that checks an
// invariant of the summary still needs at least one sample.
func tooFew(res *results.Benchmark) bool {
	n := res.Summary.N
	return n < 1 || n < 3 && !res.HasWarning(results.WarnBound)
}

// dieCfg is for tests whose child dies after a number of ops: the timed
// region must outlast that count however slow the machine (race detector,
// two spinners on one CPU), so the minimum sample count is far beyond it;
// the benchmark ends when the child dies.
func dieCfg() bench.Config {
	return bench.Config{Budget: 2 * time.Second, Warmup: time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 1000, MaxSamples: 2000}
}
