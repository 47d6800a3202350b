package quorum

// resigned is a leader that gave up its epoch: it failed check quorum, or
// the node restarted from a state file saying it led (its unflushed
// entries may be lost, so it never resumes). It tells the other voters
// (EndQuorumEpoch) so they need not wait out their fetch timeout, grants
// no votes in its epoch, and stands for election itself after a random
// election timeout unless a newer epoch shows up first.
type resigned struct {
	n        *Node
	election timer
}

func (r *resigned) kind() StateKind { return Resigned }

func (r *resigned) leave(error) { r.election.stop() }

func (n *Node) becomeResigned() {
	r := &resigned{n: n}
	n.transition(r, n.epoch, n.cfg.NodeID, n.votedID)
	n.armElection(&r.election, n.electionTimeout())
	var others []int32
	for _, id := range n.ids {
		if id != n.cfg.NodeID {
			others = append(others, id)
		}
	}
	n.store.whenDurable(n.inRole(func() { n.sendEndQuorumEpoch(others) }))
}
