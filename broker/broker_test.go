package broker

import (
	"slices"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestApiVersionsFromRegistry(t *testing.T) {
	r := newRig(t)
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	resp := r.do(req).(*kmsg.ApiVersionsResponse)
	require.Zero(t, resp.ErrorCode)
	var keys []int16
	for _, k := range resp.ApiKeys {
		keys = append(keys, k.ApiKey)
		require.Equal(t, registry[k.ApiKey].min, k.MinVersion)
		require.Equal(t, registry[k.ApiKey].max, k.MaxVersion)
	}
	require.Equal(t, []int16{0, 1, 2, 3, 18, 19, 20, 21, 22, 23, 32, 33, 37, 43, 44, 45, 46, 60}, keys)

	// A version we do not serve gets a v0 answer listing what we do serve.
	req.SetVersion(5)
	c := r.client
	c.corr++
	id := "rig"
	r.sendFrame(wire.AppendRequest(nil, req, c.corr, &id))
	r.runFor(c.corr, time.Second)
	old := kmsg.NewPtrApiVersionsResponse()
	old.SetVersion(0)
	require.NoError(t, old.ReadFrom(c.responses[c.corr][4:]))
	require.Equal(t, kerr.UnsupportedVersion.Code, old.ErrorCode)
	require.Len(t, old.ApiKeys, len(keys))
}

func TestMalformedFrameClosesOnlyItsConnection(t *testing.T) {
	r := newRig(t)
	r.sendFrame([]byte{0, 3, 0}) // a header cut short
	require.NoError(t, r.s.RunWhile(func() bool { return !r.client.closed }))
	require.NoError(t, r.client.closedErr, "closed in order, not reset")
	r.dial()
	r.createTopic("still-serving", 1, nil)
}

func TestProduceFetchAcrossVersions(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 2, nil)
	next := int64(0)
	for _, v := range []int16{3, 5, 7, 9, 12} {
		res := r.produce(v, -1, "t", 1, batchOf(t, 3, with(plain(), func(o *records.BuildOptions) { o.Codec = records.CodecLz4 })))
		require.Zero(t, res.ErrorCode, "produce v%d", v)
		require.Equal(t, next, res.BaseOffset, "produce v%d", v)
		next += 3
	}
	for _, v := range []int16{4, 7, 11, 12} {
		fp := r.fetch(v, "t", 1, 0, 1, 100)
		require.Zero(t, fp.ErrorCode, "fetch v%d", v)
		require.Equal(t, next, fp.HighWatermark)
		n := 0
		_, err := records.Each(fp.RecordBatches, func(h records.Header, _ []byte) error {
			require.Equal(t, int64(n), h.BaseOffset)
			n += int(h.NumRecords)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, int(next), n, "fetch v%d sees every record", v)
	}
	fp := r.fetch(12, "t", 1, next+1, 1, 0)
	require.Equal(t, kerr.OffsetOutOfRange.Code, fp.ErrorCode)
}

func TestProduceRejects(t *testing.T) {
	r := newRig(t, "message.max.bytes=2000")
	r.createTopic("t", 1, nil)
	good := func() []byte { return batchOf(t, 2, plain()) }
	cases := []struct {
		name    string
		version int16
		acks    int16
		topic   string
		part    int32
		batch   []byte
		want    *kerr.Error
	}{
		{"bad crc", 9, 1, "t", 0, corrupt(good(), 70), kerr.CorruptMessage},
		{"control batch from a client", 9, 1, "t", 0, batchOf(t, 1, with(plain(), func(o *records.BuildOptions) { o.Control = true })), kerr.InvalidRecord},
		{"two batches", 9, 1, "t", 0, append(good(), good()...), kerr.InvalidRecord},
		{"truncated", 9, 1, "t", 0, good()[:50], kerr.CorruptMessage},
		{"unknown topic", 9, 1, "nope", 0, good(), kerr.UnknownTopicOrPartition},
		{"unknown partition", 9, 1, "t", 5, good(), kerr.UnknownTopicOrPartition},
		{"bad acks", 9, 2, "t", 0, good(), kerr.InvalidRequiredAcks},
		{"too large", 9, 1, "t", 0, batchOf(t, 3000, plain()), kerr.MessageTooLarge},
		{"zstd before v7", 6, 1, "t", 0, batchOf(t, 2, with(plain(), func(o *records.BuildOptions) { o.Codec = records.CodecZstd })), kerr.UnsupportedCompressionType},
		{"transactional", 9, 1, "t", 0, batchOf(t, 1, records.BuildOptions{Transactional: true, ProducerID: 1, BaseSequence: 0}), kerr.InvalidTxnState},
		{"timestamp too far ahead", 9, 1, "t", 0, batchOf(t, 1, with(plain(), func(o *records.BuildOptions) { o.BaseTimestamp = sim.DefaultEpoch.Add(2 * time.Hour).UnixMilli() })), kerr.InvalidTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.produce(c.version, c.acks, c.topic, c.part, c.batch)
			require.Equal(t, c.want.Code, res.ErrorCode, "got %v", kerr.ErrorForCode(res.ErrorCode))
		})
	}
	fp := r.fetch(12, "t", 0, 0, 0, 0)
	require.Equal(t, int64(0), fp.HighWatermark, "nothing rejected was appended")
}

