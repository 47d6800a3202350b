package broker

// DeleteRecords: v0–2
//
// Behavior:
//   - Moves each partition's log start offset up to the given offset (-1:
//     the high watermark); past the high watermark is OFFSET_OUT_OF_RANGE.
//     Segments wholly below it are deleted, and producers whose batches are
//     all gone are forgotten (KIP-360). The answer carries the new low
//     watermark.
//
// Version notes:
//   - v2+: flexible.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(21, 0, 2, (*Broker).serveDeleteRecords) }

func (b *Broker) serveDeleteRecords(r *request) {
	req := r.req.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		t := b.topics[rt.Topic]
		for _, rp := range rt.Partitions {
			st.Partitions = append(st.Partitions, b.deleteRecords(t, rp))
		}
		resp.Topics = append(resp.Topics, st)
	}
	r.respond(resp)
}

func (b *Broker) deleteRecords(t *topic, rp kmsg.DeleteRecordsRequestTopicPartition) kmsg.DeleteRecordsResponseTopicPartition {
	sp := kmsg.NewDeleteRecordsResponseTopicPartition()
	sp.Partition = rp.Partition
	sp.LowWatermark = -1
	if t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
		sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return sp
	}
	p, e := b.leaderPartition(t, nil, rp.Partition, -1)
	if e != nil {
		sp.ErrorCode = e.Code
		return sp
	}
	offset := rp.Offset
	if offset == -1 {
		offset = p.hw
	}
	if offset < 0 || offset > p.hw {
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
		return sp
	}
	if offset > p.log.StartOffset() {
		if err := p.log.DeleteRecordsBefore(offset); err != nil {
			b.log.Error("delete records", "topic", t.name, "partition", p.index, "err", err)
			sp.ErrorCode = kerr.KafkaStorageError.Code
			return sp
		}
		p.producers.forgetBelow(p.log.StartOffset())
	}
	sp.LowWatermark = p.log.StartOffset()
	return sp
}
