package replication

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/meta"
)

// checkISR is R7 as far as observations show it: the ISR is within the
// replicas and holds the leader (in the controller's record and in every
// leader's cached view); a member joins only with LEO at or past the
// leader's HW and its epoch start (KIP-279/841: it fetched in the current
// epoch); and the controller elects from the ISR unless an unclean
// election is allowed. Not checked: the broker-epoch part of KIP-841/903
// and the lag-time rule for leaving (a liveness matter).
func (m *Monitor) checkISR(g *group, out []Violation) []Violation {
	if im := g.image; im != nil {
		where := isrSource{controller: true, pe: im.PartitionEpoch, isr: im.ISR}
		out = m.checkShape(g, where, im.Replicas, im.ISR, im.Leader, out)
		if prev := g.p.prevImage; g.p.hasPrevImage {
			out = m.checkElection(g, im, prev, out)
			if im.LeaderEpoch == prev.epoch {
				for _, id := range added(prev.isr, im.ISR) {
					out = m.checkJoin(g, id, im.Leader, im.LeaderEpoch, prev.hasLeaderHW, prev.leaderHW, prev.at, where, out)
				}
			}
		}
	}
	for _, r := range g.replicas {
		if !r.leads() {
			continue
		}
		where := isrSource{node: r.node, epoch: r.ps.LeaderEpoch, isr: r.ps.ISR}
		out = m.checkShape(g, where, r.ps.Replicas, r.ps.ISR, r.node, out)
		if t := r.t; t.seen && t.last.Leader == r.node && t.last.LeaderEpoch == r.ps.LeaderEpoch {
			for _, id := range added(t.last.ISR, r.ps.ISR) {
				out = m.checkJoin(g, id, r.node, r.ps.LeaderEpoch, true, t.last.HW, t.lastAt, where, out)
			}
		}
	}
	return out
}

// isrSource is whose ISR a finding is about, formatted only for a
// witness (the cheap checks run at every event).
type isrSource struct {
	controller bool
	pe         int32 // the controller's partition epoch
	node       int32 // else the leader whose cached ISR it is
	epoch      int32
	isr        []int32
}

func (s isrSource) String() string {
	if s.controller {
		return fmt.Sprintf("the controller's ISR %v (partition epoch %d)", s.isr, s.pe)
	}
	return fmt.Sprintf("leader node %d's cached ISR %v (epoch %d)", s.node, s.isr, s.epoch)
}

func (m *Monitor) checkShape(g *group, where isrSource, replicas, isr []int32, leader int32, out []Violation) []Violation {
	for _, id := range isr {
		if !slices.Contains(replicas, id) {
			out = m.violate(out, R7, g.key, "subset|"+where.String(),
				"%s at %s has node %d, which is not among the replicas %v", where, at(m.now), id, replicas)
		}
	}
	if leader != meta.NoLeader && !slices.Contains(isr, leader) {
		out = m.violate(out, R7, g.key, "leader|"+where.String(),
			"leader node %d is outside %s at %s", leader, where, at(m.now))
	}
	return out
}

// checkElection looks at one step of the controller's record: when the
// partition epoch moved by exactly one and the leader epoch with it, that
// record elected the new leader from the ISR just before it.
func (m *Monitor) checkElection(g *group, im *meta.Partition, prev imageFact, out []Violation) []Violation {
	if im.PartitionEpoch != prev.pe+1 || im.LeaderEpoch != prev.epoch+1 || im.Leader == meta.NoLeader {
		return out
	}
	if slices.Contains(prev.isr, im.Leader) || m.unclean(g.key) || m.allw.ELR {
		return out
	}
	return m.violate(out, R7, g.key, fmt.Sprintf("elect|%d", im.LeaderEpoch),
		"the controller elected node %d for epoch %d (partition epoch %d) at %s from ISR %v (partition epoch %d at %s), which did not hold it; no unclean election is allowed",
		im.Leader, im.LeaderEpoch, im.PartitionEpoch, at(m.now), prev.isr, prev.pe, at(prev.at))
}

// checkJoin checks a member that joined the ISR of leader's epoch since
// the previous observation. Its LEO now is at least what it was when it
// joined (it cannot truncate below the HW, R8), and the leader's HW then
// was at least hw, so LEO < hw proves it joined behind the HW.
func (m *Monitor) checkJoin(g *group, id, leader, epoch int32, hasHW bool, hw, hwAt int64, where isrSource, out []Violation) []Violation {
	r := g.replicaOf(id)
	if r == nil || r.restarted || r.t.lost {
		return out
	}
	if hasHW && r.ps.LEO < hw {
		out = m.violate(out, R7, g.key, fmt.Sprintf("joinhw|%d|%d", id, epoch),
			"node %d joined %s by %s with LEO %d, below leader node %d's HW %d at %s",
			id, where, at(m.now), r.ps.LEO, leader, hw, at(hwAt))
	}
	l := g.replicaOf(leader)
	if l == nil || !l.leads() || l.ps.LeaderEpoch != epoch {
		return out
	}
	if s, ok := epochStart(l.ps.Epochs, epoch); ok && r.ps.LEO < s {
		out = m.violate(out, R7, g.key, fmt.Sprintf("joinepoch|%d|%d", id, epoch),
			"node %d joined %s by %s with LEO %d, before offset %d where leader node %d's epoch %d starts: it had not fetched in the leader's epoch",
			id, where, at(m.now), r.ps.LEO, s, leader, epoch)
	}
	return out
}

