package broker

import (
	"math"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Idempotent producer state, per partition, as Kafka's ProducerStateManager
// keeps it (broker-anchors §4, I1–I4):
//   - a batch with an older epoch than the producer's is fenced
//     (INVALID_PRODUCER_EPOCH);
//   - a new epoch starts at sequence 0, and within an epoch each batch must
//     follow the last one (OUT_OF_ORDER_SEQUENCE_NUMBER otherwise);
//   - a retry of one of the last five batches is a duplicate: answered with
//     the original offset and not appended again;
//   - a producer the partition knows nothing of (new, or its state expired
//     or was deleted with the log) is accepted at any sequence.

// dedupBatchesMax is Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN; it is
// also why clients keep at most five requests in flight.
const dedupBatchesMax = 5

const noProducerEpoch = -1

type batchMeta struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	timestampMs             int64
}

type producerEntry struct {
	id      int64
	epoch   int16
	batches []batchMeta // the last dedupBatchesMax batches, oldest first
	// lastTimestampMs is the max timestamp of the newest batch; expiry
	// (producer.id.expiration.ms) is measured from it, as in Kafka.
	lastTimestampMs int64
}

type producerTable struct {
	max  int
	byID map[int64]*producerEntry
}

func newProducerTable(max int) *producerTable {
	return &producerTable{max: max, byID: map[int64]*producerEntry{}}
}

// check decides what to do with an idempotent batch: a duplicate returns
// the original batch; an error is the Kafka error to answer with.
func (pt *producerTable) check(h records.Header) (*batchMeta, *kerr.Error) {
	e := pt.byID[h.ProducerID]
	if e == nil {
		return nil, nil
	}
	if h.ProducerEpoch < e.epoch {
		return nil, kerr.InvalidProducerEpoch
	}
	if h.ProducerEpoch == e.epoch {
		for i := range e.batches {
			b := &e.batches[i]
			if b.firstSeq == h.BaseSequence && b.lastSeq == h.LastSequence() {
				return b, nil
			}
		}
	}
	return nil, checkSequence(e, h)
}

func checkSequence(e *producerEntry, h records.Header) *kerr.Error {
	if h.ProducerEpoch != e.epoch {
		if h.BaseSequence != 0 && e.epoch != noProducerEpoch {
			return kerr.OutOfOrderSequenceNumber
		}
		return nil
	}
	if len(e.batches) == 0 {
		if h.BaseSequence != 0 {
			return kerr.OutOfOrderSequenceNumber
		}
		return nil
	}
	last := e.batches[len(e.batches)-1].lastSeq
	if !inSequence(last, h.BaseSequence) {
		return kerr.OutOfOrderSequenceNumber
	}
	return nil
}

// inSequence: next follows last, wrapping at MaxInt32 as Kafka does.
func inSequence(last, next int32) bool {
	return next == last+1 || (next == 0 && last == math.MaxInt32)
}

// update records an appended batch.
func (pt *producerTable) update(h records.Header, baseOffset int64) {
	e := pt.byID[h.ProducerID]
	if e == nil {
		pt.makeRoom()
		e = &producerEntry{id: h.ProducerID, epoch: noProducerEpoch}
		pt.byID[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.batches = e.batches[:0]
	}
	if len(e.batches) == dedupBatchesMax {
		e.batches = append(e.batches[:0], e.batches[1:]...)
	}
	e.batches = append(e.batches, batchMeta{
		firstSeq:    h.BaseSequence,
		lastSeq:     h.LastSequence(),
		firstOffset: baseOffset,
		lastOffset:  baseOffset + int64(h.LastOffsetDelta),
		timestampMs: h.MaxTimestamp,
	})
	e.lastTimestampMs = h.MaxTimestamp
}

// makeRoom forgets the longest-idle producer when the table is full, so
// the table stays bounded; a forgotten producer is treated as new.
func (pt *producerTable) makeRoom() {
	if len(pt.byID) < pt.max {
		return
	}
	var victim *producerEntry
	for _, e := range pt.byID { //gregor:unordered-ok the minimum by (time, id) is unique
		if victim == nil || e.lastTimestampMs < victim.lastTimestampMs ||
			e.lastTimestampMs == victim.lastTimestampMs && e.id < victim.id {
			victim = e
		}
	}
	delete(pt.byID, victim.id)
}

// expire forgets producers idle past expirationMs
// (producer.id.expiration.ms).
func (pt *producerTable) expire(nowMs, expirationMs int64) {
	for id, e := range pt.byID { //gregor:unordered-ok deleting each match; order cannot matter
		if nowMs-e.lastTimestampMs > expirationMs {
			delete(pt.byID, id)
		}
	}
}

// forgetBelow drops batches the log no longer holds (retention,
// DeleteRecords): a producer with none left is forgotten, as in Kafka
// (KIP-360), which is why such a producer may continue at any sequence.
func (pt *producerTable) forgetBelow(logStart int64) {
	for id, e := range pt.byID { //gregor:unordered-ok per-entry pruning; order cannot matter
		if len(e.batches) > 0 && e.batches[len(e.batches)-1].lastOffset < logStart {
			delete(pt.byID, id)
		}
	}
}

// rebuild replays the log's idempotent batches after a restart.
func (pt *producerTable) rebuild(l *storage.Log) error {
	return l.Batches(l.StartOffset(), func(h records.Header, _ []byte) bool {
		if h.ProducerID >= 0 && !h.IsControl() {
			pt.update(h, h.BaseOffset)
		}
		return true
	})
}
