// Package profiling writes pprof profiles of what ipcbench measures: a
// Profiler is a bench.Hook covering each benchmark's timed region in this
// process; re-executed children profile themselves when asked (through the
// environment) and their CPU profiles are merged with the parent's, every
// sample labelled with the process, its role and pid and the benchmark's
// parameters. Run adds the run-wide merge and the synthetic spawn-phase
// profile, and records every file in the results document.
package profiling

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ipcbench/ipcbench/bench"

	"github.com/google/pprof/profile"
	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/internal/early"
	"github.com/ipcbench/ipcbench/results"
)

// Kinds are the profiles --profile accepts.
var Kinds = []string{"cpu", "heap", "allocs", "mutex", "block"}

// Environment telling a child to profile itself: a directory and the kinds.
const (
	envProfileDir   = early.EnvProfileDir
	envProfileKinds = early.EnvProfileKinds
)

// childProfileEnv is what re-executed children get in their environment
// while a profiled benchmark runs (set by Profiler.Begin, cleared by End).
var childProfileEnv struct {
	sync.Mutex
	env []string
}

func profileEnv() []string {
	childProfileEnv.Lock()
	defer childProfileEnv.Unlock()
	return childProfileEnv.env
}

func setProfileEnv(env []string) {
	childProfileEnv.Lock()
	childProfileEnv.env = env
	childProfileEnv.Unlock()
}

func init() {
	child.SetEnvHook(profileEnv)
	child.SetStartHook(childProfileStart)
}

// Profiler is a Hook that writes pprof profiles of each benchmark's timed
// region to Dir: CPU (this process, merged with the children's own
// profiles, every sample labelled), heap (in use at the end of the timed
// region), and allocs, mutex and block as the difference between their
// cumulative counts at the end and at the start of the timed region.
// It also keeps every CPU profile to merge into one run-wide profile.
type Profiler struct {
	Dir   string
	Kinds []string

	cpuBuf   bytes.Buffer
	cpuOn    bool
	base     map[string]*profile.Profile // cumulative profiles at Start
	childDir string
	info     bench.Info
	all      []*profile.Profile // labelled CPU profiles for the run-wide one
	written  []results.Profile
	warn     []string
}