// added lists the members of cur not in prev.
func added(prev, cur []int32) []int32 {
	var out []int32
	for _, id := range cur {
		if !slices.Contains(prev, id) {
			out = append(out, id)
		}
	}
	return out
}

// isrView is the ISR that R3 holds to this observation: the controller's
// with its leader (StrongIsr), or, without a controller image, the cached
// ISR of the highest-epoch leader (WeakIsr, informational).
func (m *Monitor) isrView(g *group) (leader *replica, where isrSource, inv string) {
	l := g.leader()
	switch {
	case l == nil:
		return nil, isrSource{}, ""
	case g.image != nil:
		return l, isrSource{controller: true, pe: g.image.PartitionEpoch, isr: g.image.ISR}, R3
	case m.img == nil:
		return l, isrSource{node: l.node, epoch: l.ps.LeaderEpoch, isr: l.ps.ISR}, WeakIsr
	}
	return nil, isrSource{}, ""
}

// checkIsrGaps is R3's cheap half: every ISR member holds offsets up to
// the leader's HW. A member that lost unflushed data at a restart (and is
// still listed) is the KIP-966 window, not a violation; neither is a
// partition under an allowed unclean election.
func (m *Monitor) checkIsrGaps(g *group, out []Violation) []Violation {
	l, where, inv := m.isrView(g)
	if l == nil || m.unclean(g.key) {
		return out
	}
	for _, id := range where.isr {
		r := g.replicaOf(id)
		if r == nil || r == l || r.ps.LEO >= l.ps.HW || (r.t.lost && r.t.lossFrom <= r.ps.LEO) {
			continue
		}
		what := fmt.Sprintf("gap|%d|%d", id, l.ps.LeaderEpoch)
		format := "node %d is in %s at %s with LEO %d, but leader node %d's HW in epoch %d is %d: committed offsets %d..%d are missing on it"
		args := []any{id, where, at(m.now), r.ps.LEO, l.node, l.ps.LeaderEpoch, l.ps.HW, r.ps.LEO, l.ps.HW - 1}
		if inv == WeakIsr {
			m.inform(inv, g.key, what, format, args...)
			continue
		}
		out = m.violate(out, inv, g.key, what, format, args...)
	}
	return out
}

// checkIsrContents is R3's log half: below the leader's HW, every ISR
// member's batches are the committed ones. It reads each member from
// where the last pass stopped.
func (m *Monitor) checkIsrContents(g *group, out []Violation) []Violation {
	l, where, inv := m.isrView(g)
	if l == nil || m.unclean(g.key) {
		return out
	}
	for _, id := range where.isr {
		r := g.replicaOf(id)
		if r == nil || r == l || r.view.Batches == nil {
			continue
		}
		out = m.compareCommitted(g, r, l, inv, where, out)
	}
	return out
}

func (m *Monitor) compareCommitted(g *group, r, l *replica, inv string, where isrSource, out []Violation) []Violation {
	t := r.t
	if !t.r3Set || t.r3Done < r.ps.LogStart {
		t.r3Set, t.r3Done = true, r.ps.LogStart
	}
	upto := min(l.ps.HW, r.ps.LEO)
	if t.r3Done >= upto {
		return out
	}
	return m.compareRange(g, r, l, upto, inv, where, out)
}

// compareRange compares r's batches from r3Done to upto with the
// committed ones (apart from compareCommitted, whose every call would
// otherwise pay for the closure's captures).
func (m *Monitor) compareRange(g *group, r, l *replica, upto int64, inv string, where isrSource, out []Violation) []Violation {
	t := r.t
	_ = r.view.Batches(g.key.topic, g.key.part, t.r3Done, func(b broker.BatchInfo) bool {
		if b.BaseOffset >= upto {
			return false
		}
		t.r3Done = b.LastOffset + 1
		c, ok := g.p.committedAt(b.BaseOffset)
		if !ok || sameData(c.b, b) {
			return true
		}
		if t.lost && b.BaseOffset >= t.lossFrom {
			return true
		}
		what := fmt.Sprintf("differs|%d|%d", r.node, b.BaseOffset)
		format := "node %d is in %s and holds %s at %s, below leader node %d's HW %d (epoch %d), but the committed batch there is %s (node %d, HW %d, at %s)"
		args := []any{r.node, where, batch(b), at(m.now), l.node, l.ps.HW, l.ps.LeaderEpoch, batch(c.b), c.node, c.hw, at(c.at)}
		if inv == WeakIsr {
			m.inform(inv, g.key, what, format, args...)
		} else {
			out = m.violate(out, inv, g.key, what, format, args...)
		}
		return true
	})
	return out
}

// committedAt finds the committed batch holding offset o.
func (p *partTrack) committedAt(o int64) (committedBatch, bool) {
	c := p.committed
	i := sort.Search(len(c), func(i int) bool { return c[i].b.LastOffset >= o })
	if i < len(c) && c[i].b.BaseOffset <= o {
		return c[i], true
	}
	return committedBatch{}, false
}
