// Package scenarios holds ipcbench's workloads: Spawn (exec / spawn / fork,
// and against the parent's memory), Output (buffered / streamed / lines),
// RoundTrip / Throughput over every transport, Load / SpawnLoad (open loop:
// latency under offered load), and the same questions asked of Node.js
// itself (node.go), plus the child roles they re-execute this binary in.
//
// A Group builds the fully parameterised benchmarks of one workload from
// Options; `ipcbench run all` runs every group in order.
package scenarios

import (
	"fmt"
	"maps"
	"os/exec"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/kballard/go-shellquote"
)

// Options are the user's choices that shape which benchmarks a group builds.
// The zero value means the defaults: a representative matrix (every
// transport, mode and placement at a small and a large message; output
// sizes that place the buffering/streaming crossover; the core-count sweep
// on a few benchmarks), not the whole cross product.
type Options struct {
	Quick bool
	// Full builds the whole cross product (all sizes, every output mode at
	// 1 GiB, every benchmark at every core count).
	Full bool
	// SweepAll puts every benchmark at every core count (Full, or --cores
	// given explicitly); otherwise only the sweep subset (see sweeps).
	SweepAll bool
	// Cmd is a user command (shell words) for spawn and output, as hyperfine takes one.
	Cmd string
	// Sizes are message sizes for round trip / throughput (default 64, 4096, 65536).
	Sizes []int
	// OutputSizes and WriteSizes shape the output scenario.
	OutputSizes []int64
	WriteSizes  []int
	MaxBuffer   int64
	Stderr      bool // output: interleave writes to stderr as well
	// Transports and Modes filter the IPC matrix (default: all).
	Transports []string
	Modes      []string
	// Placements for pairs (default same-core, cross-core where possible).
	Placements []string
	// CPUs restricts which CPUs placements may use (default: all allowed).
	CPUs []int
	// Cores are the concurrency levels (default 1).
	Cores []int
	// Node is the Node.js program of the node group (default: node on PATH).
	Node string
	// ParentMem are the sizes of touched memory the spawning process holds
	// in spawn's parent-memory dimension (default: 0 and the largest of
	// 1GiB, 512MiB, ... 64MiB that fits the machine).
	ParentMem []int64
	// Load (open loop, load.go): offered rates per second (default: a
	// sweep over a ladder of rates, up to saturation), arrival processes
	// (default constant), the objective a rate must meet to count as
	// sustainable (zero: not saturated is enough), the in-flight window
	// (messages; concurrent children for spawns; 0: defaults), and the
	// generator's busy wait before each start (0: calibrated; negative:
	// sleep only).
	Rates     []float64
	Arrivals  []string
	SLO       units.SLO
	Window    int
	SpinAhead time.Duration
}

// Group is one workload family.
type Group struct {
	Name  string
	Help  string
	Build func(o Options) ([]bench.Scenario, error)
}

// Groups lists every workload, in the order `run all` runs them.
var Groups = []Group{
	{Name: "spawn", Help: "process creation: exec (shell, buffered), spawn (argv, streamed), fork (ipcbench worker with IPC channel)", Build: buildSpawn},
	{Name: "parentmem", Help: "spawn against the spawning process's memory (--parent-mem): Go's os/exec (vfork, flat) beside fork+exec (libuv's way, page tables copied); the node group adds Node's own", Build: buildParentMem},
	{Name: "output", Help: "collecting a child's output: buffered vs streamed vs lines; MB/s, time to first byte, parent memory", Build: buildOutput},
	{Name: "roundtrip", Help: "IPC round-trip latency over every transport, mode, message size and placement", Build: buildRoundTrip},
	{Name: "throughput", Help: "one-way IPC throughput (the child streams, the parent reads) over every transport", Build: buildThroughput},
	{Name: "node", Help: "Node.js's own child_process and IPC, timed in Node (exec/execFile/spawn/fork, spawn vs the parent's memory, output collection, process.send, a stdio pipe, net); skipped with the reason when there is no node", Build: buildNode},
	{Name: "load", Help: "latency under offered load (open loop): messages and spawns on a fixed-rate schedule, latency from the scheduled start, swept up to saturation; max sustainable rate per core", Build: buildLoad},
}

// GroupNames lists the names of Groups.
func GroupNames() []string {
	var n []string
	for _, g := range Groups {
		n = append(n, g.Name)
	}
	return n
}

// Lookup finds a group by name.
func Lookup(name string) (Group, error) {
	for _, g := range Groups {
		if g.Name == name {
			return g, nil
		}
	}
	return Group{}, fmt.Errorf("unknown scenario %q (accepted: all, %s)", name, strings.Join(GroupNames(), ", "))
}

// roles is filled by each scenario file's init.
var roles = child.Roles{}

func register(name string, fn child.Func) {
	if _, dup := roles[name]; dup {
		panic("scenarios: duplicate role " + name)
	}
	roles[name] = fn
}

// Roles returns the child roles every scenario needs; pass it to child.Run.
func Roles() child.Roles { return maps.Clone(roles) }

// MaxMessage is the largest round-trip / throughput message size accepted.
const MaxMessage = 1 << 20

// coresOf returns the concurrency levels to build (default: just 1).
func coresOf(o Options) []int {
	if len(o.Cores) == 0 {
		return []int{1}
	}
	return o.Cores
}

// expandCores copies each scenario once per concurrency level: at 1
// always, above 1 for every scenario when sweepAll, else for those sweep
// picks (a representative subset: the run's length must not grow with the
// cross product times the core counts).
func expandCores[T any](list []*T, cores []int, sweepAll bool, sweep func(*T) bool, set func(*T, int)) []bench.Scenario {
	var out []bench.Scenario
	for _, s := range list {
		for _, n := range cores {
			if n > 1 && !sweepAll && !sweep(s) {
				continue
			}
			c := *s
			set(&c, n)
			out = append(out, any(&c).(bench.Scenario))
		}
	}
	return out
}

// userCommand splits a --cmd into argv with its program resolved on PATH,
// and a label for benchmark names, distinct for distinct commands (see
// cmdLabel).
func userCommand(cmd string) (argv []string, label string, err error) {
	argv, err = shellquote.Split(cmd)
	if err != nil || len(argv) == 0 {
		return nil, "", fmt.Errorf("--cmd %q: cannot split into words: %v", cmd, err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, "", fmt.Errorf("--cmd %q: %q not found (give a program on PATH or a path to an executable)", cmd, argv[0])
	}
	label = cmdLabel(argv) // from the words as typed, before resolving
	argv[0] = path
	return argv, label, nil
}
