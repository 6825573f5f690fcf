package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/results"
)

// Without node the node group is skipped, with the reason, and the rest
// of the run goes on: exit 0.
func TestNodeAbsentRunsTheRest(t *testing.T) {
	leakcheck.Check(t)
	bin := t.TempDir()
	for _, p := range []string{"true", "echo", "sh"} {
		if path, err := exec.LookPath(p); err == nil {
			_ = os.Symlink(path, filepath.Join(bin, p))
		}
	}
	t.Setenv("PATH", bin)
	dir := t.TempDir()
	args := append([]string{"run", "spawn", "node", "--out", dir, "--cores", "1", "--filter", "mode=spawn/cmd=true/cores=1$|runtime=node"}, tiny...)
	code, out, errs := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "benchmarks) node not found on PATH") || !strings.Contains(errs, "Spawn/mode=exec/cmd=true/runtime=node/cores=1") {
		t.Fatalf("no skip reason in the notes:\n%s\n%s", out, errs)
	}
	runs, _ := os.ReadDir(dir)
	s, err := results.Load(filepath.Join(dir, runs[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	ran, skipped := 0, 0
	for _, b := range s.Benchmarks {
		switch {
		case b.OK():
			ran++
		case b.Skipped != "":
			skipped++
		}
	}
	if ran != 1 || skipped < 10 || s.Env.Node != nil {
		t.Fatalf("%d ran, %d skipped, env node %v", ran, skipped, s.Env.Node)
	}
}

func TestNodeInFingerprintAndList(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH: the node group's tests need Node.js 20 or later (CI installs it)")
	}
	leakcheck.Check(t)
	code, out, errs := runCLI(t, "list", "node")
	if code != exitOK || !strings.Contains(out, "RoundTrip/transport=channel/serialization=json/size=64/placement=same-core/runtime=node/cores=1\n") ||
		!strings.Contains(out, "Spawn/mode=spawn/cmd=true/method=fork/parent_mem=0/runtime=node/cores=1\n") {
		t.Fatalf("list node: exit %d %s\n%s", code, errs, out)
	}
	args := append([]string{"run", "node", "--no-save", "--format", "json", "--filter", "Spawn/mode=spawn/cmd=true/runtime=node"}, tiny...)
	code, out, errs = runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s results.Set
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Env.Node == nil || !strings.HasPrefix(s.Env.Node.Version, "v") || s.Env.Node.Libuv == "" || len(s.Benchmarks) != 1 || !s.Benchmarks[0].OK() {
		t.Fatalf("env node %+v, benchmarks %+v", s.Env.Node, s.Benchmarks)
	}
}
