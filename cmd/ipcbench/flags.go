package main

import (
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/internal/profiling"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/scenarios"
	"github.com/ipcbench/ipcbench/transports"
	"github.com/spf13/cobra"
)

func addMatrixFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	fl.StringVar(&f.sizes, "sizes", "", "round-trip/throughput message sizes, e.g. 64,4KiB,64KiB (max 1MiB)")
	fl.StringVar(&f.outSizes, "output-sizes", "", "output scenario: bytes the child writes, e.g. 1MiB,64MiB (default 1MiB,64MiB,1GiB; --quick 1MiB,64MiB)")
	fl.StringVar(&f.writeSizes, "write-sizes", "", "output scenario: child write sizes, e.g. 64KiB,100 (default 64KiB,100)")
	fl.StringVar(&f.maxBuffer, "max-buffer", "", "output scenario: limit of collect=buffered (default 64MiB)")
	fl.BoolVar(&f.stderr, "stderr", false, "output scenario: the child writes to stderr too, interleaved")
	fl.StringVar(&f.transports, "transports", "", "transports to measure (default all): "+strings.Join(transports.Names(), ","))
	fl.StringVar(&f.modes, "modes", "", "transport modes: raw (kernel cost), go (idiomatic Go); default both")
	fl.StringVar(&f.placements, "placements", "", "pair placements: "+strings.Join(results.Placements, ",")+" (default same-core,cross-core)")
	fl.StringVar(&f.cores, "cores", "", "concurrency levels, e.g. 1,2,4 (default 1, powers of two and the CPU count, capped by the allowed CPUs and cgroup quota)")
	fl.StringVar(&f.profile, "profile", "", "profiles to write: "+strings.Join(profiling.Kinds, ","))
	fl.StringVar(&f.node, "node", "", "Node.js for the node group (default: node on PATH; the group is skipped without one)")
	fl.StringVar(&f.parentMem, "parent-mem", "", "parentmem and node groups: touched memory the spawning process holds, e.g. 0,256MiB,1GiB (default 0 and 1GiB, or the largest power of two down to 64MiB that fits)")
	addLoadFlags(c, &f.load)
}

// matrixOptions validates the matrix flags into scenario options.
func matrixOptions(f *runFlags) (scenarios.Options, error) {
	o := scenarios.Options{Quick: f.quick, Full: f.full, SweepAll: f.full || f.cores != "", Cmd: f.cmd, Stderr: f.stderr, Node: f.node}
	var err error
	if f.node != "" {
		if err := scenarios.CheckNode(f.node); err != nil {
			return o, usageError{err}
		}
	}
	if f.parentMem != "" {
		if o.ParentMem, err = scenarios.ParseParentMem(f.parentMem); err != nil {
			return o, usageError{err}
		}
		// Refused here, before anything is allocated, whichever groups run.
		if err := scenarios.CheckParentMem(o.ParentMem); err != nil {
			return o, usageError{err}
		}
	}
	if o.CPUs, err = cpusFlag(f.cpus); err != nil {
		return o, err
	}
	if o.Sizes, err = sizesFlag(f.sizes); err != nil {
		return o, err
	}
	if f.outSizes != "" {
		if o.OutputSizes, err = units.ParseSizeList(f.outSizes); err != nil {
			return o, usagef("--output-sizes: %v", err)
		}
	}
	if o.WriteSizes, err = writeSizesFlag(f.writeSizes); err != nil {
		return o, err
	}
	if f.maxBuffer != "" {
		if o.MaxBuffer, err = units.ParseSize(f.maxBuffer); err != nil {
			return o, usagef("--max-buffer: %v", err)
		}
	}
	for _, t := range splitList(f.transports) {
		if _, err := transports.Lookup(t); err != nil {
			return o, usagef("--transports: %v", err)
		}
		o.Transports = append(o.Transports, t)
	}
	if o.Modes, err = acceptedList("--modes", "mode", f.modes, []string{results.ModeRaw, results.ModeGo}); err != nil {
		return o, err
	}
	if o.Placements, err = acceptedList("--placements", "placement", f.placements, results.Placements); err != nil {
		return o, err
	}
	if o.Cores, err = coresFlag(f.cores, o.CPUs); err != nil {
		return o, err
	}
	if err := loadOptions(&f.load, &o); err != nil {
		return o, err
	}
	return o, nil
}

// acceptedList splits a comma-separated flag value and checks every item
// against the accepted values.
func acceptedList(flag, what, value string, accepted []string) ([]string, error) {
	items := splitList(value)
	for _, it := range items {
		if err := checkAccepted(flag, what, it, accepted); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func checkAccepted(flag, what, value string, accepted []string) error {
	if !slices.Contains(accepted, value) {
		return usagef("%s: unknown %s %q (accepted: %s)", flag, what, value, strings.Join(accepted, ", "))
	}
	return nil
}

// cpusFlag is --cpus checked against the allowed CPUs (default: all of them).
func cpusFlag(value string) ([]int, error) {
	allowed, err := sys.AllowedCPUs()
	if err != nil {
		return nil, err
	}
	if value == "" {
		return allowed, nil
	}
	cpus, err := sys.ParseCPUList(value)
	if err != nil {
		return nil, usagef("--cpus: %v", err)
	}
	if err := sys.CheckCPUs(cpus, allowed); err != nil {
		return nil, usagef("--cpus %q: %v", value, err)
	}
	return cpus, nil
}

func sizesFlag(value string) ([]int, error) {
	if value == "" {
		return nil, nil
	}
	s, err := units.ParseSizeList(value)
	if err != nil {
		return nil, usagef("--sizes: %v", err)
	}
	var out []int
	for _, v := range s {
		if v > scenarios.MaxMessage {
			return nil, usagef("--sizes: %s is larger than the limit %s", units.FormatSize(v), units.FormatSize(scenarios.MaxMessage))
		}
		out = append(out, int(v))
	}
	return out, nil
}

func writeSizesFlag(value string) ([]int, error) {
	if value == "" {
		return nil, nil
	}
	ws, err := units.ParseSizeList(value)
	if err != nil {
		return nil, usagef("--write-sizes: %v", err)
	}
	var out []int
	for _, v := range ws {
		if v > 16<<20 {
			return nil, usagef("--write-sizes: %s is larger than the limit 16MiB", units.FormatSize(v))
		}
		out = append(out, int(v))
	}
	return out, nil
}

// coresFlag is --cores checked against the CPUs and the cgroup quota
// (default: 1, powers of two and the CPU count, within both).
func coresFlag(value string, cpus []int) ([]int, error) {
	_, quota := sys.CgroupCPU()
	if value == "" {
		return sys.DefaultCores(len(cpus), quota), nil
	}
	cs, err := units.ParseIntList(value)
	if err != nil {
		return nil, usagef("--cores: %v", err)
	}
	for _, n := range cs {
		if n > len(cpus) {
			return nil, usagef("--cores: %d is more than the %d CPUs allowed (%s)", n, len(cpus), sys.FormatCPUList(cpus))
		}
		if quota > 0 && float64(n) > quota+0.5 {
			return nil, usagef("--cores: %d is more than the cgroup CPU quota allows (%.1f CPUs)", n, quota)
		}
	}
	slices.Sort(cs)
	return slices.Compact(cs), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
