package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Page is what a rendered ipcbench report holds, as the browser drew it.
type Page struct {
	Title  string
	Charts []struct {
		ID     string
		Marks  int     // <g class="marks"> groups
		Drawn  int     // of them, with shapes and a non-empty bounding box
		W, H   float64 // the chart's size on the page
		Texts  int     // text elements (titles, ticks, legend)
		Titled bool    // its SVG has a <title>
	}
	Hosts    []string // first column of the host table
	Answers  int      // answer items
	TextLen  int
	Scripts  int
	External int // elements that would fetch something (src, link href, url())
}

const pageEval = `JSON.stringify({
  Title: document.title,
  Charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const marks = svg ? [...svg.querySelectorAll('g.marks')] : [];
    const drawn = marks.filter(g => {
      const b = g.getBBox();
      return g.querySelectorAll('path,circle,polygon,polyline,rect,line').length > 0 && b.width > 0 && b.height > 0;
    }).length;
    const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {ID: f.id, Marks: marks.length, Drawn: drawn, W: r.width, H: r.height,
            Texts: svg ? svg.querySelectorAll('text').length : 0, Titled: !!(svg && svg.querySelector('title'))};
  }),
  Hosts: [...document.querySelectorAll('#hosts tbody tr')].map(r => r.cells[0].textContent.trim()),
  Answers: document.querySelectorAll('#answers li').length,
  TextLen: document.body.innerText.length,
  Scripts: document.scripts.length,
  External: [...document.querySelectorAll('[src],link[href],image[href]')].length,
})`

// Require reports whether a missing Chromium must fail tests (CI sets
// IPCBENCH_REQUIRE_CHROMIUM=1) rather than skip them.
func Require() bool { return os.Getenv("IPCBENCH_REQUIRE_CHROMIUM") != "" }

// CheckReport opens an HTML report in headless Chromium and fails t when
// the page logs an error, when a chart has no data drawn, or when the
// screenshot is not one a person can read. It skips (fails under
// IPCBENCH_REQUIRE_CHROMIUM) when no Chromium is installed. The
// screenshot is written to $IPCBENCH_ARTIFACTS/<name>.png when that is
// set (kept), else into the test's temporary directory.
func CheckReport(t testing.TB, path, name string) *Page {
	t.Helper()
	bin := Find()
	if bin == "" {
		msg := "no Chromium found (install Debian's chromium: apt-get install -y chromium; or set IPCBENCH_CHROMIUM): the HTML report is not checked in a browser"
		if Require() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	res, err := Open(ctx, bin, "file://"+abs, Options{Eval: pageEval})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Logf("chromium: page loaded, evaluated and captured in %v", time.Since(start).Round(time.Millisecond))
	for _, e := range res.Errors {
		t.Errorf("browser error: %s", e)
	}
	for _, w := range res.Warnings {
		t.Logf("browser warning: %s", w)
	}
	var raw string
	if err := json.Unmarshal(res.Value, &raw); err != nil {
		t.Fatalf("page evaluation: %v (%s)", err, res.Value)
	}
	var p Page
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("page evaluation: %v", err)
	}
	if p.Scripts != 0 || p.External != 0 {
		t.Errorf("the page has %d script(s) and %d element(s) that fetch something; it must be self-contained", p.Scripts, p.External)
	}
	if len(p.Charts) == 0 {
		t.Error("the page has no charts")
	}
	for _, c := range p.Charts {
		switch {
		case c.Drawn == 0:
			t.Errorf("chart %s: no data drawn (%d marks groups, none with shapes)", c.ID, c.Marks)
		case c.W < 300 || c.H < 150:
			t.Errorf("chart %s: drawn %.0f×%.0f px, too small to read", c.ID, c.W, c.H)
		case c.Texts < 5 || !c.Titled:
			t.Errorf("chart %s: %d text elements, titled %v: axes, title and legend are missing", c.ID, c.Texts, c.Titled)
		}
	}
	checkScreenshot(t, res, name)
	return &p
}

// checkScreenshot: a page a person can read is wide enough, long enough,
// neither blank nor a solid block, and has text and colour in it.
func checkScreenshot(t testing.TB, res *Result, name string) {
	t.Helper()
	dir := os.Getenv("IPCBENCH_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".png")
	if err := os.WriteFile(out, res.Screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d×%d CSS px)", out, res.Width, res.Height)
	img, err := png.Decode(bytes.NewReader(res.Screenshot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 800 {
		t.Errorf("screenshot is %d×%d px; a readable report page is at least 1000×800", b.Dx(), b.Dy())
	}
	ink, colours := inkAndColours(img)
	if ink < 0.02 || ink > 0.6 {
		t.Errorf("screenshot has %.1f%% non-white pixels: blank or a solid block, not a readable page", 100*ink)
	}
	if colours < 24 {
		t.Errorf("screenshot has %d distinct colours: no charts or text rendered", colours)
	}
}

func inkAndColours(img image.Image) (float64, int) {
	b := img.Bounds()
	seen := map[uint32]bool{}
	ink, n := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			n++
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
			if len(seen) < 4096 {
				seen[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
			}
		}
	}
	return float64(ink) / float64(max(n, 1)), len(seen)
}
