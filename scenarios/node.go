package scenarios

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
)

// Node measures Node.js's own child_process and IPC, from Node's side: an
// embedded driver (nodejs/driver.js) runs one benchmark's operation in
// Node back to back and reports each op's duration as Node timed it
// (process.hrtime.bigint()); ipcbench takes those durations as its samples
// (bench.B.ReportOpTime) and does all the statistics, tables, formats and
// core placement, as for its own scenarios. Each benchmark is named like
// ipcbench's Go figure for the same thing, with runtime=node:
//
//	Spawn/mode=exec|execFile|spawn|fork/cmd=…/runtime=node      one op: create → 'close' ('exit' for fork)
//	Spawn/mode=spawn/cmd=true/method=fork/parent_mem=N/runtime=node   spawn('true') to 'exit' holding N bytes
//	Output/collect=buffered|streamed|lines/size=…/write=…/runtime=node  execFile with maxBuffer, spawn 'data', readline
//	RoundTrip/transport=channel/serialization=json|advanced/…/runtime=node   process.send echo
//	RoundTrip/transport=unix/api=stdio/…/runtime=node           an extra stdio 'pipe' (libuv: a socketpair)
//	RoundTrip/transport=unix|tcp/api=net/…/runtime=node         net over an abstract unix socket, TCP loopback
type Node struct {
	Kind string // nodeSpawn, nodeParentMem, nodeOutput, nodeRoundTrip

	// Spawn (and parent memory).
	Mode      string   // exec, execFile, spawn, fork
	Label     string   // cmd=…; "" for ipcbench's own fork worker
	Line      string   // exec: the shell command line
	Argv      []string // execFile, spawn: the program and its arguments
	Command   string   // as the user typed it
	Module    string   // fork of a user's worker: its script,
	Args      []string // its arguments
	ExecArgv  []string // and node's options
	ParentMem int64

	// Output.
	Collect   string
	Size      int64
	Write     int
	MaxBuffer int64

	// Round trip.
	Transport     string // channel, unix, tcp
	API           string // stdio, net ("" for channel)
	Serialization string // json, advanced (channel)
	MsgSize       int
	Placement     string
	ParentCPU     int // the driver's CPU (-1: unpinned)
	ChildCPU      int // the worker's

	node  results.NodeEnv
	skip  string
	found map[string]string // what Run learnt: the channel's mechanism, held RSS
	// Tests.
	dieAfter, hangAfter int
	timeout             time.Duration // per report; 0: nodeTimeout
}

const (
	nodeSpawn     = "spawn"
	nodeParentMem = "parentmem"
	nodeOutput    = "output"
	nodeRoundTrip = "roundtrip"
)

// nodeTimeout bounds every wait for a report from the driver: no op
// (64 MiB through exec, a fork from a 1 GiB parent) comes near it, so
// reaching it means Node hung.
const nodeTimeout = 30 * time.Second

// nodeMinMajor is the oldest Node.js the driver supports.
const nodeMinMajor = 20

// nodeMinUV is the oldest libuv it supports (major, minor): net over an
// abstract unix socket (transport=unix/api=net) needs libuv 1.46, whose
// uv_pipe_bind2/uv_pipe_connect2 take the name's length (the older calls
// stop at its leading NUL). Early Node 20 releases shipped an older
// libuv, so Node's major version alone does not tell.
var nodeMinUV = [2]int{1, 46}

// Name implements bench.Scenario.
func (n *Node) Name() results.Name {
	var kv []string
	base := results.ScenarioSpawn
	switch n.Kind {
	case nodeSpawn:
		kv = []string{results.KeyMode, n.Mode}
		if n.Label != "" {
			kv = append(kv, results.KeyCmd, n.Label)
		}
	case nodeParentMem:
		kv = []string{results.KeyMode, results.SpawnSpawn, results.KeyCmd, n.Label, results.KeyMethod, results.MethodFork,
			results.KeyParentMem, strconv.FormatInt(n.ParentMem, 10)}
	case nodeOutput:
		base = results.ScenarioOutput
		kv = []string{results.KeyCollect, n.Collect, results.KeySize, strconv.FormatInt(n.Size, 10), results.KeyWrite, strconv.Itoa(n.Write)}
	case nodeRoundTrip:
		base = results.ScenarioRoundTrip
		kv = []string{results.KeyTransport, n.Transport}
		if n.Serialization != "" {
			kv = append(kv, results.KeySerialization, n.Serialization)
		}
		if n.API != "" {
			kv = append(kv, results.KeyAPI, n.API)
		}
		kv = append(kv, results.KeySize, strconv.Itoa(n.MsgSize), results.KeyPlacement, n.Placement)
	}
	kv = append(kv, results.KeyRuntime, results.RuntimeNode, results.KeyCores, "1")
	return results.NewName(base, kv...)
}