// corrupt flips one byte of a batch.
func corrupt(b []byte, at int) []byte {
	b[at] ^= 0xff
	return b
}

func TestIdempotentProduce(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, nil)
	pid := r.do(kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse)
	require.Zero(t, pid.ErrorCode)
	b := func(seq int32, epoch int16) []byte {
		return batchOf(t, 4, records.BuildOptions{ProducerID: pid.ProducerID, ProducerEpoch: epoch, BaseSequence: seq})
	}
	require.Equal(t, int64(0), r.produce(9, -1, "t", 0, b(0, 0)).BaseOffset)
	require.Equal(t, int64(4), r.produce(9, -1, "t", 0, b(4, 0)).BaseOffset)
	dup := r.produce(9, -1, "t", 0, b(0, 0))
	require.Zero(t, dup.ErrorCode)
	require.Equal(t, int64(0), dup.BaseOffset, "a retry is answered with the original offset")
	require.Equal(t, kerr.OutOfOrderSequenceNumber.Code, r.produce(9, -1, "t", 0, b(12, 0)).ErrorCode)
	require.Zero(t, r.produce(9, -1, "t", 0, b(0, 1)).ErrorCode, "a new epoch starts at 0")
	require.Equal(t, kerr.InvalidProducerEpoch.Code, r.produce(9, -1, "t", 0, b(8, 0)).ErrorCode)
	require.Equal(t, int64(12), r.fetch(12, "t", 0, 0, 0, 0).HighWatermark, "duplicates and rejects append nothing")

	other := r.do(kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse)
	require.NotEqual(t, pid.ProducerID, other.ProducerID)

	txn := kmsg.NewPtrInitProducerIDRequest()
	txn.TransactionalID = kmsg.StringPtr("tx")
	require.Equal(t, kerr.InvalidRequest.Code, r.do(txn).(*kmsg.InitProducerIDResponse).ErrorCode)
}

func TestFetchWaitsForMaxWait(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, nil)
	start := r.s.Now()
	fp := r.fetch(12, "t", 0, 0, 1, 500)
	require.Zero(t, fp.ErrorCode)
	require.Empty(t, fp.RecordBatches)
	waited := time.Duration(r.s.Now() - start)
	require.GreaterOrEqual(t, waited, 500*time.Millisecond, "an empty fetch waits its MaxWait")
	require.Less(t, waited, 600*time.Millisecond)
}

