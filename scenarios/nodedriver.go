package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/sys"
	"golang.org/x/sys/unix"
)

// The Node driver and its workers ship inside the binary. Nothing is
// written to disk, so a crash or a kill leaves no file behind: Node runs
// `node -e <nodeBoot> ipcbench-node-driver`, and the bootstrap reads one
// line from its stdin, {"driver": <source>, "config": <config>}, and
// evaluates the driver (the source stays off the command line, out of
// ps). Node's fork() wants a module path for the child; the workers come
// in fork's execArgv (`-e <source>`), the path only a label (with `-e`
// Node runs the code and takes the path as an argument). A forked worker
// thus compiles its code from a string instead of reading a file: a few
// syscalls less than a file module, against the tens of milliseconds of a
// fork's first message. A user's own worker (--cmd 'node worker.js') is
// forked from its file as usual.
//
//go:embed nodejs/*.js
var nodeJS embed.FS

// nodeBoot reads the driver's first stdin line (blocking reads: the
// descriptor os/exec passes is blocking) and runs the driver with the
// config as its last argument.
const nodeBoot = `'use strict';const fs=require('fs');const b=Buffer.alloc(1<<16),p=[];let n;` +
	`for(;;){try{n=fs.readSync(0,b)}catch(e){if(e.code==='EAGAIN')continue;throw e}if(!n)process.exit(2);` +
	`const i=b.subarray(0,n).indexOf(10);p.push(Buffer.from(b.subarray(0,i<0?n:i)));if(i>=0)break}` +
	`const m=JSON.parse(Buffer.concat(p).toString());process.argv.push(JSON.stringify(m.config));eval(m.driver)`

func nodeSource(name string) string {
	b, err := nodeJS.ReadFile("nodejs/" + name + ".js")
	if err != nil {
		panic("scenarios: missing embedded " + name + ".js")
	}
	return string(b)
}

