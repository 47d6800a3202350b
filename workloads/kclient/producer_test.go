package kclient

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/sim"
)

func values(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// produceBatch is what the fake saw of one produce request's batch.
type produceBatch struct {
	h    records.Header
	data []byte
}

func batchesSeen(t *testing.T, fb *fakeBroker) []produceBatch {
	var out []produceBatch
	for _, r := range fb.ofKey(kmsg.Produce) {
		data := r.req.(*kmsg.ProduceRequest).Topics[0].Partitions[0].Records
		h, err := records.ParseHeader(data)
		require.NoError(t, err)
		out = append(out, produceBatch{h, data})
	}
	return out
}

func errorReply(r *fakeReq, code int16) fakeReply {
	req := r.req.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode, sp.BaseOffset = rp.Partition, code, -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return fakeReply{resp: resp}
}

// produceScript answers the n-th produce request with f(n); everything
// else gets the default.
func produceScript(f func(fb *fakeBroker, r *fakeReq) fakeReply) func(*fakeBroker, *fakeReq) fakeReply {
	return func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.key == int16(kmsg.Produce) {
			return f(fb, r)
		}
		return fakeReply{}
	}
}

// TestProduceIdempotent: records are acknowledged in order at consecutive
// offsets, after one InitProducerId, with sequence numbers from 0.
func TestProduceIdempotent(t *testing.T) {
	w := newWorld(t, testConfig(), nil)
	res := w.produce(0, values(10, "v")...)
	w.runUntil(allDone(res), time.Second)
	for i, r := range res {
		require.Equal(t, Acked, r.Outcome, "%d: %v", i, r.Err)
		assert.Equal(t, int64(i), r.Offset)
	}
	assert.Equal(t, values(10, "v"), w.fb.values(t, partKey{"t", 0}))
	assert.Equal(t, 1, w.fb.count(kmsg.InitProducerID))
	seen := batchesSeen(t, w.fb)
	require.Len(t, seen, 1, "records produced in one callback share a batch")
	assert.Equal(t, int64(1000), seen[0].h.ProducerID)
	assert.Equal(t, int32(0), seen[0].h.BaseSequence)
	assert.Equal(t, int32(10), seen[0].h.NumRecords)
}

// TestRetrySameSequence: a NOT_LEADER answer refreshes metadata and
// resends the very same bytes (same producer id and sequence).
func TestRetrySameSequence(t *testing.T) {
	w := newWorld(t, testConfig(), produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.n == 0 {
			return errorReply(r, kerr.NotLeaderForPartition.Code)
		}
		return fakeReply{}
	}))
	res := w.produce(0, values(3, "v")...)
	w.runUntil(allDone(res), 5*time.Second)
	for i, r := range res {
		require.Equal(t, Acked, r.Outcome, "%v", r.Err)
		assert.Equal(t, int64(i), r.Offset)
	}
	seen := batchesSeen(t, w.fb)
	require.Len(t, seen, 2)
	assert.Equal(t, seen[0].data, seen[1].data, "a retry sends the same bytes")
	assert.Equal(t, 2, w.fb.count(kmsg.Metadata), "NOT_LEADER refreshes the metadata")
}

// TestConnectionLossRetryIsDeduplicated: the broker appends, then the
// connection drops before the answer; the retry (same sequence) is
// recognised as a duplicate and answered with the original offset, so
// the log holds the records once.
func TestConnectionLossRetryIsDeduplicated(t *testing.T) {
	w := newWorld(t, testConfig(), produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.n == 0 {
			fb.produce(r.req.(*kmsg.ProduceRequest))
			return fakeReply{close: true}
		}
		return fakeReply{}
	}))
	w.fb.appendBatch(partKey{"t", 0}, mustBuild(t, "other")) // the records land at offset 1
	res := w.produce(0, "a", "b")
	w.runUntil(allDone(res), 5*time.Second)
	for i, r := range res {
		require.Equal(t, Acked, r.Outcome, "%v", r.Err)
		assert.Equal(t, int64(1+i), r.Offset)
	}
	assert.Equal(t, []string{"other", "a", "b"}, w.fb.values(t, partKey{"t", 0}))
	assert.Equal(t, 2, w.fb.conns)
}

