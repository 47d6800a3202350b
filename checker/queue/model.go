package queue

import (
	"fmt"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/gregor-dst/gregor/checker/history"
)

// logState is the model's state for one key: the part of the log known so
// far, and two watermarks. It is immutable; a step returns a new one.
//
// The state after a set of operations does not depend on their order (the
// log is the union of their records, the watermarks are maxima), as long as
// every step was legal. That is what lets a key's history be cut into
// windows checked apart (see windows).
type logState struct {
	log offsetMap
	// hw is a lower bound on the high watermark: one past the highest
	// offset a poll returned, or the highest high watermark a poll reported.
	hw int64
	// end is one past the highest offset an acked send got: the log end
	// when that send was appended.
	end int64
	// records counts the log's entries and hash XORs mix(offset, value)
	// over them, so that Hash is O(1) and Equal rarely walks the tries.
	records int
	hash    uint64
}

// sendIn is an acked send micro-op: value appended at offset.
type sendIn struct {
	base   *logState // the state its window starts from
	value  int64
	offset int64
	op     int // history index of the completion, for the visualization
}

// pollIn is what one ok poll returned for the key.
type pollIn struct {
	base    *logState
	records []history.Record
	hw      int64
	hasHW   bool
	op      int
}

// stepLog is the sequential specification of a Kafka partition log.
//
// A send linearizes at its append: its offset is at or past the log end
// (every send before it, end) and past everything a poll has already seen
// (hw), since offsets are assigned in append order. A poll linearizes at a
// read: every record it returns agrees with the log at that offset, and
// none is at or above the high watermark it reports. That high watermark
// is a lower bound on what is committed, and it may be below one observed
// before: a new leader learns the high watermark from its followers'
// fetches, so for a while after a leader change Kafka reports a lower one
// (its records are still there, just not yet served). So the model only
// raises its known high watermark, and never requires a poll's to rise.
//
// A poll may return a record whose send is not in the model (its outcome
// was unknown): the record joins the log, as if that send were linearized
// just before.
func stepLog(state, input any) (bool, *logState) {
	s := state.(*logState)
	switch in := input.(type) {
	case *sendIn:
		if s == nil {
			s = in.base
		}
		if in.offset < s.end || in.offset < s.hw {
			return false, nil
		}
		if _, taken := s.log.get(in.offset); taken {
			return false, nil // unreachable while end and hw hold; kept for safety
		}
		next := *s
		next.log = s.log.set(in.offset, in.value)
		next.end = in.offset + 1
		next.records++
		next.hash ^= mix(in.offset, in.value)
		return true, &next
	case *pollIn:
		if s == nil {
			s = in.base
		}
		next := *s
		changed := false
		for _, r := range in.records {
			if in.hasHW && r.Offset >= in.hw {
				return false, nil
			}
			if v, ok := next.log.get(r.Offset); ok {
				if v != r.Value {
					return false, nil
				}
			} else {
				next.log = next.log.set(r.Offset, r.Value)
				next.records++
				next.hash ^= mix(r.Offset, r.Value)
				changed = true
			}
			if r.Offset+1 > next.hw {
				next.hw = r.Offset + 1
				changed = true
			}
		}
		if in.hasHW && in.hw > next.hw {
			next.hw = in.hw
			changed = true
		}
		if !changed {
			return true, s // keep the pointer: Equal's fast path
		}
		return true, &next
	}
	panic(fmt.Sprintf("queue: model input %T", input))
}

// mix is splitmix64 over an (offset, value) pair: an XOR of mixed entries
// hashes a set independently of insertion order.
func mix(offset, value int64) uint64 {
	x := uint64(offset)*0x9e3779b97f4a7c15 ^ uint64(value)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func statesEqual(a, b any) bool {
	x, y := a.(*logState), b.(*logState)
	if x == y {
		return true
	}
	if x == nil || y == nil {
		return false
	}
	return x.hw == y.hw && x.end == y.end && x.records == y.records && x.hash == y.hash && x.log.equal(y.log)
}

func stateHash(state any) uint64 {
	s := state.(*logState)
	if s == nil {
		return 0
	}
	return s.hash ^ mix(s.hw, s.end)
}

// newModel returns the porcupine model for one key, whose history is cut
// into windows. The initial state is nil: "where my window starts", which
// each input resolves through its base.
func newModel(windows [][]porcupine.Operation) porcupine.Model {
	return porcupine.Model{
		Partition: func([]porcupine.Operation) [][]porcupine.Operation { return windows },
		Init:      func() any { return (*logState)(nil) },
		Step: func(state, input, _ any) (bool, any) {
			ok, next := stepLog(state, input)
			return ok, next
		},
		Equal:             statesEqual,
		Hash:              stateHash,
		DescribeOperation: describeOperation,
		DescribeState:     describeState,
	}
}

func describeOperation(input, _ any) string {
	switch in := input.(type) {
	case *sendIn:
		return fmt.Sprintf("send %d → offset %d (op %d)", in.value, in.offset, in.op)
	case *pollIn:
		var b strings.Builder
		fmt.Fprintf(&b, "poll (op %d) →", in.op)
		for i, r := range in.records {
			if i == 8 {
				fmt.Fprintf(&b, " … %d more", len(in.records)-i)
				break
			}
			fmt.Fprintf(&b, " %d:%d", r.Offset, r.Value)
		}
		if in.hasHW {
			fmt.Fprintf(&b, " hw %d", in.hw)
		}
		return b.String()
	}
	return fmt.Sprint(input)
}

func describeState(state any) string {
	s := state.(*logState)
	if s == nil {
		return "window start"
	}
	return fmt.Sprintf("%d records known, end %d, hw ≥ %d", s.records, s.end, s.hw)
}
