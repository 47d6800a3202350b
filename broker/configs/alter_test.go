package configs

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func op(key string, o kmsg.IncrementalAlterConfigOp, v string) Op {
	return Op{Key: key, Op: o, Value: &v}
}

const (
	opSet      = kmsg.IncrementalAlterConfigOpSet
	opDelete   = kmsg.IncrementalAlterConfigOpDelete
	opAppend   = kmsg.IncrementalAlterConfigOpAppend
	opSubtract = kmsg.IncrementalAlterConfigOpSubtract
)

// configErr asserts err is a *Error with the given code and message.
func configErr(t *testing.T, err error, code *kerr.Error, message string) {
	t.Helper()
	var ce *Error
	require.True(t, errors.As(err, &ce), "want *configs.Error, got %v", err)
	assert.Equal(t, message, ce.Message)
	assert.Equal(t, code, ce.Code)
}

func TestAlterTopic(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current Set
		ops     []Op
		want    string // the resulting Set, or the error message
		code    *kerr.Error
	}{
		{name: "set", ops: []Op{op("retention.ms", opSet, "1000")}, want: "retention.ms=1000"},
		{name: "set keeps the client's string", ops: []Op{op("cleanup.policy", opSet, "compact, delete")}, want: "cleanup.policy=compact, delete"},
		{name: "set replaces", current: set("retention.ms", "1"), ops: []Op{op("retention.ms", opSet, "2")}, want: "retention.ms=2"},
		{name: "delete", current: set("retention.ms", "1", "segment.ms", "5"), ops: []Op{{Key: "retention.ms", Op: opDelete}}, want: "segment.ms=5"},
		{name: "delete absent", ops: []Op{{Key: "retention.ms", Op: opDelete}}, want: ""},
		{name: "delete unknown", ops: []Op{{Key: "nope", Op: opDelete}}, want: ""},
		{name: "several", ops: []Op{op("retention.ms", opSet, "1000"), op("min.insync.replicas", opSet, "2")}, want: "min.insync.replicas=2,retention.ms=1000"},

		// APPEND and SUBTRACT start from the topic default when there is
		// no override.
		{name: "append to default", ops: []Op{op("cleanup.policy", opAppend, "compact")}, want: "cleanup.policy=delete,compact"},
		{name: "append present", ops: []Op{op("cleanup.policy", opAppend, "delete")}, want: "cleanup.policy=delete"},
		{name: "append to override", current: set("cleanup.policy", "compact"), ops: []Op{op("cleanup.policy", opAppend, "delete")}, want: "cleanup.policy=compact,delete"},
		{name: "append several", current: set("cleanup.policy", ""), ops: []Op{op("cleanup.policy", opAppend, "compact,delete")}, want: "cleanup.policy=compact,delete"},
		{name: "subtract", current: set("cleanup.policy", "compact,delete"), ops: []Op{op("cleanup.policy", opSubtract, "compact")}, want: "cleanup.policy=delete"},
		{name: "subtract from default", ops: []Op{op("cleanup.policy", opSubtract, "delete")}, want: "cleanup.policy="},
		{name: "subtract absent", ops: []Op{op("cleanup.policy", opSubtract, "compact")}, want: "cleanup.policy=delete"},
		{name: "append throttled", ops: []Op{op("leader.replication.throttled.replicas", opAppend, "0:1,1:2")}, want: "leader.replication.throttled.replicas=0:1,1:2"},
		{name: "append empty value is an empty element", ops: []Op{op("cleanup.policy", opAppend, "")},
			want: "Configuration 'cleanup.policy' values must not be empty.", code: kerr.InvalidConfig},
		{name: "append bad element", ops: []Op{op("cleanup.policy", opAppend, "forever")},
			want: "Invalid value forever for configuration cleanup.policy: String must be one of: compact, delete", code: kerr.InvalidConfig},
		{name: "append to a non-list", ops: []Op{op("retention.ms", opAppend, "5")},
			want: "Can't APPEND to key retention.ms because its type is not LIST.", code: kerr.InvalidConfig},
		{name: "subtract from a non-list", ops: []Op{op("compression.type", opSubtract, "gzip")},
			want: "Can't SUBTRACT to key compression.type because its type is not LIST.", code: kerr.InvalidConfig},
		{name: "append to unknown", ops: []Op{op("nope", opAppend, "x")},
			want: "Can't APPEND to key nope because its type is not LIST.", code: kerr.InvalidConfig},

		// Validation of the result.
		{name: "unknown key", ops: []Op{op("retention.hours", opSet, "1")},
			want: "Unknown topic config name: retention.hours", code: kerr.InvalidConfig},
		{name: "bad value", ops: []Op{op("min.insync.replicas", opSet, "0")},
			want: "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1", code: kerr.InvalidConfig},
		{name: "first bad value in Kafka's order", ops: []Op{op("retention.ms", opSet, "x"), op("segment.bytes", opSet, "x")},
			want: "Invalid value x for configuration segment.bytes: Not a number of type INT", code: kerr.InvalidConfig},
		{name: "compaction lags conflict", ops: []Op{op("min.compaction.lag.ms", opSet, "10"), op("max.compaction.lag.ms", opSet, "5")},
			want: "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)", code: kerr.InvalidConfig},
		{name: "tiered storage", ops: []Op{op("remote.storage.enable", opSet, "true")},
			want: "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.", code: kerr.InvalidConfig},
		{name: "tiered storage off is fine", ops: []Op{op("remote.storage.enable", opSet, "false")}, want: "remote.storage.enable=false"},

		// Request-level checks.
		{name: "duplicate keys", ops: []Op{op("retention.ms", opSet, "1"), {Key: "retention.ms", Op: opDelete}},
			want: "Error due to duplicate config keys", code: kerr.InvalidRequest},
		{name: "null value", ops: []Op{{Key: "retention.ms", Op: opSet}, {Key: "segment.ms", Op: opAppend}},
			want: "Null value not supported for : retention.ms, segment.ms", code: kerr.InvalidRequest},
		{name: "unknown op", ops: []Op{op("retention.ms", 7, "1")},
			want: "Unknown operations type 7", code: kerr.InvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.current.String()
			got, err := AlterTopic(tc.current, tc.ops, Layers{})
			assert.Equal(t, before, tc.current.String(), "current must not change")
			if tc.code != nil {
				configErr(t, err, tc.code, tc.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.String())
		})
	}
}

