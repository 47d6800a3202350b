package history

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// LineBytesMax bounds one line. A poll returns a bounded batch, so a line
// past this is a corrupt file, and the Reader's memory stays bounded.
const LineBytesMax = 16 << 20

// Reader streams ops from JSON lines. Blank lines are skipped. Every error
// names the line (counting from 1) it is about.
type Reader struct {
	sc   *bufio.Scanner
	line int
	// prevIndex and prevTimeNs are the last op's, for the order check.
	prevIndex  int
	prevTimeNs int64
	read       bool
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), LineBytesMax)
	return &Reader{sc: sc}
}

// Next returns the next op, or io.EOF after the last. It checks each op
// (Op.Validate) and the order: indexes increase, times never decrease.
func (r *Reader) Next() (Op, error) {
	for r.sc.Scan() {
		r.line++
		text := r.sc.Bytes()
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var op Op
		if err := op.UnmarshalJSON(text); err != nil {
			return Op{}, r.errorf("%w", err)
		}
		if r.read && op.Index <= r.prevIndex {
			return Op{}, r.errorf("index %d after index %d: indexes must increase", op.Index, r.prevIndex)
		}
		if r.read && op.TimeNs < r.prevTimeNs {
			return Op{}, r.errorf("time_ns %d after time_ns %d: time must not go back", op.TimeNs, r.prevTimeNs)
		}
		r.prevIndex, r.prevTimeNs, r.read = op.Index, op.TimeNs, true
		return op, nil
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Op{}, fmt.Errorf("history: line %d: longer than %d bytes", r.line+1, LineBytesMax)
		}
		return Op{}, fmt.Errorf("history: line %d: %w", r.line+1, err)
	}
	return Op{}, io.EOF
}

// Line is the number of the line the last op came from.
func (r *Reader) Line() int { return r.line }

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("history: line %d: "+format, append([]any{r.line}, args...)...)
}

// ReadAll reads a whole history.
func ReadAll(in io.Reader) ([]Op, error) {
	r := NewReader(in)
	var ops []Op
	for {
		op, err := r.Next()
		if err == io.EOF {
			return ops, nil
		}
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
}
