package quorum

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// HandleRequest serves one decoded request of the quorum's keys: Fetch
// for the metadata partition (by topic id, v13+), Vote, BeginQuorumEpoch,
// EndQuorumEpoch, DescribeQuorum and FetchSnapshot, at the versions in
// served (the request's key and version say which). It reports false,
// and does nothing, for anything else (another key, an unserved version,
// a Fetch of other partitions), so a broker sharing one listener with the
// quorum can offer every request here first and frame the answer itself.
// Otherwise respond is called exactly once, now or later (a parked fetch,
// an answer waiting for the quorum state fsync), unless the node stops
// first. The response's version is the request's.
func (n *Node) HandleRequest(req kmsg.Request, respond func(kmsg.Response)) bool {
	if !supported(req.Key(), req.GetVersion()) {
		return false
	}
	if f, ok := req.(*kmsg.FetchRequest); ok && !isMetadataFetch(f) {
		return false
	}
	if !n.running || n.role == nil {
		respond(unavailable(req))
		return true
	}
	switch r := req.(type) {
	case *kmsg.FetchRequest:
		n.handleFetch(r, respond)
	case *kmsg.VoteRequest:
		n.handleVote(r, respond)
	case *kmsg.BeginQuorumEpochRequest:
		n.handleBeginQuorumEpoch(r, respond)
	case *kmsg.EndQuorumEpochRequest:
		n.handleEndQuorumEpoch(r, respond)
	case *kmsg.DescribeQuorumRequest:
		n.handleDescribeQuorum(r, respond)
	case *kmsg.FetchSnapshotRequest:
		n.handleFetchSnapshot(r, respond)
	default:
		return false
	}
	return true
}

// unavailable answers any served request of a node that is not running
// (booting, restarting after a log failure) with a top-level error.
func unavailable(req kmsg.Request) kmsg.Response {
	resp := req.ResponseKind()
	code := kerr.BrokerNotAvailable.Code
	switch r := resp.(type) {
	case *kmsg.FetchResponse:
		r.ErrorCode = code
	case *kmsg.VoteResponse:
		r.ErrorCode = code
	case *kmsg.BeginQuorumEpochResponse:
		r.ErrorCode = code
	case *kmsg.EndQuorumEpochResponse:
		r.ErrorCode = code
	case *kmsg.DescribeQuorumResponse:
		r.ErrorCode = code
	case *kmsg.FetchSnapshotResponse:
		r.ErrorCode = code
	}
	return resp
}

// handleFetchSnapshot serves a chunk of a snapshot file (KIP-630) to a
// follower of this leader.
func (n *Node) handleFetchSnapshot(req *kmsg.FetchSnapshotRequest, respond func(kmsg.Response)) {
	resp := req.ResponseKind().(*kmsg.FetchSnapshotResponse)
	single := len(req.Topics) == 1 && len(req.Topics[0].Partitions) == 1 && isMetadataPartition(req.Topics[0].Topic, req.Topics[0].Partitions[0].Partition)
	if n.rejected(req.ClusterID, single, &resp.ErrorCode) {
		respond(resp)
		return
	}
	p := req.Topics[0].Partitions[0]
	rp := kmsg.NewFetchSnapshotResponseTopicPartition()
	rp.Partition = metadataPartition
	rp.SnapshotID.EndOffset, rp.SnapshotID.Epoch = p.SnapshotID.EndOffset, p.SnapshotID.Epoch
	rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = n.knownLeader(), n.epoch
	rp.Position = p.Position
	if code := n.leaderEpochCheck(p.CurrentLeaderEpoch); code != 0 {
		rp.ErrorCode = code
	} else {
		rp.ErrorCode = n.snapshotChunk(req, p, &rp)
	}
	resp.Topics = []kmsg.FetchSnapshotResponseTopic{{Topic: metadataTopic, Partitions: []kmsg.FetchSnapshotResponseTopicPartition{rp}}}
	respond(resp)
}

func (n *Node) snapshotChunk(req *kmsg.FetchSnapshotRequest, p kmsg.FetchSnapshotRequestTopicPartition, rp *kmsg.FetchSnapshotResponseTopicPartition) int16 {
	if i := n.voterIndex(req.ReplicaID); i >= 0 && req.ReplicaID != n.cfg.NodeID {
		n.role.(*leader).heard(i) // a download keeps the leader's quorum, as fetches do
	}
	id := snapshotID{End: p.SnapshotID.EndOffset, Epoch: p.SnapshotID.Epoch}
	maxBytes := min(req.MaxBytes, n.cfg.SnapshotChunkBytes)
	chunk, size, found, err := n.snaps.readChunk(id, p.Position, int(max(maxBytes, 1)))
	switch {
	case !found:
		return kerr.SnapshotNotFound.Code
	case err != nil && (p.Position < 0 || p.Position > size):
		return kerr.PositionOutOfRange.Code
	case err != nil:
		n.log.Warn("reading a snapshot chunk failed", "err", err)
		return kerr.KafkaStorageError.Code
	}
	rp.Size, rp.Bytes = size, chunk
	return 0
}

// handleDescribeQuorum answers on the leader with every voter's
// replication state (kafka-metadata-quorum describe); others answer
// NOT_LEADER_OR_FOLLOWER with the leader they know.
func (n *Node) handleDescribeQuorum(req *kmsg.DescribeQuorumRequest, respond func(kmsg.Response)) {
	resp := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
	if len(req.Topics) != 1 || len(req.Topics[0].Partitions) != 1 || !isMetadataPartition(req.Topics[0].Topic, req.Topics[0].Partitions[0].Partition) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		respond(resp)
		return
	}
	p := kmsg.NewDescribeQuorumResponseTopicPartition()
	p.Partition = metadataPartition
	p.LeaderID, p.LeaderEpoch, p.HighWatermark = n.knownLeader(), n.epoch, n.hw
	r, leading := n.role.(*leader)
	if !leading {
		p.ErrorCode = notLeaderCode
	} else {
		wallMs := n.clock.Now().UnixMilli()
		for _, v := range r.voterStatus() {
			s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
			s.ReplicaID, s.LogEndOffset = v.ID, v.EndOffset
			if v.LastFetchAgoMs >= 0 && v.ID != n.cfg.NodeID {
				s.LastFetchTimestamp = wallMs - v.LastFetchAgoMs
				if v.EndOffset >= n.hw {
					s.LastCaughtUpTimestamp = s.LastFetchTimestamp
				}
			}
			p.CurrentVoters = append(p.CurrentVoters, s)
		}
	}
	resp.Topics = []kmsg.DescribeQuorumResponseTopic{{Topic: metadataTopic, Partitions: []kmsg.DescribeQuorumResponseTopicPartition{p}}}
	respond(resp)
}