// TestAlterTopicSeesBrokerDefaults: checks across keys use the broker's
// value where the topic has no override.
func TestAlterTopicSeesBrokerDefaults(t *testing.T) {
	l := Layers{ClusterDefault: set("log.cleaner.max.compaction.lag.ms", "100")}
	_, err := AlterTopic(Set{}, []Op{op("min.compaction.lag.ms", opSet, "200")}, l)
	configErr(t, err, kerr.InvalidConfig, "conflict topic config setting min.compaction.lag.ms (200) > max.compaction.lag.ms (100)")

	// The topic's own layer in l is ignored: current is the topic layer.
	l.Topic = set("max.compaction.lag.ms", "1000")
	_, err = AlterTopic(Set{}, []Op{op("min.compaction.lag.ms", opSet, "200")}, l)
	require.Error(t, err)
}

func TestReplaceTopic(t *testing.T) {
	v := func(s string) *string { return &s }
	got, err := ReplaceTopic([]Assignment{{"retention.ms", v("5")}, {"cleanup.policy", v("compact")}}, Layers{})
	require.NoError(t, err)
	assert.Equal(t, "cleanup.policy=compact,retention.ms=5", got.String())

	got, err = ReplaceTopic(nil, Layers{})
	require.NoError(t, err)
	assert.Equal(t, 0, got.Len(), "an empty legacy alter deletes every override")

	_, err = ReplaceTopic([]Assignment{{"retention.ms", v("5")}, {"retention.ms", v("6")}}, Layers{})
	configErr(t, err, kerr.InvalidRequest, "Error due to duplicate config keys")
	_, err = ReplaceTopic([]Assignment{{"retention.ms", nil}}, Layers{})
	configErr(t, err, kerr.InvalidRequest, "Null value not supported for : retention.ms")
	_, err = ReplaceTopic([]Assignment{{"bogus", v("5")}}, Layers{})
	configErr(t, err, kerr.InvalidConfig, "Unknown topic config name: bogus")
}

