package report

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// Run is one saved run given to a report, and where it came from.
type Run struct {
	Set    *results.Set
	Source string // the path it was loaded from; "" for a run just measured
}

// Options shape a capacity report. The zero value means the defaults.
type Options struct {
	// Full appends every run's full statistical table.
	Full bool
	// Filter keeps only benchmarks whose name matches (nil: all).
	Filter *regexp.Regexp
	// Targets are what-if questions (--target), answered per host.
	Targets []Target
	// BufferFactor is N in "buffering costs more than N× streaming"
	// (default 2).
	BufferFactor float64
	// AllowNoisy lets answers use benchmarks warned noisy (their wide
	// intervals are still printed); by default they are refused.
	AllowNoisy bool
	// NoCharts skips drawing (text output, or markdown on stdout).
	NoCharts bool
}

func (o Options) bufferFactor() float64 {
	if o.BufferFactor > 1 {
		return o.BufferFactor
	}
	return 2
}

// series is one run as it appears in a report: a line in every chart, a
// column of the host table, a prefix of its answers.
type series struct {
	Run
	idx     int
	Label   string // "vm", "vm · 11-27 21:10" when a host has several runs
	Host    string // the host's label
	HostKey string
	benches []*results.Benchmark // after the filter
	byName  map[results.Name]*results.Benchmark
}

// Input is what every section reads: the runs as series, the options,
// and what was left out before any section looked.
type Input struct {
	Series []*series
	Opt    Options
	left   []string
}

// Multi reports whether answers and charts must say which run they are about.
func (in *Input) Multi() bool { return len(in.Series) > 1 }

// newInput labels the runs: one host per distinct fingerprint (hostname,
// CPU model, CPUs allowed, kernel, architecture, cgroup quota), and the
// runs of one host in the order they started (before, after).
func newInput(runs []Run, opt Options) (*Input, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("report: no runs given")
	}
	in := &Input{Opt: opt}
	type host struct {
		key   string
		label string
		runs  []*series
	}
	var hosts []*host
	byKey := map[string]*host{}
	for i, r := range runs {
		if r.Set == nil {
			return nil, fmt.Errorf("report: run %d is empty", i+1)
		}
		s := &series{Run: r, idx: i, HostKey: hostKey(&r.Set.Env), byName: map[results.Name]*results.Benchmark{}}
		for j := range r.Set.Benchmarks {
			b := &r.Set.Benchmarks[j]
			if opt.Filter != nil && !opt.Filter.MatchString(string(b.Name)) {
				continue
			}
			s.benches = append(s.benches, b)
			s.byName[b.Name] = b
		}
		h := byKey[s.HostKey]
		if h == nil {
			h = &host{key: s.HostKey}
			byKey[s.HostKey] = h
			hosts = append(hosts, h)
		}
		h.runs = append(h.runs, s)
		in.Series = append(in.Series, s)
	}
	// Host labels: the hostname, made unique with the CPU count, then the
	// CPU model, then a number.
	labels := map[string]int{}
	for _, h := range hosts {
		e := &h.runs[0].Set.Env
		h.label = cmp.Or(e.Hostname, "host")
		labels[h.label]++
	}
	for _, h := range hosts {
		if labels[h.label] > 1 {
			e := &h.runs[0].Set.Env
			n := len(e.AllowedCPUs)
			h.label = fmt.Sprintf("%s (%d CPU%s)", h.label, n, map[bool]string{true: "s"}[n != 1])
		}
	}
	seen := map[string]int{}
	for _, h := range hosts {
		seen[h.label]++
		if n := seen[h.label]; n > 1 {
			h.label = fmt.Sprintf("%s #%d", h.label, n)
		}
	}
	for _, h := range hosts {
		slices.SortStableFunc(h.runs, func(a, b *series) int { return a.Set.StartedAt.Compare(b.Set.StartedAt) })
		for i, s := range h.runs {
			s.Host = h.label
			s.Label = h.label
			if len(h.runs) > 1 {
				when := s.Set.StartedAt.UTC().Format("01-02 15:04")
				if s.Set.StartedAt.IsZero() {
					when = "run " + strconv.Itoa(i+1)
				}
				s.Label = h.label + " · " + when
			}
		}
	}
	// Two runs of one host started in the same minute still need two names.
	dup := map[string]int{}
	for _, s := range in.Series {
		dup[s.Label]++
	}
	for _, s := range in.Series {
		if dup[s.Label] > 1 {
			s.Label += " · " + s.Set.RunID
		}
	}
	in.noteOmissions()
	return in, nil
}

