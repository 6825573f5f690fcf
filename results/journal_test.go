package results

import (
	"bytes"
	"strings"
	"testing"
)

func journalOf(t *testing.T, visits int) []string {
	t.Helper()
	var buf bytes.Buffer
	s := &Set{RunID: "r1", Config: Config{MinSamples: 1}}
	planned := []Name{"Spawn/mode=spawn/cores=1"}
	j, err := NewJournal(&buf, s, planned)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < visits; i++ {
		b := Benchmark{Name: planned[0], Scenario: "Spawn", Samples: []Sample{{Iters: 1, NsPerOp: 100}}, Summary: Summary{N: 1, Median: 100}}
		if err := j.Visit(0, i+1, b); err != nil {
			t.Fatal(err)
		}
	}
	return strings.SplitAfter(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

// A corrupt line is named by its line number in the file (the header is
// line 1); a cut last line is what a crash leaves, and is ignored.
func TestReadJournalNamesTheCorruptLine(t *testing.T) {
	lines := journalOf(t, 3) // header, then visits on lines 2, 3, 4
	corrupt := append([]string(nil), lines...)
	corrupt[2] = "{\"i\":0,\"round\":2,\"vis\n" // line 3
	_, err := ReadJournal(strings.NewReader(strings.Join(corrupt, "")))
	if err == nil || !strings.Contains(err.Error(), "line 3 is cut short or corrupt") {
		t.Fatalf("corrupt line 3: %v", err)
	}
	cut := append([]string(nil), lines...)
	cut[3] = cut[3][:10] // the last line, cut by a crash
	s, err := ReadJournal(strings.NewReader(strings.Join(cut, "")))
	if err != nil {
		t.Fatalf("cut last line: %v", err)
	}
	if len(s.Benchmarks) != 1 || !strings.Contains(s.Partial, "(2 visits)") {
		t.Fatalf("rebuilt %d benchmarks, partial %q", len(s.Benchmarks), s.Partial)
	}
}
