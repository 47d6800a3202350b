package queue

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/anishathalye/porcupine"
)

// tighten narrows each operation's [Call, Return] interval to where the
// model lets it linearize, using the offsets the history already tells:
//
//   - A send with offset o appends after every send with a lower offset:
//     it linearizes strictly after their lower bounds.
//   - It appends before every send with a higher offset, and before every
//     poll that saw the log past o (the model refuses a send below the
//     known high watermark): it linearizes strictly before their upper
//     bounds.
//   - A poll that saw the log up to h linearizes strictly after the lower
//     bounds of every send below h.
//
// Each bound holds in every legal linearization, so narrowing keeps every
// legal linearization and admits no new one: the verdict is unchanged. A
// bound that would empty an interval (the history is illegal there) is not
// applied, and the search finds the violation as before.
//
// "Strictly" is kept by scaling times by tieSteps: an original time t
// becomes t·tieSteps, and a bound strictly after one at t·tieSteps is
// t·tieSteps+1, between t and the next nanosecond, so it never claims
// more than "after t". Chained sends get distinct, ordered times, which
// is what lets porcupine's search, trying operations in call order, find
// the offset order at once.
//
// Why: under faults hundreds of sends stay open for seconds (acks=all
// waits for the ISR to shrink) while being appended one after another;
// porcupine would place each against all the others, and the search is
// exponential in that concurrency. Their offsets pin them in a chain.
func tighten(ops []porcupine.Operation) {
	if !scaleTimes(ops) {
		return
	}
	sends, polls := splitInputs(ops)
	slices.SortStableFunc(sends, func(a, b offsetRef) int { return cmp.Compare(a.offset, b.offset) })
	slices.SortStableFunc(polls, func(a, b offsetRef) int { return cmp.Compare(a.offset, b.offset) })
	lower := sendLowerBounds(ops, sends) // lower[k]: strictly after sends[0..k)
	upper := sendUpperBounds(ops, sends, polls)
	for k, s := range sends {
		below := sort.Search(len(sends), func(j int) bool { return sends[j].offset >= s.offset })
		narrow(&ops[s.i], lower[below], upper[k])
	}
	for _, p := range polls {
		below := sort.Search(len(sends), func(j int) bool { return sends[j].offset >= p.offset })
		narrow(&ops[p.i], lower[below], math.MaxInt64)
	}
}

// tieSteps is how many distinct times fit strictly between two original
// nanoseconds after scaling.
const tieSteps = 1 << 16

// scaleTimes multiplies every time by tieSteps; it reports false (and
// changes nothing) if a time would overflow.
func scaleTimes(ops []porcupine.Operation) bool {
	for _, op := range ops {
		if op.Call < 0 || op.Return < 0 || op.Call > math.MaxInt64/tieSteps || op.Return > math.MaxInt64/tieSteps {
			return false
		}
	}
	for i := range ops {
		ops[i].Call *= tieSteps
		ops[i].Return *= tieSteps
	}
	return true
}

// after is the smallest time strictly after v that still says no more
// than "after v's original time"; before the same the other way.
func after(v int64) int64 {
	if (v+1)%tieSteps == 0 {
		return v
	}
	return v + 1
}

func before(v int64) int64 {
	if (v-1)%tieSteps == 0 {
		return v
	}
	return v - 1
}

// sendLowerBounds: out[k] is strictly after the lower bound of every send
// in sends[0..k) (sorted by offset), math.MinInt64 for k = 0. Sends with
// equal offsets (an illegal history) share their bound.
func sendLowerBounds(ops []porcupine.Operation, sends []offsetRef) []int64 {
	out := make([]int64, len(sends)+1)
	out[0] = math.MinInt64
	groupStart := int64(math.MinInt64) // bound from the lower offsets
	groupMax := int64(math.MinInt64)   // largest lower bound in the group
	for k, s := range sends {
		if k > 0 && s.offset != sends[k-1].offset {
			groupStart = after(groupMax)
		}
		groupMax = max(groupMax, ops[s.i].Call, groupStart)
		out[k+1] = after(groupMax)
	}
	return out
}

// sendUpperBounds: out[k] bounds sends[k]'s linearization from above:
// strictly before the upper bounds of the sends with higher offsets and
// the returns of the polls that saw past it.
func sendUpperBounds(ops []porcupine.Operation, sends, polls []offsetRef) []int64 {
	pollMin := make([]int64, len(polls)+1) // pollMin[j]: over polls[j..]
	pollMin[len(polls)] = math.MaxInt64
	for j := len(polls) - 1; j >= 0; j-- {
		pollMin[j] = min(pollMin[j+1], before(ops[polls[j].i].Return))
	}
	out := make([]int64, len(sends))
	groupEnd := int64(math.MaxInt64) // bound from the higher offsets
	groupMin := int64(math.MaxInt64)
	for k := len(sends) - 1; k >= 0; k-- {
		s := sends[k]
		if k < len(sends)-1 && s.offset != sends[k+1].offset {
			groupEnd = before(groupMin)
		}
		reached := sort.Search(len(polls), func(j int) bool { return polls[j].offset > s.offset })
		out[k] = min(ops[s.i].Return, groupEnd, pollMin[reached])
		groupMin = min(groupMin, out[k])
	}
	return out
}

// offsetRef is an operation by index with the offset that orders it: a
// send's offset, or how far a poll saw the log (its reach).
type offsetRef struct {
	i      int
	offset int64
}

func splitInputs(ops []porcupine.Operation) (sends, polls []offsetRef) {
	for i, op := range ops {
		switch in := op.Input.(type) {
		case *sendIn:
			sends = append(sends, offsetRef{i, in.offset})
		case *pollIn:
			if r := reach(in); r > 0 {
				polls = append(polls, offsetRef{i, r})
			}
		}
	}
	return sends, polls
}

// reach is one past the highest offset a poll shows to exist: its high
// watermark, or its last record's offset + 1.
func reach(in *pollIn) int64 {
	r := int64(0)
	if in.hasHW {
		r = in.hw
	}
	for _, rec := range in.records {
		r = max(r, rec.Offset+1)
	}
	return r
}

// narrow applies the bounds to op unless they would empty its interval.
func narrow(op *porcupine.Operation, callAtLeast, returnAtMost int64) {
	call, ret := max(op.Call, callAtLeast), min(op.Return, returnAtMost)
	if call <= ret {
		op.Call, op.Return = call, ret
	}
}
