package replication

import (
	"fmt"
	"slices"

	"github.com/gregor-dst/gregor/broker/meta"
)

// R1, from the states and the controller: one leader per (partition,
// epoch) over the whole run, and a node never leads an epoch below one it
// already held. The batch stamps are checked in the log pass (logs.go).

func (m *Monitor) checkLeaders(g *group, out []Violation) []Violation {
	p := g.p
	if im := g.image; im != nil {
		p.noteEpoch(im.LeaderEpoch)
		if im.Leader != meta.NoLeader {
			out = m.claimEpoch(g, im.LeaderEpoch, im.Leader, true, out)
		}
	}
	for _, r := range g.replicas {
		p.noteEpoch(r.ps.LeaderEpoch)
	}
	for _, r := range g.replicas {
		if !r.leads() {
			continue
		}
		e := r.ps.LeaderEpoch
		out = m.claimEpoch(g, e, r.node, false, out)
		if t := r.t; t.hasEpoch && e < t.maxEpoch {
			out = m.violate(out, R1, g.key, fmt.Sprintf("back|%d|%d", r.node, e),
				"node %d leads epoch %d at %s after it had epoch %d at %s: the epochs a node leads must increase",
				r.node, e, at(m.now), t.maxEpoch, at(t.maxEpochAt))
		}
	}
	return out
}

// claimEpoch records that node leads epoch e, by the controller's word
// or its own, and reports a second leader of the same epoch.
func (m *Monitor) claimEpoch(g *group, e, node int32, byController bool, out []Violation) []Violation {
	f, ok := g.p.leaders[e]
	if !ok {
		g.p.leaders[e] = epochFact{node: node, byController: byController, at: m.now}
		return out
	}
	if f.node == node {
		return out
	}
	return m.violate(out, R1, g.key, fmt.Sprintf("lead|%d|%d", e, node),
		"epoch %d has two leaders: node %d (by %s at %s) and node %d (by %s at %s)",
		e, f.node, f.by(), at(f.at), node, epochFact{node: node, byController: byController}.by(), at(m.now))
}

// by says whose word a leadership is on.
func (f epochFact) by() string {
	if f.byController {
		return "the controller"
	}
	return fmt.Sprintf("node %d's state", f.node)
}

// checkEpochCaches reads the replicas' epoch caches (when they changed):
// no epoch beyond any leader's, and each epoch beginning at the same
// offset on every replica and over time, since one leader wrote it from
// its log end at election. Entries at the log start are skipped:
// retention moves them.
func (m *Monitor) checkEpochCaches(g *group, out []Violation) []Violation {
	p := g.p
	for _, r := range g.replicas {
		t, ps := r.t, r.ps
		if t.seen && slices.Equal(t.last.Epochs, ps.Epochs) {
			continue
		}
		for _, c := range ps.Epochs {
			if p.hasEpoch && c.Epoch > p.maxEpoch {
				out = m.violate(out, R1, g.key, fmt.Sprintf("cache|%d|%d", r.node, c.Epoch),
					"node %d's epoch cache has epoch %d from offset %d at %s, above every epoch a leader or the controller had (%d): no leader wrote it",
					r.node, c.Epoch, c.StartOffset, at(m.now), p.maxEpoch)
			}
			if c.StartOffset <= ps.LogStart {
				continue
			}
			f, ok := p.epochStarts[c.Epoch]
			switch {
			case !ok:
				p.epochStarts[c.Epoch] = startFact{start: c.StartOffset, node: r.node, at: m.now}
			case f.start != c.StartOffset:
				out = m.violate(out, R1, g.key, fmt.Sprintf("start|%d|%d", c.Epoch, r.node),
					"epoch %d starts at offset %d on node %d (at %s) but at offset %d on node %d (at %s): two writers of the epoch, or a leader rewrote its log",
					c.Epoch, f.start, f.node, at(f.at), c.StartOffset, r.node, at(m.now))
			}
		}
	}
	return out
}
