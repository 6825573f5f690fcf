package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/browsertest"
	"github.com/ipcbench/ipcbench/results"
)

func loadRun(t *testing.T, name string) Run {
	t.Helper()
	p := filepath.Join("testdata", name)
	s, err := results.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return Run{Set: s, Source: p}
}

// The HTML report of a real `run all --quick`, and of it beside a second
// host, opened in a real headless Chromium: no console errors, every
// chart drawn with data, a readable screenshot, both hosts shown.
func TestHTMLInChromium(t *testing.T) {
	quick := loadRun(t, "run-quick.json")
	other := loadRun(t, "run-output.json")
	other.Set.Env.Hostname = "bigger-box"
	other.Set.Env.AllowedCPUs = []int{0, 1, 2, 3}
	for _, c := range []struct {
		name  string
		runs  []Run
		hosts []string
	}{
		{"one-run", []Run{quick}, []string{"vm"}},
		{"two-hosts", []Run{quick, other}, []string{"vm", "bigger-box"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Build(c.runs, Options{Targets: []Target{mustTarget(t, "roundtrip:transport=unix,size=4096,rate=200000/s,p99<=50us")}})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "report.html")
			if err := WriteHTMLFile(path, d); err != nil {
				t.Fatal(err)
			}
			p := browsertest.CheckReport(t, path, "report-"+c.name)
			if !slices.Equal(p.Hosts, c.hosts) {
				t.Errorf("host table shows %q, want %q", p.Hosts, c.hosts)
			}
			if p.Answers < 5 {
				t.Errorf("%d answers on the page", p.Answers)
			}
			if want := chartCount(d); len(p.Charts) != want {
				t.Errorf("%d charts on the page, the report has %d", len(p.Charts), want)
			}
			if fi, err := os.Stat(path); err == nil {
				t.Logf("%s: %d bytes, %d charts", path, fi.Size(), len(p.Charts))
			}
		})
	}
}

