// Package results is the data model every ipcbench package agrees on: a Set
// is one run (environment, configuration, benchmarks), a Benchmark one
// workload with every parameter fixed, and a Sample one timed batch.
//
// A Set is the only currency between the runner and the reporters (as in
// vegeta): the runner fills it, reporters render it, and it round-trips
// losslessly through versioned JSON. No other package defines what a saved
// run is.
package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON document this package writes.
// Readers refuse documents with a newer version rather than misread them.
// Version 2 made warnings objects with a kind; version 1 is still read.
const SchemaVersion = 2

// FileName is the name of the results document inside a run directory.
const FileName = "results.json"

// Set is one run of ipcbench.
type Set struct {
	SchemaVersion int         `json:"schema_version"`
	RunID         string      `json:"run_id"`
	StartedAt     time.Time   `json:"started_at"`
	FinishedAt    time.Time   `json:"finished_at"`
	Env           Env         `json:"env"`
	Config        Config      `json:"config"`
	Benchmarks    []Benchmark `json:"benchmarks"`
	// Profiles lists profile files written for this run, relative to the run directory.
	Profiles []Profile `json:"profiles,omitempty"`
	// Partial says why this run holds less than was planned (an interrupt,
	// a rebuild from the journal); empty for a complete run.
	Partial string `json:"partial,omitempty"`
	// LoadSweeps are the findings of the load benchmarks' rate sweeps
	// (derived from Benchmarks by LoadSweeps; saved for readers' convenience).
	LoadSweeps []LoadSweep `json:"load_sweeps,omitempty"`
}

// Profile is one pprof file written during a run.
type Profile struct {
	Benchmark Name   `json:"benchmark,omitempty"` // empty for run-wide profiles
	Kind      string `json:"kind"`                // cpu, heap, allocs, mutex, block, phases
	Path      string `json:"path"`                // relative to the run directory
	Note      string `json:"note,omitempty"`
}

// Config records how the run was configured, so a saved run says how it was taken.
type Config struct {
	Args           []string `json:"args,omitempty"`
	Scenarios      []string `json:"scenarios,omitempty"`
	Filter         string   `json:"filter,omitempty"`
	Quick          bool     `json:"quick"`
	BudgetNS       int64    `json:"budget_ns"`
	SampleNS       int64    `json:"sample_ns"`
	MinSamples     int      `json:"min_samples"`
	MaxSamples     int      `json:"max_samples"`
	TargetCIWidth  float64  `json:"target_ci_width"` // relative width of the median's 95% CI
	WarmupNS       int64    `json:"warmup_ns"`
	CPUs           []int    `json:"cpus,omitempty"`
	Cores          []int    `json:"cores,omitempty"`
	GOMAXPROCS     int      `json:"gomaxprocs"`
	Profiling      []string `json:"profiling,omitempty"`
	TimerOverhead  float64  `json:"timer_overhead_ns"` // cost of one clock read pair, measured at start
	PerOpThreshold float64  `json:"per_op_threshold_ns"`
	// Rounds: every benchmark is visited at least MinRounds times in a
	// shuffled order (Seed), at most MaxRounds; the run lasts about TimeNS.
	MinRounds int    `json:"min_rounds,omitempty"`
	MaxRounds int    `json:"max_rounds,omitempty"`
	TimeNS    int64  `json:"time_ns,omitempty"`
	Seed      uint64 `json:"seed,omitempty"`
	Full      bool   `json:"full,omitempty"` // the whole cross product, not the representative matrix
	// NoisyCIWidth: a figure whose CI is wider than this is warned as noisy.
	NoisyCIWidth float64 `json:"noisy_ci_width,omitempty"`
}

