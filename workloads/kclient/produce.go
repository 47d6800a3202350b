package kclient

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The partition producer's cycle: Produce buffers a record and kicks pump;
// pump finds the leader and sends every unsent batch, then forms new
// batches from the buffer while fewer than inFlightMax are unfinished.
// Each answer acknowledges its batch or starts a retry round: nothing more
// is sent until every outstanding answer is in (later batches of an
// idempotent producer would only be refused as out of order), then, after
// RetryBackoffMs, batches past their delivery deadline are given up and the
// rest are resent from the head, each with its original bytes.

func errorForCode(code int16) error { return kerr.ErrorForCode(code) }

// kick runs pump in a callback of its own, so that the records produced in
// one callback share a batch.
func (pp *partProducer) kick() {
	if pp.kickArmed || pp.closed {
		return
	}
	pp.kickArmed = true
	pp.p.cl.later(func() {
		pp.kickArmed = false
		pp.pump()
	})
}

func (pp *partProducer) pump() {
	if pp.closed || pp.retrying || pp.routing || pp.waitingPID {
		return
	}
	pp.expire(pp.p.cl.nowMs())
	if !pp.hasWork() {
		return
	}
	if pp.p.cl.cfg.Idempotent && pp.needPID {
		pp.reset() // adopts a producer id now or later, then kicks
		return
	}
	if pp.p.cl.cfg.Idempotent && pp.pid == records.NoProducerID {
		pp.p.needPID(pp)
		return
	}
	pp.routing = true
	pp.p.cl.meta.leaderFor(pp.topic, pp.index, func(addr string, err error) {
		pp.routing = false
		switch {
		case pp.closed:
		case pp.retrying:
			// An answer failed while we looked the leader up: the round
			// drains first, and resume pumps again.
		case err != nil:
			pp.failRound(err)
		default:
			pp.sendAll(addr)
		}
	})
}

// hasWork: a batch to resend, or buffered records and room for a batch.
func (pp *partProducer) hasWork() bool {
	for _, b := range pp.batches {
		if !b.inFlight {
			return true
		}
	}
	return len(pp.buffer) > 0 && len(pp.batches) < pp.inFlightMax
}

func (pp *partProducer) sendAll(addr string) {
	for _, b := range pp.batches {
		if !b.inFlight {
			pp.send(b, addr)
		}
	}
	for len(pp.buffer) > 0 && len(pp.batches) < pp.inFlightMax {
		if b := pp.form(); b != nil {
			pp.send(b, addr)
		}
	}
}

// form takes buffered records, up to BatchRecordsMax and BatchBytesMax,
// into a new batch with the next sequence numbers. A batch that cannot be
// built fails its records (nil).
func (pp *partProducer) form() *batch {
	n := pp.batchSize()
	b := &batch{recs: pp.buffer[:n:n]}
	pp.buffer = pp.buffer[n:]
	if pp.p.cl.cfg.Idempotent {
		b.baseSeq = pp.nextSeq
		pp.nextSeq = records.IncrementSequence(pp.nextSeq, int32(n))
	} else {
		b.baseSeq = records.NoSequence
	}
	if err := pp.build(b); err != nil {
		pp.finishRecords(b.recs, Failed, -1, err)
		return nil
	}
	pp.batches = append(pp.batches, b)
	return b
}

// batchSize counts the buffered records the next batch takes: at least
// one, then while both limits hold.
func (pp *partProducer) batchSize() int {
	cfg := &pp.p.cl.cfg
	n, bytes := 1, len(pp.buffer[0].key)+len(pp.buffer[0].value)
	for n < len(pp.buffer) && n < cfg.BatchRecordsMax {
		bytes += len(pp.buffer[n].key) + len(pp.buffer[n].value)
		if bytes > cfg.BatchBytesMax {
			break
		}
		n++
	}
	return n
}

