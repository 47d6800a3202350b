package meta

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// state is a partition's replication state, for compact expectations.
type state struct {
	isr                    []int32
	leader                 int32
	leaderEpoch, partEpoch int32
}

func stateOf(p *Partition) state {
	return state{p.ISR, p.Leader, p.LeaderEpoch, p.PartitionEpoch}
}

func TestRegister(t *testing.T) {
	t.Run("first registration starts fenced at the next epoch", func(t *testing.T) {
		f := newFixture(t).broker(1, false).broker(2, false)
		reg := Registration{ID: 3, IncarnationID: [16]byte{3}, Host: "b3", Port: 9095, Rack: "r"}
		recs, epoch := Register(f.im, reg, never)
		require.Equal(t, int64(3), epoch)
		require.Equal(t, []Record{{RegisterBroker: &RegisterBroker{
			ID: 3, Epoch: 3, Host: "b3", Port: 9095, Rack: "r", IncarnationID: [16]byte{3}, Fenced: true,
		}}}, recs)
		f.apply(recs...)

		// A retry of the same incarnation (its answer was lost) is a no-op.
		recs, epoch = Register(f.im, reg, never)
		require.Nil(t, recs)
		require.Equal(t, int64(3), epoch)
	})

	t.Run("a new incarnation loses leaderships and ISR slots first", func(t *testing.T) {
		f := newFixture(t).broker(1, false).broker(2, false).broker(3, false)
		f.topic("t",
			part{[]int32{1, 2, 3}, []int32{1, 2, 3}, 1}, // leads: moves to 2
			part{[]int32{2, 1}, []int32{2, 1}, 2},       // follows: leaves the ISR
			part{[]int32{1, 3}, []int32{1}, 1},          // last member: stays, no leader
			part{[]int32{2, 3}, []int32{2, 3}, 2},       // not a replica: untouched
		)
		recs, epoch := Register(f.im, Registration{ID: 1, IncarnationID: [16]byte{9}}, never)
		require.Equal(t, int64(4), epoch)
		require.Equal(t, []Record{
			change("t", 0, []int32{2, 3}, leader(2)),
			change("t", 1, []int32{2}, nil),
			change("t", 2, nil, leader(NoLeader)),
			{RegisterBroker: &RegisterBroker{ID: 1, Epoch: 4, IncarnationID: [16]byte{9}, Fenced: true}},
		}, recs)
		f.apply(recs...)
		require.Equal(t, state{[]int32{2, 3}, 2, 1, 1}, stateOf(f.p("t", 0)))
		require.Equal(t, state{[]int32{2}, 2, 0, 1}, stateOf(f.p("t", 1)))
		require.Equal(t, state{[]int32{1}, NoLeader, 1, 1}, stateOf(f.p("t", 2)))
		require.Equal(t, state{[]int32{2, 3}, 2, 0, 0}, stateOf(f.p("t", 3)))
		require.True(t, f.im.Brokers[1].Fenced)

		// Once caught up, the new incarnation takes back the partition
		// whose ISR it is the last member of (the KIP-966 gap: it may
		// have lost its unflushed tail).
		f.apply(Unfence(f.im, 1, 4, never)...)
		require.Equal(t, state{[]int32{1}, 1, 2, 2}, stateOf(f.p("t", 2)))
	})

	t.Run("a new incarnation with unclean election on", func(t *testing.T) {
		f := newFixture(t).broker(1, false).broker(2, false)
		f.topic("t", part{[]int32{1, 2}, []int32{1}, 1})
		recs, _ := Register(f.im, Registration{ID: 1, IncarnationID: [16]byte{9}}, always)
		require.Equal(t, change("t", 0, []int32{2}, leader(2)), recs[0])
	})
}