// hostKey identifies a machine (and the share of it a run was given).
func hostKey(e *results.Env) string {
	kernel, _, _ := strings.Cut(strings.TrimSpace(e.Kernel), " ")
	return strings.Join([]string{e.Hostname, e.CPUModel, strconv.Itoa(len(e.AllowedCPUs)), kernel, e.Arch, strconv.FormatFloat(e.CgroupCPUs, 'g', -1, 64)}, "|")
}

// noteOmissions records what a report leaves out before any section runs:
// failed and skipped benchmarks, and scenarios a run does not have.
func (in *Input) noteOmissions() {
	for _, s := range in.Series {
		var failed []string
		skipped := 0
		bases := map[string]bool{}
		for _, b := range s.benches {
			switch {
			case b.Failed():
				failed = append(failed, fmt.Sprintf("%s (%s)", b.Name, firstLine(b.Error)))
			case b.Skipped != "":
				skipped++
			}
			if b.OK() {
				bases[b.Name.Base()] = true
			}
		}
		who := in.who(s)
		if p := s.Set.Partial; p != "" {
			// A run that ended early (rebuilt from its journal, or
			// interrupted) lacks what it had not measured yet: its answers
			// are about the part it holds, and must say so first.
			in.left = append(in.left, fmt.Sprintf("%sa partial run: %s; what it had not measured is missing from every answer and chart", who, p))
		}
		if len(failed) > 0 {
			in.left = append(in.left, fmt.Sprintf("%s%d failed benchmark(s) left out of answers and charts: %s", who, len(failed), strings.Join(failed, "; ")))
		}
		if skipped > 0 {
			in.left = append(in.left, fmt.Sprintf("%s%d benchmark(s) were skipped when measured (reasons in the full table, --full)", who, skipped))
		}
		for _, sc := range []struct{ base, group, what string }{
			{results.ScenarioSpawn, "spawn", "spawn answers and charts"},
			{results.ScenarioRoundTrip, "roundtrip", "round-trip answers and charts"},
			{results.ScenarioThroughput, "throughput", "throughput answers and charts"},
			{results.ScenarioOutput, "output", "output-buffering answers and charts"},
		} {
			if !bases[sc.base] {
				in.left = append(in.left, fmt.Sprintf("%sno %s results: %s left out (measure them with `ipcbench run %s`)", who, sc.base, sc.what, sc.group))
			}
		}
	}
	if in.Opt.Filter != nil {
		in.left = append(in.left, fmt.Sprintf("only benchmarks matching --filter %q were read", in.Opt.Filter.String()))
	}
}

