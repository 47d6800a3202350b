package broker

// Produce: v3–13
//
// Behavior:
//   - acks 0, 1 and -1; anything else is INVALID_REQUIRED_ACKS. With one
//     replica, acks=-1 is acks=1. An acks=0 request gets no answer; if any
//     partition failed, the connection is closed so the producer notices,
//     as Kafka does.
//   - Each partition's records must be exactly one v2 batch, validated
//     whole (magic, CRC32C, lengths, record framing, offset deltas, codec)
//     before anything is appended: CORRUPT_MESSAGE for a bad CRC or
//     framing, INVALID_RECORD for bad records or a control batch sent by a
//     client, MESSAGE_TOO_LARGE past max.message.bytes,
//     UNSUPPORTED_COMPRESSION_TYPE for zstd below v7. Errors are per
//     partition; the other partitions of the request still append.
//   - Idempotent batches go through the partition's producer state: a
//     retry of one of the last five batches is answered with its original
//     offset and not appended; INVALID_PRODUCER_EPOCH and
//     OUT_OF_ORDER_SEQUENCE_NUMBER as Kafka.
//   - message.timestamp.type=LogAppendTime stamps the broker's time into
//     the batch; CreateTime checks message.timestamp.{before,after}.max.ms.
//   - acks=1 answers once this replica has the batch, acks=-1 once the
//     high watermark (every ISR member) passes it; with flush.messages=1
//     "has" means fsynced, while by default (Kafka's) fsync is not on the
//     ack path. acks=-1 with an ISR below min.insync.replicas is refused
//     before the append (NOT_ENOUGH_REPLICAS); if the ISR shrinks below it
//     while waiting, NOT_ENOUGH_REPLICAS_AFTER_APPEND. An answer still
//     waiting at the request's timeout is REQUEST_TIMED_OUT. A partition
//     led elsewhere is NOT_LEADER_OR_FOLLOWER.
//   - Transactional batches are rejected (INVALID_TXN_STATE) until the
//     transaction coordinator exists.
//
// Version notes:
//   - v5+: LogStartOffset. v8+: RecordErrors, ErrorMessage. v9+: flexible.
//     v13: topics by id (KIP-516), UNKNOWN_TOPIC_ID.

import (
	"errors"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(produceKey, 3, 13, (*Broker).serveProduce) }

// produceResult is one partition's outcome.
type produceResult struct {
	err           *kerr.Error
	msg           string
	baseOffset    int64
	logAppendTime int64
	p             *partition
	end           int64 // the offset after the appended batch
}

const produceKey = 0