func TestUnfence(t *testing.T) {
	setup := func(t *testing.T) *fixture {
		f := newFixture(t).broker(1, true).broker(2, false).broker(3, true)
		return f.topic("t",
			part{[]int32{2, 1}, []int32{1}, NoLeader},    // ISR lists 1: 1 leads
			part{[]int32{1, 3}, []int32{3}, NoLeader},    // ISR is 3 only: stays leaderless
			part{[]int32{2, 1}, []int32{2, 1}, 2},        // has a leader: untouched
			part{[]int32{3, 2}, []int32{3}, NoLeader},    // unclean only: 2 is live
			part{[]int32{3, 1, 2}, []int32{3}, NoLeader}, // unclean only: 1 first
		)
	}
	t.Run("clean", func(t *testing.T) {
		f := setup(t)
		recs := Unfence(f.im, 1, 1, never)
		require.Equal(t, []Record{
			{UnfenceBroker: &UnfenceBroker{ID: 1, Epoch: 1}},
			change("t", 0, nil, leader(1)),
		}, recs)
		f.apply(recs...)
		require.Equal(t, state{[]int32{1}, 1, 1, 1}, stateOf(f.p("t", 0)))
	})
	t.Run("unclean", func(t *testing.T) {
		f := setup(t)
		unclean := func(topic string) bool { return topic == "t" }
		require.Equal(t, []Record{
			{UnfenceBroker: &UnfenceBroker{ID: 1, Epoch: 1}},
			change("t", 0, nil, leader(1)),
			change("t", 1, []int32{1}, leader(1)),
			change("t", 3, []int32{2}, leader(2)),
			change("t", 4, []int32{1}, leader(1)),
		}, Unfence(f.im, 1, 1, unclean))
	})
	t.Run("stale or needless", func(t *testing.T) {
		f := setup(t)
		require.Nil(t, Unfence(f.im, 1, 0, never), "older epoch")
		require.Nil(t, Unfence(f.im, 1, 2, never), "another broker's epoch")
		require.Nil(t, Unfence(f.im, 2, 2, never), "already unfenced")
		require.Nil(t, Unfence(f.im, 9, 1, never), "unregistered")
	})
}

func TestFence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fenced    []int32 // besides broker 1, which Fence fences
		p         part
		unclean   bool
		want      state // after fencing broker 1; epochs start at 0
		noRecords bool
	}{
		{"leadership moves to the first active ISR member in replica order",
			nil, part{[]int32{1, 2, 3}, []int32{1, 3, 2}, 1}, false, state{[]int32{3, 2}, 2, 1, 1}, false},
		{"fenced ISR members are skipped",
			[]int32{2}, part{[]int32{1, 2, 3}, []int32{1, 2, 3}, 1}, false, state{[]int32{2, 3}, 3, 1, 1}, false},
		{"a follower leaves the ISR; the leader epoch stays",
			nil, part{[]int32{2, 1, 3}, []int32{2, 1, 3}, 2}, false, state{[]int32{2, 3}, 2, 0, 1}, false},
		{"the last ISR member stays, and there is no leader",
			nil, part{[]int32{1, 2}, []int32{1}, 1}, false, state{[]int32{1}, NoLeader, 1, 1}, false},
		{"only fenced ISR members left: no leader, ISR keeps them",
			[]int32{2}, part{[]int32{1, 2, 3}, []int32{1, 2}, 1}, false, state{[]int32{2}, NoLeader, 1, 1}, false},
		{"unclean election picks an active replica outside the ISR",
			[]int32{2}, part{[]int32{1, 2, 3}, []int32{1}, 1}, true, state{[]int32{3}, 3, 1, 1}, false},
		{"unclean election prefers the ISR",
			nil, part{[]int32{1, 3, 2}, []int32{1, 2}, 1}, true, state{[]int32{2}, 2, 1, 1}, false},
		{"unclean election with no active replica",
			[]int32{2, 3}, part{[]int32{1, 2, 3}, []int32{1}, 1}, true, state{[]int32{1}, NoLeader, 1, 1}, false},
		{"a partition without broker 1 is untouched",
			nil, part{[]int32{2, 3}, []int32{2, 3}, 2}, false, state{[]int32{2, 3}, 2, 0, 0}, true},
		{"a leaderless partition whose last member is broker 1 is untouched",
			nil, part{[]int32{1, 2}, []int32{1}, NoLeader}, false, state{[]int32{1}, NoLeader, 0, 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t).broker(1, false).broker(2, false).broker(3, false)
			for _, id := range tc.fenced {
				f.apply(Record{FenceBroker: &FenceBroker{ID: id, Epoch: int64(id)}})
			}
			f.topic("t", tc.p)
			recs := Fence(f.im, 1, func(string) bool { return tc.unclean })
			// The partition changes come first, so no record leaves a
			// fenced broker leading.
			require.Equal(t, Record{FenceBroker: &FenceBroker{ID: 1, Epoch: 1}}, recs[len(recs)-1])
			require.Equal(t, tc.noRecords, len(recs) == 1)
			f.apply(recs...)
			require.Equal(t, tc.want, stateOf(f.p("t", 0)))
			require.False(t, f.im.Active(1))
		})
	}

	f := newFixture(t).broker(1, true)
	require.Nil(t, Fence(f.im, 1, never), "already fenced")
	require.Nil(t, Fence(f.im, 2, never), "unregistered")
}

