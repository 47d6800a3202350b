package reports

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is a report's output format.
type Format string

// The formats. An HTML report is one self-contained page: its charts are
// embedded as base64 PNG, so it needs no other file and no JavaScript. A
// Markdown report links its charts as PNG files written next to it.
const (
	HTML     Format = "html"
	Markdown Format = "markdown"
)

// ParseFormat reads "html" or "markdown" (also "md"), as a --format flag
// gives them.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "html", "htm":
		return HTML, nil
	case "markdown", "md":
		return Markdown, nil
	}
	return "", fmt.Errorf("report format %q: want html or markdown", s)
}

// Options say how to render a report.
type Options struct {
	Format Format
	// AssetsDir is the directory the report file is written in. A
	// Markdown report writes its charts there as PNG files and links them
	// by name; both formats link other files (Porcupine pages) by paths
	// relative to it. Required for Markdown; for HTML, empty means links
	// are relative to the current directory.
	AssetsDir string
	// AssetsPrefix starts each chart file's name, so two Markdown reports
	// can share a directory ("report-" gives report-01-….png).
	AssetsPrefix string
	_            struct{}
}

// OptionsForPath gives the options for a report written to path: the
// format from its extension (.html, .htm, .md, .markdown), the assets
// next to it, their names prefixed with the file's base name.
func OptionsForPath(path string) (Options, error) {
	ext := filepath.Ext(path)
	f, err := ParseFormat(strings.TrimPrefix(ext, "."))
	if err != nil {
		return Options{}, fmt.Errorf("report %s: want a .html or .md file", path)
	}
	base := strings.TrimSuffix(filepath.Base(path), ext)
	return Options{Format: f, AssetsDir: filepath.Dir(path), AssetsPrefix: base + "-"}, nil
}

func (o Options) validate() error {
	switch o.Format {
	case HTML:
		return nil
	case Markdown:
		if o.AssetsDir == "" {
			return fmt.Errorf("markdown report: no AssetsDir to write the charts to")
		}
		return nil
	}
	return fmt.Errorf("report format %q: want %q or %q", string(o.Format), HTML, Markdown)
}

// link is the href of target (a file path) as seen from the report's
// directory, with forward slashes.
func (o Options) link(target string) string {
	if o.AssetsDir != "" {
		from, err1 := filepath.Abs(o.AssetsDir)
		to, err2 := filepath.Abs(target)
		if err1 == nil && err2 == nil {
			if rel, err := filepath.Rel(from, to); err == nil {
				return filepath.ToSlash(rel)
			}
		}
	}
	return filepath.ToSlash(target)
}
