package scenarios

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/bench"
	"github.com/ipcbench/ipcbench/internal/leakcheck"
	"github.com/ipcbench/ipcbench/internal/sys"
	"github.com/ipcbench/ipcbench/results"
)

func TestParseParentMem(t *testing.T) {
	got, err := ParseParentMem("1GiB, 0,256MiB,0")
	if err != nil || !slices.Equal(got, []int64{0, 256 << 20, 1 << 30}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "x", "-1", "1TB"} {
		if _, err := ParseParentMem(bad); err == nil || !strings.Contains(err.Error(), "--parent-mem") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParentMemRefusedBeforeAllocating(t *testing.T) {
	room, _ := sys.MemHeadroom()
	huge := room + 1<<30
	before := sys.StatusKB("VmRSS")
	for _, build := range []func(Options) ([]bench.Scenario, error){buildParentMem, buildNode} {
		_, err := build(Options{ParentMem: []int64{0, huge}})
		if err == nil || !strings.Contains(err.Error(), "--parent-mem") || !strings.Contains(err.Error(), "free") {
			t.Fatalf("%d bytes accepted: %v", huge, err)
		}
	}
	if err := CheckParentMem([]int64{0, 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if after := sys.StatusKB("VmRSS"); after-before > 64<<10 {
		t.Fatalf("RSS grew by %d KiB while refusing", after-before)
	}
	// The default is 0 and one size that fits.
	sizes, err := parentMems(Options{})
	if err != nil || sizes[0] != 0 || len(sizes) > 2 || (len(sizes) == 2 && CheckParentMem(sizes[1:]) != nil) {
		t.Fatalf("default %v %v", sizes, err)
	}
}

func TestParentMemEndToEnd(t *testing.T) {
	leakcheck.Check(t)
	list, err := buildParentMem(Options{ParentMem: []int64{0, 8 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("%d benchmarks, want 2 sizes × 2 methods", len(list))
	}
	for _, s := range list {
		t.Run(string(s.Name()), func(t *testing.T) {
			res, err := bench.Run(context.Background(), s, tinyCfg())
			if err != nil || res.Error != "" || res.Skipped != "" {
				t.Fatalf("%v %s %s", err, res.Error, res.Skipped)
			}
			if st := res.Distributions[results.PhaseStarted]; int64(st.N) != res.Iterations || res.Summary.P50 > res.Summary.P99 {
				t.Fatalf("started in %d of %d; %+v", st.N, res.Iterations, res.Summary)
			}
			mem, _ := strconv.ParseInt(s.Name().Param(results.KeyParentMem), 10, 64)
			if rss, _ := strconv.ParseInt(res.Params["parent_rss_bytes"], 10, 64); rss < mem {
				t.Fatalf("held %d bytes resident, want at least %d", rss, mem)
			}
			if res.Metrics[results.MetricChildUser]+res.Metrics[results.MetricChildSys] <= 0 {
				t.Fatalf("no child CPU: %v", res.Metrics)
			}
		})
	}
	// A user's command replaces /bin/true, and its failure is explained.
	list, err = buildParentMem(Options{ParentMem: []int64{0}, Cmd: `sh -c 'echo bad news >&2; exit 3'`})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		res, _ := bench.Run(context.Background(), s, tinyCfg())
		if !strings.Contains(res.Error, "exit status 3") {
			t.Fatalf("%s: %q", s.Name(), res.Error)
		}
	}
}
