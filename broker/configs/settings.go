package configs

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicSettings are a topic's effective log settings, typed, for the
// broker's storage and partition code. Kafka's units are kept: -1
// retention means no limit, flush.messages and flush.ms at
// math.MaxInt64 mean "never force a flush" (Kafka's default: durability
// comes from replication, not fsync).
type TopicSettings struct {
	SegmentBytes                int64
	SegmentMs                   int64
	SegmentJitterMs             int64
	SegmentIndexBytes           int64
	IndexIntervalBytes          int64
	RetentionMs                 int64
	RetentionBytes              int64
	LocalRetentionMs            int64
	LocalRetentionBytes         int64
	FlushMessages               int64
	FlushMs                     int64
	FileDeleteDelayMs           int64
	DeleteRetentionMs           int64
	MinCompactionLagMs          int64
	MaxCompactionLagMs          int64
	MinCleanableDirtyRatio      float64
	MessageTimestampBeforeMaxMs int64
	MessageTimestampAfterMaxMs  int64
	MaxMessageBytes             int32
	MinInsyncReplicas           int
	UncleanLeaderElection       bool
	Preallocate                 bool
	CleanupPolicy               []string // "delete", "compact", both, or none
	MessageTimestampType        string   // "CreateTime" or "LogAppendTime"
	CompressionType             string   // "producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"
	CompressionGzipLevel        int32
	CompressionLz4Level         int32
	CompressionZstdLevel        int32
	LeaderThrottledReplicas     []string
	FollowerThrottledReplicas   []string
}

// Compact reports whether the cleanup policy includes compaction.
func (t TopicSettings) Compact() bool { return slices.Contains(t.CleanupPolicy, "compact") }

// Delete reports whether the cleanup policy includes deletion by
// retention time or size.
func (t TopicSettings) Delete() bool { return slices.Contains(t.CleanupPolicy, "delete") }

// topicField binds a topic config to its TopicSettings field; the table
// replaces a switch per key.
type topicField struct {
	key string
	set func(*TopicSettings, value)
}

var topicFields = []topicField{
	{"segment.bytes", func(t *TopicSettings, v value) { t.SegmentBytes = v.i }},
	{"segment.ms", func(t *TopicSettings, v value) { t.SegmentMs = v.i }},
	{"segment.jitter.ms", func(t *TopicSettings, v value) { t.SegmentJitterMs = v.i }},
	{"segment.index.bytes", func(t *TopicSettings, v value) { t.SegmentIndexBytes = v.i }},
	{"index.interval.bytes", func(t *TopicSettings, v value) { t.IndexIntervalBytes = v.i }},
	{"retention.ms", func(t *TopicSettings, v value) { t.RetentionMs = v.i }},
	{"retention.bytes", func(t *TopicSettings, v value) { t.RetentionBytes = v.i }},
	{"local.retention.ms", func(t *TopicSettings, v value) { t.LocalRetentionMs = v.i }},
	{"local.retention.bytes", func(t *TopicSettings, v value) { t.LocalRetentionBytes = v.i }},
	{"flush.messages", func(t *TopicSettings, v value) { t.FlushMessages = v.i }},
	{"flush.ms", func(t *TopicSettings, v value) { t.FlushMs = v.i }},
	{"file.delete.delay.ms", func(t *TopicSettings, v value) { t.FileDeleteDelayMs = v.i }},
	{"delete.retention.ms", func(t *TopicSettings, v value) { t.DeleteRetentionMs = v.i }},
	{"min.compaction.lag.ms", func(t *TopicSettings, v value) { t.MinCompactionLagMs = v.i }},
	{"max.compaction.lag.ms", func(t *TopicSettings, v value) { t.MaxCompactionLagMs = v.i }},
	{"min.cleanable.dirty.ratio", func(t *TopicSettings, v value) { t.MinCleanableDirtyRatio = v.f }},
	{"message.timestamp.before.max.ms", func(t *TopicSettings, v value) { t.MessageTimestampBeforeMaxMs = v.i }},
	{"message.timestamp.after.max.ms", func(t *TopicSettings, v value) { t.MessageTimestampAfterMaxMs = v.i }},
	{"max.message.bytes", func(t *TopicSettings, v value) { t.MaxMessageBytes = int32(v.i) }},
	{"min.insync.replicas", func(t *TopicSettings, v value) { t.MinInsyncReplicas = int(v.i) }},
	{"unclean.leader.election.enable", func(t *TopicSettings, v value) { t.UncleanLeaderElection = v.b }},
	{"preallocate", func(t *TopicSettings, v value) { t.Preallocate = v.b }},
	{"cleanup.policy", func(t *TopicSettings, v value) { t.CleanupPolicy = v.list }},
	{"message.timestamp.type", func(t *TopicSettings, v value) { t.MessageTimestampType = v.s }},
	{"compression.type", func(t *TopicSettings, v value) { t.CompressionType = v.s }},
	{"compression.gzip.level", func(t *TopicSettings, v value) { t.CompressionGzipLevel = int32(v.i) }},
	{"compression.lz4.level", func(t *TopicSettings, v value) { t.CompressionLz4Level = int32(v.i) }},
	{"compression.zstd.level", func(t *TopicSettings, v value) { t.CompressionZstdLevel = int32(v.i) }},
	{"leader.replication.throttled.replicas", func(t *TopicSettings, v value) { t.LeaderThrottledReplicas = v.list }},
	{"follower.replication.throttled.replicas", func(t *TopicSettings, v value) { t.FollowerThrottledReplicas = v.list }},
}

