package compare

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

// EnvDiff is one fingerprint fact that differs between two runs.
type EnvDiff struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
	// Refuses: figures taken under the two values are not comparable
	// (another machine, another kernel, CPU set or quota, profiling or
	// pinning on one side), so no verdict is given across it.
	Refuses bool `json:"refuses_verdict"`
}

// EnvDiffs lists the fingerprint differences between two runs, those
// that refuse a verdict first.
func EnvDiffs(old, new *results.Set) []EnvDiff {
	var out []EnvDiff
	add := func(field, o, n string, refuses bool) {
		if o != n {
			out = append(out, EnvDiff{Field: field, Old: o, New: n, Refuses: refuses})
		}
	}
	a, b := old.Env, new.Env
	// The machine: another host, CPU, kernel, CPU count or quota is
	// another machine as far as timings go.
	add("hostname", a.Hostname, b.Hostname, true)
	add("cpu_model", a.CPUModel, b.CPUModel, true)
	add("num_cpu", fmt.Sprint(a.NumCPU), fmt.Sprint(b.NumCPU), true)
	add("arch", a.Arch, b.Arch, true)
	add("kernel", a.Kernel, b.Kernel, true)
	add("allowed_cpus", cpuList(a.AllowedCPUs), cpuList(b.AllowedCPUs), true)
	add("cgroup_cpu_quota", quota(a.CgroupCPUs), quota(b.CgroupCPUs), true)
	add("smt", a.SMT, b.SMT, true)
	add("hypervisor", a.Hypervisor, b.Hypervisor, true)
	// How the run was taken: profiling inflates every figure; another
	// pinning scheme measures other placements.
	add("profiling", onOff(old.Config.Profiling), onOff(new.Config.Profiling), true)
	add("pinning", a.Pinning, b.Pinning, true)
	// Worth knowing, not disqualifying: the toolchain (often the very
	// change compared), the governor, the sampling settings.
	add("go_version", a.GoVersion, b.GoVersion, false)
	add("governor", a.Governor, b.Governor, false)
	add("gomaxprocs", fmt.Sprint(a.GOMAXPROCS), fmt.Sprint(b.GOMAXPROCS), false)
	add("quick", fmt.Sprint(old.Config.Quick), fmt.Sprint(new.Config.Quick), false)
	add("budget", nsString(old.Config.BudgetNS), nsString(new.Config.BudgetNS), false)
	add("target_ci", fmt.Sprint(old.Config.TargetCIWidth), fmt.Sprint(new.Config.TargetCIWidth), false)
	slices.SortStableFunc(out, func(x, y EnvDiff) int {
		switch {
		case x.Refuses && !y.Refuses:
			return -1
		case !x.Refuses && y.Refuses:
			return 1
		}
		return 0
	})
	return out
}

// refusal is the one-line reason no verdict is given, "" when the runs
// are comparable.
func refusal(diffs []EnvDiff) string {
	var machine, system, conditions []string
	for _, d := range diffs {
		if !d.Refuses {
			continue
		}
		s := fmt.Sprintf("%s %q vs %q", d.Field, d.Old, d.New)
		switch d.Field {
		case "profiling", "pinning":
			conditions = append(conditions, s)
		case "hostname", "cpu_model", "num_cpu", "arch", "hypervisor":
			machine = append(machine, s)
		default:
			system = append(system, s)
		}
	}
	var parts []string
	if len(machine) > 0 {
		parts = append(parts, "the runs are from different machines ("+strings.Join(machine, "; ")+")")
	}
	if len(system) > 0 {
		parts = append(parts, "the runs' systems differ ("+strings.Join(system, "; ")+")")
	}
	if len(conditions) > 0 {
		parts = append(parts, "the runs were taken under different conditions ("+strings.Join(conditions, "; ")+")")
	}
	return strings.Join(parts, "; ")
}

func cpuList(c []int) string {
	s := make([]string, len(c))
	for i, v := range c {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

func quota(q float64) string {
	if q <= 0 {
		return "none"
	}
	return fmt.Sprintf("%g CPUs", q)
}

func onOff(p []string) string {
	if len(p) == 0 {
		return "off"
	}
	return "on (" + strings.Join(p, ",") + ")"
}

func nsString(ns int64) string {
	if ns == 0 {
		return "default"
	}
	return fmt.Sprintf("%gs", float64(ns)/1e9)
}
