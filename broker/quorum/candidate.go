package quorum

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// candidate stands for election in a new epoch: it votes for itself,
// persists that, then asks every other voter. A majority of grants makes
// it leader. A majority of refusals makes it wait a random backoff before
// standing again; so does a random election timeout without a result.
type candidate struct {
	n        *Node
	granted  []bool // by voter index
	rejected []bool
	election timer
	retry    []timer // re-asks voters whose request failed
}

func (r *candidate) kind() StateKind { return Candidate }

func (r *candidate) leave(error) {
	r.election.stop()
	for i := range r.retry {
		r.retry[i].stop()
	}
}

func (n *Node) becomeCandidate() {
	n.stats.Elections++
	r := &candidate{n: n, granted: make([]bool, len(n.ids)), rejected: make([]bool, len(n.ids)), retry: make([]timer, len(n.ids))}
	n.transition(r, n.epoch+1, -1, n.cfg.NodeID)
	r.granted[n.voterIndex(n.cfg.NodeID)] = true
	n.armElection(&r.election, n.electionTimeout())
	// Our own vote counts, and others are asked, only once it is durable.
	n.store.whenDurable(n.inRole(r.requestVotes))
}

func (r *candidate) requestVotes() {
	n := r.n
	if r.won() {
		n.becomeLeader()
		return
	}
	for _, id := range n.ids {
		if id != n.cfg.NodeID {
			r.ask(id)
		}
	}
}

func (r *candidate) ask(id int32) {
	n := r.n
	end, lastEpoch := n.lastFetched()
	req := kmsg.NewPtrVoteRequest()
	req.SetVersion(voteVersion)
	req.ClusterID, req.VoterID = n.clusterID(), id
	p := kmsg.NewVoteRequestTopicPartition()
	p.CandidateEpoch, p.CandidateID, p.LastOffsetEpoch, p.LastOffset = n.epoch, n.cfg.NodeID, lastEpoch, end
	req.Topics = []kmsg.VoteRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.VoteRequestTopicPartition{p}}}
	n.tr.send(id, req, n.ms(n.cfg.RequestTimeoutMs), n.inRoleResp(func(resp kmsg.Response, err error) {
		r.answered(id, resp, err)
	}))
}

func (r *candidate) answered(id int32, resp kmsg.Response, err error) {
	n := r.n
	i := n.voterIndex(id)
	p, ok := votePartition(resp)
	if err != nil || !ok || p.ErrorCode != 0 && p.LeaderEpoch <= n.epoch {
		n.arm(&r.retry[i], n.ms(n.cfg.RetryBackoffMs), func() { r.ask(id) })
		return
	}
	if n.observe(p.LeaderID, p.LeaderEpoch) {
		return
	}
	switch {
	case p.VoteGranted && p.LeaderEpoch == n.epoch:
		r.granted[i] = true
		if r.won() {
			n.becomeLeader()
		}
	case !p.VoteGranted:
		r.rejected[i] = true
		if count(r.rejected) >= n.majority {
			// Lost: stand again after a random backoff, so that rival
			// candidates do not keep splitting the vote.
			n.armElection(&r.election, n.ms(1+n.e.Rand().Int64N(n.cfg.ElectionBackoffMaxMs)))
		}
	}
}

func (r *candidate) won() bool { return count(r.granted) >= r.n.majority }

func votePartition(resp kmsg.Response) (kmsg.VoteResponseTopicPartition, bool) {
	v, ok := resp.(*kmsg.VoteResponse)
	if !ok || v.ErrorCode != 0 || len(v.Topics) != 1 || len(v.Topics[0].Partitions) != 1 {
		return kmsg.VoteResponseTopicPartition{}, false
	}
	return v.Topics[0].Partitions[0], true
}

func count(bs []bool) int {
	c := 0
	for _, b := range bs {
		if b {
			c++
		}
	}
	return c
}

// ---- the voter's side ----

// handleVote answers a Vote request: a newer epoch moves this node there
// first; then the vote is granted if the node has not voted or followed
// anyone else in the epoch and the candidate's log is at least as up to
// date as its own (last epoch, then end offset). The answer leaves only
// once the vote, or the new epoch, is durable.
func (n *Node) handleVote(req *kmsg.VoteRequest, respond func(kmsg.Response)) {
	resp := req.ResponseKind().(*kmsg.VoteResponse)
	single := len(req.Topics) == 1 && len(req.Topics[0].Partitions) == 1 && isMetadataPartition(req.Topics[0].Topic, req.Topics[0].Partitions[0].Partition)
	if n.rejected(req.ClusterID, single, &resp.ErrorCode) {
		respond(resp)
		return
	}
	p := req.Topics[0].Partitions[0]
	rp := kmsg.NewVoteResponseTopicPartition()
	rp.Partition = metadataPartition
	switch {
	case req.Version >= 1 && req.VoterID >= 0 && req.VoterID != n.cfg.NodeID, !n.isVoter(p.CandidateID):
		rp.ErrorCode = kerr.InconsistentVoterSet.Code
	default:
		if p.CandidateEpoch > n.epoch {
			n.becomeUnattachedKeepingTimer(p.CandidateEpoch)
		}
		rp.VoteGranted = n.grantVote(p)
	}
	rp.LeaderID, rp.LeaderEpoch = n.knownLeader(), n.epoch
	resp.Topics = []kmsg.VoteResponseTopic{{Topic: metadataTopic, Partitions: []kmsg.VoteResponseTopicPartition{rp}}}
	n.store.whenDurable(func() { respond(resp) })
}

func (n *Node) grantVote(p kmsg.VoteRequestTopicPartition) bool {
	if _, ok := n.role.(*unattached); !ok || p.CandidateEpoch != n.epoch {
		return false
	}
	if n.votedID >= 0 {
		return n.votedID == p.CandidateID
	}
	end, lastEpoch := n.lastFetched()
	behind := p.LastOffsetEpoch < lastEpoch || p.LastOffsetEpoch == lastEpoch && p.LastOffset < end
	if behind && !n.cfg.bugs.voteAnyLog {
		return false
	}
	n.becomeVoted(n.epoch, p.CandidateID)
	return true
}