func (b *Broker) serveProduce(r *request) {
	req := r.req.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var waits []*ackWait
	failed := false
	for ti, rt := range req.Topics {
		t, unknown := b.produceTopic(rt, req.Version)
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for pi, rp := range rt.Partitions {
			res := b.producePartition(req, t, unknown, rp)
			failed = failed || res.err != nil
			if w := b.ackWaitFor(req.Acks, res, ti, pi); w != nil {
				waits = append(waits, w)
			}
			st.Partitions = append(st.Partitions, produceResponsePartition(rp.Partition, res, t))
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Acks == 0 {
		if failed {
			r.conn.abort("acks=0 produce failed", nil, r.h)
		}
		r.noResponse()
		return
	}
	b.waitAcks(r, resp, waits, req.TimeoutMillis)
}

// ackWaitFor is the wait an appended partition needs before its answer:
// none when it is acknowledgeable already.
func (b *Broker) ackWaitFor(acks int16, res produceResult, ti, pi int) *ackWait {
	if res.err != nil || res.p == nil || acks == 0 {
		return nil
	}
	w := &ackWait{topic: ti, part: pi, end: res.end, acksHW: acks == -1, p: res.p}
	if (w.acksHW && b.acksAllDone(res.p, w.end) && len(res.p.isr) >= b.minISR(res.p)) || (!w.acksHW && res.p.ackEnd() >= w.end) {
		return nil
	}
	return w
}

// produceTopic finds a request topic by name (v0–12) or id (v13).
func (b *Broker) produceTopic(rt kmsg.ProduceRequestTopic, version int16) (*topic, *kerr.Error) {
	return b.requestTopic(rt.Topic, rt.TopicID, version >= 13)
}

// requestTopic finds a topic a request names, by id from the version
// that switched to ids (KIP-516), with the error each way gets.
func (b *Broker) requestTopic(name string, id [16]byte, byID bool) (*topic, *kerr.Error) {
	if byID {
		if t := b.topicIDs[id]; t != nil {
			return t, nil
		}
		return nil, kerr.UnknownTopicID
	}
	if t := b.topics[name]; t != nil {
		return t, nil
	}
	return nil, kerr.UnknownTopicOrPartition
}

func (b *Broker) producePartition(req *kmsg.ProduceRequest, t *topic, unknown *kerr.Error, rp kmsg.ProduceRequestTopicPartition) produceResult {
	switch {
	case unknown != nil:
		return produceResult{err: unknown}
	case rp.Partition < 0 || int(rp.Partition) >= len(t.partitions):
		return produceResult{err: kerr.UnknownTopicOrPartition}
	case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
		return produceResult{err: kerr.InvalidRequiredAcks}
	case req.TransactionID != nil:
		return produceResult{err: kerr.InvalidTxnState, msg: "transactions are not supported yet"}
	}
	p := t.local(rp.Partition)
	switch {
	case p == nil || p.leader != b.cfg.NodeID:
		return produceResult{err: kerr.NotLeaderForPartition}
	case req.Acks == -1 && len(p.isr) < b.minISR(p):
		// Refused before the append, so the producer may retry safely.
		return produceResult{err: kerr.NotEnoughReplicas, msg: "the ISR is smaller than min.insync.replicas"}
	}
	return b.appendBatch(p, rp.Records, req.Version)
}

// appendBatch validates one client batch and appends it.
func (b *Broker) appendBatch(p *partition, data []byte, version int16) produceResult {
	s := p.t.settings
	if len(data) > int(s.maxMessageBytes) {
		return produceResult{err: kerr.MessageTooLarge, msg: "batch is larger than max.message.bytes"}
	}
	if h, err := records.ParseHeader(data); err == nil && h.Size() < len(data) {
		return produceResult{err: kerr.InvalidRecord, msg: "produce requests must hold exactly one record batch per partition"}
	}
	h, err := records.Validate(data, records.ValidateOptions{RejectControl: true, DecompressedBytesMax: b.cfg.DecompressedBatchBytesMax})
	if err != nil {
		return produceResult{err: batchError(err), msg: err.Error()}
	}
	if res, bad := b.checkBatch(p, h, version); bad {
		return res
	}
	nowMs := b.nowMs()
	logAppendTime := int64(-1)
	if s.logAppendTime {
		records.SetMaxTimestamp(data, h, nowMs, true)
		h.MaxTimestamp, logAppendTime = nowMs, nowMs
	}
	var dup *batchMeta
	if h.ProducerID >= 0 {
		var perr *kerr.Error
		dup, perr = p.producers.check(h)
		if perr != nil {
			return produceResult{err: perr}
		}
		if dup != nil && b.dedups() {
			// The original may not be committed yet (its first attempt
			// timed out before the ISR had it): the retry's answer waits
			// for it as the original's would have, as Kafka's delayed
			// produce does, or an acks=all retry would be acknowledged
			// with the batch on this leader alone.
			return produceResult{baseOffset: dup.firstOffset, logAppendTime: logAppendTime, p: p, end: dup.lastOffset + 1}
		}
	}
	base, err := p.log.Append(data, p.leaderEpoch, nowMs)
	if err != nil {
		b.log.Error("append failed", "topic", p.t.name, "partition", p.index, "err", err)
		return produceResult{err: storageError(err), msg: err.Error()}
	}
	h.BaseOffset = base
	if h.ProducerID >= 0 && dup == nil {
		p.producers.update(h, base)
	}
	b.waiters.wake(p) // followers long-polling for new data
	b.maybeAdvanceHW(p)
	return produceResult{baseOffset: base, logAppendTime: logAppendTime, p: p, end: p.log.EndOffset()}
}

// checkBatch applies the checks that depend on the request and topic, not
// the batch's bytes.
func (b *Broker) checkBatch(p *partition, h records.Header, version int16) (produceResult, bool) {
	s := p.t.settings
	switch {
	case h.Codec() == records.CodecZstd && version < 7:
		return produceResult{err: kerr.UnsupportedCompressionType, msg: "zstd needs produce v7+"}, true
	case h.IsTransactional():
		return produceResult{err: kerr.InvalidTxnState, msg: "transactions are not supported yet"}, true
	case h.ProducerID >= 0 && h.BaseSequence < 0:
		return produceResult{err: kerr.InvalidRecord, msg: "idempotent batch without a sequence number"}, true
	}
	if !s.logAppendTime {
		now := b.nowMs()
		if h.BaseTimestamp < now-s.timestampBeforeMaxMs || h.MaxTimestamp > now+s.timestampAfterMaxMs {
			return produceResult{err: kerr.InvalidTimestamp, msg: "timestamp outside message.timestamp.before/after.max.ms"}, true
		}
	}
	return produceResult{}, false
}

// advanceHW moves a partition's high watermark and wakes fetches waiting
// for data.
func (b *Broker) advanceHW(p *partition, hw int64) {
	if hw <= p.hw {
		return
	}
	p.hw = hw
	p.log.SetHighWatermark(hw)
	b.waiters.wake(p)
}

func produceResponsePartition(index int32, res produceResult, t *topic) kmsg.ProduceResponseTopicPartition {
	sp := kmsg.NewProduceResponseTopicPartition()
	sp.Partition = index
	sp.LogAppendTime = -1
	sp.BaseOffset = -1
	if res.err != nil {
		sp.ErrorCode = res.err.Code
		if res.msg != "" {
			sp.ErrorMessage = &res.msg
		}
		return sp
	}
	sp.BaseOffset = res.baseOffset
	sp.LogAppendTime = res.logAppendTime
	if p := t.local(index); p != nil {
		sp.LogStartOffset = p.log.StartOffset()
	}
	return sp
}

// batchError maps a validation failure to Kafka's error code.
func batchError(err error) *kerr.Error {
	switch {
	case errors.Is(err, records.ErrBadCRC), errors.Is(err, records.ErrShort), errors.Is(err, records.ErrBadLength):
		return kerr.CorruptMessage
	case errors.Is(err, records.ErrBadCodec):
		return kerr.UnsupportedCompressionType
	case errors.Is(err, records.ErrTooLarge):
		return kerr.MessageTooLarge
	}
	return kerr.InvalidRecord
}

// storageError maps a disk failure (env.ErrNoSpace, env.ErrIO, …) to
// KAFKA_STORAGE_ERROR, which clients retry; nothing was acknowledged.
func storageError(error) *kerr.Error { return kerr.KafkaStorageError }