// SkipReason implements bench.Skipper.
func (n *Node) SkipReason() string { return n.skip }

// ExtraParams implements bench.ParamsReporter.
func (n *Node) ExtraParams() map[string]string {
	m := map[string]string{"node": n.node.Version, "libuv": n.node.Libuv,
		"timing": "process.hrtime.bigint() around each op in Node; the durations are ipcbench's samples"}
	switch n.Kind {
	case nodeSpawn:
		m["command"] = n.what()
		if n.Mode == results.SpawnFork {
			m["ready"] = "the worker's first message; then disconnect() and the worker exits"
		}
	case nodeParentMem:
		m["command"] = n.what()
		m["how"] = "spawn(file, [], {stdio: 'ignore'}) to 'exit' from a Node process holding touched Buffers (libuv forks)"
		m["thp"] = sys.THPMode()
	case nodeOutput:
		m["max_buffer"] = strconv.FormatInt(n.MaxBuffer, 10)
		m["how"] = map[string]string{
			results.CollectBuffered: "execFile(file, args, {maxBuffer}) callback, no shell (stdout as a utf8 string, execFile's default)",
			results.CollectStreamed: "spawn, stdout 'data' events counted and dropped",
			results.CollectLines:    "spawn, readline 'line' events",
		}[n.Collect]
	case nodeRoundTrip:
		m["parent_cpu"], m["child_cpu"] = strconv.Itoa(n.ParentCPU), strconv.Itoa(n.ChildCPU)
		m["io"] = map[string]string{
			"channel": "fork() IPC channel, process.send / 'message', payload a string of size ASCII characters",
			"stdio":   "fork() with stdio [..., 'ipc', 'pipe']: socket write / 'data' on the worker's fd 4",
			"net":     "net.connect / net.createServer echo, 'data' events",
		}[cmp.Or(n.API, "channel")]
	}
	for k, v := range n.found {
		m[k] = v
	}
	return m
}

func (n *Node) what() string {
	switch {
	case n.Line != "":
		return n.Line
	case n.Argv != nil:
		return shellquote.Join(n.Argv...)
	case n.Module != "":
		return shellquote.Join(append(append(append([]string{"node"}, n.ExecArgv...), n.Module), n.Args...)...)
	}
	return "ipcbench's Node fork worker"
}

// buildNode builds the node group: every Node benchmark, each skipped
// with the reason when no usable Node is found (an explicit --node that
// is not a usable Node is the user's error).
func buildNode(o Options) ([]bench.Scenario, error) {
	env, skip, err := resolveNode(o.Node)
	if err != nil {
		return nil, err
	}
	list, err := nodeList(o)
	if err != nil {
		return nil, err
	}
	out := make([]bench.Scenario, 0, len(list))
	for _, n := range list {
		n.node = env
		if n.skip == "" {
			n.skip = skip
		}
		out = append(out, n)
	}
	return out, nil
}

