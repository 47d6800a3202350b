package replication

import (
	"fmt"

	"github.com/gregor-dst/gregor/broker"
)

// checkWatermarks is R4: LogStart ≤ HW ≤ LEO on every replica; a leader's
// HW never falls within its epoch (within one incarnation: a broker that
// keeps its epoch across a restart, as a single-node one does, restarts
// its HW from a checkpoint); a follower's HW is not above its leader's in
// the same epoch, except for the HW it brought from the previous leader
// (a new leader may learn the old HW after its followers did).
func (m *Monitor) checkWatermarks(g *group, out []Violation) []Violation {
	for _, r := range g.replicas {
		ps := r.ps
		if ps.LogStart > ps.HW || ps.HW > ps.LEO {
			out = m.violate(out, R4, g.key, fmt.Sprintf("order|%d", r.node),
				"node %d at %s: log start %d, HW %d, LEO %d (epoch %d): want log start ≤ HW ≤ LEO",
				r.node, at(m.now), ps.LogStart, ps.HW, ps.LEO, ps.LeaderEpoch)
		}
		if r.leads() {
			out = m.checkLeaderHW(g, r, out)
		} else {
			out = m.checkFollowerHW(g, r, out)
		}
	}
	return out
}

func (m *Monitor) checkLeaderHW(g *group, r *replica, out []Violation) []Violation {
	e, hw := r.ps.LeaderEpoch, r.ps.HW
	f := g.p.leaderHW[e]
	switch {
	case f == nil || f.node != r.node:
		g.p.leaderHW[e] = &hwFact{node: r.node, gen: r.gen, hw: hw, at: m.now}
	case f.gen != r.gen:
		f.gen, f.hw, f.at, f.restarted = r.gen, hw, m.now, true
	case hw < f.hw:
		out = m.violate(out, R4, g.key, fmt.Sprintf("leaderhw|%d|%d", e, r.node),
			"leader node %d of epoch %d has HW %d at %s, below the HW %d it had at %s",
			r.node, e, hw, at(m.now), f.hw, at(f.at))
	case hw > f.hw:
		f.hw, f.at = hw, m.now
	}
	return out
}

func (m *Monitor) checkFollowerHW(g *group, r *replica, out []Violation) []Violation {
	t, ps := r.t, r.ps
	if ps.Leader < 0 {
		return out
	}
	if !t.carriedSet || t.carriedEpoch != ps.LeaderEpoch {
		t.carriedSet, t.carriedEpoch, t.carriedHW = true, ps.LeaderEpoch, ps.HW
		return out
	}
	l := g.replicaOf(ps.Leader)
	if l == nil || !l.leads() || l.ps.LeaderEpoch != ps.LeaderEpoch {
		return out
	}
	if f := g.p.leaderHW[ps.LeaderEpoch]; f != nil && f.restarted {
		return out
	}
	if ps.HW > l.ps.HW && ps.HW > t.carriedHW {
		out = m.violate(out, R4, g.key, fmt.Sprintf("followerhw|%d|%d", r.node, ps.LeaderEpoch),
			"follower node %d has HW %d at %s, above leader node %d's HW %d in epoch %d (it entered the epoch with HW %d)",
			r.node, ps.HW, at(m.now), l.node, l.ps.HW, ps.LeaderEpoch, t.carriedHW)
	}
	return out
}

// checkTruncation is R8 within an incarnation: a replica's LEO never falls
// below a HW it showed, since the offsets below it were committed. Under
// an unclean election that is a loss, and the replica's HW starts over.
func (m *Monitor) checkTruncation(g *group, out []Violation) []Violation {
	for _, r := range g.replicas {
		t, ps := r.t, r.ps
		if !t.seen || ps.LEO >= t.maxHW {
			continue
		}
		// A follower truncating to a leader that lost the offsets is the
		// same loss the allowances explain for R6 and R9 (an unclean
		// leader, or one whose unflushed log a crash took: KIP-966's last
		// replica standing, where every follower then truncates).
		if reason, ok := m.allowedLoss(g, ps.LEO, -1, g.p.lossMinISR(m.cfg)); ok {
			m.lose(R8, g.key, fmt.Sprintf("trunc|%d|%d|%d", r.node, ps.LEO, t.maxHW), ps.LEO, t.maxHW-1, reason,
				"node %d truncated to LEO %d at %s, below the HW %d it had at %s", r.node, ps.LEO, at(m.now), t.maxHW, at(t.maxHWAt))
			t.maxHW, t.maxHWAt = ps.HW, m.now
			continue
		}
		out = m.violate(out, R8, g.key, fmt.Sprintf("trunc|%d|%d", r.node, t.maxHW),
			"node %d truncated to LEO %d at %s (epoch %d, leader %d), removing committed offsets %d..%d below the HW %d it had at %s",
			r.node, ps.LEO, at(m.now), ps.LeaderEpoch, ps.Leader, ps.LEO, t.maxHW-1, t.maxHW, at(t.maxHWAt))
	}
	return out
}

