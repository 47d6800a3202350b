package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logHandler writes node log lines stamped with virtual time and node
// name. It ignores the record's own (real) time on purpose: logs of two
// runs of one seed must be identical.
type logHandler struct {
	w     io.Writer
	level slog.Level
	sim   *Sim
	node  string
	attrs string
}

func newLogHandler(w io.Writer, level slog.Level, s *Sim) *logHandler {
	return &logHandler{w: w, level: level, sim: s}
}

func (h *logHandler) forNode(name string) *logHandler {
	c := *h
	c.node = name
	return &c
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.w != nil && l >= h.level
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: %s", fmtTime(h.sim.sched.now), h.node, r.Level, r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, a)
		return true
	})
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func writeAttr(b *strings.Builder, a slog.Attr) {
	fmt.Fprintf(b, " %s=%v", a.Key, a.Value.Resolve())
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	var b strings.Builder
	b.WriteString(c.attrs)
	for _, a := range as {
		writeAttr(&b, a)
	}
	c.attrs = b.String()
	return &c
}

// WithGroup is accepted but groups are flattened: keys stay short in a
// simulation log.
func (h *logHandler) WithGroup(string) slog.Handler { return h }

// fmtTime prints virtual time as seconds with microseconds, a fixed-width
// form that lines up in scenario outputs.
func fmtTime(t Time) string {
	us := int64(t) / 1000
	return fmt.Sprintf("%d.%06ds", us/1_000_000, us%1_000_000)
}