func mustBuild(t *testing.T, vs ...string) []byte {
	recs := make([]records.Record, len(vs))
	for i, v := range vs {
		recs[i].Value = []byte(v)
	}
	b, err := records.Build(records.BuildOptions{
		ProducerID: records.NoProducerID, ProducerEpoch: records.NoProducerEpoch, BaseSequence: records.NoSequence,
	}, recs)
	require.NoError(t, err)
	return b
}

// TestPipelineRetryKeepsOrder: with one record per batch and five in
// flight, a failure in the middle makes the later batches bounce (out of
// order); the producer drains, then resends from the failed one, and the
// log ends up complete and in order, each record acknowledged at its
// place.
func TestPipelineRetryKeepsOrder(t *testing.T) {
	cfg := testConfig()
	cfg.BatchRecordsMax = 1
	w := newWorld(t, cfg, produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.n == 2 {
			return errorReply(r, kerr.NotLeaderForPartition.Code)
		}
		return fakeReply{delay: 5 * time.Millisecond}
	}))
	want := values(20, "v")
	res := w.produce(0, want...)
	w.runUntil(allDone(res), 10*time.Second)
	for i, r := range res {
		require.Equal(t, Acked, r.Outcome, "%d: %v", i, r.Err)
		assert.Equal(t, int64(i), r.Offset)
	}
	assert.Equal(t, want, w.fb.values(t, partKey{"t", 0}))
	assert.Equal(t, 5, w.fb.inFlightMax, "five batches in flight per partition")
	var oooSeen int
	for _, b := range batchesSeen(t, w.fb) {
		if b.h.BaseSequence == 2 {
			oooSeen++
		}
	}
	assert.Equal(t, 2, oooSeen, "the failed batch was sent twice, with its sequence")
}

// TestOutOfOrderAtHeadResetsProducerID: the broker answers the head batch
// OUT_OF_ORDER_SEQUENCE_NUMBER (it lost what it had acknowledged before);
// nothing unfinished can be in its log, so the producer takes a fresh id
// and resends from sequence 0.
func TestOutOfOrderAtHeadResetsProducerID(t *testing.T) {
	w := newWorld(t, testConfig(), produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.n == 1 {
			return errorReply(r, kerr.OutOfOrderSequenceNumber.Code)
		}
		return fakeReply{}
	}))
	first := w.produce(0, values(3, "a")...)
	w.runUntil(allDone(first), time.Second)
	second := w.produce(0, values(2, "b")...)
	w.runUntil(allDone(second), 5*time.Second)
	for i, r := range second {
		require.Equal(t, Acked, r.Outcome, "%v", r.Err)
		assert.Equal(t, int64(3+i), r.Offset)
	}
	assert.Equal(t, 2, w.fb.count(kmsg.InitProducerID))
	seen := batchesSeen(t, w.fb)
	require.Len(t, seen, 3)
	assert.Equal(t, int32(3), seen[1].h.BaseSequence)
	assert.Equal(t, int64(1001), seen[2].h.ProducerID)
	assert.Equal(t, int32(0), seen[2].h.BaseSequence)
}

