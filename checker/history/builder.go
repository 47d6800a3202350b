package history

import (
	"fmt"
	"maps"
	"slices"

	"github.com/gregor-dst/gregor/internal/assert"
)

// Builder writes a history op by op for tests and workloads, numbering the
// ops and pairing each completion with its process's open invocation.
// Misuse (completing with nothing open, invoking twice, time going back)
// is a programmer error and panics.
type Builder struct {
	ops  []Op
	open map[int]int // process -> index of its open invocation in ops
	// timeNs stamps the next ops once set; until then each op's time is
	// its index, which is all a hand-written test needs.
	timeNs  int64
	timeSet bool
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{open: make(map[int]int)}
}

// SetTimeNs sets the time of the ops that follow. Time must not go back.
func (b *Builder) SetTimeNs(timeNs int64) {
	last := int64(-1 << 63)
	if len(b.ops) > 0 {
		last = b.ops[len(b.ops)-1].TimeNs
	}
	assert.Thatf(timeNs >= last, "history.Builder: time %d ns before the last op's %d ns", timeNs, last)
	b.timeNs, b.timeSet = timeNs, true
}

func (b *Builder) now() int64 {
	if b.timeSet {
		return b.timeNs
	}
	return int64(len(b.ops))
}

// Invoke appends an invocation by process.
func (b *Builder) Invoke(process int, f F, v Value) Op {
	at, isOpen := b.open[process]
	assert.Thatf(!isOpen, "history.Builder: process %d invokes %s with op %d open", process, f, at)
	op := Op{Index: len(b.ops), TimeNs: b.now(), Process: process, Type: Invoke, F: f, Value: v}
	b.open[process] = len(b.ops)
	return b.add(op)
}

// Ok completes process's open call. A zero v repeats the invocation's value
// (assign, subscribe and crash complete with what they asked).
func (b *Builder) Ok(process int, v Value) Op {
	return b.Complete(process, Ok, v, "")
}

// Fail completes process's open call as definitely failed, with the
// invocation's value (what was asked, and did not happen).
func (b *Builder) Fail(process int, err string) Op {
	return b.Complete(process, Fail, Value{}, err)
}

// Info completes process's open call with an unknown outcome, with the
// invocation's value (what was asked, and may or may not have happened).
func (b *Builder) Info(process int, err string) Op {
	return b.Complete(process, Info, Value{}, err)
}

// Complete completes process's open call. A zero v repeats the
// invocation's value.
func (b *Builder) Complete(process int, t Type, v Value, err string) Op {
	at, isOpen := b.open[process]
	assert.Thatf(isOpen, "history.Builder: process %d completes with no call open", process)
	assert.Thatf(t != Invoke, "history.Builder: process %d completes as an invoke", process)
	inv := b.ops[at]
	if v.IsZero() {
		v = inv.Value
	}
	delete(b.open, process)
	op := Op{Index: len(b.ops), TimeNs: b.now(), Process: process, Type: t, F: inv.F, Value: v, Final: inv.Final, Error: err}
	return b.add(op)
}

// InvokeFinal appends a final-phase poll invocation by process.
func (b *Builder) InvokeFinal(process int) Op {
	op := b.Invoke(process, Poll, Value{})
	b.ops[op.Index].Final = true
	op.Final = true
	return op
}

func (b *Builder) add(op Op) Op {
	if err := op.Validate(); err != nil {
		panic(fmt.Sprintf("history.Builder: op %d (%s %s by process %d): %v", op.Index, op.Type, op.F, op.Process, err))
	}
	b.ops = append(b.ops, op)
	return op
}

// Ops returns the history so far (a copy of the op list).
func (b *Builder) Ops() []Op { return slices.Clone(b.ops) }

// Open returns the processes with a call open, sorted.
func (b *Builder) Open() []int {
	return slices.Sorted(maps.Keys(b.open))
}