func nodeList(o Options) ([]*Node, error) {
	var out []*Node
	truePath, err := exec.LookPath("true")
	if err != nil {
		truePath = "/bin/true" // not on PATH: the spawn group says so; a run here fails naming it
	}
	// Spawn: each API on /bin/true (or the user's command), and fork.
	if o.Cmd == "" {
		out = append(out,
			&Node{Kind: nodeSpawn, Mode: results.SpawnExec, Label: "true", Line: truePath},
			&Node{Kind: nodeSpawn, Mode: results.SpawnExecFile, Label: "true", Argv: []string{truePath}},
			&Node{Kind: nodeSpawn, Mode: results.SpawnSpawn, Label: "true", Argv: []string{truePath}},
			&Node{Kind: nodeSpawn, Mode: results.SpawnFork})
	} else {
		argv, label, err := userCommand(o.Cmd)
		if err != nil {
			return nil, err
		}
		out = append(out,
			&Node{Kind: nodeSpawn, Mode: results.SpawnExec, Label: label, Line: o.Cmd, Command: o.Cmd},
			&Node{Kind: nodeSpawn, Mode: results.SpawnExecFile, Label: label, Argv: argv, Command: o.Cmd},
			&Node{Kind: nodeSpawn, Mode: results.SpawnSpawn, Label: label, Argv: argv, Command: o.Cmd})
		if isNodeWorker(argv) {
			execArgv, module, args := splitNodeArgs(argv[1:])
			out = append(out, &Node{Kind: nodeSpawn, Mode: results.SpawnFork, Label: label, Command: o.Cmd,
				Module: module, Args: args, ExecArgv: execArgv})
		}
	}
	// Spawn against the parent's memory.
	sizes, err := parentMems(o)
	if err != nil {
		return nil, err
	}
	pmArgv, pmLabel := []string{truePath}, "true"
	if o.Cmd != "" {
		if pmArgv, pmLabel, err = userCommand(o.Cmd); err != nil {
			return nil, err
		}
	}
	for _, m := range sizes {
		out = append(out, &Node{Kind: nodeParentMem, Argv: pmArgv, Label: pmLabel, ParentMem: m})
	}
	// Output collection.
	maxBuf := cmp.Or(o.MaxBuffer, DefaultMaxBuffer)
	outSizes := o.OutputSizes
	if len(outSizes) == 0 {
		outSizes = []int64{1 << 20, 64 << 20}
	}
	writes := o.WriteSizes
	if len(writes) == 0 {
		writes = []int{64 << 10}
	}
	for _, size := range outSizes {
		for _, w := range writes {
			for _, col := range []string{results.CollectBuffered, results.CollectStreamed, results.CollectLines} {
				n := &Node{Kind: nodeOutput, Collect: col, Size: size, Write: w, MaxBuffer: maxBuf}
				switch {
				case int64(w) > size:
					n.skip = fmt.Sprintf("write size %s is larger than the output size %s", units.FormatSize(int64(w)), units.FormatSize(size))
				case col == results.CollectBuffered && size > maxBuf:
					n.skip = fmt.Sprintf("%s would exceed --max-buffer %s (raise --max-buffer to measure it)", units.FormatSize(size), units.FormatSize(maxBuf))
				case col == results.CollectBuffered && size > nodeMaxString:
					n.skip = fmt.Sprintf("%s does not fit in one V8 string (execFile's stdout; at most %s)", units.FormatSize(size), units.FormatSize(nodeMaxString))
				}
				out = append(out, n)
			}
		}
	}
	// Round trips.
	rt, err := nodeRoundTrips(o)
	if err != nil {
		return nil, err
	}
	return append(out, rt...), nil
}

// nodeMaxString is V8's largest string on 64-bit (2^29 - 24 characters).
const nodeMaxString = 1<<29 - 24