// NewProfiler checks the kinds and creates dir.
func NewProfiler(dir string, kinds []string) (*Profiler, error) {
	for _, k := range kinds {
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("unknown profile kind %q (accepted: %s)", k, strings.Join(Kinds, ", "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profiling: %w", err)
	}
	return &Profiler{Dir: dir, Kinds: kinds}, nil
}

func (p *Profiler) has(k string) bool { return slices.Contains(p.Kinds, k) }

// FileBase turns a benchmark name into a file name stem.
func FileBase(name results.Name) string {
	return strings.NewReplacer("/", "_", "=", "-", " ", "_").Replace(string(name))
}

// Begin implements bench.Hook: children started from now on profile
// themselves into a directory of this benchmark's own.
func (p *Profiler) Begin(info bench.Info) error {
	p.info = info
	p.warn = nil
	p.written = p.written[:0]
	p.childDir = filepath.Join(p.Dir, ".children-"+FileBase(info.Name))
	if err := os.MkdirAll(p.childDir, 0o755); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	setProfileEnv([]string{envProfileDir + "=" + p.childDir, envProfileKinds + "=" + strings.Join(p.Kinds, ",")})
	return nil
}

// Start implements bench.Hook.
func (p *Profiler) Start() error {
	var errs []error
	if p.has("mutex") {
		runtime.SetMutexProfileFraction(1)
	}
	if p.has("block") {
		runtime.SetBlockProfileRate(1)
	}
	p.base = map[string]*profile.Profile{}
	for _, k := range []string{"allocs", "mutex", "block"} {
		if p.has(k) {
			prof, err := lookup(k)
			errs = append(errs, err)
			p.base[k] = prof
		}
	}
	if p.has("cpu") {
		p.cpuBuf.Reset()
		if err := pprof.StartCPUProfile(&p.cpuBuf); err != nil {
			errs = append(errs, fmt.Errorf("cpu profile: %w", err))
		} else {
			p.cpuOn = true
		}
	}
	return errors.Join(errs...)
}

// Stop implements bench.Hook.
func (p *Profiler) Stop() error {
	name := p.info.Name
	var errs []error
	if p.cpuOn {
		pprof.StopCPUProfile()
		p.cpuOn = false
	}
	for _, k := range []string{"allocs", "mutex", "block"} {
		if !p.has(k) || p.base[k] == nil {
			continue
		}
		now, err := lookup(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d, err := delta(now, p.base[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s profile: %w", k, err))
			continue
		}
		errs = append(errs, p.write(name, k, d, ""))
	}
	if p.has("mutex") {
		runtime.SetMutexProfileFraction(0)
	}
	if p.has("block") {
		runtime.SetBlockProfileRate(0)
	}
	if p.has("heap") {
		var buf bytes.Buffer
		if err := pprof.Lookup("heap").WriteTo(&buf, 0); err != nil {
			errs = append(errs, err)
		} else if hp, err := profile.Parse(&buf); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, p.write(name, "heap", hp, "in use at the end of the timed region"))
		}
	}
	return errors.Join(errs...)
}

// End implements bench.Hook: merge the children's CPU profiles with ours,
// label every sample, write the file, and say what is missing.
func (p *Profiler) End(res *results.Benchmark) {
	name := p.info.Name
	setProfileEnv(nil)
	defer os.RemoveAll(p.childDir)
	if p.has("cpu") && p.cpuBuf.Len() > 0 {
		parent, err := profile.Parse(bytes.NewReader(p.cpuBuf.Bytes()))
		if err != nil {
			p.warn = append(p.warn, "cpu profile unreadable: "+err.Error())
		} else {
			parent.SetLabel("process", []string{"parent"})
			parent.SetLabel("pid", []string{strconv.Itoa(os.Getpid())})
			profs := []*profile.Profile{parent}
			kids, err := childProfiles(p.childDir, "cpu")
			if err != nil {
				p.warn = append(p.warn, err.Error())
			}
			profs = append(profs, kids...)
			if len(kids) == 0 && res.Skipped == "" && p.info.ChildrenProfile {
				p.warn = append(p.warn, "child CPU profile missing: the child died before writing it; the parent's profile is complete")
			}
			merged, err := profile.Merge(profs)
			if err != nil {
				p.warn = append(p.warn, "merging child profiles: "+err.Error())
				merged = parent
			}
			for k, v := range p.info.Name.Params() {
				merged.SetLabel(k, []string{v})
			}
			merged.SetLabel("benchmark", []string{string(name)})
			merged.SetLabel("scenario", []string{res.Scenario})
			if err := p.write(name, "cpu", merged, fmt.Sprintf("%d child profile(s) merged", len(kids))); err != nil {
				p.warn = append(p.warn, err.Error())
			}
			p.all = append(p.all, merged)
		}
	}
	// Children's other kinds are written beside, one file per kind merged
	// over the children (their heaps are theirs, not ours).
	for _, k := range p.Kinds {
		if k == "cpu" {
			continue
		}
		kids, _ := childProfiles(p.childDir, k)
		if len(kids) == 0 {
			continue
		}
		if m, err := profile.Merge(kids); err == nil {
			_ = p.write(name, "child-"+k, m, fmt.Sprintf("%d children, whole child lifetime", len(kids)))
		}
	}
	for _, w := range p.warn {
		res.Warn(results.WarnProfiling, "profiling: "+w)
	}
	for i := range p.written {
		p.written[i].Benchmark = name
	}
	res.Warn(results.WarnProfiling, "figures taken under profiling (--profile) are not comparable with unprofiled runs")
}

// Written returns the profiles written for the last benchmark and resets it.
func (p *Profiler) Written() []results.Profile {
	w := p.written
	p.written = nil
	return w
}

// RunWide writes the merge of every benchmark's labelled CPU profile, so
// one file can be split with go tool pprof -tagfocus=transport=unix.
func (p *Profiler) RunWide() (*results.Profile, error) {
	if len(p.all) == 0 {
		return nil, nil
	}
	m, err := profile.Merge(p.all)
	if err != nil {
		return nil, fmt.Errorf("run-wide profile: %w", err)
	}
	path := filepath.Join(p.Dir, "run.cpu.pprof")
	if err := writeProfile(path, m); err != nil {
		return nil, err
	}
	return &results.Profile{Kind: "cpu", Path: filepath.Join("profiles", "run.cpu.pprof"), Note: "all benchmarks; split with -tagfocus=key=value"}, nil
}

func (p *Profiler) write(name results.Name, kind string, prof *profile.Profile, note string) error {
	file := FileBase(name) + "." + kind + ".pprof"
	if err := writeProfile(filepath.Join(p.Dir, file), prof); err != nil {
		return err
	}
	p.written = append(p.written, results.Profile{Kind: kind, Path: filepath.Join("profiles", file), Note: note})
	return nil
}

func writeProfile(path string, prof *profile.Profile) error {
	var buf bytes.Buffer
	if err := prof.Write(&buf); err != nil {
		return fmt.Errorf("profiles: encode %s: %w", path, err)
	}
	return results.WriteFileAtomic(path, buf.Bytes())
}

func lookup(kind string) (*profile.Profile, error) {
	var buf bytes.Buffer
	if err := pprof.Lookup(kind).WriteTo(&buf, 0); err != nil {
		return nil, fmt.Errorf("%s profile: %w", kind, err)
	}
	return profile.Parse(&buf)
}

// delta is now − base for cumulative profiles, as pprof -base computes it,
// keeping only samples that changed.
func delta(now, base *profile.Profile) (*profile.Profile, error) {
	b := base.Copy()
	b.Scale(-1)
	d, err := profile.Merge([]*profile.Profile{now, b})
	if err != nil {
		return nil, err
	}
	d.Sample = slices.DeleteFunc(d.Sample, func(s *profile.Sample) bool {
		for _, v := range s.Value {
			if v != 0 {
				return false
			}
		}
		return true
	})
	return d.Compact(), nil
}

// childProfiles reads the children's profiles of one kind, each labelled
// process=child, role and pid (from the file name child-ROLE-PID.KIND.pprof).
func childProfiles(dir, kind string) ([]*profile.Profile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil
	}
	var out []*profile.Profile
	var errs []error
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "child-") || !strings.HasSuffix(n, "."+kind+".pprof") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		prof, err := profile.Parse(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("child profile %s: %w", n, err))
			continue
		}
		stem := strings.TrimSuffix(strings.TrimPrefix(n, "child-"), "."+kind+".pprof")
		role, pid := stem, ""
		if i := strings.LastIndexByte(stem, '-'); i > 0 {
			role, pid = stem[:i], stem[i+1:]
		}
		prof.SetLabel("process", []string{"child"})
		prof.SetLabel("role", []string{role})
		prof.SetLabel("pid", []string{pid})
		out = append(out, prof)
	}
	return out, errors.Join(errs...)
}

