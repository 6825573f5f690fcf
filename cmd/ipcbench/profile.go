package main

import (
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

var profileKinds = []string{"cpu", "heap", "allocs", "mutex", "block"}

func parseProfiles(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, k := range splitList(s) {
		ok := false
		for _, a := range profileKinds {
			ok = ok || a == k
		}
		if !ok {
			return nil, usagef("--profile: unknown profile kind %q (accepted: %s)", k, strings.Join(profileKinds, ", "))
		}
		out = append(out, k)
	}
	return out, nil
}

type profiler struct{}

func newProfiler(kinds []string, runDir string, set *results.Set) (*profiler, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	return nil, usagef("--profile is not implemented yet")
}

func (p *profiler) Start(name string) error                      { return nil }
func (p *profiler) Stop(name string, b *results.Benchmark) error { return nil }
func (p *profiler) finish(set *results.Set)                      {}
