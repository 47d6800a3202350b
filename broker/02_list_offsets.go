package broker

// ListOffsets: v1–11
//
// Behavior:
//   - Timestamp -2: the log start offset (earliest); -1: the high
//     watermark (latest; the LSO under read_committed, equal without
//     transactions); -3: the record with the largest timestamp (KIP-734);
//     -4: earliest local (KIP-1005, the log start without tiered storage);
//     -5: earliest pending upload (KIP-1023): -1 without tiered storage.
//   - A timestamp ≥ 0 finds the first batch holding a record at or after
//     it, below the high watermark; none gives offset -1, timestamp -1.
//   - CurrentLeaderEpoch is checked (FENCED/UNKNOWN_LEADER_EPOCH) and the
//     answer carries the leader epoch of the returned offset.
//   - A new leader whose high watermark is still below the start of its
//     epoch answers OFFSET_NOT_AVAILABLE (retriable), as Kafka does.
//
// Version notes:
//   - v1+: one offset per partition. v2+: isolation level. v4+: leader
//     epochs. v6+: flexible. v7+: -3. v8+: -4. v9+: -5. v10+: timeout.

import (
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(2, 1, 11, (*Broker).serveListOffsets) }

const (
	listEarliest            = -2
	listLatest              = -1
	listMaxTimestamp        = -3
	listEarliestLocal       = -4
	listEarliestPendingUpld = -5
)

func (b *Broker) serveListOffsets(r *request) {
	req := r.req.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t := b.topics[rt.Topic]
		for _, rp := range rt.Partitions {
			st.Partitions = append(st.Partitions, b.listOffset(t, rp))
		}
		resp.Topics = append(resp.Topics, st)
	}
	r.respond(resp)
}

func (b *Broker) listOffset(t *topic, rp kmsg.ListOffsetsRequestTopicPartition) kmsg.ListOffsetsResponseTopicPartition {
	sp := kmsg.NewListOffsetsResponseTopicPartition()
	sp.Partition = rp.Partition
	sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
	if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
		sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return sp
	}
	p, e := b.leaderPartition(t, nil, rp.Partition, rp.CurrentLeaderEpoch)
	if e != nil {
		sp.ErrorCode = e.Code
		return sp
	}
	if p.hw < p.epochStart() {
		// A new leader whose high watermark has not yet reached the start
		// of its epoch would answer with a stale end: Kafka's
		// OFFSET_NOT_AVAILABLE (retriable) until it catches up.
		sp.ErrorCode = kerr.OffsetNotAvailable.Code
		return sp
	}
	offset, ts := b.offsetFor(p, rp.Timestamp)
	sp.Offset, sp.Timestamp = offset, ts
	if offset >= 0 {
		sp.LeaderEpoch = epochAt(p.log.Epochs(), offset)
	}
	return sp
}

// offsetFor resolves a ListOffsets timestamp to (offset, timestamp).
func (b *Broker) offsetFor(p *partition, ts int64) (int64, int64) {
	switch ts {
	case listEarliest, listEarliestLocal:
		return p.log.StartOffset(), -1
	case listLatest:
		return p.hw, -1
	case listEarliestPendingUpld:
		return -1, -1
	case listMaxTimestamp:
		mts, off := p.log.MaxTimestamp()
		if off < 0 || off >= p.hw {
			return -1, -1
		}
		return off, mts
	}
	if ts < 0 {
		return -1, -1
	}
	off, found, ok, err := p.log.OffsetForTimestamp(ts)
	if err != nil {
		b.log.Error("offset for timestamp", "topic", p.t.name, "partition", p.index, "err", err)
		return -1, -1
	}
	if !ok || off >= p.hw {
		return -1, -1
	}
	return off, found
}

// epochAt is the leader epoch that wrote offset: the last epoch starting
// at or before it (-1 before the first).
func epochAt(entries []storage.EpochEntry, offset int64) int32 {
	epoch := int32(-1)
	for _, e := range entries {
		if e.StartOffset > offset {
			break
		}
		epoch = e.Epoch
	}
	return epoch
}