// Env is the environment fingerprint stored with every run.
type Env struct {
	Hostname      string        `json:"hostname"`
	OS            string        `json:"os"`
	Arch          string        `json:"arch"`
	Kernel        string        `json:"kernel"`
	GoVersion     string        `json:"go_version"`
	CPUModel      string        `json:"cpu_model"`
	NumCPU        int           `json:"num_cpu"`
	AllowedCPUs   []int         `json:"allowed_cpus"`
	CgroupCPUMax  string        `json:"cgroup_cpu_max,omitempty"` // e.g. "max 100000" or "200000 100000"
	CgroupCPUs    float64       `json:"cgroup_cpus,omitempty"`    // quota/period, 0 when unlimited
	Governor      string        `json:"governor,omitempty"`
	SMT           string        `json:"smt,omitempty"` // "on", "off", "notsupported", ...
	Virtualized   bool          `json:"virtualized"`
	Hypervisor    string        `json:"hypervisor,omitempty"`
	GOMAXPROCS    int           `json:"gomaxprocs"`
	LoadAvg       [3]float64    `json:"load_avg"`
	Pinning       string        `json:"pinning"`
	Topology      []CPUTopology `json:"topology,omitempty"`
	Placements    []string      `json:"placements,omitempty"` // placements this machine can honour
	MemTotalBytes uint64        `json:"mem_total_bytes,omitempty"`
	// Node is the Node.js the node group ran (absent when it did not run).
	Node *NodeEnv `json:"node,omitempty"`
}

// NodeEnv identifies the Node.js a run measured: the program, its version
// and the libuv and V8 it was built with (libuv decides how Node spawns).
type NodeEnv struct {
	Path    string `json:"path"`
	Version string `json:"version"` // "v20.20.2"
	Libuv   string `json:"libuv"`   // "1.46.0"
	V8      string `json:"v8,omitempty"`
}

// CPUTopology is one logical CPU's place in the machine.
type CPUTopology struct {
	CPU      int   `json:"cpu"`
	Core     int   `json:"core"`
	Package  int   `json:"package"`
	Siblings []int `json:"siblings,omitempty"` // SMT siblings, itself excluded
}

// Benchmark is one workload with every parameter fixed, and what was measured.
type Benchmark struct {
	Name     Name              `json:"name"`     // "Spawn/mode=exec/cmd=true/cores=1"
	Scenario string            `json:"scenario"` // the name's base
	Params   map[string]string `json:"params"`   // the name's parameters, and extra ones (command line, CPUs)
	Unit     string            `json:"unit"`     // unit of samples and summary: "ns/op"
	// Samples are timed batches: each is Iters operations between two clock reads.
	Samples []Sample `json:"samples"`
	Summary Summary  `json:"summary"`
	// PercentileSource says where p50..p999 come from: "per-op" (each operation
	// timed on its own into a histogram) or "batch" (percentiles of batch means,
	// used where per-op clock reads would distort a short operation).
	PercentileSource string `json:"percentile_source,omitempty"`
	// Distributions are extra per-op latency distributions (spawn phases: started,
	// first_byte, ready), each summarised like the main figure.
	Distributions map[Phase]Summary `json:"distributions,omitempty"`
	// Metrics are extra per-op figures: "MB/s", "parent_user_ns/op", "child_vcsw/op", ...
	Metrics  map[Metric]float64 `json:"metrics,omitempty"`
	Warnings []Warning          `json:"warnings,omitempty"`
	// Error is why the benchmark failed; Skipped why it was not run. Both empty: it ran.
	Error   string `json:"error,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	// BytesPerOp is the payload one operation moves (0 when not meaningful);
	// rates in MB/s are derived from it per sample.
	BytesPerOp int64   `json:"bytes_per_op,omitempty"`
	DurationNS int64   `json:"duration_ns"` // wall time spent on this benchmark, setup included
	Iterations int64   `json:"iterations"`  // timed operations in all samples
	WarmupOps  int64   `json:"warmup_ops"`
	LoadShare  float64 `json:"foreign_load_share"` // CPU share used by others while it ran, 0..1
	// Rounds is how many rounds visited this benchmark and took samples;
	// with 2 or more, the median is the median of the rounds' medians and
	// its CI is taken across them (see Merge).
	Rounds int `json:"rounds,omitempty"`
	// Stop says why sampling ended: StopTarget, StopRounds, StopTime,
	// StopBound, StopInterrupted, StopFailed.
	Stop string `json:"stop,omitempty"`
}

// Sample is one timed batch.
type Sample struct {
	Iters   int64   `json:"iters"`
	NsPerOp float64 `json:"ns_per_op"`
	// Round is the round (1, 2, …) whose visit took this sample; 0 in a
	// run measured in one visit.
	Round int `json:"round,omitempty"`
}

// Summary describes a distribution of per-op values in the benchmark's unit.
// Median, mean, stddev, min, max and the confidence interval are over samples
// (batch means); the percentiles follow Benchmark.PercentileSource.
type Summary struct {
	N        int     `json:"n"`
	Mean     float64 `json:"mean"`
	Median   float64 `json:"median"`
	Stddev   float64 `json:"stddev"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
	P999     float64 `json:"p999"`
	CI95Low  float64 `json:"ci95_low"`  // 0 when too few samples for a finite bound
	CI95High float64 `json:"ci95_high"` // 0 when too few samples for a finite bound
	Outliers int     `json:"outliers"`  // samples outside the quartile fences
	// Sum is the total of a phase distribution's values (ns), exact where
	// known; the phase profile is built from it. 0 when not recorded.
	Sum float64 `json:"sum,omitempty"`
	// Hist is the per-op histogram behind the percentiles, where each op
	// was timed on its own: HdrHistogram's compressed V2 encoding in
	// base64 (as hdrhistogram-go's Encode writes it; values in ns, 3
	// significant figures), so that runs and visits can be merged and
	// percentile spectra drawn later. Empty for percentiles of batch means.
	Hist string `json:"hist,omitempty"`
}