// childProfileStart is called by RunChild: when the parent asked, profile
// this child's whole life and return the func that writes the profiles.
func childProfileStart(role string) func() {
	dir := os.Getenv(envProfileDir)
	kinds := strings.Split(os.Getenv(envProfileKinds), ",")
	os.Unsetenv(envProfileDir)
	os.Unsetenv(envProfileKinds)
	if dir == "" {
		return func() {}
	}
	stem := filepath.Join(dir, fmt.Sprintf("child-%s-%d", role, os.Getpid()))
	var cpu *os.File
	if slices.Contains(kinds, "cpu") {
		if f, err := os.Create(stem + ".cpu.pprof.tmp"); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				cpu = f
			} else {
				f.Close()
			}
		}
	}
	if slices.Contains(kinds, "mutex") {
		runtime.SetMutexProfileFraction(1)
	}
	if slices.Contains(kinds, "block") {
		runtime.SetBlockProfileRate(1)
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
			// The rename makes the profile appear whole or not at all.
			os.Rename(stem+".cpu.pprof.tmp", stem+".cpu.pprof")
		}
		for _, k := range []string{"heap", "allocs", "mutex", "block"} {
			if !slices.Contains(kinds, k) {
				continue
			}
			var buf bytes.Buffer
			if pprof.Lookup(k).WriteTo(&buf, 0) == nil {
				_ = results.WriteFileAtomic(stem+"."+k+".pprof", buf.Bytes())
			}
		}
	}
}
