package meta

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// full is a partition's whole replication state, reassignment included.
type full struct {
	replicas, isr          []int32
	leader                 int32
	leaderEpoch, partEpoch int32
	adding, removing       []int32
}

func fullOf(p *Partition) full {
	return full{p.Replicas, p.ISR, p.Leader, p.LeaderEpoch, p.PartitionEpoch, p.Adding, p.Removing}
}

func TestControlledShutdown(t *testing.T) {
	f := newFixture(t).broker(1, false).broker(2, false).broker(3, false)
	f.topic("t",
		part{[]int32{1, 2, 3}, []int32{1, 2, 3}, 1}, // leads: moves to 2
		part{[]int32{2, 1}, []int32{2, 1}, 2},       // follows: leaves the ISR
		part{[]int32{1, 3}, []int32{1}, 1},          // last member: stays, no leader
		part{[]int32{2, 3}, []int32{2, 3}, 2},       // not a replica: untouched
	)
	require.Nil(t, ControlledShutdown(f.im, 1, 0, never), "stale epoch")
	recs := ControlledShutdown(f.im, 1, 1, never)
	require.Equal(t, []Record{
		change("t", 0, []int32{2, 3}, leader(2)),
		change("t", 1, []int32{2}, nil),
		change("t", 2, nil, leader(NoLeader)),
		{ShutdownBroker: &ShutdownBroker{ID: 1, Epoch: 1}},
	}, recs)
	f.apply(recs...)
	require.False(t, f.im.Leads(1))
	require.True(t, f.im.Active(1), "a broker in controlled shutdown stays unfenced")
	require.False(t, f.im.MayLead(1))
	require.Nil(t, ControlledShutdown(f.im, 1, 1, never), "already shutting down")

	// It leads and joins nothing any more: not when another broker is
	// unfenced, not through AlterPartition, not in new topics' ISRs.
	f.apply(Record{FenceBroker: &FenceBroker{ID: 3, Epoch: 3}})
	f.apply(Unfence(f.im, 3, 3, never)...)
	require.Equal(t, int32(NoLeader), f.p("t", 2).Leader, "1 is the last ISR member but may not lead")
	require.Nil(t, Unfence(f.im, 1, 1, never), "a broker in controlled shutdown is never unfenced")
	p := f.p("t", 1)
	_, e := AlterPartition(f.im, AlterPartitionRequest{
		BrokerID: 2, BrokerEpoch: 2, TopicID: topicID("t"), Partition: 1,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: members(2, 1),
	})
	require.Equal(t, kerr.IneligibleReplica, e)
	recs, e, _ = CreateTopic(f.im, "u", topicID("u"), 1, 3, 0)
	require.Nil(t, e)
	require.Equal(t, []int32{2, 3, 1}, recs[1].Partition.Replicas)
	require.Equal(t, []int32{2, 3}, recs[1].Partition.ISR, "placed outside the ISR, like a fenced broker")

	// A new incarnation starts afresh; a fenced broker needs no
	// controlled shutdown.
	f.apply(Fence(f.im, 2, never)...)
	require.Nil(t, ControlledShutdown(f.im, 2, 2, never), "fenced")
	regs, epoch := Register(f.im, Registration{ID: 1, IncarnationID: [16]byte{9}}, never)
	f.apply(regs...)
	f.apply(Unfence(f.im, 1, epoch, never)...)
	require.True(t, f.im.MayLead(1))
}

func TestElectLeader(t *testing.T) {
	setup := func(t *testing.T) *fixture {
		f := newFixture(t).broker(1, false).broker(2, false).broker(3, false).broker(4, true)
		return f.topic("t",
			part{[]int32{1, 2, 3}, []int32{2, 1}, 2},     // preferred 1 in the ISR
			part{[]int32{3, 1, 2}, []int32{1, 2}, 1},     // preferred 3 out of the ISR
			part{[]int32{1, 2}, []int32{1, 2}, 1},        // preferred leads
			part{[]int32{4, 2, 3}, []int32{4}, NoLeader}, // only a fenced ISR member
			part{[]int32{4}, []int32{4}, NoLeader},       // no live replica
		)
	}
	for _, tc := range []struct {
		name      string
		typ       ElectionType
		partition int32
		err       *kerr.Error
		want      full // after applying, when err is nil
	}{
		{"preferred moves leadership", ElectPreferred, 0, nil, full{[]int32{1, 2, 3}, []int32{2, 1}, 1, 1, 1, nil, nil}},
		{"preferred out of the ISR", ElectPreferred, 1, kerr.PreferredLeaderNotAvailable, full{}},
		{"preferred already leads", ElectPreferred, 2, kerr.ElectionNotNeeded, full{}},
		{"unclean with a leader", ElectUnclean, 0, kerr.ElectionNotNeeded, full{}},
		{"unclean elects outside the ISR", ElectUnclean, 3, nil, full{[]int32{4, 2, 3}, []int32{2}, 2, 1, 1, nil, nil}},
		{"unclean without live replicas", ElectUnclean, 4, kerr.EligibleLeadersNotAvailable, full{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			recs, e, msg := ElectLeader(f.im, "t", tc.partition, tc.typ)
			require.Equal(t, tc.err, e)
			if e != nil {
				require.Nil(t, recs)
				require.Equal(t, e.Description, msg)
				return
			}
			f.apply(recs...)
			require.Equal(t, tc.want, fullOf(f.p("t", tc.partition)))
		})
	}
	f := setup(t)
	_, e, msg := ElectLeader(f.im, "u", 0, ElectPreferred)
	require.Equal(t, kerr.UnknownTopicOrPartition, e)
	require.Equal(t, "No such topic as u", msg)
	_, _, msg = ElectLeader(f.im, "t", 9, ElectPreferred)
	require.Equal(t, "No such partition as t-9", msg)
}

