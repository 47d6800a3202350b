package replication

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gregor-dst/gregor/broker"
)

// ackedWrite is an acknowledged acks=all write (R6).
type ackedWrite struct {
	topic        string
	part         int32
	offset, last int64
	crc          uint32
	isr, minISR  int
	at           int64
	seq          int64 // the observation it followed
	verified     bool  // found in the leader's log (partTrack.ackLeader)
	gone         bool  // found missing, to be dropped
}

func (w *ackedWrite) String() string {
	return fmt.Sprintf("[%d..%d] crc %08x (acks=all, ISR %d, min.insync.replicas %d, acknowledged after %s)",
		w.offset, w.last, w.crc, w.isr, w.minISR, at(w.at))
}

// Acked reports a write the client saw acknowledged: its offsets, the
// CRC of its batch as stored, the acks it asked for, and the leader's ISR
// size and min.insync.replicas when it acknowledged. R5: an acks=all write
// acknowledged with fewer in-sync replicas than minISR is a violation
// (returned by the next Observe). R6: every acks=all write acknowledged
// with enough stays, from then on, in the current leader's log at its
// offset with its CRC (checked by the following observations). acks 0 and
// 1 promise nothing R6 checks.
func (m *Monitor) Acked(topic string, partition int32, offset, lastOffset int64, crc uint32, acks int16, isrAtAck int, minISR int) {
	if acks != -1 {
		return
	}
	if isrAtAck < minISR {
		k := tpKey{topic: topic, part: partition}
		if bound, ok := m.names[nameKey{topic: topic, part: partition}]; ok {
			k = bound
		}
		m.pending = m.violate(m.pending, R5, k, fmt.Sprintf("admit|%d", offset),
			"write [%d..%d] crc %08x was acknowledged (acks=all) after %s with %d in-sync replicas, below min.insync.replicas %d: the leader must answer NOT_ENOUGH_REPLICAS(_AFTER_APPEND)",
			offset, lastOffset, crc, at(m.now), isrAtAck, minISR)
		return
	}
	w := &ackedWrite{topic: topic, part: partition, offset: offset, last: lastOffset, crc: crc, isr: isrAtAck, minISR: minISR, at: m.now, seq: m.obs}
	k, ok := m.names[nameKey{topic: topic, part: partition}]
	if !ok {
		m.unbound = append(m.unbound, w)
		return
	}
	m.pending = m.addAck(m.parts[k], w, m.pending)
}

// bindAcks files the acks of partitions seen for the first time.
func (m *Monitor) bindAcks() {
	if len(m.unbound) == 0 {
		return
	}
	keep := m.unbound[:0]
	for _, w := range m.unbound {
		if k, ok := m.names[nameKey{topic: w.topic, part: w.part}]; ok {
			m.pending = m.addAck(m.parts[k], w, m.pending)
		} else {
			keep = append(keep, w)
		}
	}
	m.unbound = keep
}

// addAck files w by offset. The same write acknowledged twice (an
// idempotent retry) is kept once; two different writes acknowledged at
// overlapping offsets break R9.
func (m *Monitor) addAck(p *partTrack, w *ackedWrite, out []Violation) []Violation {
	p.minISR = w.minISR
	a := p.acked
	i := sort.Search(len(a), func(i int) bool { return a[i].last >= w.offset })
	if i == len(a) || a[i].offset > w.last {
		p.acked = slices.Insert(a, i, w)
		p.ackFrom = min(p.ackFrom, i)
		return out
	}
	if a[i].offset == w.offset && a[i].last == w.last && a[i].crc == w.crc {
		return out
	}
	return m.violate(out, R9, p.key, fmt.Sprintf("acked|%d", w.offset),
		"two different writes were acknowledged at overlapping offsets: %s and %s", a[i], w)
}