// TopicSettingsOf resolves a topic's settings through l. With an empty
// l.Topic it gives the broker's defaults for new topics. It fails only if
// a layer holds a value that does not parse, which validation on the way
// in prevents.
func TopicSettingsOf(l Layers) (TopicSettings, error) {
	var t TopicSettings
	for _, f := range topicFields {
		d := topicIndex[f.key]
		raw, ok, source := effectiveTopic(d, l)
		if !ok {
			continue
		}
		v, err := d.parse(raw)
		if err != nil {
			return TopicSettings{}, fmt.Errorf("configs: %s from %s: %w", f.key, source, err)
		}
		f.set(&t, v)
	}
	return t, nil
}

// BrokerSettings are a broker's effective settings, typed. The log
// defaults for topics are not here: TopicSettingsOf with no topic
// overrides gives them.
type BrokerSettings struct {
	NodeID                               int32
	ProcessRoles                         []string
	Listeners                            []string
	AdvertisedListeners                  []string // listeners when unset
	LogDirs                              []string // log.dir when log.dirs is unset
	NumPartitions                        int32
	DefaultReplicationFactor             int16
	AutoCreateTopicsEnable               bool
	DeleteTopicEnable                    bool
	MessageMaxBytes                      int32
	SocketRequestMaxBytes                int32
	MaxConnections                       int32
	QueuedMaxRequests                    int32
	MinInsyncReplicas                    int32
	UncleanLeaderElectionEnable          bool
	LogRetentionCheckIntervalMs          int64
	LogFlushOffsetCheckpointIntervalMs   int64
	ReplicaLagTimeMaxMs                  int64
	ReplicaFetchMaxBytes                 int32
	ReplicaFetchWaitMaxMs                int32
	BrokerSessionTimeoutMs               int32
	BrokerHeartbeatIntervalMs            int32
	OffsetsTopicReplicationFactor        int16
	OffsetsTopicNumPartitions            int32
	OffsetsRetentionMinutes              int32
	GroupInitialRebalanceDelayMs         int32
	GroupMinSessionTimeoutMs             int32
	GroupMaxSessionTimeoutMs             int32
	GroupConsumerSessionTimeoutMs        int32
	GroupConsumerHeartbeatIntervalMs     int32
	TransactionStateLogReplicationFactor int16
	TransactionStateLogNumPartitions     int32
	TransactionStateLogMinIsr            int32
	TransactionalIDExpirationMs          int32
	TransactionMaxTimeoutMs              int32
	ProducerIDExpirationMs               int32
	RemoteLogStorageSystemEnable         bool
}

type brokerField struct {
	key string
	set func(*BrokerSettings, value)
}

