package queue

import (
	"fmt"
	"slices"

	"github.com/gregor-dst/gregor/checker/history"
)

// pollMark is where a process's polls of one key left off.
type pollMark struct {
	offset int64       // the last record's offset
	op     *history.Op // the poll that returned it
	// rebalanced: an assign or subscribe of the process came since (or
	// may have), so its position may legitimately have moved.
	rebalanced bool
	// afterInfo: a poll with an unknown outcome came since; it may have
	// consumed records nobody saw, so a skip proves nothing (going back
	// still does).
	afterInfo bool
}

// sendMark is the offset of a process's last acked send to one key.
type sendMark struct {
	offset int64
	op     *history.Op
}

// process is what the ordering checks remember of one client.
type process struct {
	polled     map[history.Key]pollMark
	sent       map[history.Key]sendMark
	subscribed bool
}

// checkProcesses walks each process's calls in order: a process is
// sequential, so its polls should move through each log without gaps or
// going back, and its acked sends should land at increasing offsets.
func checkProcesses(r *report, ix *index, calls []history.Call) {
	procs := make(map[int]*process)
	for i := range calls {
		c := &calls[i]
		p, ok := procs[c.Invoke.Process]
		if !ok {
			p = &process{polled: make(map[history.Key]pollMark), sent: make(map[history.Key]sendMark)}
			procs[c.Invoke.Process] = p
		}
		switch c.Invoke.F {
		case history.Crash:
			// A crashed client's replacement starts from committed
			// offsets, like a new consumer. Its sends stay ordered: real
			// time orders them whatever the client.
			clear(p.polled)
			p.subscribed = false
		case history.Assign, history.Subscribe:
			p.resubscribe(c)
		case history.Poll:
			switch c.Outcome() {
			case history.Ok:
				for _, polled := range c.Completion.Value.Polls {
					checkPoll(r, ix.byKey[polled.Key], p, &c.Completion, polled)
				}
			case history.Info:
				for k, m := range p.polled { //gregor:unordered-ok each entry updated independently
					m.afterInfo = true
					p.polled[k] = m
				}
			}
		case history.Send:
			if c.Outcome() == history.Ok {
				checkSends(r, ix, p, &c.Completion)
			}
		}
	}
}

// resubscribe applies an assign or subscribe. Jepsen keeps comparing the
// keys still assigned; here the next poll of each is compared but, if it
// skips or goes back, reported as allowed: a new assignment may reset the
// position (to the committed offset, or by auto.offset.reset).
func (p *process) resubscribe(c *history.Call) {
	switch c.Outcome() {
	case history.Fail:
		return
	case history.Info:
		// It may or may not have taken effect: allow what it would allow.
		for k, m := range p.polled { //gregor:unordered-ok each entry updated independently
			m.rebalanced = true
			p.polled[k] = m
		}
		p.subscribed = p.subscribed || c.Invoke.F == history.Subscribe
		return
	}
	v := c.Completion.Value
	if c.Invoke.F == history.Assign {
		p.subscribed = false
	} else {
		p.subscribed = true
	}
	for k, m := range p.polled { //gregor:unordered-ok each entry updated independently
		kept := slices.Contains(v.Keys, k) || slices.Contains(v.Topics, k.Topic)
		if !kept {
			delete(p.polled, k)
			continue
		}
		m.rebalanced = true
		p.polled[k] = m
	}
}

// rebalanceReason says why a pair of polls may skip or go back, or "".
func (p *process) rebalanceReason(m pollMark) string {
	switch {
	case p.subscribed:
		return "allowed: the process is subscribed, and a rebalance may move its position"
	case m.rebalanced:
		return "allowed: the process assigned or subscribed between these polls"
	}
	return ""
}

