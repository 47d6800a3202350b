package configs

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTopicSettingsDefaults pins the main Kafka 4.x topic defaults.
func TestTopicSettingsDefaults(t *testing.T) {
	got, err := TopicSettingsOf(Layers{})
	require.NoError(t, err)
	assert.Equal(t, TopicSettings{
		SegmentBytes:                1 << 30,
		SegmentMs:                   7 * 24 * 3600 * 1000,
		SegmentJitterMs:             0,
		SegmentIndexBytes:           10 << 20,
		IndexIntervalBytes:          4096,
		RetentionMs:                 7 * 24 * 3600 * 1000,
		RetentionBytes:              -1,
		LocalRetentionMs:            -2,
		LocalRetentionBytes:         -2,
		FlushMessages:               math.MaxInt64,
		FlushMs:                     math.MaxInt64,
		FileDeleteDelayMs:           60000,
		DeleteRetentionMs:           24 * 3600 * 1000,
		MinCompactionLagMs:          0,
		MaxCompactionLagMs:          math.MaxInt64,
		MinCleanableDirtyRatio:      0.5,
		MessageTimestampBeforeMaxMs: math.MaxInt64,
		MessageTimestampAfterMaxMs:  3600 * 1000,
		MaxMessageBytes:             1048588,
		MinInsyncReplicas:           1,
		UncleanLeaderElection:       false,
		Preallocate:                 false,
		CleanupPolicy:               []string{"delete"},
		MessageTimestampType:        "CreateTime",
		CompressionType:             "producer",
		CompressionGzipLevel:        -1,
		CompressionLz4Level:         9,
		CompressionZstdLevel:        3,
	}, got)
	assert.True(t, got.Delete())
	assert.False(t, got.Compact())
}

func TestTopicSettingsLayers(t *testing.T) {
	l := Layers{
		Topic:          set("cleanup.policy", " compact , delete", "min.insync.replicas", "2"),
		ClusterDefault: set("log.segment.bytes", "2097152", "unclean.leader.election.enable", "true"),
		Static:         set("log.retention.hours", "24", "log.roll.hours", "1", "min.insync.replicas", "3", "compression.type", "zstd"),
	}
	got, err := TopicSettingsOf(l)
	require.NoError(t, err)
	assert.Equal(t, []string{"compact", "delete"}, got.CleanupPolicy)
	assert.True(t, got.Compact())
	assert.Equal(t, 2, got.MinInsyncReplicas)
	assert.Equal(t, int64(2097152), got.SegmentBytes)
	assert.True(t, got.UncleanLeaderElection)
	assert.Equal(t, int64(86400000), got.RetentionMs)
	assert.Equal(t, int64(3600000), got.SegmentMs)
	assert.Equal(t, "zstd", got.CompressionType)

	l.Topic = set("cleanup.policy", "")
	got, err = TopicSettingsOf(l)
	require.NoError(t, err)
	assert.Empty(t, got.CleanupPolicy)
	assert.False(t, got.Delete())

	_, err = TopicSettingsOf(Layers{Static: set("log.segment.bytes", "big")})
	assert.EqualError(t, err, "configs: segment.bytes from STATIC_BROKER_CONFIG: Invalid value big for configuration segment.bytes: Not a number of type INT")
}

