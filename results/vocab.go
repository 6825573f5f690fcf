package results

import (
	"encoding/json"
	"strings"
)

// Name is a benchmark's full name, "Base/key=value/key=value...", the form
// of the Go benchmark format (benchfmt.Name is the model): the base names
// the workload, the parameters fix it. A Name is the key of a benchmark
// across runs, formats and tools (benchstat, compare, gate).
type Name string

// NewName builds "base/k1=v1/k2=v2..." from key, value pairs in order.
// Values are cleaned so the name stays parseable (no '/' or spaces).
func NewName(base string, kv ...string) Name {
	var b strings.Builder
	b.WriteString(base)
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteByte('/')
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(CleanLabel(kv[i+1]))
	}
	return Name(b.String())
}

// CleanLabel keeps a value usable inside a name: '/', '=' and white space
// become '_', other control characters go.
func CleanLabel(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '/', r == '=', r == ' ', r == '\t', r == '\n', r == '\r':
			return '_'
		case isControl(r):
			return -1
		}
		return r
	}, s)
}

// String implements fmt.Stringer.
func (n Name) String() string { return string(n) }

// Base is the part before the first '/'.
func (n Name) Base() string {
	base, _, _ := strings.Cut(string(n), "/")
	return base
}

// Parts returns the "key=value" parts after the base, in order.
func (n Name) Parts() []string {
	_, rest, ok := strings.Cut(string(n), "/")
	if !ok {
		return nil
	}
	return strings.Split(rest, "/")
}

