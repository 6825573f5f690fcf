package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/internal/human"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// Target is a what-if question: can this machine carry a rate of a
// workload within a latency bound, and on how many cores?
//
//	roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us
type Target struct {
	Spec     string
	Scenario string      // the group as typed: roundtrip, throughput, spawn
	Base     string      // its benchmarks' base: RoundTrip, Throughput, Spawn
	Params   [][2]string // name parameters to match (size in bytes)
	Rate     float64     // operations per second
	MBps     float64     // or MB/s (throughput), converted per message size
	Pct      string      // p50, p90, p99, p99.9
	Bound    float64     // ns; 0 without a latency bound
}

var targetScenarios = map[string]string{
	"roundtrip": results.ScenarioRoundTrip, "throughput": results.ScenarioThroughput, "spawn": results.ScenarioSpawn,
}

// ParseTarget reads a --target value. Errors name what was wrong and what
// is accepted, in one line.
func ParseTarget(spec string) (Target, error) {
	t := Target{Spec: spec}
	bad := func(format string, args ...any) (Target, error) {
		return Target{}, fmt.Errorf("--target %q: %s", spec, fmt.Sprintf(format, args...))
	}
	sc, rest, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok {
		return bad("expected SCENARIO:key=value,...,rate=N/s[,p99<=DURATION] (e.g. roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us)")
	}
	t.Scenario = strings.ToLower(strings.TrimSpace(sc))
	if t.Base = targetScenarios[t.Scenario]; t.Base == "" {
		return bad("unknown scenario %q (accepted: roundtrip, throughput, spawn)", sc)
	}
	for _, item := range strings.Split(rest, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if k, v, ok := strings.Cut(item, "<="); ok {
			k = strings.ToLower(strings.TrimSpace(k))
			switch k {
			case "p50", "median":
				t.Pct = "p50"
			case "p90", "p99":
				t.Pct = k
			case "p999", "p99.9":
				t.Pct = "p99.9"
			default:
				return bad("unknown latency bound %q (accepted: p50, p90, p99, p99.9)", k)
			}
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				return bad("%s<=%s: not a positive duration (e.g. 50us, 2ms)", k, strings.TrimSpace(v))
			}
			t.Bound = float64(d.Nanoseconds())
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return bad("%q is not key=value", item)
		}
		switch k {
		case "rate":
			if err := t.parseRate(v); err != nil {
				return bad("rate=%s: %v", v, err)
			}
		case results.KeySize:
			n, err := units.ParseSize(v)
			if err != nil {
				return bad("size=%s: %v", v, err)
			}
			t.Params = append(t.Params, [2]string{k, strconv.FormatInt(n, 10)})
		case results.KeyTransport, results.KeyMode, results.KeyPlacement, results.KeyCmd, results.KeyCores:
			t.Params = append(t.Params, [2]string{k, v})
		default:
			return bad("unknown key %q (accepted: transport, mode, size, placement, cmd, cores, rate, p50/p90/p99/p99.9<=)", k)
		}
	}
	if t.Rate <= 0 && t.MBps <= 0 {
		return bad("needs rate=N/s (e.g. rate=200000/s, rate=200k/s, or rate=500MB/s for throughput)")
	}
	if t.MBps > 0 && t.Base != results.ScenarioThroughput {
		return bad("a rate in MB/s is for throughput; give %s a rate in operations per second (N/s)", t.Scenario)
	}
	return t, nil
}

func (t *Target) parseRate(v string) error {
	low := strings.ToLower(v)
	if num, ok := strings.CutSuffix(low, "mb/s"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 {
			return fmt.Errorf("not a positive number of MB/s")
		}
		t.MBps = f
		return nil
	}
	low = strings.TrimSuffix(low, "/s")
	mult := 1.0
	switch {
	case strings.HasSuffix(low, "k"):
		mult, low = 1e3, strings.TrimSuffix(low, "k")
	case strings.HasSuffix(low, "m"):
		mult, low = 1e6, strings.TrimSuffix(low, "m")
	}
	f, err := strconv.ParseFloat(low, 64)
	if err != nil || f <= 0 {
		return fmt.Errorf("not a positive rate (e.g. 200000/s, 200k/s, 1.5M/s)")
	}
	t.Rate = f * mult
	return nil
}