var brokerFields = []brokerField{
	{"node.id", func(b *BrokerSettings, v value) { b.NodeID = int32(v.i) }},
	{"process.roles", func(b *BrokerSettings, v value) { b.ProcessRoles = v.list }},
	{"listeners", func(b *BrokerSettings, v value) { b.Listeners = v.list }},
	{"advertised.listeners", func(b *BrokerSettings, v value) { b.AdvertisedListeners = v.list }},
	{"log.dirs", func(b *BrokerSettings, v value) { b.LogDirs = v.list }},
	{"num.partitions", func(b *BrokerSettings, v value) { b.NumPartitions = int32(v.i) }},
	{"default.replication.factor", func(b *BrokerSettings, v value) { b.DefaultReplicationFactor = int16(v.i) }},
	{"auto.create.topics.enable", func(b *BrokerSettings, v value) { b.AutoCreateTopicsEnable = v.b }},
	{"delete.topic.enable", func(b *BrokerSettings, v value) { b.DeleteTopicEnable = v.b }},
	{"message.max.bytes", func(b *BrokerSettings, v value) { b.MessageMaxBytes = int32(v.i) }},
	{"socket.request.max.bytes", func(b *BrokerSettings, v value) { b.SocketRequestMaxBytes = int32(v.i) }},
	{"max.connections", func(b *BrokerSettings, v value) { b.MaxConnections = int32(v.i) }},
	{"queued.max.requests", func(b *BrokerSettings, v value) { b.QueuedMaxRequests = int32(v.i) }},
	{"min.insync.replicas", func(b *BrokerSettings, v value) { b.MinInsyncReplicas = int32(v.i) }},
	{"unclean.leader.election.enable", func(b *BrokerSettings, v value) { b.UncleanLeaderElectionEnable = v.b }},
	{"log.retention.check.interval.ms", func(b *BrokerSettings, v value) { b.LogRetentionCheckIntervalMs = v.i }},
	{"log.flush.offset.checkpoint.interval.ms", func(b *BrokerSettings, v value) { b.LogFlushOffsetCheckpointIntervalMs = v.i }},
	{"replica.lag.time.max.ms", func(b *BrokerSettings, v value) { b.ReplicaLagTimeMaxMs = v.i }},
	{"replica.fetch.max.bytes", func(b *BrokerSettings, v value) { b.ReplicaFetchMaxBytes = int32(v.i) }},
	{"replica.fetch.wait.max.ms", func(b *BrokerSettings, v value) { b.ReplicaFetchWaitMaxMs = int32(v.i) }},
	{"broker.session.timeout.ms", func(b *BrokerSettings, v value) { b.BrokerSessionTimeoutMs = int32(v.i) }},
	{"broker.heartbeat.interval.ms", func(b *BrokerSettings, v value) { b.BrokerHeartbeatIntervalMs = int32(v.i) }},
	{"offsets.topic.replication.factor", func(b *BrokerSettings, v value) { b.OffsetsTopicReplicationFactor = int16(v.i) }},
	{"offsets.topic.num.partitions", func(b *BrokerSettings, v value) { b.OffsetsTopicNumPartitions = int32(v.i) }},
	{"offsets.retention.minutes", func(b *BrokerSettings, v value) { b.OffsetsRetentionMinutes = int32(v.i) }},
	{"group.initial.rebalance.delay.ms", func(b *BrokerSettings, v value) { b.GroupInitialRebalanceDelayMs = int32(v.i) }},
	{"group.min.session.timeout.ms", func(b *BrokerSettings, v value) { b.GroupMinSessionTimeoutMs = int32(v.i) }},
	{"group.max.session.timeout.ms", func(b *BrokerSettings, v value) { b.GroupMaxSessionTimeoutMs = int32(v.i) }},
	{"group.consumer.session.timeout.ms", func(b *BrokerSettings, v value) { b.GroupConsumerSessionTimeoutMs = int32(v.i) }},
	{"group.consumer.heartbeat.interval.ms", func(b *BrokerSettings, v value) { b.GroupConsumerHeartbeatIntervalMs = int32(v.i) }},
	{"transaction.state.log.replication.factor", func(b *BrokerSettings, v value) { b.TransactionStateLogReplicationFactor = int16(v.i) }},
	{"transaction.state.log.num.partitions", func(b *BrokerSettings, v value) { b.TransactionStateLogNumPartitions = int32(v.i) }},
	{"transaction.state.log.min.isr", func(b *BrokerSettings, v value) { b.TransactionStateLogMinIsr = int32(v.i) }},
	{"transactional.id.expiration.ms", func(b *BrokerSettings, v value) { b.TransactionalIDExpirationMs = int32(v.i) }},
	{"transaction.max.timeout.ms", func(b *BrokerSettings, v value) { b.TransactionMaxTimeoutMs = int32(v.i) }},
	{"producer.id.expiration.ms", func(b *BrokerSettings, v value) { b.ProducerIDExpirationMs = int32(v.i) }},
	{"remote.log.storage.system.enable", func(b *BrokerSettings, v value) { b.RemoteLogStorageSystemEnable = v.b }},
}

// BrokerSettingsOf resolves a broker's settings through l (l.Topic is
// ignored). Like Kafka, advertised.listeners falls back to listeners and
// log.dirs to log.dir.
func BrokerSettingsOf(l Layers) (BrokerSettings, error) {
	var b BrokerSettings
	for _, f := range brokerFields {
		v, ok, err := brokerValue(f.key, l)
		if err != nil {
			return BrokerSettings{}, err
		}
		if ok {
			f.set(&b, v)
		}
	}
	if b.AdvertisedListeners == nil {
		b.AdvertisedListeners = b.Listeners
	}
	if b.LogDirs == nil {
		v, _, err := brokerValue("log.dir", l)
		if err != nil {
			return BrokerSettings{}, err
		}
		b.LogDirs = v.list
	}
	return b, nil
}

// brokerValue parses the effective value of a broker config; ok is false
// when it has none (a null default).
func brokerValue(key string, l Layers) (value, bool, error) {
	d := brokerIndex[key]
	raw, ok, source := effectiveBroker(d, l)
	if !ok {
		return value{typ: kmsg.ConfigTypeUnknown}, false, nil
	}
	v, err := d.parse(raw)
	if err != nil {
		return value{}, false, fmt.Errorf("configs: %s from %s: %w", key, source, err)
	}
	return v, true, nil
}