func TestReassign(t *testing.T) {
	setup := func(t *testing.T) *fixture {
		f := newFixture(t).broker(1, false).broker(2, false).broker(3, false).broker(4, false).broker(5, true)
		return f.topic("t", part{[]int32{1, 2, 3}, []int32{1, 2, 3}, 1})
	}
	alter := func(f *fixture, isr ...int32) ([]Record, *kerr.Error) {
		p := f.p("t", 0)
		return AlterPartition(f.im, AlterPartitionRequest{
			BrokerID: p.Leader, BrokerEpoch: int64(p.Leader), TopicID: topicID("t"),
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: members(isr...),
		})
	}

	t.Run("move a replica: add, wait for the ISR, remove", func(t *testing.T) {
		f := setup(t)
		recs, e, msg := Reassign(f.im, "t", 0, []int32{2, 3, 4}, false, never)
		require.Nil(t, e, msg)
		f.apply(recs...)
		require.Equal(t, full{[]int32{2, 3, 4, 1}, []int32{1, 2, 3}, 1, 0, 1, []int32{4}, []int32{1}}, fullOf(f.p("t", 0)))

		// 4 joins the ISR: the reassignment completes in the same
		// record, which removes the leader.
		recs, e = alter(f, 1, 2, 3, 4)
		require.Equal(t, kerr.NewLeaderElected, e)
		f.apply(recs...)
		require.Equal(t, full{[]int32{2, 3, 4}, []int32{2, 3, 4}, 2, 1, 2, nil, nil}, fullOf(f.p("t", 0)))
	})
	t.Run("shrink completes at once and bumps the leader epoch", func(t *testing.T) {
		f := setup(t)
		recs, e, _ := Reassign(f.im, "t", 0, []int32{1, 2}, true, never)
		require.Nil(t, e)
		f.apply(recs...)
		require.Equal(t, full{[]int32{1, 2}, []int32{1, 2}, 1, 1, 1, nil, nil}, fullOf(f.p("t", 0)))
	})
	t.Run("a follower joining the ISR does not complete a move to a fenced broker", func(t *testing.T) {
		f := setup(t)
		recs, _, _ := Reassign(f.im, "t", 0, []int32{1, 2, 5}, false, never)
		f.apply(recs...)
		recs, e := alter(f, 1, 2)
		require.Nil(t, e)
		f.apply(recs...)
		require.Equal(t, full{[]int32{1, 2, 5, 3}, []int32{1, 2}, 1, 0, 2, []int32{5}, []int32{3}}, fullOf(f.p("t", 0)))
		_, e = alter(f, 1, 2, 5)
		require.Equal(t, kerr.IneligibleReplica, e)
	})
	t.Run("cancel reverts the adding replicas", func(t *testing.T) {
		f := setup(t)
		recs, _, _ := Reassign(f.im, "t", 0, []int32{4, 2, 3}, false, never)
		f.apply(recs...)
		recs, e := alter(f, 1, 2, 3) // no change
		require.Nil(t, e)
		require.Nil(t, recs)
		recs, e, _ = Reassign(f.im, "t", 0, nil, false, never)
		require.Nil(t, e)
		f.apply(recs...)
		require.Equal(t, full{[]int32{2, 3, 1}, []int32{1, 2, 3}, 1, 1, 2, nil, nil}, fullOf(f.p("t", 0)),
			"4 leaves the replicas: a new leader epoch; the removing replica is kept at the end")
		_, e, _ = Reassign(f.im, "t", 0, nil, false, never)
		require.Equal(t, kerr.NoReassignmentInProgress, e)
	})
	t.Run("cancel that needs an unclean election", func(t *testing.T) {
		f := newFixture(t).broker(1, true).broker(2, false)
		f.apply(Record{Topic: &TopicRecord{Name: "t", ID: topicID("t")}}, Record{Partition: &PartitionRecord{
			TopicID: topicID("t"), Replicas: []int32{2, 1}, ISR: []int32{2}, Leader: 2, Adding: []int32{2}, Removing: []int32{1},
		}})
		_, e, msg := Reassign(f.im, "t", 0, nil, false, never)
		require.Equal(t, kerr.InvalidReplicaAssignment, e)
		require.Equal(t, "Unable to revert partition assignment for t:0 because it would require an unclean leader election.", msg)
		recs, e, _ := Reassign(f.im, "t", 0, nil, false, always)
		require.Nil(t, e)
		f.apply(recs...)
		require.Equal(t, full{[]int32{1}, []int32{1}, NoLeader, 1, 1, nil, nil}, fullOf(f.p("t", 0)), "1 is fenced: no leader")
	})
	for _, tc := range []struct {
		name   string
		target []int32
		err    *kerr.Error
		msg    string
	}{
		{"same replicas", []int32{1, 2, 3}, nil, ""},
		{"empty", []int32{}, kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list."},
		{"unregistered", []int32{9, 2, 7}, kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker 7, but no such broker is registered."},
		{"repeated", []int32{2, 1, 2}, kerr.InvalidReplicaAssignment, "The manual partition assignment includes the broker 2 more than once."},
		{"replication factor", []int32{1, 2}, kerr.InvalidReplicationFactor, "The replication factor is changed from 3 to 2 but AllowReplicationFactorChange is false."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			recs, e, msg := Reassign(f.im, "t", 0, tc.target, false, never)
			require.Nil(t, recs)
			require.Equal(t, tc.err, e)
			require.Equal(t, tc.msg, msg)
		})
	}
	f := setup(t)
	_, e, msg := Reassign(f.im, "u", 0, []int32{1}, true, never)
	require.Equal(t, kerr.UnknownTopicOrPartition, e)
	require.Equal(t, "Unable to find a topic named u.", msg)
	_, _, msg = Reassign(f.im, "t", 1, []int32{1}, true, never)
	require.Equal(t, "Unable to find partition t:1.", msg)
}

func TestCreateTopicAssigned(t *testing.T) {
	f := newFixture(t).broker(1, false).broker(2, true).broker(3, false)
	recs, e, msg := CreateTopicAssigned(f.im, "t", topicID("t"), [][]int32{{2, 3}, {1, 2}})
	require.Nil(t, e, msg)
	f.apply(recs...)
	require.Equal(t, full{[]int32{2, 3}, []int32{3}, 3, 0, 0, nil, nil}, fullOf(f.p("t", 0)), "the first active replica leads")
	require.Equal(t, full{[]int32{1, 2}, []int32{1}, 1, 0, 0, nil, nil}, fullOf(f.p("t", 1)))

	for _, tc := range []struct {
		name       string
		assignment [][]int32
		err        *kerr.Error
		msg        string
	}{
		{"none", nil, kerr.InvalidReplicaAssignment, "The manual partition assignment is empty."},
		{"inconsistent", [][]int32{{1, 3}, {1}}, kerr.InvalidReplicaAssignment, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."},
		{"all fenced", [][]int32{{1}, {2}}, kerr.InvalidReplicaAssignment, "All brokers specified in the manual partition assignment for partition 1 are fenced or in controlled shutdown."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, e, msg := CreateTopicAssigned(f.im, "u", topicID("u"), tc.assignment)
			require.Nil(t, recs)
			require.Equal(t, tc.err, e)
			require.Equal(t, tc.msg, msg)
		})
	}
	_, e, _ = CreateTopicAssigned(f.im, "t", topicID("u"), [][]int32{{1}})
	require.Equal(t, kerr.TopicAlreadyExists, e)

	recs, e, msg = AddPartitionsAssigned(f.im, f.im.Topics["t"], 3, [][]int32{{3, 1}})
	require.Nil(t, e, msg)
	f.apply(recs...)
	require.Equal(t, full{[]int32{3, 1}, []int32{3, 1}, 3, 0, 0, nil, nil}, fullOf(f.p("t", 2)))
	_, e, msg = AddPartitionsAssigned(f.im, f.im.Topics["t"], 5, [][]int32{{3, 1}})
	require.Equal(t, kerr.InvalidReplicaAssignment, e)
	require.Equal(t, "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.", msg)
	_, _, msg = AddPartitionsAssigned(f.im, f.im.Topics["t"], 4, [][]int32{{3}})
	require.Equal(t, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).", msg)
	_, e, _ = AddPartitionsAssigned(f.im, f.im.Topics["t"], 3, nil)
	require.Equal(t, kerr.InvalidPartitions, e)
}

func TestClone(t *testing.T) {
	f := newFixture(t).broker(1, false).broker(2, false)
	f.topic("t", part{[]int32{1, 2}, []int32{1, 2}, 1})
	f.apply(Record{Config: &ConfigRecord{ResourceType: ResourceTopic, Resource: "t", Name: "retention.ms", Value: str("1")}},
		Record{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "1", Name: "x", Value: str("1")}})
	c := f.im.Clone()
	require.Equal(t, f.im, c)
	applyAll(t, c, Fence(c, 1, never))
	applyAll(t, c, []Record{{Config: &ConfigRecord{ResourceType: ResourceTopic, Resource: "t", Name: "retention.ms", Value: str("2")}}})
	require.False(t, f.im.Brokers[1].Fenced, "the original is untouched")
	require.Equal(t, int32(1), f.p("t", 0).Leader)
	require.Equal(t, "1", f.im.Topics["t"].Configs["retention.ms"])
}