func TestBrokerSettings(t *testing.T) {
	got, err := BrokerSettingsOf(Layers{})
	require.NoError(t, err)
	assert.Equal(t, int32(-1), got.NodeID)
	assert.Equal(t, []string{"PLAINTEXT://:9092"}, got.Listeners)
	assert.Equal(t, got.Listeners, got.AdvertisedListeners, "advertised.listeners defaults to listeners")
	assert.Equal(t, []string{"/tmp/kafka-logs"}, got.LogDirs, "log.dirs defaults to log.dir")
	assert.Equal(t, int32(1), got.NumPartitions)
	assert.Equal(t, int16(1), got.DefaultReplicationFactor)
	assert.True(t, got.AutoCreateTopicsEnable)
	assert.Equal(t, int32(1048588), got.MessageMaxBytes)
	assert.Equal(t, int32(100<<20), got.SocketRequestMaxBytes)
	assert.Equal(t, int32(math.MaxInt32), got.MaxConnections)
	assert.Equal(t, int32(500), got.QueuedMaxRequests)
	assert.Equal(t, int32(1), got.MinInsyncReplicas)
	assert.False(t, got.UncleanLeaderElectionEnable)
	assert.Equal(t, int64(30000), got.ReplicaLagTimeMaxMs)
	assert.Equal(t, int16(3), got.OffsetsTopicReplicationFactor)
	assert.Equal(t, int16(3), got.TransactionStateLogReplicationFactor)
	assert.Equal(t, int32(2), got.TransactionStateLogMinIsr)
	assert.Equal(t, int32(3000), got.GroupInitialRebalanceDelayMs)
	assert.Equal(t, int32(7*24*3600*1000), got.TransactionalIDExpirationMs)
	assert.Equal(t, int32(24*3600*1000), got.ProducerIDExpirationMs)
	assert.Equal(t, int32(15*60*1000), got.TransactionMaxTimeoutMs)
	assert.Equal(t, int32(9000), got.BrokerSessionTimeoutMs)
	assert.Equal(t, int32(2000), got.BrokerHeartbeatIntervalMs)

	static, err := ParseStatic([]string{"node.id=7", "log.dirs=/d1,/d2", "listeners=PLAINTEXT://:19092", "process.roles=broker,controller"})
	require.NoError(t, err)
	got, err = BrokerSettingsOf(Layers{Static: static, ClusterDefault: set("max.connections", "100"), Broker: set("max.connections", "50")})
	require.NoError(t, err)
	assert.Equal(t, int32(7), got.NodeID)
	assert.Equal(t, []string{"/d1", "/d2"}, got.LogDirs)
	assert.Equal(t, []string{"PLAINTEXT://:19092"}, got.AdvertisedListeners)
	assert.Equal(t, []string{"broker", "controller"}, got.ProcessRoles)
	assert.Equal(t, int32(50), got.MaxConnections, "this broker's dynamic value beats the cluster default")
}

// TestTables checks the definitions against each other: every synonym
// is a broker config, the first synonym of each topic config is dynamic
// and the unit variants behind it are not, every default passes its own
// validator, the topic defaults agree with what the broker defaults
// resolve to, and every settings field names a real config.
func TestTables(t *testing.T) {
	for i := range topicDefs {
		d := &topicDefs[i]
		assert.Zero(t, d.Dynamic, d.Name)
		if d.HasDefault {
			assert.NoError(t, d.Validate(d.Default), d.Name)
		}
		for j, s := range d.ServerSynonyms {
			b, ok := BrokerDef(s.Name)
			if !assert.True(t, ok, "%s: synonym %s", d.Name, s.Name) {
				continue
			}
			assert.Equal(t, j == 0, b.Dynamic, "%s: synonym %s dynamic", d.Name, s.Name)
			if s.ScaleMs == 0 {
				assert.Equal(t, d.Type, b.Type, "%s: synonym %s type", d.Name, s.Name)
			}
		}
		e := resolveTopic(t, Layers{}, d.Name)
		require.NotNil(t, e.Value, d.Name)
		assert.Equal(t, d.Default, *e.Value, "%s: broker defaults resolve to the topic default", d.Name)
	}
	for i := range brokerDefs {
		d := &brokerDefs[i]
		assert.Empty(t, d.ServerSynonyms, d.Name)
		assert.NotEmpty(t, d.Doc, d.Name)
		assert.NotEqual(t, kmsg.ConfigTypeUnknown, d.Type, d.Name)
		if d.HasDefault {
			assert.NoError(t, d.Validate(d.Default), d.Name)
			assert.Equal(t, d.Default, d.Normalize(d.Default), "%s: default in canonical form", d.Name)
		}
	}
	for _, f := range topicFields {
		_, ok := TopicDef(f.key)
		assert.True(t, ok, f.key)
	}
	for _, f := range brokerFields {
		_, ok := BrokerDef(f.key)
		assert.True(t, ok, f.key)
	}
	assert.Len(t, topicFields, len(topicDefs)-3, "every topic config but the three tiered-storage switches has a field")
}