func nodeRoundTrips(o Options) ([]*Node, error) {
	type tr struct{ transport, api, ser string }
	all := []tr{{"channel", "", "json"}, {"channel", "", "advanced"}, {"unix", "stdio", ""}, {"unix", "net", ""}, {"tcp", "net", ""}}
	sizes := o.Sizes
	if len(sizes) == 0 {
		sizes = defaultSizes
	}
	placements := o.Placements
	if len(placements) == 0 {
		placements = []string{results.SameCore, results.CrossCore}
	}
	cpus := o.CPUs
	if len(cpus) == 0 {
		var err error
		if cpus, err = sys.AllowedCPUs(); err != nil {
			return nil, err
		}
	}
	topo := sys.Topology(cpus)
	var out []*Node
	for _, t := range all {
		if len(o.Transports) > 0 && !slices.Contains(o.Transports, t.transport) {
			continue
		}
		for _, size := range sizes {
			for _, pl := range placements {
				n := &Node{Kind: nodeRoundTrip, Transport: t.transport, API: t.api, Serialization: t.ser, MsgSize: size, Placement: pl}
				pc, cc, err := sys.PlaceCPUs(pl, topo)
				if err != nil {
					n.skip = err.Error()
				}
				n.ParentCPU, n.ChildCPU = pc, cc
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// ---- finding Node ----

var nodeProbes struct {
	sync.Mutex
	m map[string]nodeProbe
}

type nodeProbe struct {
	env results.NodeEnv
	err error
}

// resolveNode finds the Node to measure: --node (any failure is the
// user's error) or node on PATH (absent or unusable: skip, with why).
func resolveNode(flag string) (env results.NodeEnv, skip string, err error) {
	if flag != "" {
		path, err := exec.LookPath(flag)
		if err != nil {
			return env, "", fmt.Errorf("--node %q: not found (give the path to Node.js %d or later)", flag, nodeMinMajor)
		}
		env, err := probeNode(path)
		if err != nil {
			return env, "", fmt.Errorf("--node %q: %v", flag, err)
		}
		return env, "", nil
	}
	path, err := exec.LookPath("node")
	if err != nil {
		return env, fmt.Sprintf("node not found on PATH: the node group measures Node.js's own child_process and IPC (install Node.js %d or later, or give --node PATH)", nodeMinMajor), nil
	}
	if env, err = probeNode(path); err != nil {
		return env, fmt.Sprintf("node on PATH (%s): %v (give --node PATH)", path, err), nil
	}
	return env, "", nil
}

// CheckNode refuses a --node that is not a usable Node.js (found, Node.js,
// recent enough), whichever groups run.
func CheckNode(flag string) error {
	_, _, err := resolveNode(flag)
	return err
}

// NodeEnv is the Node the node group would run with these options, for
// the run's fingerprint; nil when there is none.
func NodeEnv(o Options) *results.NodeEnv {
	env, skip, err := resolveNode(o.Node)
	if err != nil || skip != "" {
		return nil
	}
	return &env
}

// probeNode asks a program whether it is a usable Node.js, once per path.
func probeNode(path string) (results.NodeEnv, error) {
	nodeProbes.Lock()
	defer nodeProbes.Unlock()
	if p, ok := nodeProbes.m[path]; ok {
		return p.env, p.err
	}
	env, err := askNode(path)
	if nodeProbes.m == nil {
		nodeProbes.m = map[string]nodeProbe{}
	}
	nodeProbes.m[path] = nodeProbe{env, err}
	return env, err
}

func askNode(path string) (results.NodeEnv, error) {
	const probe = `process.stdout.write(JSON.stringify({release: process.release && process.release.name, node: process.version, uv: process.versions.uv, v8: process.versions.v8}))`
	env := results.NodeEnv{Path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := child.New(ctx, "node "+path, path, "-e", probe)
	var out limitedBuffer
	p.Cmd.Stdout = &out
	err := p.Start()
	if err == nil {
		err = p.Wait()
	}
	if ctx.Err() != nil {
		return env, fmt.Errorf("is not Node.js: it did not answer `-e` within 10s (Node.js %d or later is needed)", nodeMinMajor)
	}
	if err != nil {
		return env, fmt.Errorf("is not Node.js (Node.js %d or later is needed): %v", nodeMinMajor, err)
	}
	var got struct{ Release, Node, UV, V8 string }
	if json.Unmarshal(out.Bytes(), &got) != nil || got.Release != "node" {
		return env, fmt.Errorf("is not Node.js: `-e` printed %.60q (Node.js %d or later is needed)", out.String(), nodeMinMajor)
	}
	env.Version, env.Libuv, env.V8 = got.Node, got.UV, got.V8
	major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(got.Node, "v"), ".", 2)[0])
	if major < nodeMinMajor {
		return env, fmt.Errorf("is Node.js %s; the node group needs Node.js %d or later", got.Node, nodeMinMajor)
	}
	if uv, ok := majorMinor(got.UV); !ok || uv[0] < nodeMinUV[0] || uv[0] == nodeMinUV[0] && uv[1] < nodeMinUV[1] {
		return env, fmt.Errorf("is Node.js %s with libuv %q; the node group needs libuv %d.%d or later (net over abstract unix sockets), as later Node.js 20 releases ship",
			got.Node, got.UV, nodeMinUV[0], nodeMinUV[1])
	}
	return env, nil
}

// majorMinor parses the start of a version such as "1.46.0" or "1.46.0-dev".
func majorMinor(v string) ([2]int, bool) {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return [2]int{}, false
	}
	minor := f[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	a, err1 := strconv.Atoi(f[0])
	b, err2 := strconv.Atoi(minor)
	return [2]int{a, b}, err1 == nil && err2 == nil
}

// limitedBuffer keeps the first 4 KiB written to it (a probed program
// that is not Node may print anything).
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ---- running ----

func (n *Node) config() (*driverConfig, error) {
	c := &driverConfig{Kind: n.Kind, What: n.what(), Args: []string{}, ExecArgv: []string{}, DieAfter: n.dieAfter, HangAfter: n.hangAfter}
	switch n.Kind {
	case nodeSpawn:
		c.Mode, c.Line, c.Argv = n.Mode, n.Line, n.Argv
		if n.Mode == results.SpawnFork {
			if n.Module != "" {
				c.Module, c.Args, c.ExecArgv = n.Module, n.Args, n.ExecArgv
			} else {
				c.Workers = map[string]string{"fork": nodeSource("fork")}
			}
		}
	case nodeParentMem:
		c.Argv, c.ParentMem = n.Argv, n.ParentMem
	case nodeOutput:
		exe, env, err := child.SelfCommand(writerRole)
		if err != nil {
			return nil, err
		}
		c.Collect, c.MaxBuffer = n.Collect, n.MaxBuffer
		// Started directly in every mode (execFile for buffered), as the
		// Go output figures beside these start it: no shell in the op.
		c.Argv = []string{exe, strconv.FormatInt(n.Size, 10), strconv.Itoa(n.Write), "0", "0"}
		c.Env = map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			c.Env[k] = v
		}
	case nodeRoundTrip:
		c.Transport, c.API, c.Serialization, c.Size = n.Transport, n.API, n.Serialization, n.MsgSize
		w := cmp.Or(n.API, "channel")
		c.Workers = map[string]string{w: nodeSource(w)}
	}
	return c, nil
}

// Run implements bench.Scenario.
func (n *Node) Run(ctx context.Context, b *bench.B) error {
	cfg, err := n.config()
	if err != nil {
		return err
	}
	n.found = map[string]string{}
	cpu := -1
	if n.Kind == nodeRoundTrip {
		cpu = n.ParentCPU
	}
	d, err := startNodeDriver(ctx, n.node.Path, cfg, cpu, cmp.Or(n.timeout, nodeTimeout))
	if err != nil {
		return err
	}
	defer d.kill()
	rd, err := d.expect("ready")
	if err != nil {
		return d.fail(err)
	}
	b.TrackProcess(d.pid)
	if err := n.setUp(b, rd.Info); err != nil {
		return d.fail(err)
	}
	f := fieldIndex(rd.Fields)
	if n.Kind == nodeOutput {
		b.SetBytes(n.Size)
	}
	var alive []int
	if pid, ok := workerPid(rd.Info); ok {
		alive = append(alive, pid)
	}
	if err := d.goAhead(alive...); err != nil {
		return err
	}
	var transfer []float64
	for b.Loop() {
		rec, err := d.next()
		if err != nil {
			return d.fail(err)
		}
		total := time.Duration(rec[0])
		b.ReportOpTime(total)
		for _, ph := range f.phases {
			if v := rec[ph.i]; v > 0 {
				b.Observe(ph.ph, time.Duration(v))
			}
		}
		if n.Kind == nodeOutput {
			if err := n.verify(rec, f); err != nil {
				return d.fail(err)
			}
			if fb := time.Duration(rec[f.firstByte]); fb > 0 {
				b.Observe(results.PhaseTransfer, total-fb)
				if b.Timing() {
					transfer = append(transfer, float64(total-fb))
				}
			}
		}
	}
	end, kids, err := d.finish()
	if err != nil {
		return err
	}
	if len(transfer) > 0 {
		if med := median(transfer); med > 0 {
			b.ReportMetric(float64(n.Size)*1e3/med, results.MetricMBPerSec)
		}
	}
	n.report(b, end, kids)
	return nil
}

// setUp acts on what the driver set up: a worker to track, to place on
// the child's CPU and whose channel to describe from /proc.
func (n *Node) setUp(b *bench.B, info map[string]any) error {
	if rss, ok := info["rss_bytes"].(float64); ok {
		n.found["node_rss_bytes"] = strconv.FormatInt(int64(rss), 10)
	}
	pid, ok := workerPid(info)
	if !ok {
		return nil
	}
	b.TrackProcess(pid)
	// The worker was forked by the driver, so it started on the driver's
	// CPU; its threads are all running now (it sent its first message).
	if err := sys.PinPid(pid, n.ChildCPU); err != nil {
		return err
	}
	if mech := describeChannel(pid, info); mech != "" {
		n.found["mechanism"] = mech
	}
	return nil
}

// workerPid is the pid of the long-lived worker the driver set up, if any.
func workerPid(info map[string]any) (int, bool) {
	wp, ok := info["worker_pid"].(float64)
	return int(wp), ok && wp > 0
}

// describeChannel says, from the worker's /proc alone, what carries the
// benchmark's messages: the descriptor Node named in NODE_CHANNEL_FD (or
// the extra stdio fd) and whether any shared memory is mapped.
func describeChannel(pid int, info map[string]any) string {
	var fd int
	var name string
	switch {
	case info["channel_fd"] != nil:
		v, ok := sys.ProcEnv(pid, "NODE_CHANNEL_FD")
		if fd, _ = strconv.Atoi(v); !ok || fd <= 0 {
			return "NODE_CHANNEL_FD not found in the worker's environment"
		}
		name = "IPC channel (NODE_CHANNEL_FD)"
	case info["worker_fd"] != nil:
		fd, name = int(info["worker_fd"].(float64)), "stdio 'pipe'"
	default:
		return ""
	}
	desc, err := sys.DescribeFD(pid, fd)
	if err != nil {
		return err.Error()
	}
	shm := "no shared-memory mapping in the worker"
	if maps, err := sys.SharedMappings(pid); err != nil {
		shm = err.Error()
	} else if len(maps) > 0 {
		shm = "shared mappings in the worker: " + strings.Join(maps, ", ")
	}
	return fmt.Sprintf("%s is the worker's fd %d: %s; %s (/proc/%s)", name, fd, desc, shm, "PID/fd, net/unix, maps")
}

// fields locates the values of the driver's op records (-1: absent).
type fields struct {
	phases                  []phaseField
	firstByte, bytes, lines int
}

// phaseField is a record value that is a phase: ns from the op's start.
type phaseField struct {
	ph results.Phase
	i  int
}

func fieldIndex(names []string) fields {
	f := fields{firstByte: -1, bytes: -1, lines: -1}
	for i, nm := range names {
		switch results.Phase(nm) {
		case results.PhaseStarted, results.PhaseExit, results.PhaseReady, results.PhaseFirstByte:
			f.phases = append(f.phases, phaseField{results.Phase(nm), i})
		}
		switch nm {
		case "first_byte":
			f.firstByte = i
		case "bytes":
			f.bytes = i
		case "lines":
			f.lines = i
		}
	}
	return f
}

// verify checks an output op: bytes in = bytes out, and the line count.
func (n *Node) verify(rec []float64, f fields) error {
	if f.bytes < 0 || f.firstByte < 0 || f.lines < 0 {
		return errors.New("node driver: output records lack bytes, lines or first_byte")
	}
	got := int64(rec[f.bytes])
	if n.Collect == results.CollectLines {
		// readline hands out lines without their '\n': count them back.
		if lines, want := int64(rec[f.lines]), (n.Size+lineLen-1)/lineLen; lines != want {
			return fmt.Errorf("readline gave %d lines, want %d", lines, want)
		}
		got += n.Size / lineLen
	}
	if got != n.Size {
		return fmt.Errorf("received %d bytes, the child wrote %d (bytes in != bytes out)", got, n.Size)
	}
	return nil
}

// report attaches Node's cost per op: the driver's CPU and context
// switches over its ops (its own rusage deltas) plus the CPU of the
// children it reaped meanwhile (/proc, 10 ms ticks; a round trip's
// worker without its start-up, see goAhead), its peak RSS, and for
// output its peak growth.
func (n *Node) report(b *bench.B, end *driverMsg, kids sys.ProcTimes) {
	if end == nil || end.Ops <= 0 {
		return
	}
	ops := float64(end.Ops)
	b.ReportMetric((float64(end.UserUS)*1e3+float64(kids.ChildUser))/ops, results.MetricChildUser)
	b.ReportMetric((float64(end.SysUS)*1e3+float64(kids.ChildSys))/ops, results.MetricChildSys)
	b.ReportMetric(float64(end.Vcsw)/ops, results.MetricChildVcsw)
	b.ReportMetric(float64(end.Ivcsw)/ops, results.MetricChildIvcsw)
	if end.HWMKB > 0 {
		b.ReportMetric(float64(end.HWMKB)*1024, results.MetricChildPeak)
	}
	if n.Kind == nodeOutput {
		if end.GrowthBytes != nil {
			b.ReportMetric(float64(max(0, *end.GrowthBytes)), results.MetricNodeGrowth)
		} else {
			b.Warn(results.WarnMeasurement, "Node's peak memory growth not measured (/proc/self/clear_refs not writable)")
		}
	}
}
