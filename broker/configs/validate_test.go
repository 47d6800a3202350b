package configs

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestValidateTopicValue pins Kafka's messages for good and bad values of
// every type and validator kind. An empty want means the value is valid.
func TestValidateTopicValue(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		// INT with atLeast, and the 4.0 segment.bytes minimum (KIP-1030).
		{"segment.bytes", "1048576", ""},
		{"segment.bytes", " 1073741824 ", ""},
		{"segment.bytes", "1048575", "Invalid value 1048575 for configuration segment.bytes: Value must be at least 1048576"},
		{"segment.bytes", "abc", "Invalid value abc for configuration segment.bytes: Not a number of type INT"},
		{"segment.bytes", "3000000000", "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT"},
		{"segment.bytes", "", "Invalid value  for configuration segment.bytes: Not a number of type INT"},
		{"segment.bytes", "1_048_576", "Invalid value 1_048_576 for configuration segment.bytes: Not a number of type INT"},
		{"min.insync.replicas", "2", ""},
		{"min.insync.replicas", "0", "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"},
		{"max.message.bytes", "+10", ""},
		// LONG, with and without a validator.
		{"retention.ms", "-1", ""},
		{"retention.ms", "-2", "Invalid value -2 for configuration retention.ms: Value must be at least -1"},
		{"retention.ms", "1.5", "Invalid value 1.5 for configuration retention.ms: Not a number of type LONG"},
		{"retention.ms", "9223372036854775807", ""},
		{"retention.ms", "9223372036854775808", "Invalid value 9223372036854775808 for configuration retention.ms: Not a number of type LONG"},
		{"retention.bytes", "-12345", ""},
		{"segment.ms", "0", "Invalid value 0 for configuration segment.ms: Value must be at least 1"},
		{"local.retention.ms", "-2", ""},
		{"local.retention.ms", "-3", "Invalid value -3 for configuration local.retention.ms: Value must be at least -2"},
		// BOOLEAN: case-insensitive true/false only.
		{"unclean.leader.election.enable", "TRUE", ""},
		{"unclean.leader.election.enable", " false ", ""},
		{"unclean.leader.election.enable", "1", "Invalid value 1 for configuration unclean.leader.election.enable: Expected value to be either true or false"},
		{"preallocate", "yes", "Invalid value yes for configuration preallocate: Expected value to be either true or false"},
		// DOUBLE in [0, 1].
		{"min.cleanable.dirty.ratio", "0.7", ""},
		{"min.cleanable.dirty.ratio", "1", ""},
		{"min.cleanable.dirty.ratio", "1.5", "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"},
		{"min.cleanable.dirty.ratio", "-0.1", "Invalid value -0.1 for configuration min.cleanable.dirty.ratio: Value must be at least 0"},
		{"min.cleanable.dirty.ratio", "half", "Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"},
		// STRING from a fixed set, case-sensitive.
		{"compression.type", "zstd", ""},
		{"compression.type", "ZSTD", "Invalid value ZSTD for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"},
		{"compression.type", "none", "Invalid value none for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"},
		{"message.timestamp.type", "LogAppendTime", ""},
		{"message.timestamp.type", "logappendtime", "Invalid value logappendtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"},
		// LIST from a fixed set.
		{"cleanup.policy", "compact,delete", ""},
		{"cleanup.policy", " compact , delete ", ""},
		{"cleanup.policy", "", ""},
		{"cleanup.policy", "foo", "Invalid value foo for configuration cleanup.policy: String must be one of: compact, delete"},
		{"cleanup.policy", "delete,delete", "Configuration 'cleanup.policy' values must not be duplicated."},
		{"cleanup.policy", "delete,", "Configuration 'cleanup.policy' values must not be empty."},
		// Compression levels.
		{"compression.gzip.level", "-1", ""},
		{"compression.gzip.level", "9", ""},
		{"compression.gzip.level", "0", "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1"},
		{"compression.gzip.level", "10", "Invalid value 10 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1"},
		{"compression.lz4.level", "17", ""},
		{"compression.lz4.level", "18", "Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17"},
		{"compression.zstd.level", "-131072", ""},
		{"compression.zstd.level", "-131073", "Invalid value -131073 for configuration compression.zstd.level: Value must be at least -131072"},
		// Throttled replica lists.
		{"leader.replication.throttled.replicas", "*", ""},
		{"leader.replication.throttled.replicas", "0:1, 1:2", ""},
		{"follower.replication.throttled.replicas", "", ""},
		{"follower.replication.throttled.replicas", "0:a,1:2", "Invalid value [0:a, 1:2] for configuration follower.replication.throttled.replicas: " +
			"follower.replication.throttled.replicas must be the literal '*' or a list of replicas in the following format: " +
			"[partitionId]:[brokerId],[partitionId]:[brokerId],..."},
		// Unknown names, including broker names given for a topic.
		{"retention.hours", "1", "Unknown topic config name: retention.hours"},
		{"log.retention.ms", "1", "Unknown topic config name: log.retention.ms"},
		{"message.downconversion.enable", "true", "Unknown topic config name: message.downconversion.enable"},
	} {
		err := ValidateTopicValue(tc.key, tc.value)
		if tc.want == "" {
			assert.NoError(t, err, "%s=%q", tc.key, tc.value)
			continue
		}
		var ce *Error
		if assert.True(t, errors.As(err, &ce), "%s=%q: %v", tc.key, tc.value, err) {
			assert.Equal(t, tc.want, ce.Message, "%s=%q", tc.key, tc.value)
			assert.Equal(t, kerr.InvalidConfig, ce.Code, "%s=%q", tc.key, tc.value)
			assert.Equal(t, tc.key, ce.Key)
		}
	}
}