// TestOutcomes classifies every way a record can end.
func TestOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		reply   func(fb *fakeBroker, r *fakeReq) fakeReply
		want    Outcome
		wantErr error
		sends   int // produce requests expected; 0: several
	}{
		{"too large fails at once", func(fb *fakeBroker, r *fakeReq) fakeReply {
			return errorReply(r, kerr.MessageTooLarge.Code)
		}, Failed, kerr.MessageTooLarge, 1},
		{"not leader forever is ambiguous (a leader that appended says it too)", func(fb *fakeBroker, r *fakeReq) fakeReply {
			return errorReply(r, kerr.NotLeaderForPartition.Code)
		}, Ambiguous, ErrDeliveryTimeout, 0},
		{"refused before the append forever is never written", func(fb *fakeBroker, r *fakeReq) fakeReply {
			return errorReply(r, kerr.UnknownTopicOrPartition.Code)
		}, Failed, ErrDeliveryTimeout, 0},
		{"written-then-error forever is ambiguous", func(fb *fakeBroker, r *fakeReq) fakeReply {
			return errorReply(r, kerr.NotEnoughReplicasAfterAppend.Code)
		}, Ambiguous, ErrDeliveryTimeout, 0},
		{"no answer is ambiguous", func(fb *fakeBroker, r *fakeReq) fakeReply {
			return fakeReply{silent: true}
		}, Ambiguous, ErrDeliveryTimeout, 0},
		{"connection loss is ambiguous", func(fb *fakeBroker, r *fakeReq) fakeReply {
			return fakeReply{close: true}
		}, Ambiguous, ErrDeliveryTimeout, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.DeliveryTimeoutMs = 3000
			w := newWorld(t, cfg, produceScript(c.reply))
			res := w.produce(0, "v")
			w.runUntil(allDone(res), 10*time.Second)
			assert.Equal(t, c.want, res[0].Outcome, "%v", res[0].Err)
			assert.ErrorIs(t, res[0].Err, c.wantErr)
			if c.sends > 0 {
				assert.Equal(t, c.sends, w.fb.count(kmsg.Produce))
			} else {
				assert.Greater(t, w.fb.count(kmsg.Produce), 1, "retried")
			}
		})
	}
}

// TestBrokerDownFailsDefinitely: a record never sent (every dial refused)
// is Failed, not Ambiguous, when its delivery timeout passes.
func TestBrokerDownFailsDefinitely(t *testing.T) {
	cfg := testConfig()
	cfg.DeliveryTimeoutMs = 2000
	w := newWorld(t, cfg, nil)
	w.broker.Crash()
	res := w.produce(0, "v")
	w.runUntil(allDone(res), 5*time.Second)
	assert.Equal(t, Failed, res[0].Outcome)
	assert.ErrorIs(t, res[0].Err, ErrDeliveryTimeout)
}

// TestAmbiguousThenRecovered: a timed-out attempt followed by a good one
// acknowledges the record; ambiguity only sticks when we give up.
func TestAmbiguousThenRecovered(t *testing.T) {
	w := newWorld(t, testConfig(), produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.n == 0 {
			fb.produce(r.req.(*kmsg.ProduceRequest))
			return fakeReply{silent: true}
		}
		return fakeReply{}
	}))
	res := w.produce(0, "v")
	w.runUntil(allDone(res), 5*time.Second)
	assert.Equal(t, Acked, res[0].Outcome, "%v", res[0].Err)
	assert.Equal(t, int64(0), res[0].Offset)
	assert.Equal(t, []string{"v"}, w.fb.values(t, partKey{"t", 0}))
}

// TestDirtyResetGivesUpMaybeWritten: after the head batch expires, a
// later batch that may have been written under the old producer id is
// reported Ambiguous rather than resent under a new one (which could
// write it twice); a batch never written is resent and acknowledged.
func TestDirtyResetGivesUpMaybeWritten(t *testing.T) {
	cfg := testConfig()
	cfg.BatchRecordsMax = 1
	cfg.DeliveryTimeoutMs = 1500
	start := time.Duration(0)
	w := newWorld(t, cfg, produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		if time.Duration(fb.e.Clock().Mono())-start < 2*time.Second {
			return fakeReply{silent: true}
		}
		return fakeReply{}
	}))
	w.do(func(cl *Client) { start = cl.e.Clock().Mono() })
	// a is sent at 0 and b at 0.9s; both time out at 1s, are resent at
	// 1.1s, time out again at 2.1s; at 2.2s a is past its deadline (1.5s)
	// but b (2.4s) is not: b may be in the log under the old id.
	first := w.produce(0, "a")
	var second []ProduceResult
	w.s.At(w.s.Now()+sim.Time(900*time.Millisecond), func() { second = w.produce(0, "b") })
	w.runUntil(func() bool { return allDone(first)() && second != nil && allDone(second)() }, 5*time.Second)
	assert.Equal(t, Ambiguous, first[0].Outcome)
	assert.ErrorIs(t, first[0].Err, ErrDeliveryTimeout)
	assert.Equal(t, Ambiguous, second[0].Outcome)
	assert.ErrorIs(t, second[0].Err, ErrProducerReset)
	third := w.produce(0, "c")
	w.runUntil(allDone(third), 5*time.Second)
	assert.Equal(t, Acked, third[0].Outcome, "%v", third[0].Err)
	assert.Equal(t, []string{"c"}, w.fb.values(t, partKey{"t", 0}))
	seen := batchesSeen(t, w.fb)
	assert.Equal(t, int64(1001), seen[len(seen)-1].h.ProducerID, "c went under a fresh producer id")
	assert.Equal(t, int32(0), seen[len(seen)-1].h.BaseSequence)
}

