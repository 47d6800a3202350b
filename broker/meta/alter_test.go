package meta

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// alterFixture: brokers 1-3 active at epochs 1-3, broker 4 fenced at
// epoch 4, broker 5 never registered. Partition t-0 has replicas
// 1-5, ISR [1 2], leader 1, leader epoch 2, partition epoch 5;
// t-1 has replicas [1 4] and ISR [1 4] although 4 is fenced.
func alterFixture(t *testing.T) *fixture {
	f := newFixture(t).broker(1, false).broker(2, false).broker(3, false).broker(4, true)
	f.topic("t", part{[]int32{1, 2, 3, 4, 5}, []int32{1, 2}, 1}, part{[]int32{1, 4}, []int32{1, 4}, 1})
	f.apply(
		change("t", 0, nil, leader(1)),
		change("t", 0, nil, leader(1)),
		change("t", 0, []int32{1}, nil),
		change("t", 0, []int32{1, 2, 3}, nil),
		change("t", 0, []int32{1, 2}, nil),
	)
	require.Equal(t, state{[]int32{1, 2}, 1, 2, 5}, stateOf(f.p("t", 0)))
	return f
}

func members(ids ...int32) []ISRMember {
	out := make([]ISRMember, len(ids))
	for i, id := range ids {
		out[i] = ISRMember{ID: id, Epoch: int64(id)} // the fixture's epochs
	}
	return out
}

