package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
)

func runOne(t *testing.T, s bench.Scenario) (res resultView) {
	t.Helper()
	r, err := bench.Run(context.Background(), s, tinyCfg())
	if err != nil {
		t.Fatal(err)
	}
	return resultView{err: r.Error, skipped: r.Skipped, metrics: r.Metrics, iters: r.Iterations, dists: len(r.Distributions)}
}

type resultView struct {
	err, skipped string
	metrics      map[results.Metric]float64
	iters        int64
	dists        int
}

func TestOutputBytesInEqualsBytesOut(t *testing.T) {
	leakcheck.Check(t)
	// Sizes and write sizes that do and do not divide each other or the
	// line length; the scenario itself fails on any byte or line mismatch.
	cases := []struct {
		size  int64
		write int
	}{{1, 1}, {100, 100}, {12345, 100}, {250_000, 4096}, {1 << 20, 65536}, {1<<20 + 7, 65536}, {300_001, 7777}}
	for _, c := range cases {
		for _, cm := range collectModes {
			for _, stderr := range []bool{false, true} {
				o := &Output{Collect: cm.collect, Mode: cm.mode, Size: c.size, Write: c.write, Stderr: stderr, MaxBuffer: DefaultMaxBuffer}
				t.Run(string(o.Name()), func(t *testing.T) {
					r := runOne(t, o)
					if r.err != "" {
						t.Fatal(r.err)
					}
					if r.iters < 1 || r.metrics[results.MetricMBPerSec] <= 0 {
						t.Fatalf("%d ops, metrics %v", r.iters, r.metrics)
					}
					if _, ok := r.metrics[results.MetricParentGrowth]; !ok {
						t.Fatal("no peak memory figure")
					}
				})
			}
		}
	}
}

func TestOutputLineSplitting(t *testing.T) {
	// A stream ending in a partial line, a line longer than the reader's
	// buffer, and an empty input.
	cases := map[string]struct{ bytes, lines int64 }{
		"a\nbb\nccc":                         {8, 3},
		"a\nbb\n":                            {5, 2},
		"":                                   {0, 0},
		strings.Repeat("x", 200_000) + "\ny": {200_002, 2},
	}
	for in, want := range cases {
		r := drain(strings.NewReader(in), timeNow(), true)
		if r.err != nil || r.bytes != want.bytes || r.lines != want.lines {
			t.Errorf("%.20q: %d bytes %d lines (err %v), want %d %d", in, r.bytes, r.lines, r.err, want.bytes, want.lines)
		}
	}
}

func TestOutputMaxBufferExceeded(t *testing.T) {
	leakcheck.Check(t)
	o := &Output{Collect: "buffered", Size: 1 << 20, Write: 65536, MaxBuffer: 100_000}
	r := runOne(t, o)
	if !strings.Contains(r.err, "exceeded --max-buffer") {
		t.Fatalf("error %q should name the max-buffer limit", r.err)
	}
	// Known in advance: skipped with the reason, not run.
	list, _ := buildOutput(Options{OutputSizes: []int64{1 << 20}, WriteSizes: []int{65536}, MaxBuffer: 1000})
	if list[0].(*Output).SkipReason() == "" {
		t.Fatal("buffered above --max-buffer should be skipped")
	}
}

func TestOutputChildDiesMidStream(t *testing.T) {
	leakcheck.Check(t)
	for _, cm := range collectModes {
		o := &Output{Collect: cm.collect, Mode: cm.mode, Size: 1 << 20, Write: 4096, MaxBuffer: DefaultMaxBuffer, dieAfter: 100_000}
		r := runOne(t, o)
		if !strings.Contains(r.err, "exit status 4") {
			t.Fatalf("%s: error %q should say the child died", o.Name(), r.err)
		}
	}
}

func TestOutputUserCommand(t *testing.T) {
	leakcheck.Check(t)
	list, err := buildOutput(Options{Cmd: "head -c 300000 /dev/zero", OutputSizes: []int64{300000}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if r := runOne(t, s); r.err != "" {
			t.Fatalf("%s: %s", s.Name(), r.err)
		}
	}
	// A command that writes less than promised fails with the counts.
	list, _ = buildOutput(Options{Cmd: "head -c 1000 /dev/zero", OutputSizes: []int64{5000}})
	if r := runOne(t, list[1]); !strings.Contains(r.err, "received 1000 bytes, the child wrote 5000") || !strings.Contains(string(list[1].Name()), "streamed/mode=raw") {
		t.Fatalf("short output: %q", r.err)
	}
	// A failing command fails its benchmark with the status.
	list, _ = buildOutput(Options{Cmd: "false"})
	if r := runOne(t, list[0]); !strings.Contains(r.err, "exit status 1") {
		t.Fatalf("failing command: %q", r.err)
	}
	if _, err := buildOutput(Options{Cmd: "/no/such"}); err == nil {
		t.Fatal("missing command accepted")
	}
}

func TestOutputInvalidWriteSize(t *testing.T) {
	_, err := buildOutput(Options{OutputSizes: []int64{1000}, WriteSizes: []int{4096}})
	if err == nil || !strings.Contains(err.Error(), "--write-sizes 4KiB is larger than the output size 1000B") {
		t.Fatalf("write > size must be refused before running: %v", err)
	}
	// A default write size above a small output is one write.
	list, err := buildOutput(Options{OutputSizes: []int64{1000}})
	if err != nil || list[0].(*Output).Write != 1000 {
		t.Fatalf("%v %v", list, err)
	}
}

func TestDefaultMatrix(t *testing.T) {
	list, err := buildOutput(Options{Cores: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	gib, sizes := 0, map[string]bool{}
	for _, s := range list {
		o := s.(*Output)
		sizes[o.Name().Param(results.KeySize)] = true
		if o.Size == 1<<30 {
			gib++
			if o.Collect != results.CollectStreamed || o.Mode != results.ModeRaw {
				t.Errorf("1 GiB is measured once, streamed raw: %s", o.Name())
			}
		}
		if o.Cores == 2 && (o.Collect != results.CollectStreamed || o.Size != 16<<20) {
			t.Errorf("only streamed output sweeps the cores: %s", o.Name())
		}
	}
	if gib != 1 || len(sizes) != 5 {
		t.Fatalf("%d 1GiB benchmarks, sizes %v: want the crossover sizes and 1 GiB once", gib, sizes)
	}
}
