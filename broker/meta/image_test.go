package meta

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireApplyFails checks that a record is refused with want (ErrStale,
// or an error containing the text) and leaves the image as it was.
func requireApplyFails(t *testing.T, im *Image, r Record, want any) {
	t.Helper()
	before, err := im.Snapshot()
	require.NoError(t, err)
	err = im.Apply(r)
	switch w := want.(type) {
	case error:
		require.ErrorIs(t, err, w)
	case string:
		require.ErrorContains(t, err, w)
		require.NotErrorIs(t, err, ErrStale)
	}
	after, err := im.Snapshot()
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after), "a refused record changed the image")
}

func TestApplyRegisterBroker(t *testing.T) {
	f := newFixture(t).broker(1, true)
	b := f.im.Brokers[1]
	require.Equal(t, &Broker{ID: 1, Epoch: 1, Host: "h", Port: 9093, IncarnationID: incarnation(1, 1), Fenced: true}, b)
	require.Equal(t, int64(2), f.im.NextBrokerEpoch)

	// A new incarnation replaces the old one; the next epoch follows the
	// highest seen, even when the record skips ahead.
	f.apply(Record{RegisterBroker: &RegisterBroker{ID: 1, Epoch: 9, IncarnationID: incarnation(1, 9)}})
	require.Equal(t, int64(9), f.im.Brokers[1].Epoch)
	require.False(t, f.im.Brokers[1].Fenced)
	require.Equal(t, int64(10), f.im.NextBrokerEpoch)

	for _, epoch := range []int64{9, 8, 1} {
		requireApplyFails(t, f.im, Record{RegisterBroker: &RegisterBroker{ID: 1, Epoch: epoch}}, "registered at epoch")
	}
}

func TestApplyFenceUnfence(t *testing.T) {
	f := newFixture(t).broker(1, true).broker(2, false)
	f.apply(Record{UnfenceBroker: &UnfenceBroker{ID: 1, Epoch: 1}})
	require.True(t, f.im.Active(1))
	f.apply(Record{FenceBroker: &FenceBroker{ID: 2, Epoch: 2}})
	require.False(t, f.im.Active(2))
	require.False(t, f.im.Active(3), "unregistered")

	for _, r := range []Record{
		{FenceBroker: &FenceBroker{ID: 1, Epoch: 0}},
		{FenceBroker: &FenceBroker{ID: 1, Epoch: 2}},
		{UnfenceBroker: &UnfenceBroker{ID: 2, Epoch: 1}},
		{FenceBroker: &FenceBroker{ID: 3, Epoch: 3}},
		{UnfenceBroker: &UnfenceBroker{ID: 3, Epoch: 3}},
	} {
		requireApplyFails(t, f.im, r, ErrStale)
	}
}

func TestApplyTopicAndPartitions(t *testing.T) {
	f := newFixture(t).topic("a", part{[]int32{1, 2}, []int32{2, 1}, 2})
	p := f.p("a", 0)
	require.Equal(t, &Partition{TopicID: topicID("a"), Index: 0, Replicas: []int32{1, 2}, ISR: []int32{2, 1}, Leader: 2}, p)
	require.Same(t, f.im.Topics["a"], f.im.TopicIDs[topicID("a")])
	require.NotNil(t, f.im.Topics["a"].Configs)

	other := topicID("b")
	for _, tc := range []struct {
		name string
		r    Record
		want any
	}{
		{"duplicate name", Record{Topic: &TopicRecord{Name: "a", ID: other}}, "exists"},
		{"duplicate id", Record{Topic: &TopicRecord{Name: "b", ID: topicID("a")}}, "exists"},
		{"partition skipped", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 2, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}, "partition 2 created after 1"},
		{"partition repeated", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}, "partition 0 created after 1"},
		{"partition of gone", Record{Partition: &PartitionRecord{TopicID: other, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}, ErrStale},
		{"no replicas", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, ISR: []int32{1}, Leader: 1}}, "no replicas"},
		{"empty ISR", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{1}, Leader: 1}}, "empty ISR"},
		{"ISR not replicas", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{1}, ISR: []int32{1, 2}, Leader: 1}}, "not a replica"},
		{"ISR repeated", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 1}, Leader: 1}}, "repeated"},
		{"replicas repeated", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{1, 1}, ISR: []int32{1}, Leader: 1}}, "repeated"},
		{"leader not replica", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 2}}, "leader 2 is not a replica"},
		{"negative replica id", Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{-1}, ISR: []int32{-1}, Leader: NoLeader}}, "bad or repeated"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireApplyFails(t, f.im, tc.r, tc.want) })
	}

	// A leaderless partition is valid.
	f.apply(Record{Partition: &PartitionRecord{TopicID: topicID("a"), Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: NoLeader}})
	require.Len(t, f.im.Topics["a"].Partitions, 2)
}

