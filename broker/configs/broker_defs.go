package configs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerDefs are the broker configs gregor exposes, with Kafka 4.x types,
// defaults and validators. The first section holds the broker synonyms of
// topic configs: the first synonym of each is dynamic (cluster-wide), as
// Kafka's DynamicLogConfig makes them, and the unit variants behind it
// (log.retention.hours, log.roll.hours, …) are read-only.
var brokerDefs = []Def{
	// Log defaults, the broker side of topicDefs.
	{Name: "log.segment.bytes", Type: kmsg.ConfigTypeInt, Default: "1073741824", HasDefault: true, Dynamic: true,
		check: atLeast(segmentBytesMin), Doc: "The maximum size of a single log segment file."},
	{Name: "log.roll.ms", Type: kmsg.ConfigTypeLong, Dynamic: true,
		Doc: "The maximum time before a new log segment is rolled; if unset, log.roll.hours is used."},
	{Name: "log.roll.hours", Type: kmsg.ConfigTypeInt, Default: "168", HasDefault: true,
		check: atLeast(1), Doc: "The maximum time before a new log segment is rolled, in hours; secondary to log.roll.ms."},
	{Name: "log.roll.jitter.ms", Type: kmsg.ConfigTypeLong, Dynamic: true,
		Doc: "The maximum jitter subtracted from the roll time; if unset, log.roll.jitter.hours is used."},
	{Name: "log.roll.jitter.hours", Type: kmsg.ConfigTypeInt, Default: "0", HasDefault: true,
		check: atLeast(0), Doc: "The maximum jitter subtracted from the roll time, in hours; secondary to log.roll.jitter.ms."},
	{Name: "log.index.size.max.bytes", Type: kmsg.ConfigTypeInt, Default: indexSizeMaxBytes, HasDefault: true, Dynamic: true,
		check: atLeast(4), Doc: "The maximum size in bytes of the offset index."},
	{Name: "log.flush.interval.messages", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true, Dynamic: true,
		check: atLeast(1), Doc: "The number of messages accumulated on a partition before they are flushed to disk."},
	{Name: "log.flush.interval.ms", Type: kmsg.ConfigTypeLong, Dynamic: true,
		Doc: "The maximum time a message is kept in memory before a flush; if unset, log.flush.scheduler.interval.ms is used."},
	{Name: "log.flush.scheduler.interval.ms", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true,
		Doc: "How often the flusher checks whether any log needs flushing."},
	{Name: "log.retention.bytes", Type: kmsg.ConfigTypeLong, Default: "-1", HasDefault: true, Dynamic: true,
		Doc: "The maximum size of a partition's log before old segments are deleted."},
	{Name: "log.retention.ms", Type: kmsg.ConfigTypeLong, Dynamic: true,
		Doc: "How long to keep a log segment; if unset, log.retention.minutes is used; -1 means no limit."},
	{Name: "log.retention.minutes", Type: kmsg.ConfigTypeInt,
		Doc: "How long to keep a log segment, in minutes; secondary to log.retention.ms; if unset, log.retention.hours is used."},
	{Name: "log.retention.hours", Type: kmsg.ConfigTypeInt, Default: "168", HasDefault: true,
		Doc: "How long to keep a log segment, in hours; tertiary to log.retention.ms."},
	{Name: "message.max.bytes", Type: kmsg.ConfigTypeInt, Default: maxMessageBytes, HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "The largest record batch size allowed, after compression."},
	{Name: "log.index.interval.bytes", Type: kmsg.ConfigTypeInt, Default: indexIntervalBytes, HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "The interval with which an entry is added to the offset index."},
	{Name: "log.cleaner.delete.retention.ms", Type: kmsg.ConfigTypeLong, Default: "86400000", HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "How long tombstones are retained in compacted topics."},
	{Name: "log.cleaner.min.compaction.lag.ms", Type: kmsg.ConfigTypeLong, Default: "0", HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "The minimum time a message stays uncompacted."},
	{Name: "log.cleaner.max.compaction.lag.ms", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true, Dynamic: true,
		check: atLeast(1), Doc: "The maximum time a message stays ineligible for compaction."},
	{Name: "log.segment.delete.delay.ms", Type: kmsg.ConfigTypeLong, Default: "60000", HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "How long to wait before deleting a file from the file system."},
	{Name: "log.cleaner.min.cleanable.ratio", Type: kmsg.ConfigTypeDouble, Default: "0.5", HasDefault: true, Dynamic: true,
		check: ratio, Doc: "The dirty fraction of a log above which the compactor cleans it."},
	{Name: "log.cleanup.policy", Type: kmsg.ConfigTypeList, Default: "delete", HasDefault: true, Dynamic: true,
		check: listOf(true, "compact", "delete"), Doc: "The default cleanup policy for segments beyond retention."},
	{Name: "unclean.leader.election.enable", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true, Dynamic: true,
		Doc: "Whether a replica outside the ISR may become leader as a last resort, losing data."},
	{Name: "min.insync.replicas", Type: kmsg.ConfigTypeInt, Default: "1", HasDefault: true, Dynamic: true,
		check: atLeast(1), Doc: "The minimum number of in-sync replicas that must acknowledge an acks=all write."},
	{Name: "compression.type", Type: kmsg.ConfigTypeString, Default: "producer", HasDefault: true, Dynamic: true,
		check: oneOf(compressionTypes...), Doc: "The final compression of topics' batches; \"producer\" keeps the producer's codec."},
	{Name: "compression.gzip.level", Type: kmsg.ConfigTypeInt, Default: "-1", HasDefault: true, Dynamic: true,
		check: gzipLevel, Doc: "The gzip level used when compression.type is gzip."},
	{Name: "compression.lz4.level", Type: kmsg.ConfigTypeInt, Default: "9", HasDefault: true, Dynamic: true,
		check: between(1, 17), Doc: "The lz4 level used when compression.type is lz4."},
	{Name: "compression.zstd.level", Type: kmsg.ConfigTypeInt, Default: "3", HasDefault: true, Dynamic: true,
		check: between(-131072, 22), Doc: "The zstd level used when compression.type is zstd."},
	{Name: "log.preallocate", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true, Dynamic: true,
		Doc: "Whether to preallocate a new segment's file on disk."},
	{Name: "log.message.timestamp.type", Type: kmsg.ConfigTypeString, Default: "CreateTime", HasDefault: true, Dynamic: true,
		check: oneOf("CreateTime", "LogAppendTime"), Doc: "Whether record timestamps are CreateTime or LogAppendTime."},
	{Name: "log.message.timestamp.before.max.ms", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "How far a CreateTime timestamp may lie before the broker's clock."},
	{Name: "log.message.timestamp.after.max.ms", Type: kmsg.ConfigTypeLong, Default: "3600000", HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "How far a CreateTime timestamp may lie after the broker's clock."},
	{Name: "log.local.retention.ms", Type: kmsg.ConfigTypeLong, Default: "-2", HasDefault: true, Dynamic: true,
		check: atLeast(-2), Doc: "Local retention with tiered storage; -2 means log.retention.ms."},
	{Name: "log.local.retention.bytes", Type: kmsg.ConfigTypeLong, Default: "-2", HasDefault: true, Dynamic: true,
		check: atLeast(-2), Doc: "Local size retention with tiered storage; -2 means log.retention.bytes."},

	// Identity and layout.
	{Name: "node.id", Type: kmsg.ConfigTypeInt, Default: "-1", HasDefault: true,
		Doc: "The node id of this server in the metadata quorum; broker.id is its synonym."},
	{Name: "broker.id", Type: kmsg.ConfigTypeInt, Default: "-1", HasDefault: true,
		Doc: "The broker id of this server; set from node.id when only that is given."},
	{Name: "process.roles", Type: kmsg.ConfigTypeList, Default: "", HasDefault: true,
		check: listOf(true, "broker", "controller"), Doc: "The roles this node plays: broker, controller, or both."},
	{Name: "listeners", Type: kmsg.ConfigTypeList, Default: "PLAINTEXT://:9092", HasDefault: true,
		check: listOf(false), Doc: "The URIs the server listens on, with their listener names."},
	{Name: "advertised.listeners", Type: kmsg.ConfigTypeList,
		check: listOf(false), Doc: "The addresses advertised to clients; if unset, listeners is used."},
	{Name: "log.dir", Type: kmsg.ConfigTypeList, Default: "/tmp/kafka-logs", HasDefault: true,
		check: listOf(false), Doc: "The directory holding log data; used when log.dirs is unset."},
	{Name: "log.dirs", Type: kmsg.ConfigTypeList,
		check: listOf(false), Doc: "The directories holding log data; if unset, log.dir is used."},
	{Name: "remote.log.storage.system.enable", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true,
		Doc: "Whether tiered storage is enabled on the broker (gregor has none)."},

	// Topic creation and limits.
	{Name: "num.partitions", Type: kmsg.ConfigTypeInt, Default: "1", HasDefault: true,
		check: atLeast(1), Doc: "The default number of partitions of a new topic."},
	{Name: "default.replication.factor", Type: kmsg.ConfigTypeInt, Default: "1", HasDefault: true,
		Doc: "The default replication factor of a new topic."},
	{Name: "auto.create.topics.enable", Type: kmsg.ConfigTypeBoolean, Default: "true", HasDefault: true,
		Doc: "Whether a topic is created when a client asks for metadata of a topic that does not exist."},
	{Name: "delete.topic.enable", Type: kmsg.ConfigTypeBoolean, Default: "true", HasDefault: true,
		Doc: "Whether topics may be deleted."},
	{Name: "socket.request.max.bytes", Type: kmsg.ConfigTypeInt, Default: "104857600", HasDefault: true,
		check: atLeast(1), Doc: "The maximum size of a request."},
	{Name: "max.connections", Type: kmsg.ConfigTypeInt, Default: "2147483647", HasDefault: true, Dynamic: true,
		check: atLeast(0), Doc: "The maximum number of connections the broker allows at any time."},
	{Name: "queued.max.requests", Type: kmsg.ConfigTypeInt, Default: "500", HasDefault: true,
		check: atLeast(1), Doc: "The number of requests queued before the broker stops reading from connections."},
	{Name: "log.retention.check.interval.ms", Type: kmsg.ConfigTypeLong, Default: "300000", HasDefault: true,
		check: atLeast(1), Doc: "How often the broker checks whether any log is eligible for deletion."},
	{Name: "log.flush.offset.checkpoint.interval.ms", Type: kmsg.ConfigTypeInt, Default: "60000", HasDefault: true,
		check: atLeast(0), Doc: "How often the recovery point (last flushed offset) is checkpointed."},

	// Replication.
	{Name: "replica.lag.time.max.ms", Type: kmsg.ConfigTypeLong, Default: "30000", HasDefault: true,
		Doc: "A follower that has not caught up with the leader for this long is removed from the ISR."},
	{Name: "replica.fetch.max.bytes", Type: kmsg.ConfigTypeInt, Default: "1048576", HasDefault: true,
		check: atLeast(0), Doc: "The bytes a follower asks for per partition in a fetch."},
	{Name: "replica.fetch.wait.max.ms", Type: kmsg.ConfigTypeInt, Default: "500", HasDefault: true,
		Doc: "The longest a follower's fetch waits at the leader for data."},

	// Metadata quorum (KRaft).
	{Name: "broker.session.timeout.ms", Type: kmsg.ConfigTypeInt, Default: "9000", HasDefault: true,
		Doc: "How long the controller waits for a broker heartbeat before fencing the broker."},
	{Name: "broker.heartbeat.interval.ms", Type: kmsg.ConfigTypeInt, Default: "2000", HasDefault: true,
		Doc: "How often a broker heartbeats to the controller."},

	// Group coordinator.
	{Name: "offsets.topic.replication.factor", Type: kmsg.ConfigTypeShort, Default: "3", HasDefault: true,
		check: atLeast(1), Doc: "The replication factor of __consumer_offsets."},
	{Name: "offsets.topic.num.partitions", Type: kmsg.ConfigTypeInt, Default: "50", HasDefault: true,
		check: atLeast(1), Doc: "The number of partitions of __consumer_offsets."},
	{Name: "offsets.retention.minutes", Type: kmsg.ConfigTypeInt, Default: "10080", HasDefault: true,
		check: atLeast(1), Doc: "How long committed offsets of an empty group are kept."},
	{Name: "group.initial.rebalance.delay.ms", Type: kmsg.ConfigTypeInt, Default: "3000", HasDefault: true,
		Doc: "How long the coordinator waits for more members before the first rebalance of a new group."},
	{Name: "group.min.session.timeout.ms", Type: kmsg.ConfigTypeInt, Default: "6000", HasDefault: true,
		Doc: "The smallest session timeout a classic group member may ask for."},
	{Name: "group.max.session.timeout.ms", Type: kmsg.ConfigTypeInt, Default: "1800000", HasDefault: true,
		Doc: "The largest session timeout a classic group member may ask for."},
	{Name: "group.consumer.session.timeout.ms", Type: kmsg.ConfigTypeInt, Default: "45000", HasDefault: true,
		check: atLeast(1), Doc: "The session timeout of consumer-protocol (KIP-848) group members."},
	{Name: "group.consumer.heartbeat.interval.ms", Type: kmsg.ConfigTypeInt, Default: "5000", HasDefault: true,
		check: atLeast(1), Doc: "The heartbeat interval of consumer-protocol (KIP-848) group members."},

	// Transaction coordinator and producer state.
	{Name: "transaction.state.log.replication.factor", Type: kmsg.ConfigTypeShort, Default: "3", HasDefault: true,
		check: atLeast(1), Doc: "The replication factor of __transaction_state."},
	{Name: "transaction.state.log.num.partitions", Type: kmsg.ConfigTypeInt, Default: "50", HasDefault: true,
		check: atLeast(1), Doc: "The number of partitions of __transaction_state."},
	{Name: "transaction.state.log.min.isr", Type: kmsg.ConfigTypeInt, Default: "2", HasDefault: true,
		check: atLeast(1), Doc: "min.insync.replicas of __transaction_state."},
	{Name: "transactional.id.expiration.ms", Type: kmsg.ConfigTypeInt, Default: "604800000", HasDefault: true,
		check: atLeast(1), Doc: "How long a transactional id without updates is kept before it expires."},
	{Name: "transaction.max.timeout.ms", Type: kmsg.ConfigTypeInt, Default: "900000", HasDefault: true,
		check: atLeast(1), Doc: "The largest transaction timeout a producer may ask for."},
	{Name: "producer.id.expiration.ms", Type: kmsg.ConfigTypeInt, Default: "86400000", HasDefault: true, Dynamic: true,
		check: atLeast(1), Doc: "How long a partition keeps an idle producer id's state."},
}