// checkPoll checks one key of an ok poll: within the poll, and against
// where the process's previous poll of the key ended.
func checkPoll(r *report, ki *keyIndex, p *process, op *history.Op, polled history.Polled) {
	recs := polled.Records
	if len(recs) == 0 {
		return
	}
	for i := 1; i < len(recs); i++ {
		prev, cur := recs[i-1], recs[i]
		if cur.Offset <= prev.Offset {
			r.add(Anomaly{
				Kind: IntNonmonotonicPoll, Key: ki.key,
				Witness:     []history.Op{cut(op, ki.key, cur.Offset, prev.Offset)},
				Explanation: fmt.Sprintf("op %d returned offset %d after offset %d", op.Index, cur.Offset, prev.Offset),
			}, false)
		} else if skipped, ok := ki.between(prev.Offset, cur.Offset); ok {
			r.add(Anomaly{
				Kind: IntPollSkip, Key: ki.key,
				Witness: []history.Op{cut(op, ki.key, prev.Offset, cur.Offset), cut(skipped.op, ki.key, skipped.offset, skipped.offset)},
				Explanation: fmt.Sprintf("op %d went from offset %d to %d, skipping offset %d (value %d, op %d)",
					op.Index, prev.Offset, cur.Offset, skipped.offset, skipped.value, skipped.op.Index),
			}, false)
		}
	}
	first := recs[0].Offset
	if m, ok := p.polled[ki.key]; ok {
		reason := p.rebalanceReason(m)
		if first <= m.offset {
			r.add(Anomaly{
				Kind: NonmonotonicPoll, Key: ki.key,
				Witness: []history.Op{cut(m.op, ki.key, m.offset, m.offset), cut(op, ki.key, first, first)},
				Explanation: withReason(fmt.Sprintf("process %d polled up to offset %d (op %d), then from offset %d (op %d)",
					op.Process, m.offset, m.op.Index, first, op.Index), reason),
			}, reason != "")
		} else if skipped, ok := ki.between(m.offset, first); ok && !m.afterInfo {
			r.add(Anomaly{
				Kind: PollSkip, Key: ki.key,
				Witness: []history.Op{cut(m.op, ki.key, m.offset, m.offset), cut(op, ki.key, first, first), cut(skipped.op, ki.key, skipped.offset, skipped.offset)},
				Explanation: withReason(fmt.Sprintf("process %d polled up to offset %d (op %d), then from offset %d (op %d), skipping offset %d (value %d, op %d)",
					op.Process, m.offset, m.op.Index, first, op.Index, skipped.offset, skipped.value, skipped.op.Index), reason),
			}, reason != "")
		}
	}
	p.polled[ki.key] = pollMark{offset: recs[len(recs)-1].Offset, op: op}
}

func withReason(explanation, reason string) string {
	if reason == "" {
		return explanation
	}
	return explanation + "; " + reason
}

// checkSends checks an ok send op's acked offsets, per key: within the op,
// and against the process's previous acked send to the key.
func checkSends(r *report, ix *index, p *process, op *history.Op) {
	inOp := make(map[history.Key]sendMark) // the op's last acked send per key so far
	for _, s := range op.Value.Sends {
		if !s.Acked() {
			continue
		}
		ki := ix.byKey[s.Key]
		if prev, ok := inOp[s.Key]; ok {
			if s.Offset <= prev.offset {
				r.add(Anomaly{
					Kind: IntNonmonotonicSend, Key: s.Key,
					Witness:     []history.Op{cut(op, s.Key, 0, -1)},
					Explanation: fmt.Sprintf("op %d sent %d to offset %d after a send to offset %d", op.Index, s.Value, s.Offset, prev.offset),
				}, false)
			} else if skipped, ok := ki.between(prev.offset, s.Offset); ok {
				r.add(Anomaly{
					Kind: IntSendSkip, Key: s.Key,
					Witness: []history.Op{cut(op, s.Key, 0, -1), cut(skipped.op, s.Key, skipped.offset, skipped.offset)},
					Explanation: fmt.Sprintf("op %d's sends went from offset %d to %d, with offset %d (value %d, op %d) between",
						op.Index, prev.offset, s.Offset, skipped.offset, skipped.value, skipped.op.Index),
				}, false)
			}
		} else if last, ok := p.sent[s.Key]; ok && s.Offset <= last.offset {
			r.add(Anomaly{
				Kind: NonmonotonicSend, Key: s.Key,
				Witness: []history.Op{cut(last.op, s.Key, 0, -1), cut(op, s.Key, 0, -1)},
				Explanation: fmt.Sprintf("process %d's send of %d got offset %d (op %d) after its send got offset %d (op %d)",
					op.Process, s.Value, s.Offset, op.Index, last.offset, last.op.Index),
			}, false)
		}
		inOp[s.Key] = sendMark{offset: s.Offset, op: op}
	}
	for _, s := range op.Value.Sends {
		if m, ok := inOp[s.Key]; ok {
			p.sent[s.Key] = m
		}
	}
}