func TestElectUncleanLeaders(t *testing.T) {
	f := newFixture(t).broker(1, true).broker(2, false)
	f.topic("a", part{[]int32{1, 2}, []int32{1}, NoLeader})
	f.topic("b", part{[]int32{1, 2}, []int32{1}, NoLeader}, part{[]int32{2, 1}, []int32{2}, 2})
	unclean := func(topic string) bool { return topic == "b" }
	require.Equal(t, []Record{change("b", 0, []int32{2}, leader(2))}, ElectUncleanLeaders(f.im, unclean))
	require.Nil(t, ElectUncleanLeaders(f.im, never))
}

func TestCreateTopic(t *testing.T) {
	type want struct {
		replicas [][]int32
		isrs     [][]int32 // nil: the replicas
		err      *kerr.Error
		msg      string
	}
	for _, tc := range []struct {
		name       string
		fenced     []int32 // of brokers 1..4
		brokers    int32
		partitions int32
		rf         int16
		start      int
		want       want
	}{
		{"round robin from start 0", nil, 3, 4, 2, 0,
			want{replicas: [][]int32{{1, 2}, {2, 3}, {3, 1}, {1, 2}}}},
		{"round robin from start 4", nil, 3, 2, 3, 4,
			want{replicas: [][]int32{{2, 3, 1}, {3, 1, 2}}}},
		{"negative start", nil, 3, 1, 1, -1,
			want{replicas: [][]int32{{3}}}},
		{"fenced brokers are skipped while enough are active", []int32{2}, 4, 3, 2, 0,
			want{replicas: [][]int32{{1, 3}, {3, 4}, {4, 1}}}},
		{"fenced brokers fill up, outside the ISR", []int32{2, 4}, 4, 2, 3, 0,
			want{replicas: [][]int32{{1, 3, 2}, {3, 1, 4}}, isrs: [][]int32{{1, 3}, {3, 1}}}},
		{"rf above registered brokers", []int32{2}, 3, 1, 4, 0,
			want{err: kerr.InvalidReplicationFactor, msg: "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered."}},
		{"all brokers fenced", []int32{1, 2}, 2, 1, 1, 0,
			want{err: kerr.InvalidReplicationFactor, msg: "Unable to replicate the partition 1 time(s): All brokers are currently fenced."}},
		{"no brokers", nil, 0, 1, 1, 0,
			want{err: kerr.InvalidReplicationFactor, msg: "Unable to replicate the partition 1 time(s): All brokers are currently fenced."}},
		{"zero partitions", nil, 3, 0, 1, 0,
			want{err: kerr.InvalidPartitions, msg: "Number of partitions was set to an invalid non-positive value."}},
		{"negative partitions", nil, 3, -1, 1, 0,
			want{err: kerr.InvalidPartitions, msg: "Number of partitions was set to an invalid non-positive value."}},
		{"zero rf", nil, 3, 0, 0, 0,
			want{err: kerr.InvalidReplicationFactor, msg: "Replication factor must be larger than 0, or -1 to use the default value."}},
		{"unresolved default rf", nil, 3, 1, -1, 0,
			want{err: kerr.InvalidReplicationFactor, msg: "Replication factor must be larger than 0, or -1 to use the default value."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for id := int32(1); id <= tc.brokers; id++ {
				f.broker(id, false)
			}
			for _, id := range tc.fenced {
				f.apply(Record{FenceBroker: &FenceBroker{ID: id, Epoch: int64(id)}})
			}
			recs, e, msg := CreateTopic(f.im, "t", topicID("t"), tc.partitions, tc.rf, tc.start)
			require.Equal(t, tc.want.err, e)
			require.Equal(t, tc.want.msg, msg)
			if e != nil {
				require.Nil(t, recs)
				return
			}
			require.Equal(t, Record{Topic: &TopicRecord{Name: "t", ID: topicID("t")}}, recs[0])
			f.apply(recs...)
			require.Len(t, f.im.Topics["t"].Partitions, len(tc.want.replicas))
			for i, replicas := range tc.want.replicas {
				isr := replicas
				if tc.want.isrs != nil {
					isr = tc.want.isrs[i]
				}
				require.Equal(t, &Partition{
					TopicID: topicID("t"), Index: int32(i), Replicas: replicas, ISR: isr, Leader: replicas[0],
				}, f.p("t", int32(i)), "partition %d", i)
			}
		})
	}

	f := newFixture(t).broker(1, false).topic("t", part{[]int32{1}, []int32{1}, 1})
	_, e, msg := CreateTopic(f.im, "t", topicID("t2"), 1, 1, 0)
	require.Equal(t, kerr.TopicAlreadyExists, e)
	require.Equal(t, "Topic 't' already exists.", msg)
	_, e, _ = CreateTopic(f.im, "u", topicID("t"), 1, 1, 0)
	require.Equal(t, kerr.UnknownServerError, e, "topic id in use")
}