// build encodes b under the partition's producer id and b's sequence.
func (pp *partProducer) build(b *batch) error {
	recs := make([]records.Record, len(b.recs))
	base := b.recs[0].timestampMs
	for i, r := range b.recs {
		recs[i] = records.Record{Key: r.key, Value: r.value, TimestampDelta: r.timestampMs - base}
	}
	data, err := records.Build(records.BuildOptions{
		Codec:                pp.p.cl.cfg.Codec,
		ProducerID:           pp.pid,
		ProducerEpoch:        pp.epoch,
		BaseSequence:         b.baseSeq,
		BaseTimestamp:        base,
		PartitionLeaderEpoch: records.NoPartitionLeaderEpoch,
	}, recs)
	if err != nil {
		return fmt.Errorf("building a batch for %s/%d: %w", pp.topic, pp.index, err)
	}
	b.data = data
	return nil
}

func (pp *partProducer) send(b *batch, addr string) {
	cfg := &pp.p.cl.cfg
	b.inFlight = true
	b.attempts++
	pp.outstanding++
	assert.That(pp.outstanding <= pp.inFlightMax, "kclient: partition in-flight bound broken")
	req := kmsg.NewPtrProduceRequest()
	req.Acks = cfg.Acks
	req.TimeoutMillis = int32(min(cfg.RequestTimeoutMs, 1<<31-1))
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = pp.topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = pp.index
	rp.Records = b.data
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	pp.p.cl.Request(Addr(addr), req, func(resp kmsg.Response, err error) {
		pp.answered(b, resp, err)
	})
}

// ---- answers ----

// answered takes in one attempt's outcome for b.
func (pp *partProducer) answered(b *batch, resp kmsg.Response, err error) {
	if !b.inFlight {
		return // finished by close
	}
	b.inFlight = false
	pp.outstanding--
	if pp.closed {
		return
	}
	if err != nil {
		b.maybeWritten = b.maybeWritten || MaybeDelivered(err)
		if !retriable(err) {
			pp.giveUp(b, err)
			return
		}
		pp.failRound(err)
		return
	}
	if resp == nil { // acks=0: sent, never answered
		pp.finishBatch(b, Ambiguous, -1, ErrNoAck)
		pp.kick()
		pp.maybeResume()
		return
	}
	base, perr := pp.partitionAnswer(resp.(*kmsg.ProduceResponse))
	pp.classify(b, base, perr)
	pp.maybeResume()
}

// partitionAnswer finds our partition's result in a produce answer.
func (pp *partProducer) partitionAnswer(resp *kmsg.ProduceResponse) (int64, error) {
	for _, t := range resp.Topics {
		if t.Topic != pp.topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition == pp.index {
				err := errorForCode(p.ErrorCode)
				if err != nil && p.ErrorMessage != nil {
					err = fmt.Errorf("%w: %s", err, *p.ErrorMessage)
				}
				return p.BaseOffset, err
			}
		}
	}
	return -1, fmt.Errorf("%w: produce answer lacks %s/%d", ErrBadResponse, pp.topic, pp.index)
}

// classify acts on the partition's error code for b.
func (pp *partProducer) classify(b *batch, base int64, err error) {
	switch {
	case err == nil:
		pp.finishBatch(b, Acked, base, nil)
		pp.kick()
	case errors.Is(err, kerr.DuplicateSequenceNumber):
		// Older brokers answer a retry of a written batch this way,
		// without its offset.
		pp.finishBatch(b, Acked, -1, nil)
		pp.kick()
	case errors.Is(err, ErrBadResponse):
		b.maybeWritten = true
		pp.failRound(err)
	case pp.p.cl.cfg.Idempotent && sequenceLost(err):
		pp.sequenceError(b, err)
	case retriable(err):
		b.maybeWritten = b.maybeWritten || writtenDespite(err)
		pp.failRound(err)
	default:
		pp.giveUp(b, err)
	}
}

// sequenceLost: the broker's sequence state for our producer id does not
// continue ours.
func sequenceLost(err error) bool {
	return errors.Is(err, kerr.OutOfOrderSequenceNumber) ||
		errors.Is(err, kerr.UnknownProducerID) ||
		errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.ProducerFenced)
}

