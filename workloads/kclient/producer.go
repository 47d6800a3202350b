package kclient

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Outcome is what became of a produced record, in the three classes a
// history checker needs.
type Outcome uint8

const (
	// Acked: the broker acknowledged the record at Offset.
	Acked Outcome = iota + 1
	// Failed: the record was definitely not written (it was never sent, or
	// every attempt was answered with an error that means "not appended").
	Failed
	// Ambiguous: the record may or may not have been written (an attempt
	// timed out, lost its connection, or was answered with an error that
	// Kafka sends after appending), and the client gave up. A checker
	// treats it as "info": maybe written, never guessed.
	Ambiguous
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Failed:
		return "failed"
	case Ambiguous:
		return "ambiguous"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// ProduceResult is one record's outcome.
type ProduceResult struct {
	Outcome   Outcome
	Topic     string
	Partition int32
	// Offset is the record's offset when Acked; -1 when the broker did not
	// say (a DUPLICATE_SEQUENCE_NUMBER answer) and for other outcomes.
	Offset int64
	// Err says why for Failed and Ambiguous.
	Err error
	// Batch is the batch an Acked record was written in, when the broker
	// gave its offset (zero otherwise): checkers compare it with the
	// replicas' logs.
	Batch BatchRef
}

// BatchRef identifies a written batch: its offsets and its CRC32C as the
// broker stores it.
type BatchRef struct {
	BaseOffset, LastOffset int64
	CRC                    uint32
}

// ErrNoAck: with acks 0 the broker never answers, so a sent record's fate
// is unknown (Ambiguous).
var ErrNoAck = errors.New("kclient: acks=0: no acknowledgement")

// ErrProducerReset: the producer had to take a fresh producer id for the
// partition (after a record it may have written expired or failed), and a
// record that may have been written under the old id cannot be resent
// under the new one without risking a duplicate.
var ErrProducerReset = errors.New("kclient: producer id reset")

// pending is a record waiting for its outcome.
type pending struct {
	key, value  []byte
	timestampMs int64 // wall clock at Produce: the record's CreateTime
	deadlineMs  int64 // monotonic: Produce time + DeliveryTimeoutMs
	done        func(ProduceResult)
}

// batch is a run of one partition's records with a fixed sequence range:
// every attempt sends the same bytes, so the broker can recognise a retry
// as a duplicate.
type batch struct {
	recs         []*pending
	baseSeq      int32
	data         []byte
	inFlight     bool
	maybeWritten bool // some attempt's outcome is unknown
	attempts     int
}

type partKey struct {
	topic     string
	partition int32
}

func comparePartKeys(a, b partKey) int {
	return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
}

// producer holds the per-partition state and the producer id.
type producer struct {
	cl *Client
	// parts is looked up by key; iterated only sorted (close).
	parts map[partKey]*partProducer
	// pid and epoch are the newest producer id handed out to us; each
	// partition records which one its sequences belong to.
	pid        int64
	epoch      int16
	requesting bool
	pidWaiters []*partProducer
	pidsTaken  int // producer ids received, for tests and logs
}

func newProducer(cl *Client) *producer {
	return &producer{cl: cl, parts: map[partKey]*partProducer{}, pid: records.NoProducerID, epoch: records.NoProducerEpoch}
}

// Produce appends a record to a partition's buffer; done gets its outcome
// exactly once, never before Produce returns. Records to one partition are
// written in the order Produce was called (with Idempotent, even across
// retries; without it, one batch per partition is in flight at a time for
// the same reason). Produce fails at once (Failed, ErrQueueFull) when the
// partition's buffer or the partition table is full.
func (cl *Client) Produce(topic string, partition int32, key, value []byte, done func(ProduceResult)) {
	fail := func(err error) {
		cl.later(func() { done(ProduceResult{Outcome: Failed, Topic: topic, Partition: partition, Offset: -1, Err: err}) })
	}
	if cl.closed {
		fail(ErrClosed)
		return
	}
	pp, err := cl.prod.partition(topic, partition)
	if err != nil {
		fail(err)
		return
	}
	if len(pp.buffer) >= cl.cfg.BufferedRecordsPerPartitionMax {
		fail(fmt.Errorf("%w: %d records buffered for %s/%d", ErrQueueFull, len(pp.buffer), topic, partition))
		return
	}
	pp.buffer = append(pp.buffer, &pending{
		key: key, value: value, done: done,
		timestampMs: cl.e.Clock().Now().UnixMilli(),
		deadlineMs:  cl.nowMs() + cl.cfg.DeliveryTimeoutMs,
	})
	pp.kick()
}

// Unfinished counts records whose outcome has not been reported yet.
func (cl *Client) Unfinished() int {
	n := 0
	for _, pp := range cl.prod.parts { //gregor:unordered-ok a sum does not depend on order
		n += len(pp.buffer)
		for _, b := range pp.batches {
			n += len(b.recs)
		}
	}
	return n
}

func (p *producer) partition(topic string, partition int32) (*partProducer, error) {
	k := partKey{topic, partition}
	if pp := p.parts[k]; pp != nil {
		return pp, nil
	}
	if len(p.parts) >= p.cl.cfg.PartitionsMax {
		return nil, fmt.Errorf("%w: %d partitions produced to", ErrQueueFull, len(p.parts))
	}
	pp := &partProducer{p: p, topic: topic, index: partition, pid: records.NoProducerID, epoch: records.NoProducerEpoch}
	pp.inFlightMax = 1
	if p.cl.cfg.Idempotent {
		pp.inFlightMax = min(p.cl.cfg.InFlightPerConnMax, idempotentInFlightMax)
	}
	p.parts[k] = pp
	return pp, nil
}

// close reports every unfinished record: Ambiguous if it may have been
// written, Failed otherwise.
func (p *producer) close() {
	for _, k := range slices.SortedFunc(maps.Keys(p.parts), comparePartKeys) {
		p.parts[k].close()
	}
	p.pidWaiters = nil
}

// ---- producer ids ----

// needPID gives pp a producer id it has not used yet: the newest one if
// pp's sequences belong to an older one, else a fresh one from the broker.
func (p *producer) needPID(pp *partProducer) {
	if p.pid != records.NoProducerID && p.pid != pp.pid {
		pp.adopt(p.pid, p.epoch)
		return
	}
	if !pp.waitingPID {
		pp.waitingPID = true
		p.pidWaiters = append(p.pidWaiters, pp)
	}
	if p.requesting {
		return
	}
	p.requesting = true
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionTimeoutMillis = -1
	req.ProducerID, req.ProducerEpoch = -1, -1
	p.cl.Request(AnyBroker, req, func(resp kmsg.Response, err error) {
		p.requesting = false
		if err == nil {
			r := resp.(*kmsg.InitProducerIDResponse)
			err = errorForCode(r.ErrorCode)
			if err == nil {
				p.pid, p.epoch = r.ProducerID, r.ProducerEpoch
				p.pidsTaken++
				p.cl.log.Debug("producer id", "id", r.ProducerID, "epoch", r.ProducerEpoch)
			}
		} else {
			p.cl.rotateAny()
		}
		p.pidAnswered(err)
	})
}

func (p *producer) pidAnswered(err error) {
	waiters := p.pidWaiters
	p.pidWaiters = nil
	for _, pp := range waiters {
		pp.waitingPID = false
		if pp.closed {
			continue
		}
		if err != nil {
			pp.failRound(fmt.Errorf("InitProducerId: %w", err))
			continue
		}
		pp.adopt(p.pid, p.epoch)
	}
}

// partProducer is one partition's producer state.
type partProducer struct {
	p     *producer
	topic string
	index int32

	pid     int64
	epoch   int16
	nextSeq int32
	// needPID: the broker's sequence state for (pid, partition) no longer
	// matches ours; resend only under a fresh producer id.
	needPID bool
	// dirtyReset: batches that may have been written under the old id
	// cannot be resent under the new one (see reset).
	dirtyReset bool
	waitingPID bool

	buffer      []*pending // not yet in a batch
	batches     []*batch   // formed, unfinished, in sequence order
	inFlightMax int
	outstanding int // batches with a request in flight

	retrying  bool // a failure: drain, back off, resend from the head
	lastErr   error
	routing   bool // waiting for the leader's address
	kickArmed bool
	backoff   env.Timer
	closed    bool
}