func chartCount(d *Doc) int {
	n := 0
	for _, s := range d.Sections {
		n += len(s.Charts)
	}
	return n
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// Any document results.Load accepts builds a report and renders it in
// every capacity format without panicking.
func FuzzBuild(f *testing.F) {
	for _, name := range []string{"capacity.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"schema_version":1}`))
	f.Add([]byte(`{"schema_version":2,"benchmarks":[{"name":"RoundTrip/transport=pipe/mode=raw/size=0/placement=cross-core/cores=1","samples":[{"iters":1,"ns_per_op":0}],"summary":{"n":1}}]}`))
	f.Add([]byte(`{"schema_version":2,"benchmarks":[{"name":"Spawn/mode=exec/cores=1","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":5,"hist":"garbage"},"distributions":{"started":{"n":1}}}]}`))
	f.Add([]byte(`{"schema_version":2,"benchmarks":[{"name":"Output/collect=buffered/size=-5/write=x/cores=1","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":5}},{"name":"Spawn/mode=spawn/method=fork/parent_mem=-1/cores=1","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":5}},{"name":"Load/rate=5/cores=0","samples":[{"iters":1,"ns_per_op":5}],"summary":{"n":1,"median":-5}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := results.Unmarshal(b)
		if err != nil {
			return
		}
		// A report that hangs is a failure the fuzzer must keep.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("report: Build and rendering took over 10s") })
		defer watchdog.Stop()
		d, err := Build([]Run{{Set: s}, {Set: s}}, Options{Full: true, AllowNoisy: true, Targets: []Target{{Spec: "x", Scenario: "roundtrip", Base: results.ScenarioRoundTrip, Rate: 1000, Pct: "p99", Bound: 5e4}}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, d); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&buf, d, MarkdownOptions{ChartDir: "charts"}); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&buf, d); err != nil {
			t.Fatal(err)
		}
	})
}

// mdSpans splits Markdown into what is outside code spans and the
// spans' contents, by CommonMark's rules: a backslash escapes the next
// character; a run of n backticks opens a span that only the next run of
// exactly n closes (an unmatched run is literal).
func mdSpans(md string) (outside string, spans []string) {
	var out strings.Builder
	for i := 0; i < len(md); {
		switch {
		case md[i] == '\\' && i+1 < len(md):
			out.WriteString(md[i : i+2])
			i += 2
			continue
		case md[i] != '`':
			out.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		closed := false
		for j := i + n; j < len(md); {
			if md[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(md) && md[j+m] == '`' {
				m++
			}
			if m == n {
				content := md[i+n : j]
				if len(content) > 1 && content[0] == ' ' && content[len(content)-1] == ' ' {
					content = content[1 : len(content)-1]
				}
				spans = append(spans, content)
				out.WriteString("<CODE>")
				i, closed = j+m, true
				break
			}
			j += m
		}
		if !closed {
			out.WriteString(md[i : i+n])
			i += n
		}
	}
	return out.String(), spans
}

// Names, placements and labels come from a file: a hostile one stays text
// in every format, chart IDs stay [a-z0-9-], and chart files stay in
// their directory.
func TestHostileNamesStayText(t *testing.T) {
	s := capacityRun()
	evil := "a``b\\<img src=x onerror=alert(1)>&amp;|`"
	place := `x"><svg onload=alert(2)>..`
	for _, n := range []string{
		"RoundTrip/transport=" + evil + "/mode=raw/size=64/placement=" + place + "/cores=1",
		"RoundTrip/transport=pipe/mode=raw/size=64/placement=" + place + "/cores=1",
		"RoundTrip/transport=pipe/mode=raw/size=64/placement=" + strings.ToUpper(place) + "/cores=1",
		"Spawn/mode=" + evil + "/cmd=" + evil + "/cores=1",
	} {
		s.Benchmarks = append(s.Benchmarks, ci2(n, 10*us, cpu(1*us, 1*us, 1*us, 1*us), perOp(20*us)))
	}
	d, err := Build([]Run{{Set: s}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, sec := range d.Sections {
		for _, c := range sec.Charts {
			if !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(c.ID) || ids[c.ID] {
				t.Errorf("chart ID %q: not [a-z0-9-]+, or not unique", c.ID)
			}
			ids[c.ID] = true
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, d, MarkdownOptions{ChartDir: "charts"}); err != nil {
		t.Fatal(err)
	}
	outside, spans := mdSpans(md.String())
	for _, bad := range []string{"<img", "<svg"} {
		if strings.Contains(outside, bad) {
			t.Errorf("Markdown has %q outside code spans", bad)
		}
	}
	if !strings.Contains(outside, `a\`+"`"+`\`+"`"+`b\\&lt;img src=x onerror=alert(1)&gt;&amp;amp;|\`+"`") {
		t.Errorf("the hostile name is not escaped as text in the answers")
	}
	if name := "Spawn/mode=" + evil + "/cmd=" + evil + "/cores=1"; !slices.Contains(spans, name) {
		t.Errorf("the hostile name is not one whole code span; spans: %q", spans)
	}
	// The run's statistical table in Markdown (--full, `run`): the name
	// is text, and its '|' does not split its row.
	var full bytes.Buffer
	if err := Markdown(&full, s); err != nil {
		t.Fatal(err)
	}
	if outside, _ := mdSpans(full.String()); strings.Contains(outside, "<img") || strings.Contains(outside, "<svg") {
		t.Error("the Markdown table has a hostile element")
	}
	for _, line := range strings.Split(full.String(), "\n") {
		if strings.HasPrefix(line, "| Spawn/mode=a") && strings.Count(line, "|")-strings.Count(line, `\|`) != len(columns)+1 {
			t.Errorf("a name splits its row: %s", line)
		}
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, d); err != nil {
		t.Fatal(err)
	}
	if h := html.String(); strings.Contains(h, "<img") || strings.Contains(h, "<svg onload") {
		t.Error("the HTML report has a hostile element")
	}
	for _, m := range regexp.MustCompile(`aria-labelledby="([^"]*)"`).FindAllStringSubmatch(html.String(), -1) {
		if !strings.Contains(html.String(), `<figcaption id="`+m[1]+`">`) {
			t.Errorf("aria-labelledby=%q names no caption", m[1])
		}
	}
	dir := t.TempDir()
	if _, err := WriteMarkdownDir(dir, d); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "charts", "*"))
	all, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != chartCount(d) || len(all) != 2 {
		t.Errorf("%d chart files for %d charts, %d entries in the directory", len(files), chartCount(d), len(all))
	}
}

// -o DIR for the Markdown report may name a directory that does not exist
// yet (the writer creates it with its parents); a file needs its
// directory; neither may sit under a file. Probing leaves nothing behind.
func TestCheckWritable(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		dir  bool
		ok   bool
	}{
		{tmp + "/report/", true, true},
		{filepath.Join(tmp, "a", "b", "report"), true, true},
		{tmp, true, true},
		{filepath.Join(tmp, "report.html"), false, true},
		{filepath.Join(tmp, "missing", "report.html"), false, false},
		{file, true, false},
		{filepath.Join(file, "report"), true, false},
		{tmp, false, false},
	} {
		err := CheckWritable(c.path, c.dir)
		if (err == nil) != c.ok {
			t.Errorf("CheckWritable(%q, dir=%v) = %v, want ok=%v", c.path, c.dir, err, c.ok)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 1 {
		t.Errorf("probing left %v behind", left)
	}
	// README's own `-o report/` then writes there.
	d := capacityDoc(t, Options{})
	if _, err := WriteMarkdownDir(tmp+"/report/", d); err != nil {
		t.Fatal(err)
	}
}
