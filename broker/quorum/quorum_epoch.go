package quorum

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BeginQuorumEpoch (leader → voters: "I lead epoch e") and EndQuorumEpoch
// (a resigning leader → voters: "elect someone, starting with these").

// handleBeginQuorumEpoch makes this node a follower of the new leader,
// answering once that is durable.
func (n *Node) handleBeginQuorumEpoch(req *kmsg.BeginQuorumEpochRequest, respond func(kmsg.Response)) {
	resp := req.ResponseKind().(*kmsg.BeginQuorumEpochResponse)
	single := len(req.Topics) == 1 && len(req.Topics[0].Partitions) == 1 && isMetadataPartition(req.Topics[0].Topic, req.Topics[0].Partitions[0].Partition)
	if n.rejected(req.ClusterID, single, &resp.ErrorCode) {
		respond(resp)
		return
	}
	p := req.Topics[0].Partitions[0]
	rp := kmsg.NewBeginQuorumEpochResponseTopicPartition()
	rp.Partition = metadataPartition
	switch {
	case req.Version >= 1 && req.VoterID >= 0 && req.VoterID != n.cfg.NodeID, !n.isVoter(p.LeaderID), p.LeaderID == n.cfg.NodeID:
		rp.ErrorCode = kerr.InconsistentVoterSet.Code
	case p.LeaderEpoch < n.epoch:
		rp.ErrorCode = kerr.FencedLeaderEpoch.Code
	default:
		n.observe(p.LeaderID, p.LeaderEpoch)
	}
	rp.LeaderID, rp.LeaderEpoch = n.knownLeader(), n.epoch
	resp.Topics = []kmsg.BeginQuorumEpochResponseTopic{{Topic: metadataTopic, Partitions: []kmsg.BeginQuorumEpochResponseTopicPartition{rp}}}
	n.store.whenDurable(func() { respond(resp) })
}

// knownLeader is the leader to name in answers: -1 when none is known,
// or when this node resigned its epoch.
func (n *Node) knownLeader() int32 {
	if n.leaderID == n.cfg.NodeID {
		if _, leading := n.role.(*leader); !leading {
			return -1
		}
	}
	return n.leaderID
}

// handleEndQuorumEpoch shortens this node's wait for an election when its
// leader resigns: the first preferred candidate stands at once, the
// others after a backoff growing with their position.
func (n *Node) handleEndQuorumEpoch(req *kmsg.EndQuorumEpochRequest, respond func(kmsg.Response)) {
	resp := req.ResponseKind().(*kmsg.EndQuorumEpochResponse)
	single := len(req.Topics) == 1 && len(req.Topics[0].Partitions) == 1 && isMetadataPartition(req.Topics[0].Topic, req.Topics[0].Partitions[0].Partition)
	if n.rejected(req.ClusterID, single, &resp.ErrorCode) {
		respond(resp)
		return
	}
	p := req.Topics[0].Partitions[0]
	rp := kmsg.NewEndQuorumEpochResponseTopicPartition()
	rp.Partition = metadataPartition
	switch {
	case !n.isVoter(p.LeaderID) || p.LeaderID == n.cfg.NodeID:
		rp.ErrorCode = kerr.InconsistentVoterSet.Code
	case p.LeaderEpoch < n.epoch:
		rp.ErrorCode = kerr.FencedLeaderEpoch.Code
	default:
		n.observe(p.LeaderID, p.LeaderEpoch)
		n.leaderResigned(p.LeaderID, p.LeaderEpoch, preferred(req.Version, p))
	}
	rp.LeaderID, rp.LeaderEpoch = n.knownLeader(), n.epoch
	resp.Topics = []kmsg.EndQuorumEpochResponseTopic{{Topic: metadataTopic, Partitions: []kmsg.EndQuorumEpochResponseTopicPartition{rp}}}
	n.store.whenDurable(func() { respond(resp) })
}

func preferred(version int16, p kmsg.EndQuorumEpochRequestTopicPartition) []int32 {
	if version == 0 {
		return p.PreferredSuccessors
	}
	ids := make([]int32, len(p.PreferredCandidates))
	for i, c := range p.PreferredCandidates {
		ids[i] = c.CandidateID
	}
	return ids
}

// leaderResigned arms an early election if this node follows (or waits
// for) a leader of epoch that has resigned.
func (n *Node) leaderResigned(leaderID, epoch int32, candidates []int32) {
	if epoch != n.epoch {
		return
	}
	position := slices.Index(candidates, n.cfg.NodeID)
	if position < 0 {
		position = len(candidates)
	}
	wait := n.ms(int64(position) * n.cfg.ElectionBackoffMaxMs / int64(len(n.ids)))
	wait += n.ms(n.e.Rand().Int64N(n.cfg.RetryBackoffMs) + 1)
	switch r := n.role.(type) {
	case *follower:
		if r.leader == leaderID {
			r.electSoon(wait)
		}
	case *unattached:
		r.electSoon(wait)
	}
}

// sendEndQuorumEpoch tells the voters in candidates, in that order of
// preference, that this node resigns its epoch. Answers are not awaited:
// a voter that misses it times out as usual.
func (n *Node) sendEndQuorumEpoch(candidates []int32) {
	for _, id := range candidates {
		req := kmsg.NewPtrEndQuorumEpochRequest()
		req.SetVersion(endQuorumEpochVersion)
		req.ClusterID = n.clusterID()
		p := kmsg.NewEndQuorumEpochRequestTopicPartition()
		p.Partition, p.LeaderID, p.LeaderEpoch = metadataPartition, n.cfg.NodeID, n.epoch
		for _, c := range candidates {
			p.PreferredCandidates = append(p.PreferredCandidates, kmsg.EndQuorumEpochRequestTopicPartitionPreferredCandidate{CandidateID: c})
		}
		req.Topics = []kmsg.EndQuorumEpochRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.EndQuorumEpochRequestTopicPartition{p}}}
		n.tr.send(id, req, n.ms(n.cfg.RequestTimeoutMs), func(kmsg.Response, error) {})
	}
}