// TestApplyPartitionChangeEpochs: the leader epoch moves only when the
// record sets a leader (Kafka's PartitionRegistration.merge; an ISR change
// alone keeps it, KAFKA-15021); the partition epoch moves on every change.
func TestApplyPartitionChangeEpochs(t *testing.T) {
	replicas := []int32{1, 2, 3}
	for _, tc := range []struct {
		name                   string
		r                      PartitionChange
		leader                 int32
		isr, wantReplicas      []int32
		leaderEpoch, partEpoch int32
	}{
		{"ISR shrink", PartitionChange{ISR: []int32{1, 2}}, 1, []int32{1, 2}, replicas, 5, 8},
		{"ISR expand", PartitionChange{ISR: []int32{1, 2, 3}}, 1, []int32{1, 2, 3}, replicas, 5, 8},
		{"new leader", PartitionChange{Leader: leader(2)}, 2, []int32{1, 2}, replicas, 6, 8},
		{"new leader and ISR", PartitionChange{Leader: leader(2), ISR: []int32{2}}, 2, []int32{2}, replicas, 6, 8},
		{"no leader", PartitionChange{Leader: leader(NoLeader)}, NoLeader, []int32{1, 2}, replicas, 6, 8},
		{"same leader forces a new epoch", PartitionChange{Leader: leader(1)}, 1, []int32{1, 2}, replicas, 6, 8},
		{"replicas", PartitionChange{Replicas: []int32{2, 1}}, 1, []int32{1, 2}, []int32{2, 1}, 5, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t).topic("t", part{replicas, []int32{1, 2}, 1})
			p := f.p("t", 0)
			p.LeaderEpoch, p.PartitionEpoch = 5, 7
			r := tc.r
			r.TopicID, r.Partition = topicID("t"), 0
			f.apply(Record{PartitionChange: &r})
			require.Equal(t, &Partition{
				TopicID: topicID("t"), Replicas: tc.wantReplicas, ISR: tc.isr, Leader: tc.leader,
				LeaderEpoch: tc.leaderEpoch, PartitionEpoch: tc.partEpoch,
			}, p)
		})
	}

	f := newFixture(t).topic("t", part{replicas, []int32{1, 2}, 1})
	for _, tc := range []struct {
		name string
		r    PartitionChange
		want any
	}{
		{"nothing", PartitionChange{TopicID: topicID("t")}, "changes nothing"},
		{"empty ISR", PartitionChange{TopicID: topicID("t"), ISR: []int32{}}, "empty ISR"},
		{"ISR not replicas", PartitionChange{TopicID: topicID("t"), ISR: []int32{1, 4}}, "not a replica"},
		{"leader not replica", PartitionChange{TopicID: topicID("t"), Leader: leader(4)}, "not a replica"},
		{"replicas drop ISR", PartitionChange{TopicID: topicID("t"), Replicas: []int32{1, 3}}, "not a replica"},
		{"unknown partition", PartitionChange{TopicID: topicID("t"), Partition: 1, ISR: []int32{1}}, ErrStale},
		{"negative partition", PartitionChange{TopicID: topicID("t"), Partition: -1, ISR: []int32{1}}, ErrStale},
		{"unknown topic", PartitionChange{TopicID: topicID("u"), ISR: []int32{1}}, ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			requireApplyFails(t, f.im, Record{PartitionChange: &r}, tc.want)
		})
	}
}

