package replication

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gregor-dst/gregor/broker"
)

// The log pass. Each replica is read from where the previous pass
// stopped, and every batch read is held against two histories:
//
//   - links: for each (base offset, leader epoch) the batch and the batch
//     before it. One leader per epoch writes each offset once, so two
//     different batches under one key break R1. Two replicas holding the
//     same batch with different batches before it break R2; by induction
//     over the links, equal links everywhere mean logs identical up to any
//     shared (offset, epoch), down to the higher of the two log starts.
//   - committed: the batches below the HW of a replica that holds them,
//     by offset. An offset committed as two different batches breaks R9.

// scanReplica reads r's batches past what the last pass read.
func (m *Monitor) scanReplica(g *group, r *replica, out []Violation) []Violation {
	t, ps := r.t, r.ps
	if r.view.Batches == nil {
		return out
	}
	if !t.scanned {
		t.scanned, t.scanEnd, t.hasBatch, t.pending = true, ps.LogStart, false, nil
	}
	if t.scanEnd > ps.LEO {
		t.rewind = min(t.rewind, ps.LEO)
	}
	if t.rewind != noRewind {
		m.rewindScan(g, r, t.rewind)
		t.rewind = noRewind
	}
	if ps.LogStart > t.scanEnd {
		// Retention removed batches before they were read.
		t.scanEnd, t.hasBatch = ps.LogStart, false
		t.pending = dropFrom(t.pending, 0, ps.LogStart)
	}
	if ps.LEO > t.scanEnd {
		out = m.readNew(g, r, out)
	}
	n := 0
	for n < len(t.pending) && t.pending[n].BaseOffset < ps.HW {
		out = m.commit(g, r, t.pending[n], out)
		n++
	}
	t.pending = slices.Delete(t.pending, 0, n)
	return out
}

// readNew reads r's batches from scanEnd to its LEO. (Apart from
// scanReplica, whose every call would otherwise pay for the closure's
// captures, mostly with nothing to read.)
func (m *Monitor) readNew(g *group, r *replica, out []Violation) []Violation {
	t, leo := r.t, r.ps.LEO
	_ = r.view.Batches(g.key.topic, g.key.part, t.scanEnd, func(b broker.BatchInfo) bool {
		if b.BaseOffset >= leo {
			return false
		}
		if b.LastOffset >= t.scanEnd {
			out = m.readBatch(g, r, b, out)
		}
		return true
	})
	return out
}

// rewindScan moves r's scan back to offset d, where its log changed: the
// next read starts there, linked to the batch that now ends at d.
func (m *Monitor) rewindScan(g *group, r *replica, d int64) {
	t := r.t
	t.pending = dropFrom(t.pending, d, noRewind)
	if t.r3Set && t.r3Done > d {
		t.r3Done = d
	}
	if d >= t.scanEnd {
		return
	}
	t.scanEnd = d
	if !t.hasBatch || t.lastBatch.LastOffset < d {
		return
	}
	t.hasBatch = false
	if d <= r.ps.LogStart {
		return
	}
	_ = r.view.Batches(g.key.topic, g.key.part, d-1, func(b broker.BatchInfo) bool {
		if b.LastOffset == d-1 {
			t.lastBatch, t.hasBatch = b, true
		}
		return false
	})
}

// dropFrom removes the batches reaching into [from, to).
func dropFrom(bs []broker.BatchInfo, from, to int64) []broker.BatchInfo {
	return slices.DeleteFunc(bs, func(b broker.BatchInfo) bool { return b.LastOffset >= from && b.BaseOffset < to })
}

func (m *Monitor) readBatch(g *group, r *replica, b broker.BatchInfo, out []Violation) []Violation {
	t, p := r.t, g.p
	if p.hasEpoch && b.LeaderEpoch > p.maxEpoch {
		out = m.violate(out, R1, g.key, fmt.Sprintf("stamp|%d|%d", b.LeaderEpoch, r.node),
			"node %d holds %s at %s, stamped with an epoch above every epoch a leader or the controller had (%d): no leader wrote it",
			r.node, batch(b), at(m.now), p.maxEpoch)
	}
	out = m.link(g, r, b, out)
	if b.BaseOffset < r.ps.HW {
		out = m.commit(g, r, b, out)
	} else {
		t.pending = append(t.pending, b)
	}
	t.lastBatch, t.hasBatch, t.scanEnd = b, true, b.LastOffset+1
	return out
}