// TestBufferBound: records past BufferedRecordsPerPartitionMax fail at
// once.
func TestBufferBound(t *testing.T) {
	cfg := testConfig()
	cfg.BufferedRecordsPerPartitionMax = 3
	w := newWorld(t, cfg, nil)
	res := w.produce(0, values(5, "v")...)
	w.runUntil(allDone(res), time.Second)
	for i, r := range res {
		if i < 3 {
			assert.Equal(t, Acked, r.Outcome)
		} else {
			assert.Equal(t, Failed, r.Outcome)
			assert.ErrorIs(t, r.Err, ErrQueueFull)
		}
	}
}

// TestNonIdempotentOneInFlight: without idempotence one batch per
// partition is in flight, which is what keeps retries in order.
func TestNonIdempotentOneInFlight(t *testing.T) {
	cfg := testConfig()
	cfg.Idempotent, cfg.Acks, cfg.BatchRecordsMax = false, 1, 1
	w := newWorld(t, cfg, produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		return fakeReply{delay: 5 * time.Millisecond}
	}))
	res := w.produce(0, values(5, "v")...)
	w.runUntil(allDone(res), time.Second)
	for i, r := range res {
		require.Equal(t, Acked, r.Outcome)
		assert.Equal(t, int64(i), r.Offset)
	}
	assert.Equal(t, 1, w.fb.inFlightMax)
	assert.Equal(t, 0, w.fb.count(kmsg.InitProducerID))
	assert.Equal(t, records.NoProducerID, batchesSeen(t, w.fb)[0].h.ProducerID)
}

// TestAcksZeroIsAmbiguous: the broker never answers acks=0, so the outcome
// is unknown.
func TestAcksZeroIsAmbiguous(t *testing.T) {
	cfg := testConfig()
	cfg.Idempotent, cfg.Acks = false, 0
	w := newWorld(t, cfg, produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		fb.produce(r.req.(*kmsg.ProduceRequest))
		return fakeReply{silent: true}
	}))
	res := w.produce(0, "v")
	w.runUntil(allDone(res), time.Second)
	assert.Equal(t, Ambiguous, res[0].Outcome)
	assert.ErrorIs(t, res[0].Err, ErrNoAck)
}

// TestCloseReportsEverything: Close reports sent records as Ambiguous and
// unsent ones as Failed.
func TestCloseReportsEverything(t *testing.T) {
	w := newWorld(t, testConfig(), produceScript(func(fb *fakeBroker, r *fakeReq) fakeReply {
		return fakeReply{silent: true}
	}))
	res := w.produce(0, "v")
	w.runUntil(func() bool { return w.fb.count(kmsg.Produce) == 1 }, time.Second)
	w.do(func(cl *Client) { cl.Close() })
	w.runUntil(allDone(res), time.Second)
	assert.Equal(t, Ambiguous, res[0].Outcome)
	assert.ErrorIs(t, res[0].Err, ErrClosed)
}

// TestBatchBytesMax: batches are cut by size as well as by count.
func TestBatchBytesMax(t *testing.T) {
	cfg := testConfig()
	cfg.BatchBytesMax = 25
	w := newWorld(t, cfg, nil)
	res := w.produce(0, "0123456789", "0123456789", "0123456789", "0123456789", "01234567890123456789012345678901234567890")
	w.runUntil(allDone(res), time.Second)
	var sizes []int32
	for _, b := range batchesSeen(t, w.fb) {
		sizes = append(sizes, b.h.NumRecords)
	}
	assert.Equal(t, []int32{2, 2, 1}, sizes, "a record larger than the limit goes alone")
}