func TestApplyRemoveTopic(t *testing.T) {
	f := newFixture(t).topic("t", part{[]int32{1}, []int32{1}, 1}).topic("u", part{[]int32{1}, []int32{1}, 1})
	f.apply(Record{Config: &ConfigRecord{ResourceType: ResourceTopic, Resource: "t", Name: "retention.ms", Value: str("1")}})
	f.apply(Record{RemoveTopic: &RemoveTopic{ID: topicID("t")}})
	require.Nil(t, f.im.Topics["t"])
	require.Nil(t, f.im.TopicIDs[topicID("t")])
	require.Nil(t, f.im.Partition(topicID("t"), 0))
	require.NotNil(t, f.im.Topics["u"])

	// Records the controller wrote before it saw the removal are stale.
	for _, r := range []Record{
		{RemoveTopic: &RemoveTopic{ID: topicID("t")}},
		change("t", 0, []int32{1}, nil),
		{Partition: &PartitionRecord{TopicID: topicID("t"), Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}},
		{Config: &ConfigRecord{ResourceType: ResourceTopic, Resource: "t", Name: "retention.ms", Value: str("2")}},
	} {
		requireApplyFails(t, f.im, r, ErrStale)
	}

	// The name can be used again, without the old topic's configs.
	id := topicID("t2")
	f.apply(Record{Topic: &TopicRecord{Name: "t", ID: id}})
	require.Empty(t, f.im.Topics["t"].Configs)
	require.Same(t, f.im.Topics["t"], f.im.TopicIDs[id])
}

func TestApplyConfig(t *testing.T) {
	f := newFixture(t).topic("t", part{[]int32{1}, []int32{1}, 1})
	set := func(rtype int8, resource, name string, value *string) Record {
		return Record{Config: &ConfigRecord{ResourceType: rtype, Resource: resource, Name: name, Value: value}}
	}
	f.apply(
		set(ResourceTopic, "t", "cleanup.policy", str("compact")),
		set(ResourceTopic, "t", "retention.ms", str("")),
		set(ResourceBroker, "", "log.retention.ms", str("5")),
		set(ResourceBroker, "2", "log.flush.interval.messages", str("1")),
		set(ResourceTopic, "t", "cleanup.policy", nil),
	)
	require.Equal(t, map[string]string{"retention.ms": ""}, f.im.Topics["t"].Configs)
	require.Equal(t, map[string]string{"log.retention.ms": "5"}, f.im.ClusterConfigs)
	require.Equal(t, map[int32]map[string]string{2: {"log.flush.interval.messages": "1"}}, f.im.BrokerConfigs)

	// Removing what is not there is a no-op that creates nothing.
	f.apply(set(ResourceBroker, "7", "x", nil), set(ResourceTopic, "t", "x", nil), set(ResourceTopic, "gone", "x", nil))
	require.NotContains(t, f.im.BrokerConfigs, int32(7))

	for _, r := range []Record{
		set(ResourceTopic, "gone", "retention.ms", str("1")),
		set(ResourceBroker, "1abc", "x", str("1")),
		set(ResourceBroker, "-1", "x", str("1")),
		set(ResourceBroker, "99999999999", "x", str("1")),
		set(3, "t", "x", str("1")),
	} {
		requireApplyFails(t, f.im, r, ErrStale)
	}
}