// Failed reports whether the benchmark failed.
func (b *Benchmark) Failed() bool { return b.Error != "" }

// OK reports whether the benchmark ran and produced figures.
func (b *Benchmark) OK() bool { return b.Error == "" && b.Skipped == "" && len(b.Samples) > 0 }

// Failures counts failed benchmarks.
func (s *Set) Failures() int {
	n := 0
	for i := range s.Benchmarks {
		if s.Benchmarks[i].Failed() {
			n++
		}
	}
	return n
}

// Encode writes s as indented JSON.
func Encode(w io.Writer, s *Set) error {
	if s.SchemaVersion == 0 {
		s.SchemaVersion = SchemaVersion
	}
	if err := s.checkFinite(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	return nil
}

// ErrFutureVersion is returned when a document was written by a newer ipcbench.
var ErrFutureVersion = errors.New("results: schema version is newer than this ipcbench understands")

// Decode reads one results document, refusing unknown or future versions.
func Decode(r io.Reader) (*Set, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("results: read: %w", err)
	}
	if len(data) > MaxDocument {
		return nil, fmt.Errorf("results: more than %d bytes: not a results document", int64(MaxDocument))
	}
	return Unmarshal(data)
}

// ErrNotRun is returned for another ipcbench document (a gate's verdicts,
// a noise file, compare's JSON) given where a run is expected.
var ErrNotRun = errors.New("not a run")