// Params returns the parameters as a map (a part without '=' is ignored).
func (n Name) Params() map[string]string {
	m := map[string]string{}
	for _, p := range n.Parts() {
		if k, v, ok := strings.Cut(p, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Param returns one parameter's value, "" when absent.
func (n Name) Param(key string) string {
	for _, p := range n.Parts() {
		if k, v, ok := strings.Cut(p, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Without returns the name with the given parameters removed, e.g. the
// name of a benchmark family across core counts (Without(KeyCores)).
func (n Name) Without(keys ...string) Name {
	var b strings.Builder
	b.WriteString(n.Base())
outer:
	for _, p := range n.Parts() {
		k, _, _ := strings.Cut(p, "=")
		for _, drop := range keys {
			if k == drop {
				continue outer
			}
		}
		b.WriteByte('/')
		b.WriteString(p)
	}
	return Name(b.String())
}

// Scenario bases.
const (
	ScenarioSpawn      = "Spawn"
	ScenarioOutput     = "Output"
	ScenarioRoundTrip  = "RoundTrip"
	ScenarioThroughput = "Throughput"
)

// Parameter keys used in names.
const (
	KeyMode      = "mode"      // spawn mode, or transport/collect mode (raw, go)
	KeyCmd       = "cmd"       // the command's label
	KeyCores     = "cores"     // concurrent workers
	KeyCollect   = "collect"   // output collection
	KeySize      = "size"      // bytes per op (message or whole output)
	KeyWrite     = "write"     // the child's write size
	KeyStderr    = "stderr"    // output interleaved on stderr
	KeyTransport = "transport" // IPC transport
	KeyPlacement = "placement" // where the two processes of a pair run
	// The node group and the parent-memory dimension.
	KeyRuntime       = "runtime"       // who measured it: "node" (Node's own APIs, timed in Node); absent: ipcbench's Go
	KeyAPI           = "api"           // Node API carrying a round trip: net, stdio
	KeySerialization = "serialization" // Node fork channel serialization: json, advanced
	KeyMethod        = "method"        // how a process is created: vfork (os/exec) or fork (fork+exec, libuv's way)
	KeyParentMem     = "parent_mem"    // bytes of touched memory the spawning process holds
)

// Runtimes other than ipcbench's own Go.
const (
	RuntimeNode = "node" // Node.js, driven by ipcbench's embedded driver
)

// Process-creation methods of the parent-memory dimension.
const (
	MethodVfork = "vfork" // clone(CLONE_VM|CLONE_VFORK): Go's os/exec, glibc's posix_spawn
	MethodFork  = "fork"  // a real fork (page tables copied), then execve: libuv's, so Node's
)

// Spawn modes, as Node names them.
const (
	SpawnExec  = "exec"  // through /bin/sh -c, output buffered
	SpawnSpawn = "spawn" // direct argv, output streamed
	SpawnFork  = "fork"  // a worker of this program with an IPC channel
	// SpawnExecFile is Node's execFile: direct argv like spawn, output
	// buffered like exec (node group only).
	SpawnExecFile = "execFile"
)

// Collect modes of the output scenario.
const (
	CollectBuffered = "buffered"
	CollectStreamed = "streamed"
	CollectLines    = "lines"
)

// I/O modes of transports and streamed output.
const (
	ModeRaw = "raw" // blocking syscalls on a locked thread: the kernel's cost
	ModeGo  = "go"  // the runtime poller: what an idiomatic Go program pays
)

// Placements: where the two processes of a pair run.
const (
	SameCore    = "same-core"    // both on one logical CPU
	CrossCore   = "cross-core"   // two different physical cores, same package
	SMTSibling  = "smt-sibling"  // two hardware threads of one core
	CrossSocket = "cross-socket" // two packages
	Unpinned    = "unpinned"     // the scheduler decides
)

// Placements lists every placement name ipcbench knows.
var Placements = []string{SameCore, CrossCore, SMTSibling, CrossSocket, Unpinned}

// Phase names a per-op milestone kept as its own distribution.
type Phase string

// Phases.
const (
	PhaseStarted   Phase = "started"    // fork+exec returned
	PhaseReady     Phase = "ready"      // a fork worker said it is ready
	PhaseFirstByte Phase = "first_byte" // the first byte of output arrived
	PhaseTransfer  Phase = "transfer"   // first byte to exit
	PhaseExit      Phase = "exit"       // the exit was seen (Node's 'exit' event; stdio may still be open)
)

// PhaseOrder is the order phases are shown in.
var PhaseOrder = []Phase{PhaseStarted, PhaseReady, PhaseFirstByte, PhaseExit, PhaseTransfer}

// Metric names an extra per-op figure; the name carries its unit.
type Metric string

// Metrics.
const (
	MetricOpsPerSec Metric = "ops/s"
	MetricMBPerSec  Metric = "MB/s"

	MetricParentUser   Metric = "parent_user_ns/op"
	MetricParentSys    Metric = "parent_sys_ns/op"
	MetricParentVcsw   Metric = "parent_vcsw/op"
	MetricParentIvcsw  Metric = "parent_ivcsw/op"
	MetricChildUser    Metric = "child_user_ns/op"
	MetricChildSys     Metric = "child_sys_ns/op"
	MetricChildVcsw    Metric = "child_vcsw/op"
	MetricChildIvcsw   Metric = "child_ivcsw/op"
	MetricParentCPUMB  Metric = "parent_cpu_ns/MB"
	MetricChildCPUMB   Metric = "child_cpu_ns/MB"
	MetricParentPeak   Metric = "parent_peak_rss_bytes"    // VmHWM over the timed region
	MetricChildPeak    Metric = "child_peak_rss_bytes"     // a long-lived child's VmHWM
	MetricParentGrowth Metric = "parent_peak_growth_bytes" // peak minus RSS before (output)
	MetricBytesPerOp   Metric = "bytes/op"                 // measured output of a user command
	MetricTimerShare   Metric = "timer_overhead_share"     // clock reads' share of an op
	// MetricNodeGrowth is the Node process's own peak RSS growth over a
	// node-group benchmark (its VmHWM, reset before its first op, minus its
	// VmRSS then): Node's side of parent_peak_growth_bytes.
	MetricNodeGrowth Metric = "node_peak_growth_bytes"
)

// HigherIsBetter reports whether larger values of m are improvements.
func (m Metric) HigherIsBetter() bool {
	switch m {
	case MetricOpsPerSec, MetricMBPerSec, MetricMaxRate, MetricMaxRatePerCore, MetricCPUBoundRate, MetricKneeRate, MetricAchievedRate:
		return true
	}
	return false
}

// CPUPerOp is the user+system CPU per op of parent and children, and
// whether any of it was measured.
func (b *Benchmark) CPUPerOp() (float64, bool) {
	_, ok := b.Metrics[MetricParentUser]
	m := b.Metrics
	return m[MetricParentUser] + m[MetricParentSys] + m[MetricChildUser] + m[MetricChildSys], ok
}

// WarningKind classifies a warning so reporters can group and select
// warnings without matching their text.
type WarningKind string

// Warning kinds.
const (
	WarnNoisy       WarningKind = "noisy"          // the CI is wider than the target
	WarnFewSamples  WarningKind = "few-samples"    // too few samples for a CI
	WarnBusy        WarningKind = "busy-machine"   // other processes used the CPUs
	WarnSteal       WarningKind = "steal"          // the hypervisor took CPU time
	WarnClock       WarningKind = "clock-overhead" // clock reads inflate the figure
	WarnPlacement   WarningKind = "placement"      // pairs had to share CPUs
	WarnProfiling   WarningKind = "profiling"      // taken under --profile, or a profile is missing
	WarnInterrupted WarningKind = "interrupted"    // stopped before the adaptive stop
	WarnMeasurement WarningKind = "measurement"    // a secondary figure could not be taken
	WarnScenario    WarningKind = "scenario"       // a caveat of the workload itself
	WarnBound       WarningKind = "bound"          // a safety bound or the time budget ended sampling early
)

// Why sampling of a benchmark ended (Benchmark.Stop).
const (
	StopTarget      = "target"      // the CI reached the target width
	StopRounds      = "rounds"      // the most rounds allowed
	StopTime        = "time"        // the run's time budget ran out
	StopBound       = "bound"       // a safety bound (a runaway op)
	StopInterrupted = "interrupted" // a signal
	StopFailed      = "failed"      // the benchmark failed
)

// WeakKinds are the warnings that make a figure weak for decisions
// (--strict fails a run that has them).
var WeakKinds = []WarningKind{WarnNoisy, WarnBusy, WarnSteal, WarnFewSamples, WarnBound}

// Warning is a caveat attached to a benchmark's figures.
type Warning struct {
	Kind WarningKind `json:"kind"`
	Text string      `json:"text"`
}

func (w Warning) String() string { return w.Text }

// UnmarshalJSON also reads schema-1 documents, whose warnings were plain
// strings: the kind is recovered from the text's well-known prefixes.
func (w *Warning) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*w = Warning{Kind: legacyKind(s), Text: s}
		return nil
	}
	type plain Warning
	return json.Unmarshal(data, (*plain)(w))
}

func legacyKind(s string) WarningKind {
	for _, p := range []struct {
		prefix string
		kind   WarningKind
	}{
		{"noisy", WarnNoisy}, {"only ", WarnFewSamples}, {"busy machine", WarnBusy},
		{"hypervisor steal", WarnSteal}, {"clock reads", WarnClock}, {"placement", WarnPlacement},
		{"profiling", WarnProfiling}, {"figures taken under profiling", WarnProfiling},
		{"interrupted", WarnInterrupted},
	} {
		if strings.HasPrefix(s, p.prefix) {
			return p.kind
		}
	}
	return WarnScenario
}

// Warn appends a warning of the given kind.
func (b *Benchmark) Warn(kind WarningKind, text string) {
	b.Warnings = append(b.Warnings, Warning{Kind: kind, Text: text})
}

// HasWarning reports whether b carries a warning of the kind.
func (b *Benchmark) HasWarning(kind WarningKind) bool {
	for _, w := range b.Warnings {
		if w.Kind == kind {
			return true
		}
	}
	return false
}