// link holds b, read on r right after t.lastBatch (if hasBatch), against
// the links history.
func (m *Monitor) link(g *group, r *replica, b broker.BatchInfo, out []Violation) []Violation {
	t, p := r.t, g.p
	key := batchKey{base: b.BaseOffset, epoch: b.LeaderEpoch}
	l, ok := p.links[key]
	switch {
	case !ok:
		p.links[key] = link{b: b, hasPrev: t.hasBatch, prev: t.lastBatch, node: r.node, at: m.now, prevNode: r.node, prevAt: m.now}
	case l.b != b:
		out = m.violate(out, R1, g.key, fmt.Sprintf("twice|%d|%d", b.LeaderEpoch, b.BaseOffset),
			"epoch %d wrote two batches at offset %d: %s on node %d (at %s) and %s on node %d (at %s); the leader of an epoch writes each offset once",
			b.LeaderEpoch, b.BaseOffset, batch(l.b), l.node, at(l.at), batch(b), r.node, at(m.now))
	case !t.hasBatch:
	case !l.hasPrev:
		l.hasPrev, l.prev, l.prevNode, l.prevAt = true, t.lastBatch, r.node, m.now
		p.links[key] = l
	case l.prev != t.lastBatch:
		out = m.violate(out, R2, g.key, fmt.Sprintf("prev|%d|%d", b.LeaderEpoch, b.BaseOffset),
			"nodes %d and %d both hold %s, but before it node %d holds %s (at %s) and node %d holds %s (at %s): their logs differ below a shared (offset, epoch)",
			l.prevNode, r.node, batch(b), l.prevNode, batch(l.prev), at(l.prevAt), r.node, batch(t.lastBatch), at(m.now))
	}
	return out
}

// sameData reports whether two batches hold the same records at the same
// offsets (the CRC does not cover the epoch stamp).
func sameData(a, b broker.BatchInfo) bool {
	return a.BaseOffset == b.BaseOffset && a.LastOffset == b.LastOffset && a.CRC == b.CRC
}

// commit adds b, committed on r (below its HW), to the committed history.
// A different batch already committed over its offsets breaks R9, unless
// the allowances explain it; then the leader's batch replaces it.
func (m *Monitor) commit(g *group, r *replica, b broker.BatchInfo, out []Violation) []Violation {
	p := g.p
	c := p.committed
	i := sort.Search(len(c), func(i int) bool { return c[i].b.LastOffset >= b.BaseOffset })
	entry := committedBatch{b: b, node: r.node, hw: r.ps.HW, at: m.now}
	if i == len(c) || c[i].b.BaseOffset > b.LastOffset {
		p.committed = slices.Insert(c, i, entry)
		return out
	}
	old := c[i]
	if sameData(old.b, b) {
		return out
	}
	if reason, ok := m.allowedLoss(g, old.b.BaseOffset, -1, p.lossMinISR(m.cfg)); ok {
		m.lose(R9, g.key, fmt.Sprintf("replaced|%d|%08x|%08x", old.b.BaseOffset, old.b.CRC, b.CRC), old.b.BaseOffset, old.b.LastOffset, reason,
			"offset %d was committed as %s (node %d, HW %d, at %s) and is %s on node %d (HW %d) at %s",
			old.b.BaseOffset, batch(old.b), old.node, old.hw, at(old.at), batch(b), r.node, r.ps.HW, at(m.now))
		if r == g.leader() {
			j := i
			for j < len(c) && c[j].b.BaseOffset <= b.LastOffset {
				j++
			}
			p.committed = slices.Replace(c, i, j, entry)
		}
		return out
	}
	return m.violate(out, R9, g.key, fmt.Sprintf("commit|%d", old.b.BaseOffset),
		"offset %d is committed as %s on node %d (HW %d, at %s) and as %s on node %d (HW %d, at %s)",
		max(old.b.BaseOffset, b.BaseOffset), batch(old.b), old.node, old.hw, at(old.at), batch(b), r.node, r.ps.HW, at(m.now))
}

// lossMinISR is the KIP-966 count for losses no write names.
func (p *partTrack) lossMinISR(cfg Config) int {
	switch {
	case p.minISR > 0:
		return p.minISR
	case cfg.MinInsyncReplicas > 0:
		return cfg.MinInsyncReplicas
	}
	return 1
}

// allowedLoss says whether the allowances explain losing offset o: an
// unclean election of the partition, or unflushed data lost on enough
// replicas (restarts seen after observation afterSeq whose loss reaches
// o): one without ELR, minISR with it.
func (m *Monitor) allowedLoss(g *group, o, afterSeq int64, minISR int) (string, bool) {
	if m.unclean(g.key) {
		return "unclean election", true
	}
	if !m.allw.FsyncLoss {
		return "", false
	}
	need := 1
	if m.allw.ELR {
		need = max(minISR, 1)
	}
	var nodes []int32
	var seen []string
	for _, mk := range g.p.markers {
		if mk.seq > afterSeq && mk.from <= o && !slices.Contains(nodes, mk.node) {
			nodes = append(nodes, mk.node)
			seen = append(seen, fmt.Sprintf("node %d from offset %d, restart seen at %s", mk.node, mk.from, at(mk.at)))
		}
	}
	if len(nodes) < need {
		return "", false
	}
	return fmt.Sprintf("unflushed data lost on %d of the %d replicas needed (%s)", len(nodes), need, strings.Join(seen, "; ")), true
}