// driverConfig is the driver's one argument (JSON): what to set up and run.
type driverConfig struct {
	Kind string `json:"kind"` // spawn, parentmem, output, roundtrip
	What string `json:"what,omitempty"`
	// spawn and parentmem
	Mode     string   `json:"mode,omitempty"` // exec, execFile, spawn, fork
	Line     string   `json:"line,omitempty"` // exec: the shell command line
	Argv     []string `json:"argv,omitempty"`
	Module   string   `json:"module,omitempty"` // fork: a user's worker
	Args     []string `json:"args"`
	ExecArgv []string `json:"exec_argv"`
	// ParentMem: bytes of touched Buffers the driver holds while spawning.
	ParentMem int64 `json:"parent_mem,omitempty"`
	// output
	Collect   string            `json:"collect,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	MaxBuffer int64             `json:"max_buffer,omitempty"`
	// roundtrip
	Transport     string `json:"transport,omitempty"`
	API           string `json:"api,omitempty"`
	Serialization string `json:"serialization,omitempty"`
	Size          int    `json:"size,omitempty"`
	// Workers are the sources of the workers this benchmark forks.
	Workers map[string]string `json:"workers,omitempty"`
	// Tests: the driver dies, or hangs, after this many ops.
	DieAfter  int `json:"die_after,omitempty"`
	HangAfter int `json:"hang_after,omitempty"`
}

// driverMsg is one report line of the driver (see nodejs/driver.js).
type driverMsg struct {
	T string `json:"t"`
	// hello
	Node string `json:"node"`
	UV   string `json:"uv"`
	V8   string `json:"v8"`
	Pid  int    `json:"pid"`
	// ready
	Fields []string       `json:"fields"`
	Info   map[string]any `json:"info"`
	// ops
	V []float64 `json:"v"`
	// error
	Msg string `json:"msg"`
	// end
	Ops         int64  `json:"ops"`
	UserUS      int64  `json:"user_us"`
	SysUS       int64  `json:"sys_us"`
	Vcsw        int64  `json:"vcsw"`
	Ivcsw       int64  `json:"ivcsw"`
	HWMKB       int64  `json:"hwm_kb"`
	GrowthBytes *int64 `json:"growth_bytes"`
}

// driverError is a failure the driver reported itself.
type driverError struct{ msg string }

func (e *driverError) Error() string { return e.msg }

// errDriverEnd: the driver sent its end report; no more ops.
var errDriverEnd = errors.New("node driver: end of ops")

// driverReader decodes the driver's report stream. It is the protocol
// alone (no process), so that it can be tested on its own.
type driverReader struct {
	r      *bufio.Reader
	stride int       // values per op record (len(fields) once ready)
	vals   []float64 // op values received, not yet handed out
	pos    int
	end    *driverMsg
	// mayBlock, when set, is called before reading a line that is not
	// whole in the buffer (a read may block): it renews the deadline.
	mayBlock func()
}

func newDriverReader(r io.Reader) *driverReader {
	return &driverReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// reportReader reads the driver's reports from rep, each line within
// timeout of the moment it was needed. The deadline is renewed for every
// line that is not already whole in the buffer: renewing it only when
// the buffer is empty would leave a blocking read, after a partial line,
// under a deadline set long before (a healthy driver then reads as hung).
func reportReader(rep *os.File, timeout time.Duration) *driverReader {
	d := newDriverReader(rep)
	d.mayBlock = func() { _ = rep.SetReadDeadline(time.Now().Add(timeout)) }
	return d
}

// read decodes one line; an error report becomes a *driverError.
func (d *driverReader) read() (*driverMsg, error) {
	if d.mayBlock != nil {
		if b, _ := d.r.Peek(d.r.Buffered()); bytes.IndexByte(b, '\n') < 0 {
			d.mayBlock()
		}
	}
	line, err := d.r.ReadBytes('\n')
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	var m driverMsg
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("node driver: unreadable report %.80q: %w", line, err)
	}
	if m.T == "error" {
		return nil, &driverError{m.Msg}
	}
	return &m, nil
}

// expect reads the next message, which must be of type t.
func (d *driverReader) expect(t string) (*driverMsg, error) {
	m, err := d.read()
	if err != nil {
		return nil, err
	}
	if m.T != t {
		return nil, fmt.Errorf("node driver: got a %q report, want %q", m.T, t)
	}
	if t == "ready" {
		if len(m.Fields) == 0 || m.Fields[0] != "total" {
			return nil, fmt.Errorf("node driver: op records start with %v, want total", m.Fields)
		}
		d.stride = len(m.Fields)
	}
	return m, nil
}

// next returns the next op record (valid until the following call), or
// errDriverEnd once the driver has sent its end report.
func (d *driverReader) next() ([]float64, error) {
	if d.stride == 0 {
		return nil, errors.New("node driver: op records before ready")
	}
	for d.pos+d.stride > len(d.vals) {
		if d.end != nil {
			return nil, errDriverEnd
		}
		m, err := d.read()
		if err != nil {
			return nil, err
		}
		switch m.T {
		case "ops":
			if len(m.V)%d.stride != 0 {
				return nil, fmt.Errorf("node driver: %d values is not a whole number of %d-value records", len(m.V), d.stride)
			}
			if d.pos < len(d.vals) {
				return nil, errors.New("node driver: a record was split across reports")
			}
			d.vals, d.pos = m.V, 0
		case "end":
			d.end = m
		default:
			return nil, fmt.Errorf("node driver: unexpected %q report among ops", m.T)
		}
	}
	rec := d.vals[d.pos : d.pos+d.stride]
	d.pos += d.stride
	return rec, nil
}

// nodeDriver is one running driver: its process (in a process group of
// its own, so that whatever it started goes with it), our end of its
// stdin (the control: "go", then closed to stop) and of its report pipe.
type nodeDriver struct {
	proc    *child.Proc
	pid     int
	ctl     *os.File
	rep     *os.File
	rd      *driverReader
	timeout time.Duration
	hello   *driverMsg
	base    sys.ProcTimes
	// startUp is the CPU the driver's live children (a round trip's
	// worker) had spent when the ops began: subtracted at the end.
	startUp sys.ProcTimes
	done    bool
	werr    error
}

// startNodeDriver starts the driver. cpu >= 0 starts it confined to that
// CPU: the thread that forks is pinned first, and a child inherits its
// creator's affinity, so all of Node's threads (libuv's pool, V8's
// workers) start there and stay. timeout bounds every wait for a report.
func startNodeDriver(ctx context.Context, node string, cfg *driverConfig, cpu int, timeout time.Duration) (*nodeDriver, error) {
	boot, err := json.Marshal(struct {
		Driver string        `json:"driver"`
		Config *driverConfig `json:"config"`
	}{nodeSource("driver"), cfg})
	if err != nil {
		return nil, err
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("node driver: pipe: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, fmt.Errorf("node driver: pipe: %w", err)
	}
	p := child.New(ctx, "node driver", node, "-e", nodeBoot, "ipcbench-node-driver")
	p.Cmd.Stdin = ctlR
	// fd 3. ExtraFiles makes this end blocking (docs/measuring.md,
	// pitfall 1): what we want, a driver that outruns us waits.
	p.Cmd.ExtraFiles = []*os.File{repW}
	// child.New puts it in a process group of its own and kills the group
	// when ctx is done, as Kill does.
	err = startOn(p, cpu)
	ctlR.Close() // the driver has its copies; ours would hide the ends
	repW.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		return nil, err
	}
	d := &nodeDriver{proc: p, pid: p.Pid(), ctl: ctlW, rep: repR, rd: reportReader(repR, timeout), timeout: timeout}
	if driverStarted != nil {
		driverStarted(d.pid)
	}
	_ = ctlW.SetWriteDeadline(time.Now().Add(timeout))
	_, err = ctlW.Write(append(boot, '\n'))
	_ = ctlW.SetWriteDeadline(time.Time{})
	if err != nil {
		return nil, d.fail(fmt.Errorf("node driver: sending its code: %w", err))
	}
	if d.hello, err = d.expect("hello"); err != nil {
		return nil, d.fail(err)
	}
	return d, nil
}

// startOn starts p from a thread pinned to cpu (cpu < 0: as it is).
func startOn(p *child.Proc, cpu int) error {
	if cpu < 0 {
		return p.Start()
	}
	unpin, err := sys.Pin(cpu)
	if err != nil {
		return err
	}
	defer unpin()
	return p.Start()
}

// driverStarted, when set (tests), learns every driver's pid: its
// process group, which must be empty once the benchmark is over.
var driverStarted func(pid int)

func (d *nodeDriver) hung(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("no report from the node driver in %v (hung?)", d.timeout)
	}
	return err
}

func (d *nodeDriver) expect(t string) (*driverMsg, error) {
	m, err := d.rd.expect(t)
	return m, d.hung(err)
}

// goAhead starts the ops; the driver's reaped children's CPU counts from
// now. alive are the driver's children already running (a round trip's
// worker): the driver reaps them only at teardown, so their whole life,
// Node's start-up included (V8's boot, tens of ms of CPU), would land in
// the children's CPU read at the end, and CPU per op would depend on how
// many ops the budget allowed. What they have spent so far is their
// start-up, not the loop's: it is read now and subtracted at the end, so
// that CPU per op covers the timed ops alone, as for ipcbench's own
// children (docs/measuring.md, pitfall 11).
func (d *nodeDriver) goAhead(alive ...int) error {
	d.startUp = sys.ProcTimes{}
	for _, pid := range alive {
		if t, ok := sys.ReadProcTimes(pid); ok {
			d.startUp.User += t.User + t.ChildUser
			d.startUp.Sys += t.Sys + t.ChildSys
		}
	}
	d.base, _ = sys.ReadProcTimes(d.pid)
	if _, err := d.ctl.Write([]byte("go\n")); err != nil {
		return d.fail(fmt.Errorf("node driver: %w", err))
	}
	return nil
}

// next is the next op record.
func (d *nodeDriver) next() ([]float64, error) {
	rec, err := d.rd.next()
	return rec, d.hung(err)
}

// finish stops the ops, reads the end report, waits for the driver to
// tear down and exit, and returns the report and the CPU time of the
// children it reaped since goAhead, less what the children alive at
// goAhead had spent before it.
func (d *nodeDriver) finish() (*driverMsg, sys.ProcTimes, error) {
	var pt sys.ProcTimes
	d.ctl.Close() // stop
	for {
		_, err := d.next()
		if errors.Is(err, errDriverEnd) {
			break
		}
		if err != nil {
			return nil, pt, d.fail(err)
		}
	}
	// Wait for its exit without reaping it: its group can then be killed
	// safely (stragglers: a user's command still running, say), and its
	// /proc entry still holds its children's CPU time.
	exited := make(chan struct{})
	go func() {
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, d.pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
		}
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(d.timeout):
		d.proc.Kill() // not reaped: its group is still its own
		<-exited
	}
	if t, ok := sys.ReadProcTimes(d.pid); ok {
		pt = sys.ProcTimes{
			ChildUser: max(0, t.ChildUser-d.base.ChildUser-d.startUp.User),
			ChildSys:  max(0, t.ChildSys-d.base.ChildSys-d.startUp.Sys),
		}
	}
	if err := d.kill(); err != nil {
		return nil, pt, err
	}
	return d.rd.end, pt, nil
}

// kill kills the driver's group and reaps the driver: Wait's
// explanation (how it ended, the last line of its stderr) or nil.
func (d *nodeDriver) kill() error {
	if d.done {
		return d.werr
	}
	d.done = true
	d.proc.Kill()
	d.ctl.Close()
	d.werr = d.proc.Wait()
	d.rep.Close()
	return d.werr
}

// fail ends a failed benchmark: the driver and its group are killed, and
// the failure says what Node said (its error report, or how it died and
// the last line of its stderr).
func (d *nodeDriver) fail(cause error) error {
	werr := d.kill()
	var de *driverError
	switch {
	case errors.As(cause, &de):
		return fmt.Errorf("node: %s", de.msg)
	case errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF):
		if werr != nil {
			return fmt.Errorf("node driver died: %w", werr)
		}
		return errors.New("node driver ended without its report")
	case werr != nil:
		return fmt.Errorf("%w; killed: %w", cause, werr)
	}
	return cause
}
