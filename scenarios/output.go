package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/early"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
	"golang.org/x/sys/unix"
)

// Output measures collecting a child's output, the second lesson of
// Node's exec versus spawn:
//   - buffered: everything into memory (a growing bytes.Buffer fed by
//     os/exec's copying goroutine, as cmd.Output() and Node's exec do),
//     handed back whole at exit, bounded by a max-buffer limit;
//   - streamed: fixed 64 KiB reads as data arrives, counted and dropped,
//     in two modes like the transports: raw reads a blocking pipe with
//     read(2) (a C reader's cost), go reads cmd.StdoutPipe() through the
//     runtime poller (an idiomatic Go program's cost: a read that returns
//     EAGAIN and an epoll wait per pipe-full);
//   - lines: streamed (go) and split into lines (bufio.Reader.ReadSlice).
//
// One op is one child from start to exit with all its output collected.
// Phases: first_byte (start → first byte read) and transfer (first byte →
// exit); MB/s is the size over the median transfer time, so the child's
// start-up is not counted as slow output. The parent's peak memory growth
// is VmHWM after the benchmark minus VmRSS before it, with the high-water
// mark reset (sys.ResetPeakRSS).
type Output struct {
	Collect   string // buffered, streamed, lines
	Mode      string // streamed only: raw (blocking read(2)) or go (StdoutPipe, poller)
	Size      int64  // bytes the child writes (0 with a user command: unknown)
	Write     int    // the child's write size
	Stderr    bool   // the child alternates writes between stdout and stderr
	MaxBuffer int64
	Cores     int      // concurrent children being collected
	Argv      []string // a user command instead of ipcbench's writer
	Label     string
	skip      string
	dieAfter  int64 // tests: the writer exits abruptly after this many bytes
}

// DefaultMaxBuffer bounds collect=buffered unless --max-buffer says otherwise.
// Node's exec defaults to 1 MiB, which would fail every default size but the
// smallest; 64 MiB lets the default run show buffering's cost while a 1 GiB
// output is refused before it can exhaust memory.
const DefaultMaxBuffer = 64 << 20

// lineLen is the length of the writer's lines, newline included.
const lineLen = early.LineLen

const writerRole = early.OutputWriterRole

func init() { register(writerRole, outputWriter) }

// Name implements bench.Scenario.
func (o *Output) Name() results.Name {
	kv := []string{results.KeyCollect, o.Collect}
	if o.Mode != "" {
		kv = append(kv, results.KeyMode, o.Mode)
	}
	if o.Argv != nil {
		kv = append(kv, results.KeyCmd, o.Label)
		if o.Size > 0 {
			kv = append(kv, results.KeySize, strconv.FormatInt(o.Size, 10))
		}
	} else {
		kv = append(kv, results.KeySize, strconv.FormatInt(o.Size, 10), results.KeyWrite, strconv.Itoa(o.Write))
		if o.Stderr {
			kv = append(kv, results.KeyStderr, "on")
		}
	}
	kv = append(kv, results.KeyCores, strconv.Itoa(max(1, o.Cores)))
	return results.NewName(results.ScenarioOutput, kv...)
}

// SkipReason implements bench.Skipper.
func (o *Output) SkipReason() string { return o.skip }

// ProfilesChildren implements bench.ChildProfiler: the writers are ipcbench
// children (a user's command is not).
func (o *Output) ProfilesChildren() bool { return o.Argv == nil }

// ExtraParams implements bench.ParamsReporter.
func (o *Output) ExtraParams() map[string]string {
	p := map[string]string{"max_buffer": strconv.FormatInt(o.MaxBuffer, 10)}
	if o.Argv != nil {
		p["command"] = shellquote.Join(o.Argv...)
	}
	return p
}

func buildOutput(opt Options) ([]bench.Scenario, error) {
	list, err := outputList(opt)
	if err != nil {
		return nil, err
	}
	// Across cores: streaming (raw) 16 MiB, or the user's command streamed.
	sweep := func(o *Output) bool {
		return o.Collect == results.CollectStreamed && o.Mode == results.ModeRaw && (o.Argv != nil || o.Size == 16<<20)
	}
	return expandCores(list, coresOf(opt), opt.SweepAll, sweep, func(o *Output, n int) { o.Cores = n }), nil
}

