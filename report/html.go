package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ipcbench/ipcbench/results"
)

//go:embed html.tmpl
var htmlSource string

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"answer": answerHTML,
	"svg":    svgHTML,
	"tail": func(a Answer) template.HTML {
		return template.HTML(answerTail(escapedAnswer(a), func(s string) string { return "<code>" + s + "</code>" }, plainText))
	},
	"cid":  chartID,
	"full": fullTableHTML,
}).Parse(htmlSource))

// escapedAnswer has its inputs and caveats HTML-escaped.
func escapedAnswer(a Answer) Answer {
	var ns []results.Name
	for _, n := range a.Inputs {
		ns = append(ns, results.Name(template.HTMLEscapeString(string(n))))
	}
	a.Inputs = ns
	var cs []string
	for _, c := range a.Caveats {
		cs = append(cs, template.HTMLEscapeString(c))
	}
	a.Caveats = cs
	return a
}

var reSize = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*" `)

var reBold = regexp.MustCompile(`\*\*(.+?)\*\*`)

// answerHTML is an answer's text, escaped, with **x** as <strong>.
func answerHTML(s string) template.HTML {
	return template.HTML(reBold.ReplaceAllString(template.HTMLEscapeString(s), "<strong>$1</strong>"))
}

// svgHTML inlines a chart (ours: drawn by vgsvg, whose text is escaped).
func svgHTML(c *Chart) template.HTML {
	s := string(c.SVG)
	// Inline: the figure's caption labels it; size follows the page.
	// The ID goes into an attribute unescaped: chartID's alphabet only
	// (Build gives every chart such an ID; a Doc made by hand may not).
	s = reSize.ReplaceAllString(s, `<svg width="100%" role="img" aria-labelledby="cap-`+chartID(c.ID)+`" class="chart-svg" `)
	return template.HTML(s)
}

// fullTableHTML is a run's full statistical table as HTML.
func fullTableHTML(set *results.Set) template.HTML {
	var b strings.Builder
	b.WriteString("<table class=\"full\"><thead><tr>")
	for _, c := range columns {
		b.WriteString("<th>" + template.HTMLEscapeString(c) + "</th>")
	}
	b.WriteString("</tr></thead><tbody>\n")
	for i := range set.Benchmarks {
		bm := &set.Benchmarks[i]
		if !bm.OK() {
			why := bm.Error
			if why == "" {
				why = "skipped: " + bm.Skipped
			} else {
				why = "FAILED: " + why
			}
			fmt.Fprintf(&b, "<tr class=\"bad\"><td>%s</td><td colspan=\"%d\">%s</td></tr>\n", template.HTMLEscapeString(string(bm.Name)), len(columns)-1, template.HTMLEscapeString(firstLine(why)))
			continue
		}
		b.WriteString("<tr>")
		for _, c := range row(bm) {
			b.WriteString("<td>" + template.HTMLEscapeString(c) + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>")
	return template.HTML(b.String())
}

// WriteHTML renders d as one self-contained HTML page: inline SVG charts,
// inline CSS, generic fonts, no script, nothing fetched (a
// Content-Security-Policy forbids it).
func WriteHTML(w io.Writer, d *Doc) error {
	var buf bytes.Buffer
	if err := htmlTmpl.Execute(&buf, d); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteHTMLFile writes d as one HTML file, atomically.
func WriteHTMLFile(path string, d *Doc) error {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		return err
	}
	if err := results.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// ReportFormats are the formats WriteBeside writes.
var ReportFormats = []string{"html", "markdown"}

// WriteBeside writes a run's capacity report beside its results.json:
// runDir/report.html, or runDir/report/report.md with its charts. It is
// what `ipcbench run --report FORMAT` calls after saving; it returns the
// path written.
func WriteBeside(runDir string, set *results.Set, format string, opt Options) (string, error) {
	d, err := Build([]Run{{Set: set, Source: filepath.Join(runDir, results.FileName)}}, opt)
	if err != nil {
		return "", err
	}
	switch format {
	case "html":
		path := filepath.Join(runDir, "report.html")
		return path, WriteHTMLFile(path, d)
	case "markdown":
		return WriteMarkdownDir(filepath.Join(runDir, "report"), d)
	}
	return "", fmt.Errorf("report: unknown report format %q (accepted: %s)", format, strings.Join(ReportFormats, ", "))
}

// CheckWritable proves path can be written (a file, or with dir a
// directory to create) before minutes are spent: the error names it.
func CheckWritable(path string, dir bool) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && dir && !fi.IsDir():
		return fmt.Errorf("report: %s exists and is not a directory", path)
	case err == nil && !dir && fi.IsDir():
		return fmt.Errorf("report: %s is a directory", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("report: %w", err)
	}
	// A file is written into its directory, which must exist (the writer
	// creates none).
	target := filepath.Dir(filepath.Clean(path))
	if dir {
		// A directory is created with its parents (WriteMarkdownDir), so
		// "-o report/" on a fresh checkout is fine: probe the nearest
		// directory that exists. (filepath.Dir("report/") is "report",
		// which does not exist yet.)
		target = filepath.Clean(path)
		for {
			fi, err := os.Stat(target)
			if err == nil {
				if !fi.IsDir() {
					return fmt.Errorf("report: %s is not a directory", target)
				}
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("report: %w", err)
			}
			parent := filepath.Dir(target)
			if parent == target {
				break
			}
			target = parent
		}
	}
	f, err := os.CreateTemp(target, ".ipcbench-probe-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
