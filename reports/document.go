package reports

import (
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// document is a report's content, built once and rendered as HTML or
// Markdown, so that the two formats say the same thing.
type document struct {
	title  string
	blocks []block
}

// block is one of heading, paragraph, table, figure, code, links.
type block interface{ isBlock() }

type heading struct {
	level int // 2 or 3; the title is level 1
	text  string
}

type paragraph struct{ text string }

// table cells are plain text; a newline in a cell starts a new line.
type table struct {
	header []string
	rows   [][]string
}

// figure is a rendered chart. name is the stem of its file name in a
// Markdown report.
type figure struct {
	name    string
	caption string
	png     []byte
}

type code struct{ text string }

type link struct{ text, href string }

type links struct{ items []link }

func (heading) isBlock()   {}
func (paragraph) isBlock() {}
func (table) isBlock()     {}
func (figure) isBlock()    {}
func (code) isBlock()      {}
func (links) isBlock()     {}

func (d *document) add(b ...block) { d.blocks = append(d.blocks, b...) }

func (d *document) h2(text string) { d.add(heading{level: 2, text: text}) }
func (d *document) h3(text string) { d.add(heading{level: 3, text: text}) }
func (d *document) para(format string, args ...any) {
	d.add(paragraph{text: fmt.Sprintf(format, args...)})
}

// render writes d in o's format.
func (d *document) render(w io.Writer, o Options) error {
	if o.Format == Markdown {
		return d.markdown(w, o)
	}
	return d.html(w)
}

// errWriter keeps the first write error, so rendering code reads straight.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}td:last-child:not(.n){overflow-wrap:anywhere}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555;max-width:900px}img{max-width:100%}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:.8em;white-space:pre-wrap;word-break:break-all}`

func (d *document) html(w io.Writer) error {
	e := &errWriter{w: w}
	title := html.EscapeString(d.title)
	e.printf("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n<h1>%s</h1>\n", title, htmlStyle, title)
	for _, b := range d.blocks {
		switch b := b.(type) {
		case heading:
			e.printf("<h%d>%s</h%d>\n", b.level, html.EscapeString(b.text), b.level)
		case paragraph:
			e.printf("<p>%s</p>\n", htmlText(b.text))
		case table:
			htmlTable(e, b)
		case figure:
			e.printf("<figure><img alt=\"%s\" src=\"data:image/png;base64,%s\"><figcaption>%s</figcaption></figure>\n",
				html.EscapeString(b.name), base64.StdEncoding.EncodeToString(b.png), htmlText(b.caption))
		case code:
			e.printf("<pre>%s</pre>\n", html.EscapeString(b.text))
		case links:
			e.printf("<ul>\n")
			for _, l := range b.items {
				e.printf("<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(hrefOf(l.href)), html.EscapeString(l.text))
			}
			e.printf("</ul>\n")
		}
	}
	e.printf("</body>\n</html>\n")
	return e.err
}

func htmlTable(e *errWriter, t table) {
	numeric := numericColumns(t)
	e.printf("<table>\n<tr>")
	for _, h := range t.header {
		e.printf("<th>%s</th>", htmlText(h))
	}
	e.printf("</tr>\n")
	for _, row := range t.rows {
		e.printf("<tr>")
		for i, c := range row {
			class := ""
			if i < len(numeric) && numeric[i] {
				class = ` class="n"`
			}
			e.printf("<td%s>%s</td>", class, htmlText(c))
		}
		e.printf("</tr>\n")
	}
	e.printf("</table>\n")
}

// htmlText escapes s and keeps its line breaks.
func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}

// hrefOf escapes a relative path as a URL path; a colon in its first
// segment would otherwise read as a scheme.
func hrefOf(path string) string {
	return (&url.URL{Path: path}).String()
}

// numericColumns marks the columns whose non-empty cells are all numbers,
// to align them right.
func numericColumns(t table) []bool {
	out := make([]bool, len(t.header))
	for i := range out {
		seen := false
		out[i] = true
		for _, row := range t.rows {
			if i >= len(row) || row[i] == "" || row[i] == "—" {
				continue
			}
			seen = true
			if !isNumber(row[i]) {
				out[i] = false
				break
			}
		}
		out[i] = out[i] && seen
	}
	return out
}

func isNumber(s string) bool {
	s = strings.TrimSuffix(strings.ReplaceAll(s, ",", ""), "%")
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

func (d *document) markdown(w io.Writer, o Options) error {
	e := &errWriter{w: w}
	e.printf("# %s\n", mdText(d.title))
	files := map[string]bool{}
	for i, b := range d.blocks {
		switch b := b.(type) {
		case heading:
			e.printf("\n%s %s\n", strings.Repeat("#", b.level), mdText(b.text))
		case paragraph:
			e.printf("\n%s\n", strings.ReplaceAll(mdText(b.text), "\n", "  \n"))
		case table:
			mdTable(e, b)
		case figure:
			name := assetName(o.AssetsPrefix, i, b.name, files)
			if err := os.WriteFile(filepath.Join(o.AssetsDir, name), b.png, 0o644); err != nil {
				return fmt.Errorf("markdown report: chart: %w", err)
			}
			e.printf("\n![%s](%s)\n\n*%s*\n", mdText(b.name), hrefOf(name), mdText(b.caption))
		case code:
			fence := strings.Repeat("`", max(3, longestRun(b.text, '`')+1))
			e.printf("\n%s\n%s\n%s\n", fence, b.text, fence)
		case links:
			e.printf("\n")
			for _, l := range b.items {
				e.printf("- [%s](<%s>)\n", mdText(l.text), hrefOf(l.href))
			}
		}
	}
	return e.err
}

func mdTable(e *errWriter, t table) {
	numeric := numericColumns(t)
	e.printf("\n|")
	for _, h := range t.header {
		e.printf(" %s |", mdCell(h))
	}
	e.printf("\n|")
	for i := range t.header {
		if numeric[i] {
			e.printf("---:|")
		} else {
			e.printf("---|")
		}
	}
	e.printf("\n")
	for _, row := range t.rows {
		e.printf("|")
		for _, c := range row {
			e.printf(" %s |", mdCell(c))
		}
		e.printf("\n")
	}
}

// mdEscaper escapes the characters that Markdown would read as markup.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, `#`, `\#`,
)

func mdText(s string) string { return mdEscaper.Replace(s) }

func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "\n", "<br>") }

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// assetName is a chart's file name: prefix, the block's position (so
// names sort in reading order and never collide) and a slug.
func assetName(prefix string, position int, stem string, taken map[string]bool) string {
	name := fmt.Sprintf("%s%03d-%s.png", prefix, position, slug(stem))
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%s%03d-%s-%d.png", prefix, position, slug(stem), n)
	}
	taken[name] = true
	return name
}

// slug keeps letters, digits, '.', '_' and '-', and turns runs of
// anything else into one '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if ok {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return "chart"
	}
	return out
}
