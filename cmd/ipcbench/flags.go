package main

import (
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/scenarios"
	"github.com/spf13/cobra"
)

func addMatrixFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	fl.StringVar(&f.sizes, "sizes", "", "round-trip/throughput message sizes, e.g. 64,4KiB,64KiB (max 1MiB)")
	fl.StringVar(&f.outSizes, "output-sizes", "", "output scenario: bytes the child writes, e.g. 1MiB,64MiB (default 1MiB,64MiB,1GiB; --quick 1MiB,64MiB)")
	fl.StringVar(&f.writeSizes, "write-sizes", "", "output scenario: child write sizes, e.g. 64KiB,100 (default 64KiB,100)")
	fl.StringVar(&f.maxBuffer, "max-buffer", "", "output scenario: limit of collect=buffered (default 64MiB)")
	fl.BoolVar(&f.stderr, "stderr", false, "output scenario: the child writes to stderr too, interleaved")
	fl.StringVar(&f.transports, "transports", "", "transports to measure (default all): "+strings.Join(scenarios.TransportNames(), ","))
	fl.StringVar(&f.modes, "modes", "", "transport modes: raw (kernel cost), go (idiomatic Go); default both")
	fl.StringVar(&f.placements, "placements", "", "pair placements: "+strings.Join(bench.Placements, ",")+" (default same-core,cross-core)")
	fl.StringVar(&f.cores, "cores", "", "concurrency levels, e.g. 1,2,4 (default 1, powers of two and the CPU count, capped by the allowed CPUs and cgroup quota)")
	fl.StringVar(&f.profile, "profile", "", "profiles to write: "+strings.Join(profileKinds, ","))
}

// matrixOptions validates the matrix flags into scenario options.
func matrixOptions(f *runFlags) (scenarios.Options, error) {
	o := scenarios.Options{Quick: f.quick, Cmd: f.cmd, Stderr: f.stderr}
	allowed, err := bench.AllowedCPUs()
	if err != nil {
		return o, err
	}
	if f.cpus != "" {
		cpus, err := bench.ParseCPUList(f.cpus)
		if err != nil {
			return o, usagef("--cpus: %v", err)
		}
		if err := bench.CheckCPUs(cpus, allowed); err != nil {
			return o, usagef("--cpus %q: %v", f.cpus, err)
		}
		o.CPUs = cpus
	} else {
		o.CPUs = allowed
	}
	if f.sizes != "" {
		s, err := bench.ParseSizeList(f.sizes)
		if err != nil {
			return o, usagef("--sizes: %v", err)
		}
		for _, v := range s {
			if v > scenarios.MaxMessage {
				return o, usagef("--sizes: %s is larger than the limit %s", bench.FormatSize(v), bench.FormatSize(scenarios.MaxMessage))
			}
			o.Sizes = append(o.Sizes, int(v))
		}
	}
	if f.outSizes != "" {
		if o.OutputSizes, err = bench.ParseSizeList(f.outSizes); err != nil {
			return o, usagef("--output-sizes: %v", err)
		}
	}
	if f.writeSizes != "" {
		ws, err := bench.ParseSizeList(f.writeSizes)
		if err != nil {
			return o, usagef("--write-sizes: %v", err)
		}
		for _, v := range ws {
			if v > 16<<20 {
				return o, usagef("--write-sizes: %s is larger than the limit 16MiB", bench.FormatSize(v))
			}
			o.WriteSizes = append(o.WriteSizes, int(v))
		}
	}
	if f.maxBuffer != "" {
		if o.MaxBuffer, err = bench.ParseSize(f.maxBuffer); err != nil {
			return o, usagef("--max-buffer: %v", err)
		}
	}
	if f.transports != "" {
		for _, t := range splitList(f.transports) {
			if !slices.Contains(scenarios.TransportNames(), t) {
				return o, usagef("--transports: unknown transport %q (accepted: %s)", t, strings.Join(scenarios.TransportNames(), ", "))
			}
			o.Transports = append(o.Transports, t)
		}
	}
	if f.modes != "" {
		for _, m := range splitList(f.modes) {
			if m != "raw" && m != "go" {
				return o, usagef("--modes: unknown mode %q (accepted: raw, go)", m)
			}
			o.Modes = append(o.Modes, m)
		}
	}
	if f.placements != "" {
		for _, p := range splitList(f.placements) {
			if !slices.Contains(bench.Placements, p) {
				return o, usagef("--placements: unknown placement %q (accepted: %s)", p, strings.Join(bench.Placements, ", "))
			}
			o.Placements = append(o.Placements, p)
		}
	}
	_, quota := bench.CgroupCPU()
	if f.cores != "" {
		cs, err := bench.ParseIntList(f.cores)
		if err != nil {
			return o, usagef("--cores: %v", err)
		}
		for _, n := range cs {
			if n > len(o.CPUs) {
				return o, usagef("--cores: %d is more than the %d CPUs allowed (%s)", n, len(o.CPUs), bench.FormatCPUList(o.CPUs))
			}
			if quota > 0 && float64(n) > quota+0.5 {
				return o, usagef("--cores: %d is more than the cgroup CPU quota allows (%.1f CPUs)", n, quota)
			}
		}
		slices.Sort(cs)
		o.Cores = slices.Compact(cs)
	} else {
		o.Cores = bench.DefaultCores(len(o.CPUs), quota)
	}
	return o, nil
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
