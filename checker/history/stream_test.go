package history

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// sample is a history with every shape of op, built as a workload would.
func sample() []Op {
	k0, k1 := Key{"t", 0}, Key{"my-topic", 1}
	b := NewBuilder()
	b.SetTimeNs(100)
	b.Invoke(0, Assign, Keys(k0, k1))
	b.Ok(0, Value{})
	b.Invoke(1, Send, Sends(NewSend(k0, 1), NewSend(k1, 2)))
	b.SetTimeNs(150)
	b.Invoke(2, Send, Sends(NewSend(k0, 3)))
	b.Ok(1, Sends(AckedSend(k0, 1, 0), AckedSend(k1, 2, 0)))
	b.Info(2, "timeout")
	b.SetTimeNs(200)
	b.Invoke(0, Poll, Value{})
	b.Ok(0, Polls(
		Polled{Key: k1, Records: []Record{{0, 2}}, HighWatermark: 1, HasHighWatermark: true},
		Records(k0, Record{0, 1}, Record{1, 3}),
	))
	b.Invoke(3, Subscribe, Topics("t", "my-topic"))
	b.Fail(3, "coordinator not available")
	b.Invoke(4, Crash, Value{})
	b.Info(4, "")
	b.Invoke(5, "debug", Value{Raw: []byte(`{"note":"x"}`)})
	b.InvokeFinal(0)
	b.Ok(0, Polls(Records(k0)))
	return b.Ops()
}

func TestRoundTrip(t *testing.T) {
	ops := sample()
	var buf bytes.Buffer
	if err := WriteAll(&buf, ops); err != nil {
		t.Fatal(err)
	}
	back, err := ReadAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// Polls go in sorted by key; compare against the sorted form.
	for i := range ops {
		sortPolls(ops[i].Value.Polls)
	}
	if !reflect.DeepEqual(back, ops) {
		t.Fatalf("round trip:\n got %v\nwant %v", back, ops)
	}
	var again bytes.Buffer
	if err := WriteAll(&again, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatalf("re-encoding differs:\n%s\n%s", buf.Bytes(), again.Bytes())
	}
	if n := strings.Count(buf.String(), "\n"); n != len(ops) {
		t.Fatalf("%d lines for %d ops", n, len(ops))
	}
}

func TestReaderErrorsNameTheLine(t *testing.T) {
	line := func(i int, timeNs int64) string {
		return fmt.Sprintf(`{"index":%d,"time_ns":%d,"process":0,"type":"info","f":"crash"}`, i, timeNs)
	}
	for _, tc := range []struct {
		name, text, err string
	}{
		{"malformed", line(0, 0) + "\n" + line(1, 0) + "\n{oops\n", "history: line 3: invalid character"},
		{"blank lines count", line(0, 0) + "\n\n  \n" + `{"index":1}` + "\n", `history: line 4: missing "time_ns"`},
		{"index repeats", line(0, 0) + "\n" + line(0, 1) + "\n", "history: line 2: index 0 after index 0"},
		{"time goes back", line(0, 5) + "\n" + line(1, 4) + "\n", "history: line 2: time_ns 4 after time_ns 5"},
		{"too long", line(0, 0) + "\n" + strings.Repeat(" ", LineBytesMax+1) + "\n", fmt.Sprintf("history: line 2: longer than %d bytes", LineBytesMax)},
	} {
		_, err := ReadAll(strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
}

func TestReaderStreams(t *testing.T) {
	var buf bytes.Buffer
	ops := sample()
	if err := WriteAll(&buf, ops); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	for i := range ops {
		op, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if op.Index != i || r.Line() != i+1 {
			t.Fatalf("op %d on line %d, want op %d on line %d", op.Index, r.Line(), i, i+1)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last op: %v, want io.EOF", err)
	}
}

// countingWriter records how much reached it.
type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// TestWriterIsBounded: the writer holds at most WriterBufferBytes; the
// rest is already written through before Flush.
func TestWriterIsBounded(t *testing.T) {
	var out countingWriter
	w := NewWriter(&out)
	k := Key{"t", 0}
	total := 0
	for i := range 10000 {
		op := Op{Index: i, TimeNs: int64(i), Type: Invoke, F: Send, Value: Sends(NewSend(k, int64(i)))}
		b, _ := op.MarshalJSON()
		total += len(b) + 1
		if err := w.Write(op); err != nil {
			t.Fatal(err)
		}
		if held := total - out.n; held > WriterBufferBytes {
			t.Fatalf("after op %d the writer holds %d bytes, over %d", i, held, WriterBufferBytes)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.n != total {
		t.Fatalf("wrote %d bytes, want %d", out.n, total)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterRefuses(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(Op{Index: 0, Type: "bad", F: Crash}); err == nil || !strings.Contains(err.Error(), "op 0: type") {
		t.Errorf("invalid op: %v", err)
	}
	if err := w.Write(Op{Index: 3, TimeNs: 10, Type: Info, F: Crash}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Op{Index: 3, TimeNs: 10, Type: Info, F: Crash}); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("repeated index: %v", err)
	}
	if err := w.Write(Op{Index: 4, TimeNs: 9, Type: Info, F: Crash}); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("time going back: %v", err)
	}

	broken := NewWriter(failingWriter{})
	big := Op{Index: 0, Type: Info, F: "x", Value: Value{Raw: []byte(`"` + strings.Repeat("a", WriterBufferBytes) + `"`)}}
	if err := broken.Write(big); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("write through a failing writer: %v", err)
	}
	if err := broken.Flush(); err == nil {
		t.Fatal("flush after a failed write succeeded")
	}
}
