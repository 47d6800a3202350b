package history

import (
	"bufio"
	"fmt"
	"io"
)

// WriterBufferBytes is how much a Writer holds before writing through. A
// history is streamed, never kept: memory stays at this bound however long
// the run.
const WriterBufferBytes = 64 << 10

// Writer streams ops as JSON lines.
type Writer struct {
	w    *bufio.Writer
	line []byte
	err  error
	// prevIndex and prevTimeNs are the last op's, for the order check.
	prevIndex  int
	prevTimeNs int64
	wrote      bool
}

// NewWriter returns a Writer on w. Call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, WriterBufferBytes)}
}

// Write appends one op. It refuses an op that does not validate or that
// breaks the order (indexes increase, times never decrease), so what is
// written reads back; after a write error every call returns that error.
func (w *Writer) Write(op Op) error {
	if w.err != nil {
		return w.err
	}
	if w.wrote && (op.Index <= w.prevIndex || op.TimeNs < w.prevTimeNs) {
		return fmt.Errorf("history: op %d at time_ns %d after op %d at time_ns %d: out of order", op.Index, op.TimeNs, w.prevIndex, w.prevTimeNs)
	}
	line, err := op.appendJSON(w.line[:0])
	if err != nil {
		return fmt.Errorf("history: op %d: %w", op.Index, err)
	}
	w.line = append(line, '\n')
	if _, err := w.w.Write(w.line); err != nil {
		w.err = fmt.Errorf("history: writing op %d: %w", op.Index, err)
		return w.err
	}
	w.prevIndex, w.prevTimeNs, w.wrote = op.Index, op.TimeNs, true
	// A very large op must not pin a large buffer for the rest of the run.
	if cap(w.line) > WriterBufferBytes {
		w.line = nil
	}
	return nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("history: flush: %w", err)
	}
	return w.err
}

// WriteAll writes ops and flushes.
func WriteAll(out io.Writer, ops []Op) error {
	w := NewWriter(out)
	for _, op := range ops {
		if err := w.Write(op); err != nil {
			return err
		}
	}
	return w.Flush()
}
