package kclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregor-dst/gregor/broker/records"
)

func (w *world) fetch(partition int32, offset int64) *FetchResult {
	var out *FetchResult
	w.do(func(cl *Client) {
		cl.Fetch("t", partition, offset, func(r FetchResult) { out = &r })
	})
	w.runUntil(func() bool { return out != nil }, 2*time.Minute)
	return out
}

func (w *world) listOffsets(partition int32, ts int64) (int64, error) {
	var (
		off  int64
		err  error
		done bool
	)
	w.do(func(cl *Client) {
		cl.ListOffsets("t", partition, ts, func(o int64, e error) { off, err, done = o, e, true })
	})
	w.runUntil(func() bool { return done }, 2*time.Minute)
	return off, err
}

// TestFetchAndListOffsets against the real broker: offsets, a fetch from
// the middle of a batch, an empty fetch at the end after MaxWait, and
// OFFSET_OUT_OF_RANGE past it (reported with the offsets, not retried).
func TestFetchAndListOffsets(t *testing.T) {
	w := newBrokerWorld(t, 1, testConfig())
	w.createTopic(2, nil)
	res := w.produce(1, values(10, "v")...)
	w.runUntil(allDone(res), 5*time.Second)

	earliest, err := w.listOffsets(1, EarliestOffset)
	require.NoError(t, err)
	latest, err := w.listOffsets(1, LatestOffset)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 10}, []int64{earliest, latest})

	r := w.fetch(1, 5)
	require.NoError(t, r.Err)
	require.Len(t, r.Records, 5, "records before the asked offset are dropped")
	for i, rec := range r.Records {
		assert.Equal(t, int64(5+i), rec.Offset)
		assert.Equal(t, values(10, "v")[5+i], string(rec.Value))
	}
	assert.Equal(t, int64(10), r.HighWatermark)

	start := w.s.Now()
	r = w.fetch(1, 10)
	require.NoError(t, r.Err)
	assert.Empty(t, r.Records)
	assert.GreaterOrEqual(t, time.Duration(w.s.Now()-start), 500*time.Millisecond, "the broker held the fetch for MaxWait")

	r = w.fetch(1, 11)
	require.ErrorIs(t, r.Err, kerr.OffsetOutOfRange)
	assert.Equal(t, int64(10), r.HighWatermark)
	assert.Equal(t, int64(0), r.LogStartOffset)
}

// TestFetchUnknownTopicGivesUp: retriable errors end at RetryTimeoutMs.
func TestFetchUnknownTopicGivesUp(t *testing.T) {
	cfg := testConfig()
	cfg.RetryTimeoutMs = 2000
	w := newBrokerWorld(t, 1, cfg)
	start := w.s.Now()
	r := w.fetch(0, 0)
	require.ErrorIs(t, r.Err, ErrRetryTimeout)
	require.ErrorIs(t, r.Err, kerr.UnknownTopicOrPartition)
	assert.Less(t, time.Duration(w.s.Now()-start), 3*time.Second)
}

// TestCompressedRoundTrip: every codec, produced and fetched back through
// the real broker.
func TestCompressedRoundTrip(t *testing.T) {
	for _, codec := range []records.Codec{records.CodecGzip, records.CodecSnappy, records.CodecLz4, records.CodecZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.Codec = codec
			w := newBrokerWorld(t, 1, cfg)
			w.createTopic(1, nil)
			want := values(50, "compressed-")
			res := w.produce(0, want...)
			w.runUntil(allDone(res), 5*time.Second)
			for _, r := range res {
				require.Equal(t, Acked, r.Outcome, "%v", r.Err)
			}
			r := w.fetch(0, 0)
			require.NoError(t, r.Err)
			require.Len(t, r.Records, 50)
			for i, rec := range r.Records {
				assert.Equal(t, want[i], string(rec.Value))
			}
		})
	}
}

// TestFetchLeaderErrorRetries: NOT_LEADER refreshes the metadata and
// retries (fake broker).
func TestFetchLeaderErrorRetries(t *testing.T) {
	w := newWorld(t, testConfig(), func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.key != int16(kmsg.Fetch) {
			return fakeReply{}
		}
		req := r.req.(*kmsg.FetchRequest)
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = "t"
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = 0
		if r.n == 0 {
			rp.ErrorCode = kerr.NotLeaderForPartition.Code
		} else {
			rp.HighWatermark = 2
			rp.RecordBatches = mustBuild(t, "x", "y")
		}
		rt.Partitions = append(rt.Partitions, rp)
		resp.Topics = append(resp.Topics, rt)
		return fakeReply{resp: resp}
	})
	r := w.fetch(0, 0)
	require.NoError(t, r.Err)
	require.Len(t, r.Records, 2)
	assert.Equal(t, "y", string(r.Records[1].Value))
	assert.Equal(t, 2, w.fb.count(kmsg.Fetch))
	assert.Equal(t, 2, w.fb.count(kmsg.Metadata))
}

// TestDecodeBatches: a truncated last batch ends the walk; a bad CRC is
// ErrCorrupt.
func TestDecodeBatches(t *testing.T) {
	a, b := mustBuild(t, "a0", "a1"), mustBuild(t, "b0")
	records.SetBaseOffset(b, 2)
	both := append(append([]byte{}, a...), b...)
	recs, err := decodeBatches(both, 1, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, []int64{1, 2}, []int64{recs[0].Offset, recs[1].Offset})

	recs, err = decodeBatches(both[:len(both)-3], 0, 1<<20)
	require.NoError(t, err)
	assert.Len(t, recs, 2, "the cut batch is left for the next fetch")

	bad := append([]byte{}, a...)
	bad[len(bad)-1] ^= 1
	_, err = decodeBatches(bad, 0, 1<<20)
	require.ErrorIs(t, err, ErrCorrupt)
}
