package results

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"
	"golang.org/x/perf/benchunit"
)

// Two runs of one machine line up in one benchstat table: the test groups
// results exactly as benchstat does by default (-table .config with the
// unit, -row .fullname, -col .file, through benchproc), and expects one
// table per unit, two columns, and every benchmark in both.
func TestBenchFormatTwoRunsOneTable(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, id := range []string{"20260101T000000Z-aaaaaa", "20260101T001000Z-bbbbbb"} {
		s := fixture()
		s.RunID = id
		s.StartedAt = s.StartedAt.Add(time.Duration(i) * 10 * time.Minute)
		s.Env.LoadAvg = [3]float64{float64(i), 1, 2} // differs between runs; must not matter
		var buf bytes.Buffer
		if err := WriteBench(&buf, s); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(buf.Bytes(), []byte(id)) {
			t.Fatalf("run %s: the run id is in the bench output, which splits benchstat's tables", id)
		}
		p := filepath.Join(dir, id+".txt")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}

	filter, err := benchproc.NewFilter("*")
	if err != nil {
		t.Fatal(err)
	}
	var pp benchproc.ProjectionParser
	tableBy, unitBy, err := pp.ParseWithUnit(".config", filter)
	if err != nil {
		t.Fatal(err)
	}
	rowBy, err := pp.Parse(".fullname", filter)
	if err != nil {
		t.Fatal(err)
	}
	colBy, err := pp.Parse(".file", filter)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[benchproc.Key]bool{}
	cols := map[benchproc.Key]bool{}
	cells := map[[2]benchproc.Key]int{} // (row, col) → values of sec/op
	files := benchfmt.Files{Paths: paths}
	for files.Scan() {
		switch rec := files.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		case *benchfmt.Result:
			// One table key per value: the configuration with the unit.
			for _, k := range tableBy.ProjectValues(rec) {
				if k.Get(unitBy) == "sec/op" {
					tables[k] = true
				}
			}
			cols[colBy.Project(rec)] = true
			cells[[2]benchproc.Key{rowBy.Project(rec), colBy.Project(rec)}]++
		}
	}
	if err := files.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 {
		t.Errorf("benchstat would print %d tables for sec/op, want 1 (configuration keys differ between runs)", len(tables))
	}
	if len(cols) != 2 {
		t.Fatalf("%d columns, want 2", len(cols))
	}
	rows := map[benchproc.Key]int{}
	for k, n := range cells {
		if n > 0 {
			rows[k[0]]++
		}
	}
	for row, ncols := range rows {
		if ncols != 2 {
			t.Errorf("%v: in %d of 2 columns", row, ncols)
		}
	}
	if len(rows) != 2 {
		t.Errorf("%d rows, want the fixture's 2 benchmarks", len(rows))
	}
	// Which way is better, for every unit written.
	units := files.Units()
	for unit, want := range map[string]string{"ns/op": "lower", "ops/s": "higher", "MB/s": "higher"} {
		_, tidy := benchunit.Tidy(1, unit)
		m := units[benchfmt.UnitMetadataKey{Unit: tidy, Key: "better"}]
		if m == nil || m.Value != want {
			t.Errorf("unit %s: metadata %v, want better=%s", unit, m, want)
		}
	}
}
