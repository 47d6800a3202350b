package broker

import (
	"testing"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLeaderServesFollower: a raw client plays follower 1 of a partition
// the broker leads with replicas [0 1]. The high watermark moves only
// with the follower's fetch offset, acks=-1 waits for it, a diverging
// last-fetched epoch is answered with where to truncate, and the ISR
// shrinks after replica.lag.time.max.ms and grows back when the follower
// catches up.
func TestLeaderServesFollower(t *testing.T) {
	r := newRig(t, "replica.lag.time.max.ms=10000")
	id := r.createTopic("t", 1, map[string]string{"min.insync.replicas": "2"})
	b := r.broker.Process().(*Broker)
	p := b.topics["t"].partitions[0]
	r.s.Call(r.broker, func(env.Process) { b.becomeLeader(p, 0, []int32{0, 1}, []int32{0, 1}) })
	follower := r.addClient("f")

	produce := kmsg.NewPtrProduceRequest()
	produce.SetVersion(9)
	produce.Acks, produce.TimeoutMillis = -1, 30_000
	produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batchOf(t, 3, plain())}}}}
	corr := r.send(r.client, produce)
	require.Nil(t, r.await(r.client, produce, corr, 200*time.Millisecond), "acks=-1 waits for the follower")

	fetch := func(offset int64, lastEpoch int32) kmsg.FetchResponseTopicPartition {
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(15)
		req.ReplicaState.ID, req.ReplicaState.Epoch = 1, 1
		req.MaxBytes = 1 << 20
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.LastFetchedEpoch, rp.PartitionMaxBytes = offset, lastEpoch, 1<<20
		req.Topics = []kmsg.FetchRequestTopic{{TopicID: id, Partitions: []kmsg.FetchRequestTopicPartition{rp}}}
		resp := r.await(follower, req, r.send(follower, req), time.Second)
		require.NotNil(t, resp)
		return resp.(*kmsg.FetchResponse).Topics[0].Partitions[0]
	}
	fp := fetch(0, -1)
	require.Zero(t, fp.ErrorCode)
	require.NotEmpty(t, fp.RecordBatches, "a follower reads past the HW")
	require.Equal(t, int64(0), fp.HighWatermark)
	require.Nil(t, r.await(r.client, produce, corr, 100*time.Millisecond), "still waiting: the follower has not acknowledged")

	fp = fetch(3, 0)
	require.Equal(t, int64(3), fp.HighWatermark, "the follower's fetch offset moves the HW")
	pr := r.await(r.client, produce, corr, time.Second)
	require.NotNil(t, pr)
	require.Zero(t, pr.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode)

	// A new leader epoch starts at offset 3. A follower claiming epoch-0
	// data up to offset 5 (it was written by a deposed leader) is told that
	// epoch 0 ends at 3 (KIP-101/279).
	r.s.Call(r.broker, func(env.Process) { b.becomeLeader(p, 1, []int32{0, 1}, []int32{0, 1}) })
	require.Zero(t, r.produce(9, 1, "t", 0, batchOf(t, 1, plain())).ErrorCode)
	fp = fetch(5, 0)
	require.Equal(t, int32(0), fp.DivergingEpoch.Epoch)
	require.Equal(t, int64(3), fp.DivergingEpoch.EndOffset)
	fp = fetch(4, 1)
	require.Equal(t, int64(-1), fp.DivergingEpoch.EndOffset, "no divergence for a follower in the leader's epoch")
	require.Equal(t, int64(4), fp.HighWatermark)

	require.NoError(t, r.s.RunFor(15*time.Second))
	require.Equal(t, []int32{0}, p.isr, "a silent follower leaves the ISR")
	res := r.produce(9, -1, "t", 0, batchOf(t, 1, plain()))
	require.Equal(t, kerr.NotEnoughReplicas.Code, res.ErrorCode)

	fetch(4, 1)
	require.Equal(t, []int32{0, 1}, p.isr, "a follower at the HW, in the leader's epoch, rejoins")
}