// describe is the question in words: "roundtrip transport=unix size=4KiB
// at 200k/s with p99 ≤ 50µs".
func (t Target) describe() string {
	var ps []string
	for _, p := range t.Params {
		v := p[1]
		if p[0] == results.KeySize {
			n, _ := strconv.ParseInt(v, 10, 64)
			v = units.FormatSize(n)
		}
		ps = append(ps, p[0]+"="+v)
	}
	s := t.Scenario
	if len(ps) > 0 {
		s += " " + strings.Join(ps, " ")
	}
	if t.MBps > 0 {
		s += fmt.Sprintf(" at %s MB/s", human.Sig3(t.MBps))
	} else {
		s += fmt.Sprintf(" at %s/s", Count(t.Rate))
	}
	if t.Bound > 0 {
		s += fmt.Sprintf(" with %s ≤ %s", t.Pct, Dur(t.Bound))
	}
	return s
}

func percentile(m results.Summary, p string) float64 {
	switch p {
	case "p50":
		return cmp.Or(m.P50, m.Median)
	case "p90":
		return m.P90
	case "p99.9":
		return m.P999
	}
	return m.P99
}

// verdict is a target evaluated on one benchmark.
type verdict struct {
	b          *results.Benchmark
	refused    string
	rate       float64 // ops/s asked
	cpuCores   float64 // cores of CPU the rate costs
	need       int
	avail      float64
	latKnown   bool
	latOK      bool
	lat        float64
	reasons    []string // why not reachable
	measured   string   // from the scaling data
	loaded     string   // from latency-under-load data
	loadedNeed int
}

func (v verdict) reachable() bool { return v.refused == "" && len(v.reasons) == 0 }

func (in *Input) evalTarget(s *series, t Target, b *results.Benchmark) verdict {
	v := verdict{b: b, avail: cpus(&s.Set.Env)}
	if why := in.refusal(b); why != "" {
		v.refused = why
		return v
	}
	cpu, ok := cpuPerOp(b)
	if !ok {
		v.refused = "its CPU per operation was not measured"
		return v
	}
	v.rate = t.Rate
	if t.MBps > 0 {
		bytes := float64(cmp.Or(b.BytesPerOp, sizeParam(b)))
		if bytes <= 0 {
			v.refused = "its message size is unknown"
			return v
		}
		v.rate = t.MBps * 1e6 / bytes
	}
	v.cpuCores = v.rate * cpu / 1e9
	v.need = int(math.Ceil(v.cpuCores - 1e-9))
	if v.need < 1 {
		v.need = 1
	}
	if float64(v.need) > v.avail {
		v.reasons = append(v.reasons, fmt.Sprintf("it needs %d cores of CPU and this machine has %s", v.need, human.Sig3(v.avail)))
	}
	if t.Bound > 0 {
		lat := percentile(b.Summary, t.Pct)
		switch {
		case b.PercentileSource == "per-op" && lat > 0:
			v.latKnown, v.lat, v.latOK = true, lat, lat <= t.Bound
			if !v.latOK {
				v.reasons = append(v.reasons, fmt.Sprintf("its %s at no load is already %s > %s", t.Pct, Dur(lat), Dur(t.Bound)))
			}
		case b.Summary.Median > t.Bound:
			v.latKnown, v.lat = true, b.Summary.Median
			v.reasons = append(v.reasons, fmt.Sprintf("even its median at no load, %s, exceeds %s", Dur(b.Summary.Median), Dur(t.Bound)))
		}
	}
	// Measured at more cores.
	for _, f := range families(s) {
		if f.key != b.Name.Without(results.KeyCores) {
			continue
		}
		var best int
		for _, n := range f.counts() {
			if n == 1 || in.refusal(f.points[n]) != "" {
				continue
			}
			if f.x(n) >= v.rate {
				best = n
				break
			}
		}
		counts := f.counts()
		top := counts[len(counts)-1]
		switch {
		case best > 0:
			v.measured = fmt.Sprintf("measured: %d concurrent workers carried %s/s", best, Count(f.x(best)))
			if t.Bound > 0 && f.points[best].PercentileSource == "per-op" {
				v.measured += fmt.Sprintf(" with %s %s", t.Pct, Dur(percentile(f.points[best].Summary, t.Pct)))
			}
		case top > 1 && in.refusal(f.points[top]) == "":
			v.measured = fmt.Sprintf("measured: %d concurrent workers carried only %s/s", top, Count(f.x(top)))
		case top > 1:
			v.measured = fmt.Sprintf("the measurement at %d workers is refused (%s)", top, reasonKind(in.refusal(f.points[top])))
		}
	}
	// Latency under load, where the run has it.
	if lv, ok := loadVerdict(in, s, b, t, v.rate); ok {
		v.loaded, v.loadedNeed = lv.text, lv.need
		switch {
		case lv.none:
			v.reasons = append(v.reasons, "under load no offered rate was carried")
		case lv.need > 0 && float64(lv.need) > v.avail:
			v.reasons = append(v.reasons, fmt.Sprintf("under load it needs %d cores", lv.need))
		}
	}
	return v
}

