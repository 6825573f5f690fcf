package sys

import (
	"slices"
	"strconv"

	"github.com/ipcbench/ipcbench/results"
)

// Topology reads core and package ids of the given CPUs from sysfs; CPUs
// whose topology is unreadable get core = cpu, package 0.
func Topology(cpus []int) []results.CPUTopology {
	var out []results.CPUTopology
	for _, c := range cpus {
		base := "/sys/devices/system/cpu/cpu" + strconv.Itoa(c) + "/topology/"
		t := results.CPUTopology{CPU: c, Core: c}
		if v, err := strconv.Atoi(readTrim(base + "core_id")); err == nil {
			t.Core = v
		}
		if v, err := strconv.Atoi(readTrim(base + "physical_package_id")); err == nil && v >= 0 {
			t.Package = v
		}
		if sib, err := ParseCPUList(readTrim(base + "thread_siblings_list")); err == nil {
			for _, s := range sib {
				if s != c && slices.Contains(cpus, s) {
					t.Siblings = append(t.Siblings, s)
				}
			}
		}
		out = append(out, t)
	}
	return out
}