func TestAcksZeroGetsNoAnswer(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, nil)
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batchOf(t, 2, plain())
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c := r.client
	c.corr++
	id := "rig"
	r.sendFrame(wire.AppendRequest(nil, req, c.corr, &id))
	r.runFor(c.corr, time.Second)
	require.NotContains(t, c.responses, c.corr)
	require.Equal(t, int64(2), r.fetch(12, "t", 0, 0, 0, 0).HighWatermark, "appended without an answer")
}

// TestAcknowledgedSurvivesCrash: with flush.messages=1 every acknowledged
// batch survives a power loss; the broker recovers its log and producer
// state, so a retry after the restart is still a duplicate.
func TestAcknowledgedSurvivesCrash(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, map[string]string{"flush.messages": "1"})
	pid := r.do(kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse).ProducerID
	for i := range 20 {
		res := r.produce(9, -1, "t", 0, batchOf(t, 5, records.BuildOptions{ProducerID: pid, BaseSequence: int32(i * 5)}))
		require.Zero(t, res.ErrorCode)
	}
	r.broker.Crash()
	require.NoError(t, r.s.RunWhile(func() bool { return !r.client.closed }))
	require.NoError(t, r.broker.Start())
	require.NoError(t, r.s.RunFor(time.Second))
	r.dial()
	// The reopened log counts as flushed once its first fsync is done.
	hw := int64(-1)
	for range 20 {
		if hw = r.fetch(12, "t", 0, 0, 0, 0).HighWatermark; hw == 100 {
			break
		}
		require.NoError(t, r.s.RunFor(50*time.Millisecond))
	}
	require.Equal(t, int64(100), hw)
	dup := r.produce(9, -1, "t", 0, batchOf(t, 5, records.BuildOptions{ProducerID: pid, BaseSequence: 95}))
	require.Zero(t, dup.ErrorCode)
	require.Equal(t, int64(95), dup.BaseOffset, "producer state rebuilt from the log")
	next := r.do(kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse).ProducerID
	require.Greater(t, next, pid, "producer ids are never reused after a restart")
}

// TestMinInsyncReplicas: with one replica and min.insync.replicas=2,
// acks=-1 is refused before the append and acks=1 still works.
func TestMinInsyncReplicas(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, map[string]string{"min.insync.replicas": "2"})
	res := r.produce(9, -1, "t", 0, batchOf(t, 2, plain()))
	require.Equal(t, kerr.NotEnoughReplicas.Code, res.ErrorCode)
	res = r.produce(9, 1, "t", 0, batchOf(t, 2, plain()))
	require.Zero(t, res.ErrorCode)
	require.Equal(t, int64(2), r.fetch(12, "t", 0, 0, 0, 0).HighWatermark, "only the acks=1 batch was appended")
}

// TestProducesPipelineAnswersInOrder: a produce parked for its fsync
// (flush.messages=1) lets the next produce on the connection append
// meanwhile, so two produces to two partitions cost one fsync wait, not
// two; the answers still leave in request order, and a request of another
// kind waits for the parked produces ahead of it.
func TestProducesPipelineAnswersInOrder(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 2, map[string]string{"flush.messages": "1"})
	const syncLatency = 100 * time.Millisecond
	d := r.broker.Disk()
	o := d.Options()
	o.SyncLatency = sim.Latency{Min: syncLatency, Mean: syncLatency}
	d.SetOptions(o)

	produce := func(partition int32) *kmsg.ProduceRequest {
		return produceRequest(9, -1, "t", partition, batchOf(t, 3, plain()))
	}
	c := r.client
	began := r.s.Now()
	a, b := produce(0), produce(1)
	corrA, corrB := r.send(c, a), r.send(c, b)
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(9)
	corrM := r.send(c, md)

	var order []int32
	arrived := map[int32]sim.Time{}
	require.NoError(t, r.s.RunWhile(func() bool {
		for _, corr := range []int32{corrA, corrB, corrM} {
			if _, ok := c.responses[corr]; ok && arrived[corr] == 0 {
				arrived[corr] = r.s.Now()
				order = append(order, corr)
			}
		}
		return len(order) < 3 && r.s.Now() < began+sim.Time(5*time.Second)
	}))
	require.Equal(t, []int32{corrA, corrB, corrM}, order, "answers in request order")
	for _, corr := range []int32{corrA, corrB} {
		req := a
		if corr == corrB {
			req = b
		}
		resp := r.await(c, req, corr, 0).(*kmsg.ProduceResponse)
		require.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
	}
	// Served one after the other, the second would wait its own fsyncs
	// after the first's answer.
	require.Less(t, time.Duration(arrived[corrB]-arrived[corrA]), syncLatency/2,
		"the second produce appended while the first waited for its fsync")
}