func targetSection(in *Input) *Section {
	if len(in.Opt.Targets) == 0 {
		return nil
	}
	sec := &Section{ID: "targets", Title: "Can this machine carry the target, and on how many cores?"}
	for _, t := range in.Opt.Targets {
		for _, s := range in.Series {
			sec.Answers = append(sec.Answers, in.targetAnswer(s, t))
		}
	}
	sec.Notes = append(sec.Notes, "Cores from cost: the rate × the CPU both processes spend per operation, rounded up. It assumes CPU adds up across cores (a lower bound where scaling is sub-linear: see the scaling section). Latency is the measured percentile at no load (one worker); a rate near a core's capacity queues, so the bound is checked under load only where latency-under-load results exist.")
	return sec
}

func (in *Input) targetAnswer(s *series, t Target) Answer {
	kv := []string{}
	hasCores := false
	for _, p := range t.Params {
		kv = append(kv, p[0], p[1])
		hasCores = hasCores || p[0] == results.KeyCores
	}
	var cands []*results.Benchmark
	for _, b := range s.find(t.Base, kv...) {
		if (hasCores || cores(b) == 1) && b.OK() {
			cands = append(cands, b)
		}
	}
	q := t.describe()
	if len(cands) == 0 {
		return in.refuse(s, fmt.Sprintf("%s: refused — no %s benchmark in this run matches; measure it (e.g. ipcbench run %s) or loosen the target.", q, t.Base, t.Scenario))
	}
	var vs []verdict
	for _, b := range cands {
		vs = append(vs, in.evalTarget(s, t, b))
	}
	// The best: usable first, reachable first, fewest cores, lowest latency.
	slices.SortStableFunc(vs, func(a, b verdict) int {
		ar, br := a.refused != "", b.refused != ""
		if ar != br {
			if ar {
				return 1
			}
			return -1
		}
		if a.reachable() != b.reachable() {
			if a.reachable() {
				return -1
			}
			return 1
		}
		if a.latKnown != b.latKnown { // a verified latency first
			if a.latKnown {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.need, b.need), cmp.Compare(a.b.Summary.Median, b.b.Summary.Median))
	})
	v := vs[0]
	label := benchLabel(v.b)
	if v.refused != "" {
		var why []string
		for _, x := range vs {
			why = append(why, benchLabel(x.b)+": "+x.refused)
		}
		return in.refuse(s, fmt.Sprintf("%s: refused — no matching benchmark is usable (%s).", q, strings.Join(why, "; ")), cands...)
	}
	cpu, _ := cpuPerOp(v.b)
	text := fmt.Sprintf("%s → **%d core(s)** from cost (%s cores of CPU: %s CPU per operation × %s/s; %s)", q, v.need, human.Sig3(v.cpuCores), Dur(cpu), Count(v.rate), label)
	if v.reachable() {
		text += " — **reachable on this machine**"
		if t.Bound > 0 {
			if v.latKnown {
				text += fmt.Sprintf("; %s at no load %s", t.Pct, Dur(v.lat))
			} else {
				text += fmt.Sprintf("; the %s could not be checked: its operations were too short to time one by one (median %s)", t.Pct, Dur(v.b.Summary.Median))
			}
		}
	} else {
		text += " — **not reachable on this machine**: " + strings.Join(v.reasons, "; ")
	}
	text += "."
	if v.measured != "" {
		text += " " + upperFirst(v.measured) + "."
	}
	if v.loaded != "" {
		text += " " + upperFirst(v.loaded) + "."
	}
	if len(vs) > 1 {
		var others []string
		for _, x := range vs[1:] {
			switch {
			case x.refused != "":
				others = append(others, benchLabel(x.b)+" refused ("+reasonKind(x.refused)+")")
			case x.reachable():
				others = append(others, fmt.Sprintf("%s %d core(s)", benchLabel(x.b), x.need))
			default:
				others = append(others, fmt.Sprintf("%s not reachable", benchLabel(x.b)))
			}
		}
		text += " Other matches: " + strings.Join(others, ", ") + "."
	}
	return in.answer(s, text, v.b)
}

// benchLabel is a benchmark's distinguishing parameters: "unix/raw cross-core".
func benchLabel(b *results.Benchmark) string {
	switch b.Name.Base() {
	case results.ScenarioRoundTrip, results.ScenarioThroughput:
		s := tkey(b) + " " + units.FormatSize(sizeParam(b)) + " " + b.Name.Param(results.KeyPlacement)
		if c := cores(b); c > 1 {
			s += fmt.Sprintf(" cores=%d", c)
		}
		return s
	case results.ScenarioSpawn:
		return spawnLabel(b)
	}
	return shortName(b.Name)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
