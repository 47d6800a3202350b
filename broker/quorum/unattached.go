package quorum

import "time"

// unattached is an epoch without a known leader: Unattached if this node
// voted for no one in it, Voted if it did. Either way it waits a random
// election timeout for a leader to show up (BeginQuorumEpoch, a fetch
// answer) and stands for election if none does.
type unattached struct {
	n        *Node
	election timer
}

func (r *unattached) kind() StateKind {
	if r.n.votedID >= 0 {
		return Voted
	}
	return Unattached
}

func (r *unattached) leave(error) { r.election.stop() }

func (n *Node) becomeUnattached(epoch int32) {
	r := &unattached{n: n}
	n.transition(r, epoch, -1, -1)
	n.armElection(&r.election, n.electionTimeout())
}

// becomeUnattachedKeepingTimer moves to a newer epoch learned from a
// candidate's Vote without restarting the wait for an election (Raft
// restarts it only for a vote granted). Otherwise a candidate whose log
// is behind, standing again and again, would keep the voters that could
// win from ever timing out.
func (n *Node) becomeUnattachedKeepingTimer(epoch int32) {
	wait := n.electionTimeout()
	if _, leading := n.role.(*leader); !leading && n.electionAt > 0 {
		wait = max(n.electionAt-n.clock.Mono(), 0)
	}
	r := &unattached{n: n}
	n.transition(r, epoch, -1, -1)
	n.armElection(&r.election, wait)
}

// becomeVoted records a vote for candidate in epoch. The vote is answered
// only once it is durable (see handleVote).
func (n *Node) becomeVoted(epoch, candidate int32) {
	r := &unattached{n: n}
	n.transition(r, epoch, -1, candidate)
	n.armElection(&r.election, n.electionTimeout())
}

// electSoon shortens the wait for an election: the epoch's leader
// resigned (EndQuorumEpoch).
func (r *unattached) electSoon(d time.Duration) {
	r.n.armElection(&r.election, d)
}