// Indexes over the tables, built once; lookups never iterate them.
var (
	topicIndex  = index(topicDefs)
	brokerIndex = index(brokerDefs)
)

func index(defs []Def) map[string]*Def {
	m := make(map[string]*Def, len(defs))
	for i := range defs {
		d := &defs[i]
		if _, dup := m[d.Name]; dup {
			panic(fmt.Sprintf("configs: %s defined twice", d.Name))
		}
		m[d.Name] = d
	}
	return m
}

// TopicDef returns the definition of a topic config.
func TopicDef(name string) (*Def, bool) {
	d, ok := topicIndex[name]
	return d, ok
}

// BrokerDef returns the definition of a broker config.
func BrokerDef(name string) (*Def, bool) {
	d, ok := brokerIndex[name]
	return d, ok
}

// TopicDefs returns every topic definition, sorted by name.
func TopicDefs() []*Def { return sortedDefs(topicDefs) }

// BrokerDefs returns every broker definition, sorted by name.
func BrokerDefs() []*Def { return sortedDefs(brokerDefs) }

func sortedDefs(defs []Def) []*Def {
	out := make([]*Def, len(defs))
	for i := range defs {
		out[i] = &defs[i]
	}
	slices.SortFunc(out, func(a, b *Def) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// brokerChain is the synonym list Kafka's DescribeConfigs walks for a
// broker config (DynamicBrokerConfig.brokerConfigSynonyms): the whole
// chain for the first synonym of a topic config and for the unit
// variants behind it (log.retention.hours → ms, minutes, hours), and the
// name alone otherwise — log.flush.scheduler.interval.ms, a fallback of
// log.flush.interval.ms in the same unit, stands alone.
func brokerChain(name string) []string {
	for i := range topicDefs {
		syns := topicDefs[i].ServerSynonyms
		for j, s := range syns {
			if s.Name != name || len(syns) == 1 || (j > 0 && s.ScaleMs == 0) {
				continue
			}
			chain := make([]string, len(syns))
			for k, c := range syns {
				chain[k] = c.Name
			}
			return chain
		}
	}
	return []string{name}
}
