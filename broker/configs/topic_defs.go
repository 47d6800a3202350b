package configs

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka's defaults that several definitions share.
const (
	maxLong            = "9223372036854775807"
	defaultWeekMs      = "604800000"
	segmentBytesMin    = 1 << 20 // KIP-1030: 1 MiB since Kafka 4.0
	maxMessageBytes    = "1048588"
	indexSizeMaxBytes  = "10485760"
	indexIntervalBytes = "4096"
)

// compressionTypes is BrokerCompressionType in Kafka's order, which its
// error message lists.
var compressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}

// same lists broker synonyms that share the topic config's unit.
func same(names ...string) []ServerSynonym {
	out := make([]ServerSynonym, len(names))
	for i, n := range names {
		out[i] = ServerSynonym{Name: n}
	}
	return out
}

// topicDefs are the topic configs of Kafka 4.x (LogConfig), in Kafka's
// definition order: Kafka validates a request's values in this order, so
// the first bad value reported is the same one Kafka reports.
var topicDefs = []Def{
	{
		Name: "segment.bytes", Type: kmsg.ConfigTypeInt, Default: "1073741824", HasDefault: true,
		check: atLeast(segmentBytesMin), ServerSynonyms: same("log.segment.bytes"),
		Doc: "The segment file size of the log; retention and compaction work a whole segment at a time.",
	},
	{
		Name: "segment.ms", Type: kmsg.ConfigTypeLong, Default: defaultWeekMs, HasDefault: true,
		check: atLeast(1),
		ServerSynonyms: []ServerSynonym{
			{Name: "log.roll.ms"},
			{Name: "log.roll.hours", ScaleMs: millisPerHour},
		},
		Doc: "The time after which the log rolls a new segment even if the current one is not full.",
	},
	{
		Name: "segment.jitter.ms", Type: kmsg.ConfigTypeLong, Default: "0", HasDefault: true,
		check: atLeast(0),
		ServerSynonyms: []ServerSynonym{
			{Name: "log.roll.jitter.ms"},
			{Name: "log.roll.jitter.hours", ScaleMs: millisPerHour},
		},
		Doc: "The maximum random jitter subtracted from the scheduled segment roll time.",
	},
	{
		Name: "segment.index.bytes", Type: kmsg.ConfigTypeInt, Default: indexSizeMaxBytes, HasDefault: true,
		check: atLeast(4), ServerSynonyms: same("log.index.size.max.bytes"),
		Doc: "The size of the index that maps offsets to file positions.",
	},
	{
		Name: "flush.messages", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true,
		check: atLeast(1), ServerSynonyms: same("log.flush.interval.messages"),
		Doc: "Force an fsync of the log after this many messages.",
	},
	{
		Name: "flush.ms", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
		Doc: "Force an fsync of the log after this much time.",
	},
	{
		// Negative means no size limit; Kafka has no validator here.
		Name: "retention.bytes", Type: kmsg.ConfigTypeLong, Default: "-1", HasDefault: true,
		ServerSynonyms: same("log.retention.bytes"),
		Doc:            "The maximum size a partition can grow to before old segments are discarded (delete policy).",
	},
	{
		Name: "retention.ms", Type: kmsg.ConfigTypeLong, Default: defaultWeekMs, HasDefault: true,
		check: atLeast(-1),
		ServerSynonyms: []ServerSynonym{
			{Name: "log.retention.ms"},
			{Name: "log.retention.minutes", ScaleMs: millisPerMinute},
			{Name: "log.retention.hours", ScaleMs: millisPerHour},
		},
		Doc: "The maximum time a log is retained before old segments are discarded (delete policy); -1 means no limit.",
	},
	{
		Name: "max.message.bytes", Type: kmsg.ConfigTypeInt, Default: maxMessageBytes, HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("message.max.bytes"),
		Doc: "The largest record batch size allowed, after compression.",
	},
	{
		Name: "index.interval.bytes", Type: kmsg.ConfigTypeInt, Default: indexIntervalBytes, HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.index.interval.bytes"),
		Doc: "How many log bytes between entries of the offset index.",
	},
	{
		Name: "delete.retention.ms", Type: kmsg.ConfigTypeLong, Default: "86400000", HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.cleaner.delete.retention.ms"),
		Doc: "How long tombstones are retained in compacted topics.",
	},
	{
		Name: "min.compaction.lag.ms", Type: kmsg.ConfigTypeLong, Default: "0", HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.cleaner.min.compaction.lag.ms"),
		Doc: "The minimum time a message stays uncompacted.",
	},
	{
		Name: "max.compaction.lag.ms", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true,
		check: atLeast(1), ServerSynonyms: same("log.cleaner.max.compaction.lag.ms"),
		Doc: "The maximum time a message stays ineligible for compaction.",
	},
	{
		Name: "file.delete.delay.ms", Type: kmsg.ConfigTypeLong, Default: "60000", HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.segment.delete.delay.ms"),
		Doc: "How long to wait before deleting a file from the file system.",
	},
	{
		Name: "min.cleanable.dirty.ratio", Type: kmsg.ConfigTypeDouble, Default: "0.5", HasDefault: true,
		check: ratio, ServerSynonyms: same("log.cleaner.min.cleanable.ratio"),
		Doc: "The dirty fraction of the log above which the compactor cleans it.",
	},
	{
		Name: "cleanup.policy", Type: kmsg.ConfigTypeList, Default: "delete", HasDefault: true,
		check: listOf(true, "compact", "delete"), ServerSynonyms: same("log.cleanup.policy"),
		Doc: "\"delete\", \"compact\" or both: what happens to segments beyond retention.",
	},
	{
		Name: "unclean.leader.election.enable", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true,
		ServerSynonyms: same("unclean.leader.election.enable"),
		Doc:            "Whether a replica outside the ISR may become leader as a last resort, losing data.",
	},
	{
		Name: "min.insync.replicas", Type: kmsg.ConfigTypeInt, Default: "1", HasDefault: true,
		check: atLeast(1), ServerSynonyms: same("min.insync.replicas"),
		Doc: "The minimum number of in-sync replicas that must acknowledge an acks=all write.",
	},
	{
		Name: "compression.type", Type: kmsg.ConfigTypeString, Default: "producer", HasDefault: true,
		check: oneOf(compressionTypes...), ServerSynonyms: same("compression.type"),
		Doc: "The final compression of the topic's batches; \"producer\" keeps the producer's codec.",
	},
	{
		Name: "compression.gzip.level", Type: kmsg.ConfigTypeInt, Default: "-1", HasDefault: true,
		check: gzipLevel, ServerSynonyms: same("compression.gzip.level"),
		Doc: "The gzip level used when compression.type is gzip.",
	},
	{
		Name: "compression.lz4.level", Type: kmsg.ConfigTypeInt, Default: "9", HasDefault: true,
		check: between(1, 17), ServerSynonyms: same("compression.lz4.level"),
		Doc: "The lz4 level used when compression.type is lz4.",
	},
	{
		Name: "compression.zstd.level", Type: kmsg.ConfigTypeInt, Default: "3", HasDefault: true,
		check: between(-131072, 22), ServerSynonyms: same("compression.zstd.level"),
		Doc: "The zstd level used when compression.type is zstd.",
	},
	{
		Name: "preallocate", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true,
		ServerSynonyms: same("log.preallocate"),
		Doc:            "Whether to preallocate a new segment's file on disk.",
	},
	{
		Name: "message.timestamp.type", Type: kmsg.ConfigTypeString, Default: "CreateTime", HasDefault: true,
		check: oneOf("CreateTime", "LogAppendTime"), ServerSynonyms: same("log.message.timestamp.type"),
		Doc: "Whether record timestamps are the producer's CreateTime or the broker's LogAppendTime.",
	},
	{
		Name: "message.timestamp.before.max.ms", Type: kmsg.ConfigTypeLong, Default: maxLong, HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.message.timestamp.before.max.ms"),
		Doc: "How far a CreateTime timestamp may lie before the broker's clock.",
	},
	{
		// KIP-1030: one hour since Kafka 4.0 (was Long.MAX_VALUE).
		Name: "message.timestamp.after.max.ms", Type: kmsg.ConfigTypeLong, Default: "3600000", HasDefault: true,
		check: atLeast(0), ServerSynonyms: same("log.message.timestamp.after.max.ms"),
		Doc: "How far a CreateTime timestamp may lie after the broker's clock.",
	},
	{
		Name: "leader.replication.throttled.replicas", Type: kmsg.ConfigTypeList, Default: "", HasDefault: true,
		check: throttledReplicas,
		Doc:   "Replicas throttled on the leader side, as partition:broker pairs or \"*\".",
	},
	{
		Name: "follower.replication.throttled.replicas", Type: kmsg.ConfigTypeList, Default: "", HasDefault: true,
		check: throttledReplicas,
		Doc:   "Replicas throttled on the follower side, as partition:broker pairs or \"*\".",
	},
	{
		// gregor has no tiered storage: the topic-level switches exist so
		// that they describe as Kafka's do, and turning them on fails as it
		// does on a Kafka broker with remote.log.storage.system.enable=false.
		Name: "remote.storage.enable", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true,
		Doc: "Whether tiered storage is enabled for the topic (not supported by gregor).",
	},
	{
		Name: "local.retention.ms", Type: kmsg.ConfigTypeLong, Default: "-2", HasDefault: true,
		check: atLeast(-2), ServerSynonyms: same("log.local.retention.ms"),
		Doc: "Local retention with tiered storage; -2 means retention.ms.",
	},
	{
		Name: "local.retention.bytes", Type: kmsg.ConfigTypeLong, Default: "-2", HasDefault: true,
		check: atLeast(-2), ServerSynonyms: same("log.local.retention.bytes"),
		Doc: "Local size retention with tiered storage; -2 means retention.bytes.",
	},
	{
		Name: "remote.log.copy.disable", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true,
		Doc: "Stop copying segments to tiered storage (not supported by gregor).",
	},
	{
		Name: "remote.log.delete.on.disable", Type: kmsg.ConfigTypeBoolean, Default: "false", HasDefault: true,
		Doc: "Delete remote data when tiered storage is turned off (not supported by gregor).",
	},
}

// scaled applies a synonym's unit conversion to its raw value as Kafka's
// ConfigSynonym converters do: the trimmed value read as an int (0 when it
// is not one), times the scale.
func (s ServerSynonym) scaled(raw string) string {
	if s.ScaleMs == 0 {
		return raw
	}
	n, err := strconv.ParseInt(javaTrim(raw), 10, 32)
	if err != nil {
		n = 0
	}
	return strconv.FormatInt(n*s.ScaleMs, 10)
}