func TestAlterPartition(t *testing.T) {
	base := AlterPartitionRequest{BrokerID: 1, BrokerEpoch: 1, TopicID: topicID("t"), Partition: 0, LeaderEpoch: 2, PartitionEpoch: 5}
	with := func(edit func(r *AlterPartitionRequest)) AlterPartitionRequest {
		r := base
		r.ISR = members(1, 2)
		edit(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		r    AlterPartitionRequest
		err  *kerr.Error
		want state // after applying; zero: no record expected
	}{
		{"shrink", with(func(r *AlterPartitionRequest) { r.ISR = members(1) }), nil, state{[]int32{1}, 1, 2, 6}},
		{"expand", with(func(r *AlterPartitionRequest) { r.ISR = members(1, 2, 3) }), nil, state{[]int32{1, 2, 3}, 1, 2, 6}},
		{"expand without epochs (AlterPartition v0-2)", with(func(r *AlterPartitionRequest) {
			r.ISR = []ISRMember{{1, -1}, {2, -1}, {3, -1}}
		}), nil, state{[]int32{1, 2, 3}, 1, 2, 6}},
		{"reorder", with(func(r *AlterPartitionRequest) { r.ISR = members(2, 1) }), nil, state{[]int32{2, 1}, 1, 2, 6}},
		{"unchanged: no record", with(func(*AlterPartitionRequest) {}), nil, state{}},
		{"a fenced member may leave", with(func(r *AlterPartitionRequest) {
			r.Partition, r.LeaderEpoch, r.PartitionEpoch, r.ISR = 1, 0, 0, members(1)
		}), nil, state{[]int32{1}, 1, 0, 1}},

		{"STALE_BROKER_EPOCH", with(func(r *AlterPartitionRequest) { r.BrokerEpoch = 0 }), kerr.StaleBrokerEpoch, state{}},
		{"STALE_BROKER_EPOCH: unregistered", with(func(r *AlterPartitionRequest) { r.BrokerID, r.BrokerEpoch = 5, 5 }), kerr.StaleBrokerEpoch, state{}},
		{"UNKNOWN_TOPIC_ID", with(func(r *AlterPartitionRequest) { r.TopicID = topicID("u") }), kerr.UnknownTopicID, state{}},
		{"UNKNOWN_TOPIC_OR_PARTITION", with(func(r *AlterPartitionRequest) { r.Partition = 2 }), kerr.UnknownTopicOrPartition, state{}},
		{"UNKNOWN_TOPIC_OR_PARTITION: negative", with(func(r *AlterPartitionRequest) { r.Partition = -1 }), kerr.UnknownTopicOrPartition, state{}},
		{"NOT_CONTROLLER: newer leader epoch", with(func(r *AlterPartitionRequest) { r.LeaderEpoch = 3 }), kerr.NotController, state{}},
		{"NOT_CONTROLLER: newer partition epoch", with(func(r *AlterPartitionRequest) { r.PartitionEpoch = 6 }), kerr.NotController, state{}},
		{"FENCED_LEADER_EPOCH", with(func(r *AlterPartitionRequest) { r.LeaderEpoch = 1 }), kerr.FencedLeaderEpoch, state{}},
		{"FENCED_LEADER_EPOCH before the leader check", with(func(r *AlterPartitionRequest) {
			r.BrokerID, r.BrokerEpoch, r.LeaderEpoch = 2, 2, 1
		}), kerr.FencedLeaderEpoch, state{}},
		{"INVALID_REQUEST: not the leader", with(func(r *AlterPartitionRequest) { r.BrokerID, r.BrokerEpoch = 2, 2 }), kerr.InvalidRequest, state{}},
		{"INVALID_UPDATE_VERSION", with(func(r *AlterPartitionRequest) { r.PartitionEpoch = 4 }), kerr.InvalidUpdateVersion, state{}},
		{"INVALID_REQUEST: not a replica", with(func(r *AlterPartitionRequest) { r.ISR = members(1, 2, 6) }), kerr.InvalidRequest, state{}},
		{"INVALID_REQUEST: repeated member", with(func(r *AlterPartitionRequest) { r.ISR = members(1, 2, 2) }), kerr.InvalidRequest, state{}},
		{"INVALID_REQUEST: no leader", with(func(r *AlterPartitionRequest) { r.ISR = members(2, 3) }), kerr.InvalidRequest, state{}},
		{"INVALID_REQUEST: empty", with(func(r *AlterPartitionRequest) { r.ISR = nil }), kerr.InvalidRequest, state{}},
		{"INVALID_REQUEST before INELIGIBLE_REPLICA", with(func(r *AlterPartitionRequest) { r.ISR = members(1, 4, 6) }), kerr.InvalidRequest, state{}},
		{"INELIGIBLE_REPLICA: fenced", with(func(r *AlterPartitionRequest) { r.ISR = members(1, 2, 4) }), kerr.IneligibleReplica, state{}},
		{"INELIGIBLE_REPLICA: unregistered", with(func(r *AlterPartitionRequest) { r.ISR = members(1, 2, 5) }), kerr.IneligibleReplica, state{}},
		{"INELIGIBLE_REPLICA: another broker epoch (KIP-903)", with(func(r *AlterPartitionRequest) {
			r.ISR = []ISRMember{{1, 1}, {2, 2}, {3, 2}}
		}), kerr.IneligibleReplica, state{}},
		{"INELIGIBLE_REPLICA: a staying member is checked too", with(func(r *AlterPartitionRequest) {
			r.ISR = []ISRMember{{1, 1}, {2, 7}}
		}), kerr.IneligibleReplica, state{}},
		{"INELIGIBLE_REPLICA: a fenced member cannot stay", with(func(r *AlterPartitionRequest) {
			r.Partition, r.LeaderEpoch, r.PartitionEpoch, r.ISR = 1, 0, 0, members(1, 4)
		}), kerr.IneligibleReplica, state{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := alterFixture(t)
			recs, e := AlterPartition(f.im, tc.r)
			require.Equal(t, tc.err, e)
			if tc.want.isr == nil {
				require.Nil(t, recs)
				return
			}
			before := stateOf(f.p("t", tc.r.Partition))
			require.Len(t, recs, 1)
			require.Nil(t, recs[0].PartitionChange.Leader, "an ISR change keeps the leader epoch")
			f.apply(recs...)
			after := stateOf(f.p("t", tc.r.Partition))
			require.Equal(t, tc.want, after)
			require.Equal(t, before.partEpoch+1, after.partEpoch)
		})
	}
}

// TestAlterPartitionRestartedFollower is KIP-903's scenario: a follower
// restarts, so its new incarnation may have lost its unflushed tail; the
// leader, which saw the old incarnation caught up, must not add it back
// on the old incarnation's word.
func TestAlterPartitionRestartedFollower(t *testing.T) {
	f := alterFixture(t)
	recs, epoch := Register(f.im, Registration{ID: 3, IncarnationID: [16]byte{33}}, never)
	f.apply(recs...)
	require.Equal(t, int64(5), epoch)
	req := AlterPartitionRequest{BrokerID: 1, BrokerEpoch: 1, TopicID: topicID("t"), LeaderEpoch: 2, PartitionEpoch: 5}

	req.ISR = []ISRMember{{1, 1}, {2, 2}, {3, 5}}
	_, e := AlterPartition(f.im, req)
	require.Equal(t, kerr.IneligibleReplica, e, "still fenced")

	f.apply(Unfence(f.im, 3, 5, never)...)
	req.ISR = []ISRMember{{1, 1}, {2, 2}, {3, 3}}
	_, e = AlterPartition(f.im, req)
	require.Equal(t, kerr.IneligibleReplica, e, "the old incarnation's epoch")

	req.ISR = []ISRMember{{1, 1}, {2, 2}, {3, 5}}
	recs, e = AlterPartition(f.im, req)
	require.Nil(t, e)
	f.apply(recs...)
	require.Equal(t, state{[]int32{1, 2, 3}, 1, 2, 6}, stateOf(f.p("t", 0)))
}
