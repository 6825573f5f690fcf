package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The harness itself: a page that logs an error, throws, or tries to
// fetch past its Content-Security-Policy is reported; a clean page is not.
func TestOpenReportsErrors(t *testing.T) {
	bin := Find()
	if bin == "" {
		if Require() {
			t.Fatal("no Chromium found and IPCBENCH_REQUIRE_CHROMIUM is set")
		}
		t.Skip("no Chromium found (apt-get install -y chromium)")
	}
	dir := t.TempDir()
	page := func(name, body string) string {
		p := filepath.Join(dir, name)
		html := `<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'"><title>t</title></head><body>` + body + `</body></html>`
		if err := os.WriteFile(p, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []struct {
		name, body, want string
	}{
		{"clean", `<p>hello</p>`, ""},
		{"console", `<script>console.error("boom")</script>`, "boom"},
		{"throw", `<script>throw new Error("kaput")</script>`, "kaput"},
		{"fetch", `<img src="http://127.0.0.1:9/x.png">`, "Content Security Policy"},
	} {
		res, err := Open(ctx, bin, page(c.name+".html", c.body), Options{Eval: "document.title"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		all := strings.Join(res.Errors, "\n")
		switch {
		case c.want == "" && all != "":
			t.Errorf("%s: errors on a clean page: %s", c.name, all)
		case c.want != "" && !strings.Contains(all, c.want):
			t.Errorf("%s: errors %q lack %q", c.name, all, c.want)
		}
		if string(res.Value) != `"t"` {
			t.Errorf("%s: evaluated %s", c.name, res.Value)
		}
		if len(res.Screenshot) < 100 {
			t.Errorf("%s: no screenshot", c.name)
		}
	}
}
