package report

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcbench/ipcbench/results"
	"github.com/olekukonko/tablewriter"
)

// plain drops the emphasis markers answers carry for Markdown and HTML.
func plain(s string) string { return strings.ReplaceAll(s, "**", "") }

// wrap breaks s into lines of at most width runes, the first prefixed by
// first and the others by rest.
func wrap(s string, width int, first, rest string) string {
	var b strings.Builder
	line := first
	n := len([]rune(first))
	empty := true
	for _, w := range strings.Fields(s) {
		wl := len([]rune(w))
		if !empty && n+1+wl > width {
			b.WriteString(line + "\n")
			line, n, empty = rest, len([]rune(rest)), true
		}
		if !empty {
			line += " "
			n++
		}
		line += w
		n += wl
		empty = false
	}
	b.WriteString(line + "\n")
	return b.String()
}

const textWidth = 100

// WriteAnswers writes only a report's answers, as text or as Markdown
// (## Answers): what `ipcbench run` can print before its tables.
func WriteAnswers(w io.Writer, d *Doc, markdown bool) error {
	var b bytes.Buffer
	if markdown {
		answersMarkdown(&b, d, "##")
	} else {
		answersText(&b, d)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func answersText(b *bytes.Buffer, d *Doc) {
	fmt.Fprintf(b, "ANSWERS\n")
	for _, sec := range d.Sections {
		if len(sec.Answers) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n%s\n", sec.Title)
		for _, a := range sec.Answers {
			t := plain(a.Text)
			if a.Series != "" {
				t = "[" + a.Series + "] " + t
			}
			b.WriteString(wrap(t, textWidth, "  - ", "    "))
			if tail := answerTail(a, plainText, plainText); tail != "" {
				b.WriteString(wrap("("+tail+")", textWidth, "      ", "      "))
			}
		}
	}
}

func answersMarkdown(b *bytes.Buffer, d *Doc, level string) {
	fmt.Fprintf(b, "%s Answers\n", level)
	for _, sec := range d.Sections {
		if len(sec.Answers) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n%s# %s\n\n", level, mdEscape(sec.Title))
		for _, a := range sec.Answers {
			t := mdEscape(a.Text)
			if a.Series != "" {
				t = "**[" + mdEscape(a.Series) + "]** " + t
			}
			// The tail sits inside <sub>: names as code spans that no
			// backtick of theirs can close, caveats escaped.
			if tail := answerTail(a, mdCode, mdEscape); tail != "" {
				t += " <sub>" + tail + "</sub>"
			}
			fmt.Fprintf(b, "- %s\n", t)
		}
	}
}

func plainText(s string) string { return s }

// answerTail is an answer's inputs and caveats, as one parenthesis: code
// renders a benchmark name, text a caveat, each already safe for the
// format.
func answerTail(a Answer, code, text func(string) string) string {
	var parts []string
	if len(a.Inputs) > 0 {
		var ns []string
		for _, n := range a.Inputs {
			ns = append(ns, code(string(n)))
		}
		parts = append(parts, "from "+strings.Join(ns, ", "))
	}
	if len(a.Caveats) > 0 {
		var cs []string
		for _, c := range a.Caveats {
			cs = append(cs, text(c))
		}
		parts = append(parts, "caveats: "+strings.Join(cs, ", "))
	}
	return strings.Join(parts, "; ")
}

// WriteText renders d as text: the answers first, then each section's
// tables and notes, then what was left out.
func WriteText(w io.Writer, d *Doc) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\n", d.Title)
	if err := textTable(&b, d.Hosts); err != nil {
		return err
	}
	b.WriteString("\n")
	answersText(&b, d)
	for _, sec := range d.Sections {
		if len(sec.Tables) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", strings.ToUpper(sec.Title[:1])+sec.Title[1:])
		for _, t := range sec.Tables {
			fmt.Fprintf(&b, "\n%s\n", t.Title)
			if err := textTable(&b, t); err != nil {
				return err
			}
		}
		for _, n := range sec.Notes {
			b.WriteString(wrap(n, textWidth, "", ""))
		}
	}
	if len(d.Left) > 0 {
		fmt.Fprintf(&b, "\nLEFT OUT\n")
		for _, l := range d.Left {
			b.WriteString(wrap(l, textWidth, "  - ", "    "))
		}
	}
	fmt.Fprintln(&b)
	b.WriteString(wrap(d.Legend, textWidth, "", ""))
	for _, f := range d.Full {
		fmt.Fprintf(&b, "\nFULL TABLE: %s\n", f.Label)
		if err := Text(&b, f.Set); err != nil {
			return err
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func textTable(w io.Writer, t Table) error {
	tt := tablewriter.NewTable(w, tableOptions(false)...)
	tt.Header(anySlice(t.Head)...)
	for _, r := range t.Rows {
		if err := tt.Append(anySlice(r)...); err != nil {
			return fmt.Errorf("report: table: %w", err)
		}
	}
	if err := tt.Render(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	return nil
}

// MarkdownOptions shape the Markdown rendering.
type MarkdownOptions struct {
	// ChartDir is where chart SVGs are linked from, relative to the
	// Markdown file ("" : charts are not linked, and a note says how to
	// get them).
	ChartDir string
}

// WriteMarkdown renders d as GitHub Markdown: the answers first, then each
// section's charts (linked SVGs), tables (long ones folded in <details>)
// and notes. Without --full it is meant to fit a pull-request comment.
func WriteMarkdown(w io.Writer, d *Doc, mo MarkdownOptions) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", d.Title)
	fmt.Fprintf(&b, "## Hosts and runs\n\n")
	mdTable(&b, d.Hosts)
	b.WriteString("\n")
	answersMarkdown(&b, d, "##")
	if mo.ChartDir == "" {
		fmt.Fprintf(&b, "\n_Charts: give `-o DIR` to write them as SVG beside the Markdown, or use `--format html`._\n")
	}
	for _, sec := range d.Sections {
		if len(sec.Charts) == 0 && len(sec.Tables) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", mdEscape(sec.Title))
		for _, c := range sec.Charts {
			if mo.ChartDir == "" {
				continue
			}
			fmt.Fprintf(&b, "![%s](%s)\n\n", mdEscape(c.Title), filepath.ToSlash(filepath.Join(mo.ChartDir, chartFile(c.ID))))
		}
		for _, t := range sec.Tables {
			if t.Long {
				fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n", html.EscapeString(t.Title))
				mdTable(&b, t)
				fmt.Fprintf(&b, "\n</details>\n\n")
				continue
			}
			fmt.Fprintf(&b, "**%s**\n\n", mdEscape(t.Title))
			mdTable(&b, t)
			fmt.Fprintln(&b)
		}
		for _, n := range sec.Notes {
			fmt.Fprintf(&b, "<sub>%s</sub>\n\n", mdEscape(n))
		}
	}
	if len(d.Left) > 0 {
		fmt.Fprintf(&b, "\n## Left out\n\n")
		for _, l := range d.Left {
			fmt.Fprintf(&b, "- %s\n", mdEscape(l))
		}
	}
	fmt.Fprintf(&b, "\n<sub>%s</sub>\n", mdEscape(d.Legend))
	for _, f := range d.Full {
		fmt.Fprintf(&b, "\n<details><summary>Full table: %s</summary>\n\n", html.EscapeString(f.Label))
		if err := Markdown(&b, f.Set); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n</details>\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdTable(w io.Writer, t Table) {
	row := func(cells []string) {
		var cs []string
		for _, c := range cells {
			cs = append(cs, mdCell(c))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cs, " | "))
	}
	row(t.Head)
	sep := make([]string, len(t.Head))
	for i := range sep {
		sep[i] = "---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(sep, "|"))
	for _, r := range t.Rows {
		row(r)
	}
}

func mdCell(s string) string {
	if s == "" {
		return " "
	}
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(mdEscape(s), "|", `\|`)
}

// mdEscaper keeps text (which may hold names from a file) from being read
// as HTML, an entity, a code span, a link or stray emphasis; the answers'
// **bold** is kept. Backslashes are doubled, so that a name ending in one
// cannot cancel the escape of what follows it. Line breaks would end the
// list item or table row the text sits in: they become spaces.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "\\`", "_", `\_`, "[", `\[`, "]", `\]`,
	"\n", " ", "\r", " ",
)

func mdEscape(s string) string { return mdEscaper.Replace(s) }

// mdCode is s as a Markdown code span that nothing in s can end: fenced
// by a backtick run longer than any in s (CommonMark closes a span only
// on a run of the same length), padded with a space where s begins or
// ends with a backtick or a space (the renderer strips one space each
// side). Inside a span <, > and & are literal text, not markup. Control
// characters (a line break would end the span's paragraph) become spaces.
func mdCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// WriteMarkdownDir writes d as DIR/report.md with its charts as
// DIR/charts/*.svg, linked relatively so the directory renders as is on
// a code-hosting site. Files are written atomically.
func WriteMarkdownDir(dir string, d *Doc) (string, error) {
	charts := filepath.Join(dir, "charts")
	if err := os.MkdirAll(charts, 0o755); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	for _, sec := range d.Sections {
		for _, c := range sec.Charts {
			svg := append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), c.SVG...)
			if err := results.WriteFileAtomic(filepath.Join(charts, chartFile(c.ID)), svg); err != nil {
				return "", fmt.Errorf("report: %w", err)
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, d, MarkdownOptions{ChartDir: "charts"}); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.md")
	if err := results.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return path, nil
}
