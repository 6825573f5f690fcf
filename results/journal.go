package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// JournalName is the append-only log of a run in progress, beside where
// results.json will be: its first line is the run (a Set without
// benchmarks) and the names of every benchmark planned, then one line per
// visit as it finishes. A run that ends without saving its results (a
// SIGKILL, an OOM kill, a full disk) loses at most the visit in flight:
// ReadJournal rebuilds the run from what was written. Writes are plain
// appends: a process that dies keeps what it wrote in the page cache.
const JournalName = "journal.jsonl"

type journalHeader struct {
	Journal int    `json:"ipcbench_journal"` // 1
	Set     *Set   `json:"run"`
	Names   []Name `json:"planned"`
}

type journalVisit struct {
	Index int       `json:"i"`
	Round int       `json:"round"`
	Visit Benchmark `json:"visit"`
}

// Journal writes a run's journal.
type Journal struct {
	w   io.Writer
	buf bytes.Buffer
}

// NewJournal writes the header: the run so far (its benchmarks are not
// written) and the benchmarks planned, in order.
func NewJournal(w io.Writer, s *Set, planned []Name) (*Journal, error) {
	head := *s
	head.Benchmarks = nil
	head.SchemaVersion = SchemaVersion
	j := &Journal{w: w}
	return j, j.line(journalHeader{Journal: 1, Set: &head, Names: planned})
}

// Visit appends one finished visit of the benchmark planned at index.
func (j *Journal) Visit(index, round int, v Benchmark) error {
	return j.line(journalVisit{Index: index, Round: round, Visit: v})
}

// line writes v as one line in one write, so a line is whole or, at a
// crash, the last one is cut (ReadJournal ignores a cut last line).
func (j *Journal) line(v any) error {
	j.buf.Reset()
	if err := json.NewEncoder(&j.buf).Encode(v); err != nil {
		return fmt.Errorf("results: journal: %w", err)
	}
	if _, err := j.w.Write(j.buf.Bytes()); err != nil {
		return fmt.Errorf("results: journal: %w", err)
	}
	return nil
}

// ReadJournal rebuilds a run from its journal: each benchmark's visits are
// merged and judged as the run would have (a benchmark measured in one
// visit keeps that visit's result). The set is marked Partial, saying how
// much of the plan it holds. A cut last line (the process died while
// writing it) is ignored; anything else malformed is an error.
func ReadJournal(r io.Reader) (*Set, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	if !sc.Scan() {
		return nil, errors.New("results: journal: empty")
	}
	var head journalHeader
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil || head.Journal != 1 || head.Set == nil {
		return nil, fmt.Errorf("results: not an ipcbench journal (first line: %.60q)", sc.Text())
	}
	if v := head.Set.SchemaVersion; v > SchemaVersion {
		return nil, fmt.Errorf("%w (journal has %d, supported up to %d)", ErrFutureVersion, v, SchemaVersion)
	}
	visits := map[int][]Benchmark{}
	lines := 0 // visits read
	line := 1  // the file's line number: the header is line 1
	bad := 0   // the line that did not parse (0: none); only the last may be cut
	for sc.Scan() {
		line++
		if bad != 0 {
			return nil, fmt.Errorf("results: journal: line %d is cut short or corrupt", bad)
		}
		var v journalVisit
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil || v.Index < 0 || v.Index >= len(head.Names) {
			bad = line
			continue
		}
		lines++
		visits[v.Index] = append(visits[v.Index], v.Visit)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("results: journal: %w", err)
	}
	s := head.Set
	c := s.Config
	j := Judgement{TargetCIWidth: c.TargetCIWidth, NoisyCIWidth: c.NoisyCIWidth, MinSamples: c.MinSamples, MinRounds: c.MinRounds}
	measured := 0
	for i := range head.Names {
		vs := visits[i]
		if len(vs) == 0 {
			continue
		}
		measured++
		b := vs[0]
		if len(vs) > 1 || c.MinRounds > 1 {
			b = Merge(vs)
			Judge(&b, j)
		}
		s.Benchmarks = append(s.Benchmarks, b)
	}
	if s.Partial == "" {
		s.Partial = fmt.Sprintf("rebuilt from the journal: the run ended before saving its results; %d of %d planned benchmarks have figures (%d visits)", measured, len(head.Names), lines)
	}
	if err := s.checkFinite(); err != nil {
		return nil, err
	}
	return s, nil
}