func TestApplyProducerIDs(t *testing.T) {
	f := newFixture(t)
	f.apply(Record{ProducerIDs: &ProducerIDs{BrokerID: 1, First: 0, Size: 1000}})
	f.apply(Record{ProducerIDs: &ProducerIDs{BrokerID: 2, First: 1000, Size: 10}})
	require.Equal(t, int64(1010), f.im.NextProducerID)
	for _, r := range []ProducerIDs{
		{First: 1011, Size: 1}, // a gap
		{First: 1000, Size: 1}, // an overlap
		{First: 1010, Size: 0},
		{First: 1010, Size: -5},
		{First: 1010, Size: math.MaxInt64}, // past the int64 range
	} {
		requireApplyFails(t, f.im, Record{ProducerIDs: &r}, "does not start at 1010")
	}
}

func TestApplyEmptyRecord(t *testing.T) {
	require.EqualError(t, NewImage().Apply(Record{}), "meta: empty record")
}

// richImage has a bit of everything, including the empty maps and
// leaderless partitions a snapshot must keep.
func richImage(t *testing.T) *Image {
	f := newFixture(t).broker(1, false).broker(2, true).broker(3, false)
	f.topic("a", part{[]int32{1, 2}, []int32{1}, 1}, part{[]int32{2, 3}, []int32{2}, NoLeader})
	f.topic("b", part{[]int32{3}, []int32{3}, 3})
	f.topic("c") // between its TopicRecord and its PartitionRecords
	f.apply(
		Record{Config: &ConfigRecord{ResourceType: ResourceTopic, Resource: "a", Name: "retention.ms", Value: str("1")}},
		Record{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "", Name: "log.retention.ms", Value: str("2")}},
		Record{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "3", Name: "x", Value: str("3")}},
		Record{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "1", Name: "x", Value: str("")}},
		Record{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "1", Name: "x"}}, // leaves an empty map
		change("a", 0, []int32{1, 2}, leader(2)),
		Record{ProducerIDs: &ProducerIDs{BrokerID: 1, First: 0, Size: 1000}},
	)
	f.im.Offset = 41
	return f.im
}

func TestSnapshotRestore(t *testing.T) {
	for _, tc := range []struct {
		name string
		im   *Image
	}{{"empty", NewImage()}, {"rich", richImage(t)}} {
		im := tc.im
		t.Run(tc.name, func(t *testing.T) {
			b, err := im.Snapshot()
			require.NoError(t, err)
			got, err := Restore(b)
			require.NoError(t, err)
			require.Equal(t, im, got)
			again, err := got.Snapshot()
			require.NoError(t, err)
			require.Equal(t, string(b), string(again), "snapshots are byte-for-byte stable")

			// The restored image goes on applying records like the original.
			for _, r := range []Record{
				{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "1", Name: "y", Value: str("1")}},
				{Topic: &TopicRecord{Name: "d", ID: topicID("d")}},
				{ProducerIDs: &ProducerIDs{First: im.NextProducerID, Size: 1}},
			} {
				require.NoError(t, im.Apply(r))
				require.NoError(t, got.Apply(r))
			}
			require.Equal(t, im, got)
		})
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	for _, tc := range []struct{ name, snap, want string }{
		{"not json", `{`, "decoding snapshot"},
		{"repeated broker", `{"brokers":[{"ID":1},{"ID":1}]}`, "repeated broker"},
		{"null topic", `{"topics":[null]}`, "repeated topic"},
		{"repeated topic", `{"topics":[{"Name":"a"},{"Name":"a","ID":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}`, "repeated topic"},
		{"partition out of place", `{"topics":[{"Name":"a","Partitions":[{"Index":1,"Replicas":[1],"ISR":[1],"Leader":1}]}]}`, "out of place"},
		{"bad partition", `{"topics":[{"Name":"a","Partitions":[{"Index":0,"Replicas":[1],"ISR":[],"Leader":1}]}]}`, "empty ISR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Restore([]byte(tc.snap))
			require.ErrorContains(t, err, tc.want)
		})
	}
	// A broker config map stored as null comes back usable.
	im, err := Restore([]byte(`{"broker_configs":{"4":null}}`))
	require.NoError(t, err)
	require.NoError(t, im.Apply(Record{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "4", Name: "x", Value: str("1")}}))
}
