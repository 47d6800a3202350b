package queue

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/gregor-dst/gregor/checker/history"
)

// claim is one op's statement that a value sits at an offset: an acked
// send's offset, or a poll's record.
type claim struct {
	offset int64
	value  int64
	op     *history.Op // the completion that says so (in the paired calls)
}

// sendRec is one send micro-op and how its op ended.
type sendRec struct {
	value   int64
	offset  int64 // history.OffsetUnknown unless acked with one
	outcome history.Type
	invoke  *history.Op
	op      *history.Op // the completion; the invocation while pending
}

// keyIndex is what the history says about one key's log.
type keyIndex struct {
	key    history.Key
	sends  []sendRec       // in invocation order
	sendOf map[int64]int   // value -> its send in sends
	seenBy map[int64]claim // value -> the first ok poll record of it
	// atOffset holds, per offset, the first claim of each distinct value
	// (two entries: inconsistent offsets); valuesAt, per value, the first
	// claim at each distinct offset (two entries: a duplicate).
	atOffset map[int64][]claim
	valuesAt map[int64][]claim
	slab     []claim // where single cuts one-claim slices from
	// known is the version order: every offset with a claim, ascending.
	known []int64
	// maxPolled is the highest-offset record any ok poll returned; offset
	// -1 when no poll returned any.
	maxPolled claim
}

// index is the per-key view of a history.
type index struct {
	keys  []history.Key // sorted
	byKey map[history.Key]*keyIndex
}

func (ix *index) get(k history.Key) *keyIndex {
	ki, ok := ix.byKey[k]
	if !ok {
		ki = &keyIndex{
			key:       k,
			sendOf:    make(map[int64]int),
			seenBy:    make(map[int64]claim),
			atOffset:  make(map[int64][]claim),
			valuesAt:  make(map[int64][]claim),
			maxPolled: claim{offset: -1},
		}
		ix.byKey[k] = ki
	}
	return ki
}

// buildIndex reads every send and ok poll. Only ok completions say where
// a record is: a fail or info op's value is what was asked, never guessed
// to have happened.
func buildIndex(calls []history.Call) (*index, error) {
	ix := &index{byKey: make(map[history.Key]*keyIndex)}
	// Claims and sends point into calls rather than copy ops: an op is
	// about 200 bytes, and a long history has hundreds of thousands.
	for i := range calls {
		c := &calls[i]
		switch c.Invoke.F {
		case history.Send:
			if err := ix.addSends(c); err != nil {
				return nil, err
			}
		case history.Poll:
			if c.Outcome() != history.Ok {
				continue
			}
			for _, p := range c.Completion.Value.Polls {
				ki := ix.get(p.Key)
				for _, rec := range p.Records {
					ki.addPolled(claim{offset: rec.Offset, value: rec.Value, op: &c.Completion})
				}
			}
		}
	}
	ix.keys = slices.SortedFunc(maps.Keys(ix.byKey), history.Key.Compare)
	for _, ki := range ix.byKey { //gregor:unordered-ok each key's order is built independently
		ki.known = slices.Sorted(maps.Keys(ki.atOffset))
	}
	return ix, nil
}

// addSends records a send op's micro-ops. The ok completion must repeat the
// invocation's sends in order (adding offsets): it is how each offset is
// tied to its value.
func (ix *index) addSends(c *history.Call) error {
	asked := c.Invoke.Value.Sends
	op := &c.Completion
	if c.Pending {
		op = &c.Invoke
	}
	got := asked
	if c.Outcome() == history.Ok {
		got = op.Value.Sends
		if len(got) != len(asked) {
			return fmt.Errorf("queue: op %d completes %d sends of op %d's %d", op.Index, len(got), c.Invoke.Index, len(asked))
		}
	}
	for i, s := range got {
		if s.Key != asked[i].Key || s.Value != asked[i].Value {
			return fmt.Errorf("queue: op %d send %d is %d to %s, but op %d asked %d to %s", op.Index, i, s.Value, s.Key, c.Invoke.Index, asked[i].Value, asked[i].Key)
		}
		ki := ix.get(s.Key)
		if prev, dup := ki.sendOf[s.Value]; dup {
			// Values name sends; a repeated one would make every check
			// that asks "who wrote this?" guess.
			return fmt.Errorf("queue: value %d sent to %s by op %d and op %d: values must be unique per key", s.Value, s.Key, ki.sends[prev].op.Index, op.Index)
		}
		rec := sendRec{value: s.Value, offset: history.OffsetUnknown, outcome: c.Outcome(), invoke: &c.Invoke, op: op}
		if rec.outcome == history.Ok && s.Acked() {
			rec.offset = s.Offset
			ki.addClaim(claim{offset: s.Offset, value: s.Value, op: op})
		}
		ki.sendOf[s.Value] = len(ki.sends)
		ki.sends = append(ki.sends, rec)
	}
	return nil
}

func (ki *keyIndex) addPolled(c claim) {
	ki.addClaim(c)
	if _, ok := ki.seenBy[c.value]; !ok {
		ki.seenBy[c.value] = c
	}
	if c.offset > ki.maxPolled.offset {
		ki.maxPolled = c
	}
}

// addClaim keeps the first claim of each distinct (offset, value) pair in
// both directions; a second distinct entry is an anomaly.
func (ki *keyIndex) addClaim(c claim) {
	if at := ki.atOffset[c.offset]; at == nil {
		ki.atOffset[c.offset] = ki.single(c)
	} else if !slices.ContainsFunc(at, func(o claim) bool { return o.value == c.value }) {
		ki.atOffset[c.offset] = append(at, c)
	}
	if at := ki.valuesAt[c.value]; at == nil {
		ki.valuesAt[c.value] = ki.single(c)
	} else if !slices.ContainsFunc(at, func(o claim) bool { return o.offset == c.offset }) {
		ki.valuesAt[c.value] = append(at, c)
	}
}

// single returns a one-claim slice cut from a shared slab: almost every
// offset and value has exactly one claim, and a slice each would be an
// allocation each. The capacity is cut to one, so a second claim copies.
func (ki *keyIndex) single(c claim) []claim {
	if len(ki.slab) == cap(ki.slab) {
		ki.slab = make([]claim, 0, slabClaims)
	}
	ki.slab = append(ki.slab, c)
	n := len(ki.slab)
	return ki.slab[n-1 : n : n]
}

// slabClaims is the number of claims one slab allocation holds.
const slabClaims = 1024

// between returns the first claim at a known offset strictly between lo
// and hi: proof that a read or send from lo to hi skipped a record.
func (ki *keyIndex) between(lo, hi int64) (claim, bool) {
	i := sort.Search(len(ki.known), func(i int) bool { return ki.known[i] > lo })
	if i == len(ki.known) || ki.known[i] >= hi {
		return claim{}, false
	}
	return ki.atOffset[ki.known[i]][0], true
}
