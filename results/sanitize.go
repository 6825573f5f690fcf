package results

import (
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Clean strips control characters (escape sequences, carriage returns,
// the C1 range) from a string read from a file, so that printing it
// cannot drive a terminal.
func Clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// Sanitize cleans every string of a set read from outside (Clean).
func (s *Set) Sanitize() {
	s.RunID = Clean(s.RunID)
	s.Partial = Clean(s.Partial)
	e := &s.Env
	for _, p := range []*string{&e.Hostname, &e.OS, &e.Arch, &e.Kernel, &e.GoVersion, &e.CPUModel, &e.CgroupCPUMax,
		&e.Governor, &e.SMT, &e.Hypervisor, &e.Pinning} {
		*p = Clean(*p)
	}
	for i := range e.Placements {
		e.Placements[i] = Clean(e.Placements[i])
	}
	for i := range s.Config.Args {
		s.Config.Args[i] = Clean(s.Config.Args[i])
	}
	s.Config.Filter = Clean(s.Config.Filter)
	for i := range s.Profiles {
		p := &s.Profiles[i]
		p.Benchmark, p.Kind, p.Path, p.Note = Name(Clean(string(p.Benchmark))), Clean(p.Kind), Clean(p.Path), Clean(p.Note)
	}
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		b.Name, b.Scenario, b.Unit = Name(Clean(string(b.Name))), Clean(b.Scenario), Clean(b.Unit)
		b.Error, b.Skipped, b.Stop, b.PercentileSource = Clean(b.Error), Clean(b.Skipped), Clean(b.Stop), Clean(b.PercentileSource)
		if b.Params != nil {
			clean := map[string]string{}
			for k, v := range maps.All(b.Params) {
				clean[Clean(k)] = Clean(v)
			}
			b.Params = clean
		}
		for j := range b.Warnings {
			b.Warnings[j].Text = Clean(b.Warnings[j].Text)
			b.Warnings[j].Kind = WarningKind(Clean(string(b.Warnings[j].Kind)))
		}
	}
}

var umask = sync.OnceValue(func() os.FileMode {
	// /proc/self/status has it (Linux 4.7+) without changing it: umask(2)
	// would, for a moment, for every thread.
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m)
				}
			}
		}
	}
	return 0o022
})

// Umask is this process's file mode creation mask.
func Umask() os.FileMode { return umask() }
