// Package reports draws charts (gonum/plot) and renders self-contained HTML
// and Markdown reports for bench results, capacity plans and simulation
// runs.
//
// Must not import: nothing is forbidden, but it only reads result files and
// never runs anything.
package reports