func TestValidateBrokerValue(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"log.retention.ms", "1000", ""},
		{"log.retention.ms", "-5", ""}, // Kafka has no validator here
		{"log.retention.ms", "x", "Invalid value x for configuration log.retention.ms: Not a number of type LONG"},
		{"log.retention.hours", "24", ""},
		{"log.roll.hours", "0", "Invalid value 0 for configuration log.roll.hours: Value must be at least 1"},
		{"offsets.topic.replication.factor", "3", ""},
		{"offsets.topic.replication.factor", "40000", "Invalid value 40000 for configuration offsets.topic.replication.factor: Not a number of type SHORT"},
		{"offsets.topic.replication.factor", "0", "Invalid value 0 for configuration offsets.topic.replication.factor: Value must be at least 1"},
		{"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093", ""},
		{"listeners", "", "Configuration 'listeners' must not be empty. Valid values include: any non-empty value"},
		{"log.dirs", "/a,/a", "Configuration 'log.dirs' values must not be duplicated."},
		{"process.roles", "broker,controller", ""},
		{"process.roles", "observer", "Invalid value observer for configuration process.roles: String must be one of: broker, controller"},
		{"max.connections", "-1", "Invalid value -1 for configuration max.connections: Value must be at least 0"},
		{"log.cleaner.min.cleanable.ratio", "2", "Invalid value 2.0 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1"},
		{"retention.ms", "1", "Unknown broker config name: retention.ms"},
	} {
		err := ValidateBrokerValue(tc.key, tc.value)
		if tc.want == "" {
			assert.NoError(t, err, "%s=%q", tc.key, tc.value)
			continue
		}
		require.Error(t, err, "%s=%q", tc.key, tc.value)
		assert.Equal(t, tc.want, err.Error(), "%s=%q", tc.key, tc.value)
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ key, raw, want string }{
		{"cleanup.policy", " compact ,  delete ", "compact,delete"},
		{"retention.ms", " 1000 ", "1000"},
		{"max.message.bytes", "+10", "10"},
		{"unclean.leader.election.enable", "TRUE", "true"},
		{"min.cleanable.dirty.ratio", "1", "1.0"},
		{"min.cleanable.dirty.ratio", ".25", "0.25"},
		{"compression.type", " lz4 ", "lz4"},
		{"retention.ms", "bogus", "bogus"}, // unparsable values are left alone
	} {
		d, ok := TopicDef(tc.key)
		require.True(t, ok, tc.key)
		assert.Equal(t, tc.want, d.Normalize(tc.raw), "%s=%q", tc.key, tc.raw)
	}
}

// TestJavaDouble pins Double.toString's shapes, which DOUBLE configs show.
func TestJavaDouble(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0.5, "0.5"}, {1, "1.0"}, {0, "0.0"}, {0.001, "0.001"}, {0.0001, "1.0E-4"},
		{1234567, "1234567.0"}, {1e7, "1.0E7"}, {1.5e10, "1.5E10"}, {-2.25, "-2.25"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	} {
		assert.Equal(t, tc.want, javaDouble(tc.f), "%v", tc.f)
	}
}
