package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/internal/child"
	"github.com/ipcbench/ipcbench/results"
)

// runOutput is where a run keeps what it measures: its directory, the
// journal every finished visit is appended to (so a SIGKILL, an OOM kill
// or a full disk loses at most the visit in flight), and at the end
// results.json, written atomically, after which the journal goes.
type runOutput struct {
	dir     string // "" with --no-save
	jf      *os.File
	journal *results.Journal
	jerr    error // the first journal failure, said once
	stderr  io.Writer
	mu      sync.Mutex
	reaped  time.Time
}

// openRun creates the run's directory (a new one: an id collision is an
// error, never a shared directory) and its journal.
func openRun(p *plan, f *runFlags, set *results.Set, stderr io.Writer) (*runOutput, error) {
	o := &runOutput{stderr: stderr}
	if f.noSave {
		return o, nil
	}
	if err := os.MkdirAll(p.outDir, 0o777); err != nil {
		return nil, usagef("--out %q is not writable: %v", p.outDir, err)
	}
	dir := filepath.Join(p.outDir, set.RunID)
	if err := os.Mkdir(dir, 0o777); err != nil {
		return nil, usagef("--out %q: cannot create the run directory: %v", p.outDir, err)
	}
	jf, err := os.OpenFile(filepath.Join(dir, results.JournalName), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o666)
	if err == nil {
		var names []results.Name
		for _, s := range p.list {
			names = append(names, s.Name())
		}
		o.journal, err = results.NewJournal(jf, set, names)
	}
	if err != nil {
		if jf != nil {
			jf.Close()
		}
		os.RemoveAll(dir)
		return nil, usagef("--out %q is not writable: %v", p.outDir, err)
	}
	o.dir, o.jf = dir, jf
	return o, nil
}

// visit is told of every finished visit: it goes to the journal, and the
// orphans a command left behind are ended (at most once a second: a scan
// of /proc costs a few milliseconds).
func (o *runOutput) visit(i, round int, v results.Benchmark) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if time.Since(o.reaped) > time.Second {
		child.ReapOrphans()
		o.reaped = time.Now()
	}
	if o.journal == nil || o.jerr != nil {
		return
	}
	if err := o.journal.Visit(i, round, v); err != nil {
		o.jerr = err
		fmt.Fprintf(o.stderr, "ipcbench: warning: %v: the run goes on; its results are printed at the end and saved if the disk allows\n", err)
	}
}

// save writes results.json atomically and then drops the journal. When it
// fails, the journal stays for `ipcbench report` to rebuild the run from.
func (o *runOutput) save(set *results.Set) error {
	if o.dir == "" {
		return nil
	}
	var buf bytes.Buffer
	err := results.Encode(&buf, set)
	path := filepath.Join(o.dir, results.FileName)
	if err == nil {
		err = results.WriteFileAtomic(path, buf.Bytes())
	}
	if err != nil {
		keep := "nothing could be kept"
		if o.jerr == nil && o.journal != nil {
			keep = "the journal " + filepath.Join(o.dir, results.JournalName) + " keeps every finished visit (ipcbench report reads it)"
		}
		return fmt.Errorf("could not save the run: %v; the results are printed above, and %s", err, keep)
	}
	if o.jf != nil {
		o.jf.Close()
		o.jf = nil
		os.Remove(filepath.Join(o.dir, results.JournalName))
	}
	fmt.Fprintf(o.stderr, "saved %s\n", path)
	return nil
}

// close removes a run directory that holds nothing measured; a journal
// with visits stays (a partial run that `report` can read).
func (o *runOutput) close() {
	if o.jf != nil {
		o.jf.Close()
		o.jf = nil
	}
	if o.dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(o.dir, results.FileName)); err == nil {
		return
	}
	if s, err := results.Load(o.dir); err == nil && len(s.Benchmarks) > 0 {
		return
	}
	os.RemoveAll(o.dir)
}