// Unmarshal parses one results document, refusing unknown or future
// versions and the other documents of ipcbench (ErrNotRun).
func Unmarshal(data []byte) (*Set, error) {
	var probe struct {
		SchemaVersion *int   `json:"schema_version"`
		Kind          string `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("results: corrupt or not an ipcbench results document: %w", err)
	}
	if probe.Kind != "" {
		// A run carries no kind; the gate's verdict and noise documents
		// and compare's JSON do, and have a schema_version too: without
		// this they would read as a run with no benchmarks, and a report
		// of nothing would exit 0.
		return nil, fmt.Errorf("results: this is %s, %w (a results.json, a journal or a run directory is expected)", kindName(probe.Kind), ErrNotRun)
	}
	if probe.SchemaVersion == nil {
		return nil, errors.New("results: not an ipcbench results document: no schema_version")
	}
	if v := *probe.SchemaVersion; v > SchemaVersion {
		return nil, fmt.Errorf("%w (file has %d, supported up to %d)", ErrFutureVersion, v, SchemaVersion)
	} else if v < 1 { // 1 and 2 are read alike (Warning decodes both forms)
		return nil, fmt.Errorf("results: invalid schema_version %d (supported 1..%d)", v, SchemaVersion)
	}
	var s Set
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("results: corrupt results document: %w", err)
	}
	return &s, nil
}

// kindName is how a document's kind reads in a sentence: "an ipcbench
// gate document" for "ipcbench-gate"; a foreign kind is quoted, cleaned of
// control characters and clipped (it comes from the file).
func kindName(kind string) string {
	if rest, ok := strings.CutPrefix(kind, "ipcbench-"); ok && rest != "" && !strings.ContainsFunc(rest, func(r rune) bool {
		return (r < 'a' || r > 'z') && r != '-'
	}) {
		return "an ipcbench " + rest + " document"
	}
	if len(kind) > 40 {
		kind = kind[:40] + "…"
	}
	return fmt.Sprintf("a document of kind %q", Clean(kind))
}

// MaxDocument bounds what Load reads: a results document of even the
// largest --full run is tens of megabytes.
const MaxDocument = 1 << 30

// Load reads a saved run: a results document, or a run directory (its
// results.json, or, when the run ended before saving it, its journal,
// rebuilt and marked partial), or a journal itself. It reads regular files
// only, at most MaxDocument bytes, and strips control characters from
// every string so a crafted file cannot drive a terminal.
func Load(path string) (*Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if fi.IsDir() {
		p := filepath.Join(path, FileName)
		if _, err := os.Stat(p); err != nil {
			if j := filepath.Join(path, JournalName); fileExists(j) {
				p = j
			}
		}
		path = p
		if fi, err = os.Stat(path); err != nil {
			return nil, fmt.Errorf("results: %s holds no %s (nor a %s): %w", filepath.Dir(path), FileName, JournalName, err)
		}
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("results: %s is not a regular file (a results.json, a journal or a run directory is expected)", path)
	}
	if fi.Size() > MaxDocument {
		return nil, fmt.Errorf("results: %s is %d bytes, more than any results document (%d at most)", path, fi.Size(), int64(MaxDocument))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	r := io.LimitReader(f, MaxDocument+1) // the file may grow after the stat
	var s *Set
	if filepath.Base(path) == JournalName {
		s, err = ReadJournal(r)
	} else {
		s, err = Decode(r)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Sanitize()
	return s, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers see either the old file or the whole
// new one, never half of it.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: create temp file: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("results: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("results: sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("results: close %s: %w", name, err)
	}
	// CreateTemp makes the file 0600; give it the mode a plain create
	// would have had under this process's umask.
	if err := os.Chmod(name, 0o666&^Umask()); err != nil {
		return fmt.Errorf("results: chmod %s: %w", name, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("results: rename to %s: %w", path, err)
	}
	ok = true
	return nil
}

// checkFinite refuses NaN and infinities, which JSON cannot carry; callers
// must store 0 (documented as "no finite bound") instead.
func (s *Set) checkFinite() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		sums := []Summary{b.Summary}
		for _, d := range b.Distributions {
			sums = append(sums, d)
		}
		for _, m := range sums {
			for _, v := range []float64{m.Mean, m.Median, m.Stddev, m.Min, m.Max, m.P50, m.P90, m.P99, m.P999, m.CI95Low, m.CI95High} {
				if bad(v) {
					return fmt.Errorf("results: benchmark %s: non-finite summary value", b.Name)
				}
			}
		}
		for k, v := range b.Metrics {
			if bad(v) {
				return fmt.Errorf("results: benchmark %s: metric %s is not finite", b.Name, k)
			}
		}
		for _, x := range b.Samples {
			if bad(x.NsPerOp) {
				return fmt.Errorf("results: benchmark %s: non-finite sample", b.Name)
			}
		}
	}
	return nil
}
