package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/golden"
	"github.com/ipcbench/ipcbench/results"
)

func loadFixture(t *testing.T) *results.Set {
	t.Helper()
	s, err := results.Load(filepath.Join("..", "results", "testdata", "set.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGoldenTables(t *testing.T) {
	s := loadFixture(t)
	for _, name := range []string{"text", "markdown", "csv"} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Formats[name](&buf, s); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", name+".golden"), buf.Bytes())
		})
	}
}

func TestTableShowsFailuresSkipsWarnings(t *testing.T) {
	var buf bytes.Buffer
	if err := Text(&buf, loadFixture(t)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"FAILED Spawn/mode=exec/cmd=false: exec", "skipped RoundTrip/transport=shm-spin", "warning Spawn/mode=spawn/cmd=true: noisy", "started", "p99.9"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "P 99") {
		t.Error("header was auto-formatted")
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup("yaml"); err == nil || !strings.Contains(err.Error(), "accepted: bench, csv, json, markdown, text") {
		t.Fatalf("error %v must list the accepted formats", err)
	}
}

func TestDur(t *testing.T) {
	cases := map[float64]string{0: "0", 423: "423ns", 4230: "4.23µs", 42300: "42.3µs", 1.23e6: "1.23ms", 2.5e9: "2.50s"}
	for in, want := range cases {
		if got := Dur(in); got != want {
			t.Errorf("Dur(%v) = %q, want %q", in, got, want)
		}
	}
}

// A minimal document that results.Load accepts must render in every format
// (fields absent, maps nil), never panic.
func TestEveryFormatRendersMinimalDocuments(t *testing.T) {
	docs := []string{
		`{"schema_version":1}`,
		`{"schema_version":1,"benchmarks":[{"name":"X"},{"name":"Spawn/cores=1","scenario":"Spawn","params":{"cores":"1"},"samples":[{"iters":1,"ns_per_op":5}]},{"name":"Output/collect=lines","scenario":"Output","skipped":"no"}]}`,
	}
	for _, d := range docs {
		s, err := results.Unmarshal([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range FormatNames() {
			var buf bytes.Buffer
			if err := Formats[name](&buf, s); err != nil {
				t.Errorf("%s on %s: %v", name, d, err)
			}
		}
	}
}

func FuzzRender(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join("..", "results", "testdata", "set.json"))
	f.Add(data)
	f.Add([]byte(`{"schema_version":1,"benchmarks":[{"name":"a/cores=2","params":{"cores":"2"},"samples":[{"iters":1,"ns_per_op":1}],"summary":{"n":1,"median":1}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := results.Unmarshal(b)
		if err != nil {
			return
		}
		for _, name := range FormatNames() {
			_ = Formats[name](io.Discard, s)
		}
	})
}
