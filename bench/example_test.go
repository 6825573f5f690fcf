package bench_test

import (
	"context"
	"fmt"
	"os"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/results"
)

// getpid is a custom scenario: one getpid(2) per op. Setup goes before the
// loop, teardown after it; the engine times only the loop.
type getpid struct{}

func (getpid) Name() results.Name { return results.NewName("Syscall", "call", "getpid") }

func (getpid) Run(ctx context.Context, b *bench.B) error {
	for b.Loop() {
		_ = os.Getpid()
	}
	return nil
}

// Running a custom scenario through the engine: the result carries the
// samples, the median with its 95% CI, percentiles, CPU cost per op and
// the warnings that say how far to trust the figure.
func Example() {
	res, err := bench.Run(context.Background(), getpid{}, bench.Config{Budget: 100e6})
	if err != nil {
		panic(err) // only an interrupt is an error of Run
	}
	fmt.Println(res.Name, res.Scenario, res.Params["call"])
	fmt.Println(res.Error == "", res.Summary.N >= 10, res.Summary.Median > 0)
	// Output:
	// Syscall/call=getpid Syscall getpid
	// true true true
}