// TestFollowerDoesNotFetchForAFailedLog: a log whose fsync failed may have
// lost what its end offset counts, so a follower's Fetch must leave that
// partition out; fetching from there would tell the leader this replica
// holds the data and move the high watermark past it.
func TestFollowerDoesNotFetchForAFailedLog(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 2, map[string]string{"flush.messages": "1"})
	d := r.broker.Disk()
	o := d.Options()
	o.SyncErrorPercent = 100
	d.SetOptions(o)
	b := r.broker.Process().(*Broker)
	parts := slices.Clone(b.topics["t"].partitions)
	// Partition 0 has a write to fsync, so its log fails; partition 1 has
	// none, so it stays healthy on the same disk. Stop there, before
	// housekeeping reopens the failed log.
	r.send(r.client, produceRequest(9, -1, "t", 0, batchOf(t, 2, plain())))
	deadline := r.s.Now() + sim.Time(time.Second)
	require.NoError(t, r.s.RunWhile(func() bool { return parts[0].log.Err() == nil && r.s.Now() < deadline }))
	require.Error(t, parts[0].log.Err(), "the failed fsync fails partition 0's log")
	require.Same(t, parts[0], b.topics["t"].partitions[0], "not reopened yet")
	require.NoError(t, parts[1].log.Err())

	f := &fetcher{leader: 7, parts: parts}
	var asked []int32
	for _, rt := range b.replicaFetchRequest(f).Topics {
		for _, p := range rt.Partitions {
			asked = append(asked, p.Partition)
		}
	}
	require.Equal(t, []int32{1}, asked, "only the healthy partition is fetched")

	f.parts = parts[:1]
	require.Empty(t, b.replicaFetchRequest(f).Topics, "nothing to fetch when every log failed")
}

// TestFollowerAppendCutShortKeepsProducerState: when a write error cuts a
// follower's append short, the batches before it stay in the log, so the
// producer state must count them: leading later, the replica must answer
// a producer's retry of one as a duplicate, not append it again (storm
// sweep seed 311: an idempotent value twice).
func TestFollowerAppendCutShortKeepsProducerState(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, nil)
	b := r.broker.Process().(*Broker)
	p := b.topics["t"].partitions[0]
	var data []byte
	var headers []records.Header
	for i := range 3 {
		batch := batchOf(t, 2, with(plain(), func(o *records.BuildOptions) {
			o.ProducerID, o.ProducerEpoch, o.BaseSequence = 7, 0, int32(2*i)
		}))
		records.SetBaseOffset(batch, int64(2*i))
		h, err := records.ParseHeader(batch)
		require.NoError(t, err)
		headers = append(headers, h)
		data = append(data, batch...)
	}
	d := r.broker.Disk()
	d.SetOptions(sim.DiskOptions{CapacityBytes: d.UsedBytes() + int64(len(data)) - 10})
	require.Error(t, b.appendFromLeader(p, data), "the third batch does not fit")
	require.Equal(t, int64(4), p.log.EndOffset(), "the two batches that fit stay")

	for i, h := range headers[:2] {
		dup, err := p.producers.check(h)
		require.Nil(t, err)
		require.NotNil(t, dup, "batch %d is in the log, so a retry of it is a duplicate", i)
		require.Equal(t, h.BaseOffset, dup.firstOffset)
	}
	dup, err := p.producers.check(headers[2])
	require.Nil(t, err, "the third batch is next in sequence")
	require.Nil(t, dup, "and not in the log")
}

