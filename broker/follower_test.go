package broker

import (
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
)

// pair wires topic t, partition 0, over brokers 0 ("b") and 1 ("b1") by
// hand, as the metadata log will: same topic id on both, replicas [0 1].
func pair(t *testing.T) (*rig, *Broker, *Broker, *partition, *partition, *sim.Node) {
	r := newRig(t)
	id := r.createTopic("t", 1, nil)
	n1 := r.addBroker()
	b0 := r.broker.Process().(*Broker)
	b1 := n1.Process().(*Broker)
	r.s.Call(n1, func(env.Process) {
		tp, err := b1.openTopic("t", id, 1, configs.Set{})
		require.NoError(t, err)
		b1.topics["t"], b1.topicIDs[id] = tp, tp
	})
	require.NoError(t, r.s.RunFor(time.Millisecond))
	p0, p1 := b0.topics["t"].partitions[0], b1.topics["t"].partitions[0]
	r.s.Call(r.broker, func(env.Process) { b0.becomeLeader(p0, 0, []int32{0, 1}, []int32{0, 1}) })
	r.s.Call(n1, func(env.Process) { b1.becomeFollower(p1, 0, 0, []int32{0, 1}, []int32{0, 1}) })
	require.NoError(t, r.s.RunFor(time.Millisecond))
	return r, b0, b1, p0, p1, n1
}

// logBytes reads a whole log.
func logBytes(t *testing.T, p *partition) []byte {
	data, err := p.log.Read(p.log.StartOffset(), 1<<30, true)
	require.NoError(t, err)
	return data
}

func TestFollowerReplicates(t *testing.T) {
	r, _, _, p0, p1, _ := pair(t)
	for i := range 20 {
		res := r.produce(9, -1, "t", 0, batchOf(t, 1+i%4, plain()))
		require.Zero(t, res.ErrorCode, "acks=-1 batch %d", i)
	}
	require.NoError(t, r.s.RunFor(time.Second))
	require.Equal(t, p0.log.EndOffset(), p1.log.EndOffset())
	require.Equal(t, logBytes(t, p0), logBytes(t, p1), "the follower's log is the leader's, byte for byte")
	require.Equal(t, p0.hw, p1.hw, "the follower learns the high watermark")
}

// TestFollowerTruncatesDivergentTail: broker 1 led epoch 0 and wrote a
// batch nobody else has; broker 0 becomes leader in epoch 1 and writes
// its own. When broker 1 follows, the leader's DivergingEpoch makes it
// cut its tail, and it ends with the leader's log (KIP-101/279).
func TestFollowerTruncatesDivergentTail(t *testing.T) {
	r, b0, b1, p0, p1, n1 := pair(t)
	for range 3 {
		require.Zero(t, r.produce(9, -1, "t", 0, batchOf(t, 2, plain())).ErrorCode)
	}
	require.NoError(t, r.s.RunFor(time.Second))
	r.s.Call(n1, func(env.Process) {
		b1.becomeLeader(p1, 0, []int32{0, 1}, []int32{1}) // a deposed leader's view
		_, err := p1.log.Append(batchOf(t, 5, plain()), 0, 0)
		require.NoError(t, err)
	})
	r.s.Call(r.broker, func(env.Process) { b0.becomeLeader(p0, 1, []int32{0, 1}, []int32{0}) })
	require.NoError(t, r.s.RunFor(time.Millisecond))
	require.Zero(t, r.produce(9, 1, "t", 0, batchOf(t, 1, plain())).ErrorCode)
	require.Equal(t, int64(11), p1.log.EndOffset(), "the stale tail is there before following")
	r.s.Call(n1, func(env.Process) { b1.becomeFollower(p1, 0, 1, []int32{0, 1}, []int32{0}) })
	require.NoError(t, r.s.RunFor(2*time.Second))
	require.Equal(t, logBytes(t, p0), logBytes(t, p1), "truncated to the shared epoch's end, then caught up")
	require.Equal(t, []int32{0, 1}, p0.isr, "caught up in the leader's epoch, it rejoins the ISR")
}
