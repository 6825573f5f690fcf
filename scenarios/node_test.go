package scenarios

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
)

// needNode skips a test that needs Node.js when there is none (CI has it).
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH: the node group's tests need Node.js 20 or later (CI installs it)")
	}
}

// noMess checks, at the end of a test, that nothing the Node drivers
// started outlives its benchmark (every driver leads a process group),
// that no descriptor or child leaked, and that nothing was left in the
// temporary directory or /dev/shm.
func noMess(t *testing.T) {
	t.Helper()
	leakcheck.Check(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // Node's os.tmpdir() and Go's os.TempDir()
	shm, _ := os.ReadDir("/dev/shm")
	var mu sync.Mutex
	var groups []int
	driverStarted = func(pid int) { mu.Lock(); groups = append(groups, pid); mu.Unlock() }
	t.Cleanup(func() {
		driverStarted = nil
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("left in TMPDIR: %v", ents)
		}
		if after, _ := os.ReadDir("/dev/shm"); len(after) > len(shm) {
			t.Errorf("/dev/shm grew: %v -> %v", shm, after)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(groups) == 0 {
			return
		}
		var left []string
		for try := 0; try < 50; try++ {
			left = groupMembers(groups)
			if len(left) == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("processes outlived their benchmark: %v", left)
	})
}

// groupMembers lists live processes in any of the process groups.
func groupMembers(groups []int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if pgid, _ := strconv.Atoi(f[2]); slices.Contains(groups, pgid) {
			out = append(out, e.Name()+" "+s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return out
}

func TestDriverProtocol(t *testing.T) {
	stream := `{"t":"hello","node":"v20.1.0","uv":"1.46.0","pid":7}
{"t":"ready","fields":["total","started"],"info":{"worker_pid":9}}
{"t":"ops","v":[100,10,200,20]}
{"t":"ops","v":[300,30]}
{"t":"end","ops":3,"user_us":5,"growth_bytes":4096}
`
	d := newDriverReader(strings.NewReader(stream))
	h, err := d.expect("hello")
	if err != nil || h.Node != "v20.1.0" || h.UV != "1.46.0" || h.Pid != 7 {
		t.Fatalf("hello %+v %v", h, err)
	}
	if _, err := d.next(); err == nil {
		t.Fatal("op records accepted before ready")
	}
	r, err := d.expect("ready")
	if err != nil || r.Info["worker_pid"] != 9.0 {
		t.Fatalf("ready %+v %v", r, err)
	}
	var got [][]float64
	for {
		rec, err := d.next()
		if errors.Is(err, errDriverEnd) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, slices.Clone(rec))
	}
	if want := [][]float64{{100, 10}, {200, 20}, {300, 30}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("records %v, want %v", got, want)
	}
	if d.end == nil || d.end.Ops != 3 || d.end.UserUS != 5 || d.end.GrowthBytes == nil || *d.end.GrowthBytes != 4096 {
		t.Fatalf("end %+v", d.end)
	}

	bad := []struct{ stream, want string }{
		{`{"t":"error","msg":"spawn /x: ENOENT"}` + "\n", "spawn /x: ENOENT"},
		{`{"t":"ready","fields":["started"]}` + "\n", "want total"},
		{`{"t":"ready","fields":["total","started"]}` + "\n" + `{"t":"ops","v":[1,2,3]}` + "\n", "whole number"},
		{`{"t":"ready","fields":["total"]}` + "\n" + `not json` + "\n", "unreadable report"},
		{`{"t":"ready","fields":["total"]}` + "\n" + `{"t":"hello"}` + "\n", `unexpected "hello"`},
		{`{"t":"ready","fields":["total"]}` + "\n" + `{"t":"ops","v":[1]`, io.ErrUnexpectedEOF.Error()},
		{`{"t":"ready","fields":["total"]}` + "\n", io.EOF.Error()},
	}
	for _, c := range bad {
		d := newDriverReader(strings.NewReader(c.stream))
		var err error
		if _, err = d.expect("ready"); err == nil {
			for err == nil {
				_, err = d.next()
			}
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.stream, err, c.want)
		}
		var de *driverError
		if strings.Contains(c.stream, `"error"`) && !errors.As(err, &de) {
			t.Errorf("an error report must be a *driverError: %T", err)
		}
	}
}

// TestReportDeadlineAfterPartialLine: a report line that arrives in
// pieces, the first long before the rest, is read under a deadline set
// when the line was needed, not one left from an earlier line; and a
// driver that stops writing still times out.
func TestReportDeadlineAfterPartialLine(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	const timeout = 200 * time.Millisecond
	rd := reportReader(r, timeout)
	if _, err := w.WriteString(`{"t":"ready","fields":["total"]}` + "\n" + `{"t":"ops","v":[1`); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.expect("ready"); err != nil {
		t.Fatal(err)
	}
	// The deadline set for ready passes; half a line waits in the buffer.
	time.Sleep(timeout + 100*time.Millisecond)
	go func() {
		time.Sleep(timeout / 4)
		_, _ = w.WriteString(",2]}\n")
	}()
	for _, want := range []float64{1, 2} {
		rec, err := rd.next()
		if err != nil {
			t.Fatalf("a healthy slow line: %v", err)
		}
		if rec[0] != want {
			t.Fatalf("record %v, want [%v]", rec, want)
		}
	}
	start := time.Now()
	if _, err := rd.next(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a silent driver: %v, want the deadline exceeded", err)
	}
	if waited := time.Since(start); waited < timeout/2 || waited > 10*timeout {
		t.Fatalf("a silent driver timed out after %v, want about %v", waited, timeout)
	}
}

// TestDriverLive runs the real driver through the whole protocol: hello
// with the versions, ready, op records, end.
func TestDriverLive(t *testing.T) {
	needNode(t)
	noMess(t)
	node, _ := exec.LookPath("node")
	truePath, _ := exec.LookPath("true")
	cfg := &driverConfig{Kind: nodeSpawn, Mode: results.SpawnSpawn, Argv: []string{truePath}, What: "true", Args: []string{}, ExecArgv: []string{}}
	d, err := startNodeDriver(context.Background(), node, cfg, -1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.hello.Node, "v") || d.hello.UV == "" || d.hello.Pid != d.pid {
		t.Fatalf("hello %+v (driver pid %d)", d.hello, d.pid)
	}
	r, err := d.expect("ready")
	if err != nil || !slices.Equal(r.Fields, []string{"total", "started", "exit", "first_byte"}) {
		t.Fatalf("ready %+v %v", r, err)
	}
	if err := d.goAhead(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		rec, err := d.next()
		if err != nil {
			t.Fatal(err)
		}
		total, started, exit := rec[0], rec[1], rec[2]
		if !(0 < started && started <= exit && exit <= total) {
			t.Fatalf("record %v: want 0 < started <= exit <= total", rec)
		}
	}
	end, _, err := d.finish()
	if err != nil {
		t.Fatal(err)
	}
	if end.Ops < 5 || end.UserUS+end.SysUS <= 0 || end.HWMKB <= 0 {
		t.Fatalf("end %+v", end)
	}
}

// TestDriverWorkerStartUpNotCounted: a round trip's worker lives from
// before "go" to the teardown, and the driver reaps it only then; the
// CPU it spent starting (Node's boot) must not be in the children's CPU
// of the ops. A few round trips cost far less CPU than a Node start.
func TestDriverWorkerStartUpNotCounted(t *testing.T) {
	needNode(t)
	noMess(t)
	node, _ := exec.LookPath("node")
	n := &Node{Kind: nodeRoundTrip, Transport: "channel", Serialization: "json", MsgSize: 64}
	cfg, err := n.config()
	if err != nil {
		t.Fatal(err)
	}
	d, err := startNodeDriver(context.Background(), node, cfg, -1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.kill()
	r, err := d.expect("ready")
	if err != nil {
		t.Fatal(err)
	}
	pid, ok := workerPid(r.Info)
	if !ok {
		t.Fatalf("ready without a worker: %+v", r)
	}
	if err := d.goAhead(pid); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := d.next(); err != nil {
			t.Fatal(err)
		}
	}
	_, kids, err := d.finish()
	if err != nil {
		t.Fatal(err)
	}
	startUp := d.startUp.User + d.startUp.Sys
	if startUp <= 0 {
		t.Fatalf("the worker's start-up CPU was not read: %+v", d.startUp)
	}
	if loop := kids.ChildUser + kids.ChildSys; loop >= startUp {
		t.Fatalf("children's CPU over 20 round trips %v, not below the worker's start-up %v: the start-up is counted", loop, startUp)
	}
}

// nodeOpts keeps the node group small for tests.
func nodeOpts() Options {
	return Options{Sizes: []int{64}, OutputSizes: []int64{256 << 10}, ParentMem: []int64{0, 8 << 20}}
}

func TestNodeEndToEnd(t *testing.T) {
	needNode(t)
	noMess(t)
	list, err := buildNode(nodeOpts())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, s := range list {
		n := s.(*Node)
		kinds[n.Kind]++
		if n.skip != "" || n.Kind == nodeRoundTrip && n.Placement != results.SameCore && n.Transport != "channel" {
			continue // cross-core once (channel) is enough to check the placing
		}
		t.Run(string(s.Name()), func(t *testing.T) {
			res, err := bench.Run(context.Background(), s, tinyCfg())
			if err != nil || res.Error != "" || res.Skipped != "" {
				t.Fatalf("%v %s %s", err, res.Error, res.Skipped)
			}
			checkNodeResult(t, n, &res)
		})
	}
	if kinds[nodeSpawn] != 4 || kinds[nodeParentMem] != 2 || kinds[nodeOutput] != 3 || kinds[nodeRoundTrip] != 10 {
		t.Fatalf("benchmarks per kind: %v", kinds)
	}
}

func checkNodeResult(t *testing.T, n *Node, res *results.Benchmark) {
	t.Helper()
	if res.Iterations < 1 || tooFew(res) || res.PercentileSource != "per-op" {
		t.Fatalf("%d ops in %d samples, percentiles %q", res.Iterations, res.Summary.N, res.PercentileSource)
	}
	if !(res.Summary.P50 <= res.Summary.P99 && res.Summary.P99 <= res.Summary.P999) {
		t.Fatalf("percentiles out of order: %+v", res.Summary)
	}
	if res.Params["runtime"] != "node" || !strings.HasPrefix(res.Params["node"], "v") || res.Params["libuv"] == "" {
		t.Fatalf("params %v", res.Params)
	}
	if res.Metrics[results.MetricChildUser]+res.Metrics[results.MetricChildSys] <= 0 {
		t.Fatalf("no CPU per op from Node: %v", res.Metrics)
	}
	switch n.Kind {
	case nodeSpawn, nodeParentMem:
		st := res.Distributions[results.PhaseStarted]
		if int64(st.N) != res.Iterations || st.P50 > res.Summary.P99 {
			t.Fatalf("started: %d of %d ops, p50 %v", st.N, res.Iterations, st.P50)
		}
		if n.Mode == results.SpawnFork {
			if r := res.Distributions[results.PhaseReady]; int64(r.N) != res.Iterations {
				t.Fatalf("ready seen in %d of %d forks", r.N, res.Iterations)
			}
		} else if n.Kind == nodeSpawn {
			if e := res.Distributions[results.PhaseExit]; int64(e.N) != res.Iterations {
				t.Fatalf("exit seen in %d of %d spawns", e.N, res.Iterations)
			}
		}
		if n.Kind == nodeParentMem {
			if rss, _ := strconv.ParseInt(res.Params["node_rss_bytes"], 10, 64); rss < n.ParentMem {
				t.Fatalf("Node holds %d bytes, want at least %d", rss, n.ParentMem)
			}
		}
	case nodeOutput:
		// Like for like with the Go figures: the writer started directly.
		if n.Collect == results.CollectBuffered && !strings.HasPrefix(res.Params["how"], "execFile(") {
			t.Fatalf("buffered output collected by %q, want execFile (no shell)", res.Params["how"])
		}
		if res.Metrics[results.MetricMBPerSec] <= 0 || res.BytesPerOp != n.Size {
			t.Fatalf("MB/s %v, bytes/op %d", res.Metrics[results.MetricMBPerSec], res.BytesPerOp)
		}
		if _, ok := res.Metrics[results.MetricNodeGrowth]; !ok {
			t.Fatalf("no Node memory growth: %v", res.Metrics)
		}
		fb, tr := res.Distributions[results.PhaseFirstByte], res.Distributions[results.PhaseTransfer]
		if int64(fb.N) != res.Iterations || int64(tr.N) != res.Iterations {
			t.Fatalf("first_byte %d, transfer %d of %d ops", fb.N, tr.N, res.Iterations)
		}
	case nodeRoundTrip:
		if n.Transport == "channel" || n.API == "stdio" {
			// What /proc says carries the messages: a socketpair, no shared memory.
			m := res.Params["mechanism"]
			if !strings.Contains(m, "AF_UNIX SOCK_STREAM socket, unnamed (a socketpair)") || !strings.Contains(m, "no shared-memory mapping") {
				t.Fatalf("mechanism %q", m)
			}
		}
	}
}

func TestNodeAbsentIsSkipped(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"true", "echo", "sh"} {
		if path, err := exec.LookPath(p); err == nil {
			_ = os.Symlink(path, filepath.Join(dir, p))
		}
	}
	t.Setenv("PATH", dir)
	list, err := buildNode(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 10 {
		t.Fatalf("%d benchmarks: list shows what would run even without node", len(list))
	}
	for _, s := range list {
		res, err := bench.Run(context.Background(), s, tinyCfg())
		if err != nil || !strings.Contains(res.Skipped, "node not found on PATH") || !strings.Contains(res.Skipped, "--node") {
			t.Fatalf("%s: %v skipped %q", s.Name(), err, res.Skipped)
		}
	}
	if NodeEnv(Options{}) != nil {
		t.Fatal("a fingerprint without node must have no Node")
	}
}

// A Node 20 on PATH whose libuv is too old skips the group, saying why.
func TestNodeOldLibuvOnPathIsSkipped(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"true", "echo", "sh"} {
		if path, err := exec.LookPath(p); err == nil {
			_ = os.Symlink(path, filepath.Join(dir, p))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "node"), []byte("#!/bin/sh\necho '{\"release\":\"node\",\"node\":\"v20.2.0\",\"uv\":\"1.45.0\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	list, err := buildNode(Options{})
	if err != nil {
		t.Fatalf("node on PATH with an old libuv must skip the group, not fail: %v", err)
	}
	for _, s := range list {
		if r := s.(*Node).SkipReason(); !strings.Contains(r, `libuv "1.45.0"`) || !strings.Contains(r, "1.46 or later") || !strings.Contains(r, "--node") {
			t.Fatalf("%s: skipped %q", s.Name(), r)
		}
	}
	if NodeEnv(Options{}) != nil {
		t.Fatal("a fingerprint with an unusable node must have no Node")
	}
}

func TestMajorMinor(t *testing.T) {
	for v, want := range map[string][2]int{"1.46.0": {1, 46}, "1.46.0-dev": {1, 46}, "2.0": {2, 0}, "1.50rc1.2": {1, 50}} {
		if got, ok := majorMinor(v); !ok || got != want {
			t.Errorf("%q: %v %v, want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "1", "x.46.0", "1.x"} {
		if got, ok := majorMinor(v); ok {
			t.Errorf("%q: %v accepted", v, got)
		}
	}
}

func TestNodeFlagRefusesWhatIsNotNode(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old-node")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho '{\"release\":\"node\",\"node\":\"v16.20.2\",\"uv\":\"1.43.0\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	oldUV := filepath.Join(dir, "node-old-libuv")
	if err := os.WriteFile(oldUV, []byte("#!/bin/sh\necho '{\"release\":\"node\",\"node\":\"v20.1.0\",\"uv\":\"1.44.2\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ node, want string }{
		{"/bin/true", "is not Node.js"},
		{filepath.Join(dir, "missing"), "not found"},
		{old, "is Node.js v16.20.2; the node group needs Node.js 20 or later"},
		{oldUV, `is Node.js v20.1.0 with libuv "1.44.2"; the node group needs libuv 1.46 or later`},
	} {
		if _, err := buildNode(Options{Node: c.node}); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--node") {
			t.Errorf("--node %s: %v, want %q", c.node, err, c.want)
		}
	}
}

// nodeSpawnTrue is one Node benchmark for the fault tests.
func nodeSpawnTrue(t *testing.T) *Node {
	t.Helper()
	list, err := buildNode(nodeOpts())
	if err != nil {
		t.Fatal(err)
	}
	return list[2].(*Node) // spawn('true')
}

func TestNodeDriverDies(t *testing.T) {
	needNode(t)
	noMess(t)
	n := nodeSpawnTrue(t)
	n.dieAfter = 5
	res, err := bench.Run(context.Background(), n, dieCfg())
	if err != nil {
		t.Fatal(err)
	}
	// The failure says how Node ended and what it said last on stderr.
	if !strings.Contains(res.Error, "node driver died") || !strings.Contains(res.Error, "exit status 3") || !strings.Contains(res.Error, "dying on purpose after 5 ops") {
		t.Fatalf("error %q", res.Error)
	}
}

func TestNodeDriverHangs(t *testing.T) {
	needNode(t)
	noMess(t)
	n := nodeSpawnTrue(t)
	n.hangAfter, n.timeout = 5, 500*time.Millisecond
	t0 := time.Now()
	res, err := bench.Run(context.Background(), n, dieCfg())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Error, "hung") || !strings.Contains(res.Error, "signal: killed") || !strings.Contains(res.Error, "hanging on purpose after 5 ops") {
		t.Fatalf("error %q", res.Error)
	}
	if d := time.Since(t0); d > 20*time.Second {
		t.Fatalf("a hung driver held the run for %v", d)
	}
}

func TestNodeInterrupted(t *testing.T) {
	needNode(t)
	noMess(t)
	list, err := buildNode(Options{Sizes: []int{64}, Transports: []string{"channel"}, Placements: []string{results.SameCore}})
	if err != nil {
		t.Fatal(err)
	}
	var rt bench.Scenario
	for _, s := range list {
		if s.(*Node).Kind == nodeRoundTrip {
			rt = s
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	// Far more samples than 700 ms can hold: the interrupt ends it.
	cfg := bench.Config{Budget: time.Minute, Warmup: time.Millisecond, SampleTime: 2 * time.Millisecond, MinSamples: 1e6, MaxSamples: 1e6}
	res, err := bench.Run(ctx, rt, cfg)
	if err == nil || !strings.Contains(res.Error, "interrupted") {
		t.Fatalf("%v %q", err, res.Error)
	}
}

func TestNodeUserCommand(t *testing.T) {
	needNode(t)
	noMess(t)
	o := nodeOpts()
	o.Cmd = `sh -c 'echo bad news >&2; exit 3'`
	list, err := buildNode(o)
	if err != nil {
		t.Fatal(err)
	}
	var modes []string
	for _, s := range list {
		n := s.(*Node)
		if n.Kind != nodeSpawn && n.Kind != nodeParentMem {
			continue
		}
		modes = append(modes, n.Mode)
		res, err := bench.Run(context.Background(), s, tinyCfg())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Error, "exit status 3") || !strings.Contains(res.Error, "bad news") && n.Kind == nodeSpawn {
			t.Fatalf("%s: error %q should give the status and what the command said", s.Name(), res.Error)
		}
		if !strings.Contains(string(s.Name()), "/cmd=sh_echo_bad_news_") {
			t.Fatalf("name %s", s.Name())
		}
	}
	// Not a Node script: no fork.
	if slices.Contains(modes, results.SpawnFork) {
		t.Fatalf("fork of a shell command: %v", modes)
	}
}

func TestNodeForkUserWorker(t *testing.T) {
	needNode(t)
	noMess(t)
	dir := t.TempDir()
	worker := filepath.Join(dir, "worker.js")
	// A user's worker: says it is ready, ends when its channel closes.
	if err := os.WriteFile(worker, []byte("process.on('message', () => {});\nprocess.send({ ready: true });\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	node, _ := exec.LookPath("node")
	o := nodeOpts()
	o.Cmd = node + " " + worker
	nodes, err := buildNode(o)
	if err != nil {
		t.Fatal(err)
	}
	spawns, err := buildSpawn(o)
	if err != nil {
		t.Fatal(err)
	}
	var forks []bench.Scenario
	for _, s := range append(nodes, spawns...) {
		if s.Name().Param(results.KeyMode) == results.SpawnFork {
			forks = append(forks, s)
		}
	}
	if len(forks) != 2 {
		t.Fatalf("%d fork benchmarks of the user's worker, want Go's and Node's", len(forks))
	}
	for _, s := range forks {
		if !strings.Contains(string(s.Name()), "cmd=node_worker.js~") {
			t.Fatalf("name %s", s.Name())
		}
		res, err := bench.Run(context.Background(), s, tinyCfg())
		if err != nil || res.Error != "" {
			t.Fatalf("%s: %v %s", s.Name(), err, res.Error)
		}
		if r := res.Distributions[results.PhaseReady]; int64(r.N) != res.Iterations {
			t.Fatalf("%s: ready in %d of %d", s.Name(), r.N, res.Iterations)
		}
	}
}

func TestNodeOutputVerify(t *testing.T) {
	f := fieldIndex([]string{"total", "first_byte", "bytes", "lines"})
	size := int64(1050) // 10 full lines and a last one of 50 bytes
	n := &Node{Kind: nodeOutput, Collect: results.CollectStreamed, Size: size}
	if err := n.verify([]float64{9, 1, 1050, 0}, f); err != nil {
		t.Fatal(err)
	}
	if err := n.verify([]float64{9, 1, 1049, 0}, f); err == nil || !strings.Contains(err.Error(), "bytes in != bytes out") {
		t.Fatalf("short output: %v", err)
	}
	n.Collect = results.CollectLines // readline: 11 lines, 1040 characters
	if err := n.verify([]float64{9, 1, 1040, 11}, f); err != nil {
		t.Fatal(err)
	}
	if err := n.verify([]float64{9, 1, 1040, 10}, f); err == nil || !strings.Contains(err.Error(), "lines") {
		t.Fatalf("a lost line: %v", err)
	}
	if err := n.verify([]float64{9, 1}, fieldIndex([]string{"total", "first_byte"})); err == nil {
		t.Fatal("records without bytes accepted")
	}
}
