package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestInteropKadm drives the admin APIs through franz-go's kadm: create
// and delete topics, describe and alter configs (incremental and legacy),
// list offsets and delete records.
func TestInteropKadm(t *testing.T) {
	b := startBroker(t, "")
	ctx := testContext(t, 2*time.Minute)
	adm := kadm.NewClient(newKgo(t, b.addr))

	created, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, "a", "b")
	require.NoError(t, err)
	for _, c := range created.Sorted() {
		require.NoError(t, c.Err, c.Topic)
		require.NotEqual(t, kadm.TopicID{}, c.ID)
	}
	again, err := adm.CreateTopics(ctx, 3, 1, nil, "a")
	require.NoError(t, err)
	require.ErrorIs(t, again["a"].Err, kerr.TopicAlreadyExists)
	_, err = adm.CreateTopic(ctx, 1, 3, nil, "rf3")
	require.ErrorIs(t, err, kerr.InvalidReplicationFactor, "one broker cannot hold three replicas")

	t.Run("configs", func(t *testing.T) {
		rcs, err := adm.DescribeTopicConfigs(ctx, "a")
		require.NoError(t, err)
		rc, err := rcs.On("a", nil)
		require.NoError(t, err)
		require.Equal(t, "compact", configValue(t, rc, "cleanup.policy"))
		ret := configEntry(t, rc, "retention.ms")
		require.Equal(t, "604800000", *ret.Value)
		require.Equal(t, kmsg.ConfigSourceDefaultConfig, ret.Source)

		_, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("3600000")}}, "a")
		require.NoError(t, err)
		rcs, err = adm.DescribeTopicConfigs(ctx, "a")
		require.NoError(t, err)
		rc, _ = rcs.On("a", nil)
		ret = configEntry(t, rc, "retention.ms")
		require.Equal(t, "3600000", *ret.Value)
		require.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, ret.Source)
		require.Equal(t, "compact", configValue(t, rc, "cleanup.policy"), "incremental alter keeps other overrides")

		// The legacy AlterConfigs replaces the whole override set.
		_, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.bytes", Value: kadm.StringPtr("1048576")}}, "a")
		require.NoError(t, err)
		rcs, err = adm.DescribeTopicConfigs(ctx, "a")
		require.NoError(t, err)
		rc, _ = rcs.On("a", nil)
		require.Equal(t, "1048576", configValue(t, rc, "segment.bytes"))
		require.Equal(t, "delete", configValue(t, rc, "cleanup.policy"), "legacy alter drops overrides not named")

		resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("soon")}}, "a")
		require.NoError(t, err)
		require.ErrorIs(t, resp[0].Err, kerr.InvalidConfig)

		brokers, err := adm.DescribeBrokerConfigs(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, brokers)
		require.NoError(t, brokers[0].Err)
	})

	t.Run("offsets and delete records", func(t *testing.T) {
		cl := newKgo(t, b.addr, kgo.DefaultProduceTopic("b"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		before := time.Now().UnixMilli()
		for i := range 20 {
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte{byte(i)}}).FirstErr())
		}
		start, err := adm.ListStartOffsets(ctx, "b")
		require.NoError(t, err)
		end, err := adm.ListEndOffsets(ctx, "b")
		require.NoError(t, err)
		s, _ := start.Lookup("b", 1)
		e, _ := end.Lookup("b", 1)
		require.Equal(t, int64(0), s.Offset)
		require.Equal(t, int64(20), e.Offset)
		after, err := adm.ListOffsetsAfterMilli(ctx, before-1000, "b")
		require.NoError(t, err)
		a, _ := after.Lookup("b", 1)
		require.Equal(t, int64(0), a.Offset, "the first record at or after a time before all of them")

		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: "b", Partition: 1, At: 7})
		del, err := adm.DeleteRecords(ctx, offs)
		require.NoError(t, err)
		d, _ := del.Lookup("b", 1)
		require.NoError(t, d.Err)
		require.Equal(t, int64(7), d.LowWatermark)
		start, err = adm.ListStartOffsets(ctx, "b")
		require.NoError(t, err)
		s, _ = start.Lookup("b", 1)
		require.Equal(t, int64(7), s.Offset)

		offs = kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: "b", Partition: 1, At: 99})
		del, err = adm.DeleteRecords(ctx, offs)
		require.NoError(t, err)
		d, _ = del.Lookup("b", 1)
		require.ErrorIs(t, d.Err, kerr.OffsetOutOfRange, "past the high watermark")
	})

	t.Run("delete topics", func(t *testing.T) {
		resp, err := adm.DeleteTopics(ctx, "a", "nope")
		require.NoError(t, err)
		require.NoError(t, resp["a"].Err)
		require.ErrorIs(t, resp["nope"].Err, kerr.UnknownTopicOrPartition)
		names, err := adm.ListTopics(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"b"}, names.Names())
	})
}

func configEntry(t *testing.T, rc kadm.ResourceConfig, name string) kadm.Config {
	t.Helper()
	for _, c := range rc.Configs {
		if c.Key == name {
			return c
		}
	}
	t.Fatalf("config %s not described", name)
	return kadm.Config{}
}

func configValue(t *testing.T, rc kadm.ResourceConfig, name string) string {
	t.Helper()
	c := configEntry(t, rc, name)
	require.NotNil(t, c.Value, name)
	return *c.Value
}
