// Package scenarios holds ipcbench's workloads: Spawn (exec / spawn / fork),
// Output (buffered / streamed / lines), RoundTrip / Throughput over every
// transport, and Load / SpawnLoad (open loop: latency under offered load),
// plus the child roles they re-execute this binary in.
//
// A Group builds the fully parameterised benchmarks of one workload from
// Options; `ipcbench run all` runs every group in order.
package scenarios

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/kballard/go-shellquote"
)

// Options are the user's choices that shape which benchmarks a group builds.
// The zero value means the defaults.
type Options struct {
	Quick bool
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
	{Name: "output", Help: "collecting a child's output: buffered vs streamed vs lines; MB/s, time to first byte, parent memory", Build: buildOutput},
	{Name: "roundtrip", Help: "IPC round-trip latency over every transport, mode, message size and placement", Build: buildRoundTrip},
	{Name: "throughput", Help: "one-way IPC throughput (the child streams, the parent reads) over every transport", Build: buildThroughput},
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

// expandCores copies each scenario once per concurrency level.
func expandCores[T any](list []*T, cores []int, set func(*T, int)) []bench.Scenario {
	var out []bench.Scenario
	for _, s := range list {
		for _, n := range cores {
			c := *s
			set(&c, n)
			out = append(out, any(&c).(bench.Scenario))
		}
	}
	return out
}

// userCommand splits a --cmd into argv with its program resolved on PATH,
// and a label for benchmark names.
func userCommand(cmd string) (argv []string, label string, err error) {
	argv, err = shellquote.Split(cmd)
	if err != nil || len(argv) == 0 {
		return nil, "", fmt.Errorf("--cmd %q: cannot split into words: %v", cmd, err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, "", fmt.Errorf("--cmd %q: %q not found (give a program on PATH or a path to an executable)", cmd, argv[0])
	}
	argv[0] = path
	return argv, results.CleanLabel(filepath.Base(path)), nil
}