func TestCreateTopic(t *testing.T) {
	v := func(s string) *string { return &s }
	got, err := CreateTopic([]Assignment{{"retention.ms", v("5")}, {"retention.ms", v("6")}}, Layers{})
	require.NoError(t, err)
	assert.Equal(t, "retention.ms=6", got.String(), "the last repeated key wins")

	_, err = CreateTopic([]Assignment{{"retention.ms", nil}, {"segment.ms", nil}}, Layers{})
	configErr(t, err, kerr.InvalidConfig, "Null value not supported for topic configs: retention.ms,segment.ms")
	_, err = CreateTopic([]Assignment{{"flush.messages", v("0")}}, Layers{})
	configErr(t, err, kerr.InvalidConfig, "Invalid value 0 for configuration flush.messages: Value must be at least 1")
}

func TestAlterBroker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current Set
		ops     []Op
		want    string
		code    *kerr.Error
	}{
		{name: "set dynamic", ops: []Op{op("log.retention.ms", opSet, "1000")}, want: "log.retention.ms=1000"},
		{name: "delete", current: set("log.retention.ms", "1000"), ops: []Op{{Key: "log.retention.ms", Op: opDelete}}, want: ""},
		{name: "append list", ops: []Op{op("log.cleanup.policy", opAppend, "compact")}, want: "log.cleanup.policy=delete,compact"},
		{name: "read-only", ops: []Op{op("broker.id", opSet, "1"), op("log.retention.hours", opSet, "1")},
			want: "Cannot update these configs dynamically: Set(broker.id, log.retention.hours)", code: kerr.InvalidRequest},
		{name: "bad value", ops: []Op{op("log.retention.ms", opSet, "soon")},
			want: "Invalid value soon for configuration log.retention.ms: Not a number of type LONG", code: kerr.InvalidRequest},
		{name: "unknown", ops: []Op{op("retention.ms", opSet, "1")},
			want: "Unknown broker config name: retention.ms", code: kerr.InvalidConfig},
		{name: "append to a non-list", ops: []Op{op("message.max.bytes", opAppend, "1")},
			want: "Config value append is not allowed for config key: message.max.bytes", code: kerr.InvalidConfig},
		{name: "subtract from a non-list", ops: []Op{op("message.max.bytes", opSubtract, "1")},
			want: "Config value subtract is not allowed for config key: message.max.bytes", code: kerr.InvalidConfig},
		{name: "duplicate keys", ops: []Op{op("log.retention.ms", opSet, "1"), op("log.retention.ms", opSet, "2")},
			want: "Error due to duplicate config keys", code: kerr.InvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AlterBroker(tc.current, tc.ops)
			if tc.code != nil {
				configErr(t, err, tc.code, tc.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.String())
		})
	}

	v := "5"
	got, err := ReplaceBroker([]Assignment{{"min.insync.replicas", &v}})
	require.NoError(t, err)
	assert.Equal(t, "min.insync.replicas=5", got.String())
	_, err = ReplaceBroker([]Assignment{{"num.partitions", &v}})
	configErr(t, err, kerr.InvalidRequest, "Cannot update these configs dynamically: Set(num.partitions)")
}

func TestJavaSplitComma(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{""}},
		{"a", []string{"a"}},
		{"a,b", []string{"a", "b"}},
		{"a,", []string{"a"}},
		{",", []string{}},
		{",a", []string{"", "a"}},
		{"a,,b,,", []string{"a", "", "b"}},
	} {
		assert.Equal(t, tc.want, javaSplitComma(tc.in), "%q", tc.in)
	}
}