// checkAckedPresent is R6's cheap half: the leader's log reaches past
// every acknowledged write (those below its log start went to retention
// and are dropped). The leader changing, restarting or rewriting its log
// sends the writes back to be verified again.
func (m *Monitor) checkAckedPresent(g *group, out []Violation) []Violation {
	p := g.p
	l := g.leader()
	if l == nil || len(p.acked) == 0 {
		return out
	}
	id := leaderIdent{node: l.node, gen: l.gen, epoch: l.ps.LeaderEpoch}
	if !p.ackLeaderSet || p.ackLeader != id || l.rewrote {
		p.unverifyAcks()
		p.ackLeaderSet, p.ackLeader = true, id
	}
	n := 0
	for n < len(p.acked) && p.acked[n].last < l.ps.LogStart {
		n++
	}
	p.acked = slices.Delete(p.acked, 0, n)
	p.ackFrom = max(p.ackFrom-n, 0)
	for len(p.acked) > 0 {
		w := p.acked[len(p.acked)-1]
		if w.last < l.ps.LEO {
			break
		}
		out = m.lostAck(g, w, l, fmt.Sprintf("its log ends at LEO %d", l.ps.LEO), out)
		p.acked = p.acked[:len(p.acked)-1]
	}
	p.ackFrom = min(p.ackFrom, len(p.acked))
	return out
}

// checkAckedContents is R6's log half: the writes not yet verified
// against this leader are found in its log, in one walk.
func (m *Monitor) checkAckedContents(g *group, out []Violation) []Violation {
	p := g.p
	l := g.leader()
	if l == nil || l.view.Batches == nil || !p.ackLeaderSet {
		return out
	}
	if i := p.firstUnverified(); i < len(p.acked) {
		out = m.verifyAcks(g, l, i, out)
	}
	return out
}

// verifyAcks walks leader l's log from the i-th write on (apart from
// checkAckedContents, whose every call would otherwise pay for the
// closure's captures).
func (m *Monitor) verifyAcks(g *group, l *replica, i int, out []Violation) []Violation {
	p := g.p
	var lost []*ackedWrite
	var found []string
	err := l.view.Batches(g.key.topic, g.key.part, p.acked[i].offset, func(b broker.BatchInfo) bool {
		for i < len(p.acked) && p.acked[i].offset <= b.LastOffset {
			w := p.acked[i]
			i++
			if w.verified {
				continue
			}
			if b.BaseOffset == w.offset && b.LastOffset == w.last && b.CRC == w.crc {
				w.verified = true
				continue
			}
			w.gone, p.anyGone = true, true
			lost = append(lost, w)
			found = append(found, "it holds "+batch(b)+" there")
		}
		return i < len(p.acked)
	})
	if err != nil {
		return out
	}
	for j, w := range lost {
		out = m.lostAck(g, w, l, found[j], out)
	}
	if p.anyGone {
		p.acked = slices.DeleteFunc(p.acked, func(w *ackedWrite) bool { return w.gone })
		// A write marked gone by a walk that failed, and verified by a
		// later one, may have gone from below ackFrom.
		p.anyGone, p.ackFrom = false, 0
	}
	return out
}

// firstUnverified is the index of the first unverified write (len(acked)
// if none), searched from ackFrom, which moves up to it: the verified
// prefix is not walked again.
func (p *partTrack) firstUnverified() int {
	i := slices.IndexFunc(p.acked[p.ackFrom:], func(w *ackedWrite) bool { return !w.verified })
	if i < 0 {
		p.ackFrom = len(p.acked)
	} else {
		p.ackFrom += i
	}
	return p.ackFrom
}

// lostAck reports an acknowledged write missing from leader l's log, or
// records it as a loss when the allowances explain it (the caller drops
// the write either way).
func (m *Monitor) lostAck(g *group, w *ackedWrite, l *replica, found string, out []Violation) []Violation {
	if reason, ok := m.allowedLoss(g, w.offset, w.seq, w.minISR); ok {
		m.lose(R6, g.key, fmt.Sprintf("acked|%d|%08x", w.offset, w.crc), w.offset, w.last, reason,
			"write %s is not in leader node %d's log (epoch %d) at %s: %s", w, l.node, l.ps.LeaderEpoch, at(m.now), found)
		return out
	}
	return m.violate(out, R6, g.key, fmt.Sprintf("acked|%d", w.offset),
		"write %s is not in leader node %d's log (epoch %d) at %s: %s", w, l.node, l.ps.LeaderEpoch, at(m.now), found)
}