func outputList(opt Options) ([]*Output, error) {
	maxBuf := opt.MaxBuffer
	if maxBuf == 0 {
		maxBuf = DefaultMaxBuffer
	}
	var out []*Output
	if opt.Cmd != "" {
		argv, label, err := userCommand(opt.Cmd)
		if err != nil {
			return nil, err
		}
		var size int64
		if len(opt.OutputSizes) == 1 {
			size = opt.OutputSizes[0] // the user promises this many bytes: verified
		} else if len(opt.OutputSizes) > 1 {
			return nil, fmt.Errorf("--output-sizes with --cmd takes one size (the bytes the command writes), got %d", len(opt.OutputSizes))
		}
		for _, c := range collectModes {
			out = append(out, &Output{Collect: c.collect, Mode: c.mode, Argv: argv, Label: label, Size: size, MaxBuffer: maxBuf})
		}
		return out, nil
	}
	combos, err := outputCombos(opt)
	if err != nil {
		return nil, err
	}
	for _, c := range combos {
		for _, cc := range collectModes {
			if c.only != nil && *c.only != cc {
				continue
			}
			o := &Output{Collect: cc.collect, Mode: cc.mode, Size: c.size, Write: c.write, Stderr: opt.Stderr, MaxBuffer: maxBuf}
			if cc.collect == results.CollectBuffered && c.size > maxBuf {
				o.skip = fmt.Sprintf("%s would exceed --max-buffer %s (buffering it all is what breaks; raise --max-buffer to measure it)", units.FormatSize(c.size), units.FormatSize(maxBuf))
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// collectMode is a way to collect output (and its read path).
type collectMode struct{ collect, mode string }

var collectModes = []collectMode{{results.CollectBuffered, ""}, {results.CollectStreamed, results.ModeRaw}, {results.CollectStreamed, results.ModeGo}, {results.CollectLines, ""}}

// outputCombo is one output size and write size, for every collect mode
// or only one.
type outputCombo struct {
	size  int64
	write int
	only  *collectMode
}

// outputCombos is the output matrix: the user's sizes × write sizes, or
// the default one. The default has 64 KiB writes at 64 KiB, 1 MiB, 16 MiB
// and 64 MiB, so the crossover between buffering and streaming can be
// placed; 100-byte lines at 1 MiB (at 64 MiB they would take 670k writes,
// seconds per op); and 1 GiB once, streamed (raw), to show memory stays
// flat however much comes. --quick stops at 16 MiB; --full has 1 GiB in
// every mode.
func outputCombos(opt Options) ([]outputCombo, error) {
	if len(opt.OutputSizes) > 0 || len(opt.WriteSizes) > 0 {
		sizes, writes := opt.OutputSizes, opt.WriteSizes
		if len(sizes) == 0 {
			sizes = []int64{1 << 20, 64 << 20}
		}
		if len(writes) == 0 {
			writes = []int{64 << 10, lineLen}
		}
		var out []outputCombo
		for _, s := range sizes {
			for _, w := range writes {
				if int64(w) > s {
					if len(opt.WriteSizes) > 0 {
						return nil, fmt.Errorf("--write-sizes %s is larger than the output size %s: the child cannot write more than it outputs (give write sizes up to the smallest output size)", units.FormatSize(int64(w)), units.FormatSize(s))
					}
					w = int(s) // a default write size above a small output: one write
				}
				out = append(out, outputCombo{size: s, write: w})
			}
		}
		return out, nil
	}
	sizes := []int64{64 << 10, 1 << 20, 16 << 20, 64 << 20}
	if opt.Quick {
		sizes = sizes[:3]
	}
	var out []outputCombo
	for _, s := range sizes {
		out = append(out, outputCombo{size: s, write: 64 << 10})
	}
	out = append(out, outputCombo{size: 1 << 20, write: lineLen})
	switch {
	case opt.Full:
		out = append(out, outputCombo{size: 1 << 30, write: 64 << 10})
	case !opt.Quick:
		out = append(out, outputCombo{size: 1 << 30, write: 64 << 10, only: &collectModes[1]})
	}
	return out, nil
}

// Run implements bench.Scenario.
func (o *Output) Run(ctx context.Context, b *bench.B) error {
	if o.Size > 0 {
		b.SetBytes(o.Size)
	}
	defer o.peakGrowth(b)()
	// At cores>1, N children at once: the figure is aggregate ns per
	// collected output and the engine's MB/s the aggregate over whole ops
	// (start to exit); the transfer-only MB/s is for one child at a time.
	var got collected
	var transfer []float64
	lastBytes := make([]int64, max(1, o.Cores)) // per worker: no shared writes
	err := b.RunParallel(o.Cores, func(pb *bench.PB) error {
		for pb.Next() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			g, err := o.once(ctx)
			if err == nil {
				err = o.verify(g)
			}
			if err != nil {
				return err
			}
			lastBytes[pb.ID()] = g.bytes
			if g.first > 0 {
				pb.Observe(results.PhaseFirstByte, g.first)
				pb.Observe(results.PhaseTransfer, g.total-g.first)
				if o.Cores <= 1 && b.Timing() {
					got = g
					transfer = append(transfer, float64(g.total-g.first))
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(transfer) > 0 {
		if med := median(transfer); got.bytes > 0 && med > 0 {
			b.ReportMetric(float64(got.bytes)*1e3/med, results.MetricMBPerSec)
		}
	}
	if o.Size == 0 {
		b.ReportMetric(float64(lastBytes[0]), results.MetricBytesPerOp)
	}
	return nil
}

// peakGrowth starts the measurement of the parent's peak memory growth
// from a clean slate (GC'd, returned to the OS, high-water mark reset);
// the returned func reports it.
func (o *Output) peakGrowth(b *bench.B) func() {
	runtime.GC()
	debug.FreeOSMemory()
	reset := sys.ResetPeakRSS()
	base := sys.StatusKB("VmRSS")
	return func() {
		if peak := sys.StatusKB("VmHWM"); reset && peak > 0 && base > 0 {
			b.ReportMetric(float64(max(0, peak-base))*1024, results.MetricParentGrowth)
		} else {
			b.Warn(results.WarnMeasurement, "parent peak memory not measured (/proc/self/clear_refs not writable)")
		}
	}
}

// verify checks bytes in = bytes out, and the line count.
func (o *Output) verify(got collected) error {
	if o.Size > 0 && got.bytes != o.Size {
		return fmt.Errorf("received %d bytes, the child wrote %d (bytes in != bytes out)", got.bytes, o.Size)
	}
	// Interleaving cuts lines between the two pipes, so lines are only
	// checked on a single stream.
	if o.Collect == results.CollectLines && o.Argv == nil && !o.Stderr {
		if want := (o.Size + lineLen - 1) / lineLen; got.lines != want {
			return fmt.Errorf("split %d lines, want %d", got.lines, want)
		}
	}
	return nil
}

func median(x []float64) float64 {
	y := slices.Sorted(slices.Values(x))
	if len(y)%2 == 1 {
		return y[len(y)/2]
	}
	return (y[len(y)/2-1] + y[len(y)/2]) / 2
}

type collected struct {
	bytes, lines int64
	first, total time.Duration
}

// command builds the child: the user's command or ipcbench's writer.
func (o *Output) command(ctx context.Context) (*child.Proc, error) {
	if o.Argv != nil {
		return child.New(ctx, fmt.Sprintf("command %q", shellquote.Join(o.Argv...)), o.Argv...), nil
	}
	st := "0"
	if o.Stderr {
		st = "1"
	}
	return child.Self(ctx, writerRole, nil, strconv.FormatInt(o.Size, 10), strconv.Itoa(o.Write), st, strconv.FormatInt(o.dieAfter, 10))
}

func (o *Output) once(ctx context.Context) (collected, error) {
	switch o.Collect {
	case results.CollectBuffered:
		return o.buffered(ctx)
	case results.CollectStreamed, results.CollectLines:
		return o.streamed(ctx)
	}
	return collected{}, fmt.Errorf("unknown collect mode %q (accepted: buffered, streamed, lines)", o.Collect)
}

// limitBuffer is the buffered collector: a bytes.Buffer (grown by doubling,
// as cmd.Output's) that refuses to hold more than max bytes, killing the
// child as Node's exec does when maxBuffer is exceeded.
type limitBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	max      int64
	t0       time.Time
	first    time.Duration
	exceeded bool
	kill     func()
}

var errMaxBuffer = errors.New("max-buffer exceeded")

func (l *limitBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.first == 0 && len(p) > 0 {
		l.first = time.Since(l.t0)
	}
	if int64(l.buf.Len()+len(p)) > l.max {
		if !l.exceeded {
			l.exceeded = true
			l.kill()
		}
		return 0, errMaxBuffer
	}
	return l.buf.Write(p)
}

func (o *Output) buffered(ctx context.Context) (collected, error) {
	p, err := o.command(ctx)
	if err != nil {
		return collected{}, err
	}
	t0 := time.Now()
	out := &limitBuffer{max: o.MaxBuffer, t0: t0, kill: p.Kill}
	p.Cmd.Stdout = out
	var errb *limitBuffer
	if o.Stderr {
		errb = &limitBuffer{max: o.MaxBuffer, t0: t0, kill: p.Kill}
		p.Cmd.Stderr = errb
	}
	if err := p.Start(); err != nil {
		return collected{}, err
	}
	err = p.Wait()
	total := time.Since(t0)
	if out.exceeded || (errb != nil && errb.exceeded) {
		return collected{}, fmt.Errorf("child output exceeded --max-buffer %s; the child was killed (Node's exec fails the same way: ERR_CHILD_PROCESS_STDIO_MAXBUFFER)", units.FormatSize(o.MaxBuffer))
	}
	if err != nil {
		return collected{}, err
	}
	c := collected{bytes: int64(out.buf.Len()), first: out.first, total: total}
	if errb != nil {
		c.bytes += int64(errb.buf.Len())
		if errb.first > 0 && (c.first == 0 || errb.first < c.first) {
			c.first = errb.first
		}
	}
	return c, nil
}

// streamed reads each pipe with a fixed 64 KiB buffer, counting bytes (and
// lines) as they come; with stderr interleaved, one goroutine per pipe.
func (o *Output) streamed(ctx context.Context) (collected, error) {
	p, err := o.command(ctx)
	if err != nil {
		return collected{}, err
	}
	t0 := time.Now()
	var stdout io.ReadCloser
	if o.Mode == results.ModeRaw {
		// A pipe in blocking mode that the poller never sees: each Read is
		// one read(2) that sleeps in the kernel, as a C reader's does.
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			return collected{}, fmt.Errorf("pipe2: %w", err)
		}
		r, w := os.NewFile(uintptr(fds[0]), "stdout-r"), os.NewFile(uintptr(fds[1]), "stdout-w")
		defer r.Close()
		defer w.Close() // after Start too: closing twice is harmless
		p.Cmd.Stdout, stdout = w, r
	} else if stdout, err = p.Cmd.StdoutPipe(); err != nil {
		return collected{}, err
	}
	var stderr io.ReadCloser
	if o.Stderr {
		// stderr is read through the poller in both modes: interleaving is
		// about two streams, not about the read path.
		if stderr, err = p.Cmd.StderrPipe(); err != nil {
			return collected{}, err
		}
	}
	if err := p.Start(); err != nil {
		return collected{}, err
	}
	if f, ok := p.Cmd.Stdout.(*os.File); ok {
		f.Close() // the child has its copy; ours would hide EOF
	}
	lines := o.Collect == results.CollectLines
	var res [2]readResult
	var wg sync.WaitGroup
	if stderr != nil {
		wg.Go(func() { res[1] = drain(stderr, t0, lines) })
	}
	res[0] = drain(stdout, t0, lines)
	wg.Wait()
	err = p.Wait()
	total := time.Since(t0)
	if err != nil {
		return collected{}, err
	}
	for _, r := range res {
		if r.err != nil {
			return collected{}, fmt.Errorf("read: %w", r.err)
		}
	}
	c := collected{bytes: res[0].bytes + res[1].bytes, lines: res[0].lines + res[1].lines, first: res[0].first, total: total}
	if res[1].first > 0 && (c.first == 0 || res[1].first < c.first) {
		c.first = res[1].first
	}
	return c, nil
}

type readResult struct {
	bytes, lines int64
	first        time.Duration
	err          error
}

func drain(r io.Reader, t0 time.Time, lines bool) readResult {
	var res readResult
	if !lines {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if res.first == 0 {
					res.first = time.Since(t0)
				}
				res.bytes += int64(n)
			}
			if err != nil {
				if err != io.EOF {
					res.err = err
				}
				return res
			}
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	partial := false // inside a line longer than the buffer
	for {
		seg, err := br.ReadSlice('\n')
		if len(seg) > 0 {
			if res.first == 0 {
				res.first = time.Since(t0)
			}
			res.bytes += int64(len(seg))
		}
		switch {
		case err == nil:
			res.lines++
			partial = false
		case err == bufio.ErrBufferFull:
			partial = true
		case err == io.EOF:
			if len(seg) > 0 || partial {
				res.lines++ // a last line without '\n' is still a line
			}
			return res
		default:
			res.err = err
			return res
		}
	}
}

// outputWriter is the child of the output scenario (internal/early runs
// it before ipcbench's packages initialise, unless it is profiled).
func outputWriter(ctx context.Context, files []*os.File, args []string) error {
	return early.OutputWriter(args)
}