// who prefixes a sentence with the run it is about when there are several.
func (in *Input) who(s *series) string {
	if !in.Multi() {
		return ""
	}
	return "[" + s.Label + "] "
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// cpus is how many CPUs a run could use: its allowed CPUs, or the cgroup
// quota when that is smaller.
func cpus(e *results.Env) float64 {
	n := float64(len(e.AllowedCPUs))
	if n == 0 {
		n = float64(e.NumCPU)
	}
	if e.CgroupCPUs > 0 && e.CgroupCPUs < n {
		n = e.CgroupCPUs
	}
	return n
}

// refusal says why a benchmark's figures cannot support an answer ("" when
// they can): it did not run, pairs had to share CPUs, or its median is
// not known well enough (noisy, too few samples for an interval,
// interrupted). Noisy ones are accepted with Options.AllowNoisy.
func (in *Input) refusal(b *results.Benchmark) string {
	switch {
	case b == nil:
		return "not measured"
	case b.Failed():
		return "failed: " + firstLine(b.Error)
	case b.Skipped != "":
		return "skipped: " + firstLine(b.Skipped)
	case !b.OK() || b.Summary.Median <= 0:
		return "no samples"
	case b.HasWarning(results.WarnPlacement):
		return "pairs had to share CPUs"
	case b.HasWarning(results.WarnInterrupted):
		return "interrupted before its adaptive stop"
	}
	if in.Opt.AllowNoisy {
		return ""
	}
	switch {
	case b.HasWarning(results.WarnFewSamples) || b.Summary.CI95High <= 0:
		return fmt.Sprintf("too few samples for an interval (n=%d)", b.Summary.N)
	case b.HasWarning(results.WarnNoisy):
		return fmt.Sprintf("noisy (95%% CI ±%.1f%%)", 50*b.Summary.CIWidth())
	}
	return ""
}

// reasonKind is a refusal without its figures: "noisy", "failed".
func reasonKind(why string) string {
	if i := strings.IndexAny(why, ":("); i > 0 {
		why = why[:i]
	}
	return strings.TrimSpace(why)
}

// caveats are warnings that do not refuse a figure but travel with it.
func caveats(bs ...*results.Benchmark) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, b := range bs {
		if b == nil {
			continue
		}
		for _, w := range b.Warnings {
			switch w.Kind {
			case results.WarnBusy:
				add("measured on a busy machine")
			case results.WarnSteal:
				add("hypervisor steal while measured")
			case results.WarnClock:
				add("clock reads inflate the figure slightly")
			case results.WarnProfiling:
				add("taken under profiling")
			case results.WarnNoisy:
				add(fmt.Sprintf("noisy (±%.1f%%)", 50*b.Summary.CIWidth()))
			case results.WarnFewSamples:
				add("too few samples for an interval")
			}
		}
	}
	return out
}

// usable reports whether b may feed answers.
func (in *Input) usable(b *results.Benchmark) bool { return in.refusal(b) == "" }

// select returns s's benchmarks of a base whose name has every given
// parameter (a value "" matches any), in the run's order.
func (s *series) find(base string, kv ...string) []*results.Benchmark {
	var out []*results.Benchmark
outer:
	for _, b := range s.benches {
		if b.Name.Base() != base {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" && b.Name.Param(kv[i]) != kv[i+1] {
				continue outer
			}
		}
		out = append(out, b)
	}
	return out
}

// cores is a benchmark's cores= parameter (1 when absent).
func cores(b *results.Benchmark) int {
	c, err := strconv.Atoi(b.Name.Param(results.KeyCores))
	if err != nil || c < 1 {
		return 1
	}
	return c
}

// sizeParam is a benchmark's size= parameter in bytes (0 when absent).
func sizeParam(b *results.Benchmark) int64 {
	v, _ := strconv.ParseInt(b.Name.Param(results.KeySize), 10, 64)
	return v
}

// cpuPerOp is the CPU of parent and children per op, when both were measured.
func cpuPerOp(b *results.Benchmark) (float64, bool) {
	v, ok := b.CPUPerOp()
	if !ok || v <= 0 {
		return 0, false
	}
	return v, true
}

// --- figures as text -------------------------------------------------------

// durCI is "1.68ms [1.64–1.77ms]": the median and its 95% CI.
func durCI(m results.Summary) string {
	if m.CI95High <= 0 {
		return Dur(m.Median) + " [no CI]"
	}
	return Dur(m.Median) + " [" + Dur(m.CI95Low) + "–" + Dur(m.CI95High) + "]"
}

// rateCI is the inverse of a per-op time with its interval: "595/s [564–611/s]".
func rateCI(m results.Summary) string {
	if m.Median <= 0 {
		return "?"
	}
	s := Count(1e9/m.Median) + "/s"
	if m.CI95High > 0 && m.CI95Low > 0 {
		s += " [" + Count(1e9/m.CI95High) + "–" + Count(1e9/m.CI95Low) + "/s]"
	}
	return s
}

// ratio prints a factor: 1.71×.
func ratio(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return "∞×"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "×"
}

// factor prints N of "N×" as typed: 2, 2.5.
func factor(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// pct prints a share: 81%.
func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 0, 64) + "%" }
