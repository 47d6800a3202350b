package broker

// OffsetForLeaderEpoch: v2–4
//
// Behavior:
//   - For each partition, the end offset of the requested leader epoch:
//     the largest epoch ≤ the one asked for and the start offset of the
//     epoch after it (or the log end), from the log's leader epoch cache
//     (KIP-101, KIP-279). Consumers use it to detect truncation (KIP-320).
//   - CurrentLeaderEpoch is checked (FENCED/UNKNOWN_LEADER_EPOCH).
//   - Follower requests (replica id ≥ 0) come with replication.
//
// Version notes:
//   - v2+: CurrentLeaderEpoch. v3+: ReplicaID. v4+: flexible.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(23, 2, 4, (*Broker).serveOffsetForLeaderEpoch) }

func (b *Broker) serveOffsetForLeaderEpoch(r *request) {
	req := r.req.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		t := b.topics[rt.Topic]
		for _, rp := range rt.Partitions {
			st.Partitions = append(st.Partitions, b.epochEnd(t, rp))
		}
		resp.Topics = append(resp.Topics, st)
	}
	r.respond(resp)
}

func (b *Broker) epochEnd(t *topic, rp kmsg.OffsetForLeaderEpochRequestTopicPartition) kmsg.OffsetForLeaderEpochResponseTopicPartition {
	sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
	sp.Partition = rp.Partition
	sp.LeaderEpoch, sp.EndOffset = -1, -1
	if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
		sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return sp
	}
	p, e := b.leaderPartition(t, nil, rp.Partition, rp.CurrentLeaderEpoch)
	if e != nil {
		sp.ErrorCode = e.Code
		return sp
	}
	sp.LeaderEpoch, sp.EndOffset = b.endOffsetForEpoch(p, rp.LeaderEpoch)
	return sp
}
