package meta

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// oneOfEach is a record of every type, with the fields that are easy to
// lose in an encoding: a pointer to NoLeader, a pointer to "", bytes.
func oneOfEach() []Record {
	id := topicID("t")
	return []Record{
		{RegisterBroker: &RegisterBroker{ID: 3, Epoch: 7, Host: "b3", Port: 9095, Rack: "r1", IncarnationID: [16]byte{1, 2, 255}, Fenced: true}},
		{FenceBroker: &FenceBroker{ID: 3, Epoch: 7}},
		{UnfenceBroker: &UnfenceBroker{ID: 3, Epoch: 7}},
		{Topic: &TopicRecord{Name: "t", ID: id}},
		{Partition: &PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{3, 1}, ISR: []int32{3}, Leader: 3, LeaderEpoch: 4, PartitionEpoch: 9}},
		{PartitionChange: &PartitionChange{TopicID: id, Partition: 0, ISR: []int32{1}, Leader: leader(NoLeader), Replicas: []int32{1, 3}}},
		{PartitionChange: &PartitionChange{TopicID: id, Partition: 0, ISR: []int32{1, 3}}},
		{RemoveTopic: &RemoveTopic{ID: id}},
		{Config: &ConfigRecord{ResourceType: ResourceTopic, Resource: "t", Name: "retention.ms", Value: str("")}},
		{Config: &ConfigRecord{ResourceType: ResourceBroker, Resource: "", Name: "log.retention.ms"}},
		{ProducerIDs: &ProducerIDs{BrokerID: 3, First: 1000, Size: 1000}},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, rs := range [][]Record{oneOfEach(), {}, oneOfEach()[:1]} {
		b, err := Encode(rs)
		require.NoError(t, err)
		got, err := Decode(b)
		require.NoError(t, err)
		require.Len(t, got, len(rs))
		for i := range rs {
			require.Equal(t, rs[i], got[i], "record %d", i)
		}
	}
}

func TestEncodeDecodeRejectNotExactlyOneField(t *testing.T) {
	two := Record{FenceBroker: &FenceBroker{ID: 1}, UnfenceBroker: &UnfenceBroker{ID: 1}}
	for _, tc := range []struct {
		name string
		rs   []Record
		want string
	}{
		{"zero fields", []Record{{}}, "record 0 has 0 fields set, want 1"},
		{"two fields", []Record{oneOfEach()[0], two}, "record 1 has 2 fields set, want 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.rs)
			require.EqualError(t, err, "meta: "+tc.want)
		})
	}
	for _, tc := range []struct{ name, entry, want string }{
		{"zero fields", `[{}]`, "record 0 has 0 fields set"},
		{"null record", `[{"topic":{"name":"t"}},null]`, "record 1 has 0 fields set"},
		{"unknown kind", `[{"future_record":{}}]`, "record 0 has 0 fields set"},
		{"two fields", `[{"fence_broker":{"id":1},"unfence_broker":{"id":1}}]`, "record 0 has 2 fields set"},
		{"not json", `[{`, "decoding entry"},
		{"not a list", `{"topic":{}}`, "decoding entry"},
	} {
		t.Run("decode "+tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.entry))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