// writtenDespite: Kafka answers these after the records were appended
// (to the leader's log, or to its page cache before a failed fsync).
// NOT_LEADER_OR_FOLLOWER too: a leader that appended and then lost its
// leadership while the acks=all answer waited says so (Kafka's
// DelayedProduce), and the next leader may well hold the batch (Jepsen's
// "ambiguous NOT_LEADER for a committed write", Redpanda 21.10.1).
func writtenDespite(err error) bool {
	return errors.Is(err, kerr.NotEnoughReplicasAfterAppend) ||
		errors.Is(err, kerr.RequestTimedOut) ||
		errors.Is(err, kerr.KafkaStorageError) ||
		errors.Is(err, kerr.NotLeaderForPartition)
}

// sequenceError handles OUT_OF_ORDER_SEQUENCE_NUMBER and its kin. For a
// batch behind the head it only echoes an earlier batch's failure (the
// broker appends strictly in sequence), so it is retried like any other.
// At the head, the batch before it was acknowledged and the broker no
// longer has it (a crash lost unsynced data): the broker holds none of our
// unfinished batches, since it appends in sequence, so all of them can be
// resent under a fresh producer id without a duplicate (a clean reset).
func (pp *partProducer) sequenceError(b *batch, err error) {
	if pp.batches[0] == b {
		pp.p.cl.log.Info("sequence state lost; resetting the producer id",
			"topic", pp.topic, "partition", pp.index, "pid", pp.pid, "seq", b.baseSeq, "err", err)
		pp.needPID = true
	}
	pp.failRound(err)
}

// giveUp ends b after a non-retriable error. With idempotence its sequence
// range is now a gap the broker would refuse to skip, so the partition
// takes a fresh producer id, and batches that may have been written under
// the old one cannot follow (a dirty reset).
func (pp *partProducer) giveUp(b *batch, err error) {
	outcome := Failed
	if b.maybeWritten {
		outcome = Ambiguous
	}
	pp.finishBatch(b, outcome, -1, err)
	if !pp.p.cl.cfg.Idempotent {
		pp.lastErr = err
		pp.kick()
		return
	}
	pp.needPID, pp.dirtyReset = true, true
	pp.failRound(err)
}

// failRound stops sending until the outstanding answers are in, then
// retries after RetryBackoffMs.
func (pp *partProducer) failRound(err error) {
	pp.retrying = true
	pp.lastErr = err
	if wantsMetadata(err) {
		pp.p.cl.meta.markStale()
	}
	pp.maybeResume()
}

// maybeResume arms the next round once a failed round has drained.
func (pp *partProducer) maybeResume() {
	if !pp.retrying || pp.outstanding > 0 || pp.backoff != nil || pp.closed {
		return
	}
	pp.backoff = pp.p.cl.after(pp.p.cl.cfg.RetryBackoffMs, pp.resume)
}

// resume starts the next round.
func (pp *partProducer) resume() {
	pp.backoff = nil
	if pp.closed {
		return
	}
	assert.That(pp.outstanding == 0, "kclient: retry round with answers outstanding")
	pp.retrying = false
	pp.pump() // expires, resets the producer id if needed, resends
}

// expire gives up batches and buffered records past their delivery
// deadline, from the head (deadlines follow Produce order). Expiring a
// batch leaves a sequence gap, which needs a dirty reset.
func (pp *partProducer) expire(nowMs int64) {
	for len(pp.batches) > 0 && !pp.batches[0].inFlight && pp.batches[0].recs[0].deadlineMs <= nowMs {
		b := pp.batches[0]
		outcome := Failed
		if b.maybeWritten {
			outcome = Ambiguous
		}
		pp.finishBatch(b, outcome, -1, deliveryTimeout(fmt.Sprintf("after %d attempts", b.attempts), pp.lastErr))
		if pp.p.cl.cfg.Idempotent {
			pp.needPID, pp.dirtyReset = true, true
		}
	}
	n := 0
	for n < len(pp.buffer) && pp.buffer[n].deadlineMs <= nowMs {
		n++
	}
	if n > 0 {
		expired := pp.buffer[:n]
		pp.buffer = pp.buffer[n:]
		pp.finishRecords(expired, Failed, -1, deliveryTimeout("never sent", pp.lastErr))
	}
}