// checkRestart handles a replica's first observation after its node
// restarted. R8: it must still hold what it had committed (below its HW)
// or, when FsyncLoss allows crashes to drop unflushed data, what it had
// flushed and committed. A loss of unflushed data is recorded as a marker
// (what KIP-966 counts), and, if the node led an epoch, the history of that
// epoch past the loss is forgotten: a broker that keeps its epoch across a
// restart (single-node) rewrites those offsets in the same epoch.
func (m *Monitor) checkRestart(g *group, r *replica, out []Violation) []Violation {
	old, ps := *r.t, r.ps
	floor := old.maxHW
	if m.allw.FsyncLoss {
		floor = min(floor, old.last.Flushed)
	}
	if ps.LEO < floor {
		if m.unclean(g.key) {
			m.lose(R8, g.key, fmt.Sprintf("restart|%d|%d|%d", r.node, ps.LEO, floor), ps.LEO, floor-1, "unclean election",
				"node %d restarted at %s with LEO %d, below offset %d it had committed and flushed (HW %d, flushed %d at %s)",
				r.node, at(m.now), ps.LEO, floor, old.maxHW, old.last.Flushed, at(old.lastAt))
		} else {
			out = m.violate(out, R8, g.key, fmt.Sprintf("restart|%d|%d", r.node, r.gen),
				"node %d restarted at %s with LEO %d, below offset %d it had committed%s (HW %d, flushed %d at %s; fsync loss allowed: %t)",
				r.node, at(m.now), ps.LEO, floor, flushedNote(m.allw.FsyncLoss), old.maxHW, old.last.Flushed, at(old.lastAt), m.allw.FsyncLoss)
		}
	}
	if m.allw.FsyncLoss && m.lostTail(g, r, &old) {
		from := old.last.Flushed
		g.p.markers = append(g.p.markers, lossMarker{node: r.node, from: from, at: m.now, seq: m.obs})
		r.t.lost, r.t.lossFrom = true, from
		if old.last.Leader == r.node {
			g.p.forgetEpochFrom(old.last.LeaderEpoch, from)
		}
	}
	r.t.fresh(r.gen)
	return out
}

func flushedNote(fsyncLoss bool) string {
	if fsyncLoss {
		return " and flushed"
	}
	return ""
}

// lostTail reports whether a restarted replica came back without part of
// what its previous incarnation held: a shorter log, or a different last
// batch where the old one was.
func (m *Monitor) lostTail(g *group, r *replica, old *replicaTrack) bool {
	if r.ps.LEO < old.last.LEO {
		return true
	}
	if !old.hasBatch || r.view.Batches == nil || old.lastBatch.BaseOffset < r.ps.LogStart {
		return false // nothing to compare, or retention took it
	}
	var got broker.BatchInfo
	found := false
	err := r.view.Batches(g.key.topic, g.key.part, old.lastBatch.BaseOffset, func(b broker.BatchInfo) bool {
		got, found = b, true
		return false
	})
	return err == nil && (!found || got != old.lastBatch)
}

// forgetEpochFrom drops the history of epoch e at and past offset from.
func (p *partTrack) forgetEpochFrom(e int32, from int64) {
	for k := range p.links { //gregor:unordered-ok deleting, order does not matter
		if k.epoch == e && k.base >= from {
			delete(p.links, k)
		}
	}
	if s, ok := p.epochStarts[e]; ok && s.start >= from {
		delete(p.epochStarts, e)
	}
}