func TestAddPartitions(t *testing.T) {
	f := newFixture(t).broker(1, false).broker(2, false).broker(3, false)
	f.topic("t", part{[]int32{3, 1}, []int32{3, 1}, 3})
	recs, e, msg := AddPartitions(f.im, f.im.Topics["t"], 3, 0)
	require.Nil(t, e, msg)
	require.Equal(t, []Record{
		{Partition: &PartitionRecord{TopicID: topicID("t"), Partition: 1, Replicas: []int32{2, 3}, ISR: []int32{2, 3}, Leader: 2}},
		{Partition: &PartitionRecord{TopicID: topicID("t"), Partition: 2, Replicas: []int32{3, 1}, ISR: []int32{3, 1}, Leader: 3}},
	}, recs)
	f.apply(recs...)

	for _, tc := range []struct {
		count int32
		err   *kerr.Error
		msg   string
	}{
		{3, kerr.InvalidPartitions, "Topic already has 3 partition(s)."},
		{2, kerr.InvalidPartitions, "The topic t currently has 3 partition(s); 2 would not be an increase."},
		{-1, kerr.InvalidPartitions, "The topic t currently has 3 partition(s); -1 would not be an increase."},
	} {
		t.Run(fmt.Sprint(tc.count), func(t *testing.T) {
			recs, e, msg := AddPartitions(f.im, f.im.Topics["t"], tc.count, 0)
			require.Nil(t, recs)
			require.Equal(t, tc.err, e)
			require.Equal(t, tc.msg, msg)
		})
	}

	// The replication factor cannot be met any more.
	f.apply(Record{FenceBroker: &FenceBroker{ID: 1, Epoch: 1}}, Record{FenceBroker: &FenceBroker{ID: 2, Epoch: 2}}, Record{FenceBroker: &FenceBroker{ID: 3, Epoch: 3}})
	_, e, msg = AddPartitions(f.im, f.im.Topics["t"], 4, 0)
	require.Equal(t, kerr.InvalidReplicationFactor, e)
	require.Equal(t, "All brokers are currently fenced.", msg)

	// A topic deleted meanwhile; a topic caught between its records.
	gone := f.im.Topics["t"]
	f.apply(DeleteTopic(f.im, gone.ID)...)
	_, e, _ = AddPartitions(f.im, gone, 4, 0)
	require.Equal(t, kerr.UnknownTopicOrPartition, e)
	f.topic("empty")
	_, e, msg = AddPartitions(f.im, f.im.Topics["empty"], 1, 0)
	require.Equal(t, kerr.UnknownServerError, e)
	require.Equal(t, "Invalid state: topic empty appears to have no partitions.", msg)
}

func TestDeleteTopic(t *testing.T) {
	f := newFixture(t).topic("t", part{[]int32{1}, []int32{1}, 1})
	require.Equal(t, []Record{{RemoveTopic: &RemoveTopic{ID: topicID("t")}}}, DeleteTopic(f.im, topicID("t")))
	require.Nil(t, DeleteTopic(f.im, topicID("u")))
}

func TestAllocateProducerIDs(t *testing.T) {
	f := newFixture(t).broker(1, false).broker(2, true)
	recs, e := AllocateProducerIDs(f.im, 1, 1, 1000)
	require.Nil(t, e)
	require.Equal(t, []Record{{ProducerIDs: &ProducerIDs{BrokerID: 1, First: 0, Size: 1000}}}, recs)
	f.apply(recs...)
	recs, e = AllocateProducerIDs(f.im, 2, 2, 1000)
	require.Nil(t, e, "a fenced broker may allocate: Kafka checks only the epoch")
	require.Equal(t, int64(1000), recs[0].ProducerIDs.First)

	for _, tc := range []struct {
		name  string
		id    int32
		epoch int64
	}{{"older epoch", 1, 0}, {"another broker's epoch", 1, 2}, {"unregistered", 3, 3}} {
		_, e := AllocateProducerIDs(f.im, tc.id, tc.epoch, 1000)
		require.Equal(t, kerr.StaleBrokerEpoch, e, tc.name)
	}

	f.im.NextProducerID = math.MaxInt64 - 1000
	_, e = AllocateProducerIDs(f.im, 1, 1, 1000)
	require.Nil(t, e, "the last whole block")
	f.im.NextProducerID++
	_, e = AllocateProducerIDs(f.im, 1, 1, 1000)
	require.Equal(t, kerr.UnknownServerError, e, "exhausted")
	require.Panics(t, func() { AllocateProducerIDs(f.im, 1, 1, 0) })
}
