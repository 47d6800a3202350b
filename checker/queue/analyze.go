package queue

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/checker/history"
)

// Analyze runs the Jepsen Kafka anomaly analysis over a history. The
// error is for a history it cannot judge: invocations and completions that
// do not pair, a completion that changes what was sent, a value sent twice
// to one key.
func Analyze(ops []history.Op, opts Options) (Result, error) {
	calls, err := history.Pair(ops)
	if err != nil {
		return Result{}, err
	}
	ix, err := buildIndex(calls)
	if err != nil {
		return Result{}, err
	}
	r := newReport(opts)
	for _, k := range ix.keys {
		ki := ix.byKey[k]
		checkInconsistentOffsets(r, ki)
		checkDuplicates(r, ki)
		checkAbortedReads(r, ki)
		checkLostAndUnseen(r, ki)
	}
	checkProcesses(r, ix, calls)
	return r.result(), nil
}

// checkInconsistentOffsets: an offset holds one record, so two values
// claimed there means a send or a poll was told something false.
func checkInconsistentOffsets(r *report, ki *keyIndex) {
	for _, off := range ki.known {
		claims := ki.atOffset[off]
		if len(claims) < 2 {
			continue
		}
		var parts []string
		var witness []history.Op
		for _, c := range claims {
			parts = append(parts, fmt.Sprintf("%d (op %d)", c.value, c.op.Index))
			witness = appendWitness(witness, cut(c.op, ki.key, off, off))
		}
		r.add(Anomaly{
			Kind: InconsistentOffsets, Key: ki.key, Witness: witness,
			Explanation: fmt.Sprintf("offset %d holds %s", off, strings.Join(parts, " and ")),
		}, false)
	}
}

// checkDuplicates: a value is sent once, so it belongs at one offset.
func checkDuplicates(r *report, ki *keyIndex) {
	for _, v := range slices.Sorted(maps.Keys(ki.valuesAt)) {
		claims := ki.valuesAt[v]
		if len(claims) < 2 {
			continue
		}
		slices.SortFunc(claims, func(a, b claim) int { return cmpInt64(a.offset, b.offset) })
		var parts []string
		var witness []history.Op
		for _, c := range claims {
			parts = append(parts, fmt.Sprintf("%d (op %d)", c.offset, c.op.Index))
			witness = appendWitness(witness, cut(c.op, ki.key, c.offset, c.offset))
		}
		r.add(Anomaly{
			Kind: Duplicate, Key: ki.key, Witness: witness,
			Explanation: fmt.Sprintf("value %d is at offsets %s", v, strings.Join(parts, " and ")),
		}, false)
	}
}

// checkAbortedReads: a definitely failed send must never be visible.
func checkAbortedReads(r *report, ki *keyIndex) {
	for _, v := range slices.Sorted(maps.Keys(ki.seenBy)) {
		i, ok := ki.sendOf[v]
		if !ok || ki.sends[i].outcome != history.Fail {
			continue
		}
		s, seen := ki.sends[i], ki.seenBy[v]
		r.add(Anomaly{
			Kind: AbortedRead, Key: ki.key,
			Witness: []history.Op{cut(s.invoke, ki.key, 0, -1), cut(s.op, ki.key, 0, -1), cut(seen.op, ki.key, seen.offset, seen.offset)},
			Explanation: fmt.Sprintf("send of %d failed (op %d: %s), yet op %d polled it at offset %d",
				v, s.op.Index, orUnknown(s.op.Error), seen.op.Index, seen.offset),
		}, false)
	}
}

// checkLostAndUnseen: an acked send that no poll returned is unseen; if a
// poll read past its offset, the record should have been there: lost.
// Sends whose outcome is unknown are neither: they may never have happened.
func checkLostAndUnseen(r *report, ki *keyIndex) {
	var unseen []sendRec
	for _, s := range ki.sends {
		if s.outcome != history.Ok {
			continue
		}
		if _, seen := ki.seenBy[s.value]; seen {
			continue
		}
		unseen = append(unseen, s)
		if s.offset < 0 || s.offset > ki.maxPolled.offset {
			continue
		}
		top := ki.maxPolled
		r.add(Anomaly{
			Kind: LostWrite, Key: ki.key,
			Witness: []history.Op{cut(s.op, ki.key, 0, -1), cut(top.op, ki.key, top.offset, top.offset)},
			Explanation: fmt.Sprintf("value %d acked at offset %d (op %d) was never polled, though op %d polled offset %d",
				s.value, s.offset, s.op.Index, top.op.Index, top.offset),
		}, false)
	}
	if len(unseen) == 0 {
		return
	}
	r.unseen[ki.key] = len(unseen)
	var values []string
	var witness []history.Op
	for i, s := range unseen {
		if i < witnessOpsMax {
			values = append(values, fmt.Sprint(s.value))
			witness = append(witness, cut(s.op, ki.key, 0, -1))
		}
	}
	if len(unseen) > witnessOpsMax {
		values = append(values, "…")
	}
	r.add(Anomaly{
		Kind: Unseen, Key: ki.key, Witness: witness, Count: len(unseen),
		Explanation: fmt.Sprintf("%d acked sends never polled (values %s); the highest offset polled is %d",
			len(unseen), strings.Join(values, ", "), ki.maxPolled.offset),
	}, false)
}

func orUnknown(s string) string {
	if s == "" {
		return "no error given"
	}
	return s
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