// deliveryTimeout is ErrDeliveryTimeout with what happened and the last
// error seen (none if the records merely waited).
func deliveryTimeout(what string, last error) error {
	if last == nil {
		return fmt.Errorf("%w %s", ErrDeliveryTimeout, what)
	}
	return fmt.Errorf("%w %s: %w", ErrDeliveryTimeout, what, last)
}

// reset prepares the unfinished batches for a fresh producer id. After a
// dirty reset, a batch that may have been written under the old id is
// given up as Ambiguous: resending it under a new id could write it twice.
func (pp *partProducer) reset() {
	if pp.dirtyReset {
		kept := pp.batches[:0]
		for _, b := range pp.batches {
			if b.maybeWritten {
				pp.finishRecords(b.recs, Ambiguous, -1, ErrProducerReset)
				continue
			}
			kept = append(kept, b)
		}
		clear(pp.batches[len(kept):])
		pp.batches = kept
	}
	for _, b := range pp.batches {
		b.maybeWritten = false // nothing under the old id can be in the log
	}
	pp.dirtyReset = false
	pp.p.needPID(pp)
}

// adopt takes producer id pid for this partition: sequences restart at 0,
// and the unfinished batches are renumbered and rebuilt in order.
func (pp *partProducer) adopt(pid int64, epoch int16) {
	assert.That(pp.outstanding == 0, "kclient: producer id changed with batches in flight")
	pp.pid, pp.epoch, pp.nextSeq, pp.needPID = pid, epoch, 0, false
	kept := pp.batches[:0]
	for _, b := range pp.batches {
		b.baseSeq = pp.nextSeq
		pp.nextSeq = records.IncrementSequence(pp.nextSeq, int32(len(b.recs)))
		if err := pp.build(b); err != nil {
			pp.finishRecords(b.recs, Failed, -1, err)
			continue
		}
		kept = append(kept, b)
	}
	clear(pp.batches[len(kept):])
	pp.batches = kept
	pp.kick()
}

// ---- outcomes ----

// finishBatch removes b and reports its records.
func (pp *partProducer) finishBatch(b *batch, outcome Outcome, base int64, err error) {
	for i, x := range pp.batches {
		if x == b {
			pp.batches = append(pp.batches[:i], pp.batches[i+1:]...)
			break
		}
	}
	if outcome != Acked || base < 0 {
		pp.finishRecords(b.recs, outcome, base, err)
		return
	}
	// The broker stamps only the base offset and leader epoch into the
	// batch, outside the CRC's range: the CRC we built is the stored one.
	ref := BatchRef{BaseOffset: base, LastOffset: base + int64(len(b.recs)) - 1}
	if h, herr := records.ParseHeader(b.data); herr == nil {
		ref.CRC = h.CRC
	}
	for i, r := range b.recs {
		r.done(ProduceResult{Outcome: Acked, Topic: pp.topic, Partition: pp.index, Offset: base + int64(i), Batch: ref})
	}
}

func (pp *partProducer) finishRecords(recs []*pending, outcome Outcome, base int64, err error) {
	for i, r := range recs {
		res := ProduceResult{Outcome: outcome, Topic: pp.topic, Partition: pp.index, Offset: -1, Err: err}
		if outcome == Acked && base >= 0 {
			res.Offset = base + int64(i)
		}
		r.done(res)
	}
}

// close ends the partition: every unfinished record is reported.
func (pp *partProducer) close() {
	pp.closed = true
	if pp.backoff != nil {
		pp.backoff.Stop()
		pp.backoff = nil
	}
	batches, buffer := pp.batches, pp.buffer
	pp.batches, pp.buffer = nil, nil
	for _, b := range batches {
		if b.inFlight || b.maybeWritten {
			pp.finishRecords(b.recs, Ambiguous, -1, ErrClosed)
		} else {
			pp.finishRecords(b.recs, Failed, -1, ErrClosed)
		}
	}
	pp.finishRecords(buffer, Failed, -1, ErrClosed)
}