// TestProducerRebuildReadErrorFailsTheLog: producer state rebuilt after a
// truncation from a log that cannot be read back would miss batches, and
// leading with it would append retries of them again; the log fails
// instead, so housekeeping reopens it.
func TestProducerRebuildReadErrorFailsTheLog(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, nil)
	for i := range 3 {
		ans := r.produce(9, -1, "t", 0, batchOf(t, 2, with(plain(), func(o *records.BuildOptions) {
			o.ProducerID, o.ProducerEpoch, o.BaseSequence = 7, 0, int32(2*i)
		})))
		require.Zero(t, ans.ErrorCode)
	}
	b := r.broker.Process().(*Broker)
	p := b.topics["t"].partitions[0]
	require.NoError(t, p.log.Err())
	d := r.broker.Disk()
	o := d.Options()
	o.ReadErrorPercent = 100
	d.SetOptions(o)
	b.rebuildProducers(p)
	require.Error(t, p.log.Err(), "a producer state it could not rebuild fails the log")
}

// TestReopenedLogCountsOnlyWhatIsFsynced: a log reopened after a failed
// fsync still shows the write in the page cache, but it is not durable;
// with flush.messages=1 the replica must not count it as flushed (and so
// acknowledge it) until an fsync succeeds (storm sweep seed 569: a leader
// claimed 16 offsets flushed, and a crash left it with 3).
func TestReopenedLogCountsOnlyWhatIsFsynced(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, map[string]string{"flush.messages": "1"})
	require.Zero(t, r.produce(9, -1, "t", 0, batchOf(t, 2, plain())).ErrorCode)
	b := r.broker.Process().(*Broker)
	first := b.topics["t"].partitions[0]
	durable := first.flushed
	require.Equal(t, int64(2), durable)

	d := r.broker.Disk()
	o := d.Options()
	o.SyncErrorPercent = 100
	d.SetOptions(o)
	r.send(r.client, produceRequest(9, -1, "t", 0, batchOf(t, 3, plain())))
	deadline := r.s.Now() + sim.Time(5*time.Second)
	require.NoError(t, r.s.RunWhile(func() bool {
		p := b.topics["t"].partitions[0]
		return (p == nil || p == first) && r.s.Now() < deadline
	}))
	p := b.topics["t"].partitions[0]
	require.NotNil(t, p)
	require.NotSame(t, first, p, "housekeeping reopened the failed log")
	require.Equal(t, int64(5), p.log.EndOffset(), "the page cache still shows the write")
	require.LessOrEqual(t, p.flushed, durable, "but only what was fsynced counts as flushed")
}

// TestAlterPartitionRetryKeepsProposalEpochs: an ISR change asked again
// (its first answer lost) carries the members' broker epochs of when it
// was proposed. A follower that restarted since has a new epoch, and its
// new incarnation is not the one that caught up: the controller must be
// able to refuse it (KIP-903), so the retry must not carry the new epoch.
func TestAlterPartitionRetryKeepsProposalEpochs(t *testing.T) {
	r := newRig(t)
	r.createTopic("t", 1, nil)
	b := r.broker.Process().(*Broker)
	p := b.topics["t"].partitions[0]
	p.followers = map[int32]*followerState{2: {brokerEpoch: 5}}
	p.isrPending = []int32{0, 2}
	p.isrPendingEpochs = map[int32]int64{0: b.brokerEpoch, 2: 5}
	p.followers[2].brokerEpoch = 9 // the follower restarted and fetched again

	epochs := map[int32]int64{}
	for _, m := range b.alterPartitionRequest(p, p.isrPending).Topics[0].Partitions[0].NewEpochISR {
		epochs[m.BrokerID] = m.BrokerEpoch
	}
	require.Equal(t, map[int32]int64{0: b.brokerEpoch, 2: 5}, epochs)
}
