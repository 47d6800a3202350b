package configs

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func set(kvs ...string) Set {
	var s Set
	for i := 0; i < len(kvs); i += 2 {
		s = s.With(kvs[i], kvs[i+1])
	}
	return s
}

func resolveTopic(t *testing.T, l Layers, key string) Entry {
	t.Helper()
	e, ok := ResolveTopic(l, key)
	require.True(t, ok, key)
	return e
}

func resolveBroker(t *testing.T, l Layers, key string) Entry {
	t.Helper()
	e, ok := ResolveBroker(l, key)
	require.True(t, ok, key)
	return e
}

// TestTopicDefaults pins what DescribeConfigs shows for a topic on a
// broker started with nothing set, as Kafka 4.x shows it. The empty
// synonym lists of retention.ms, segment.ms and flush.ms are Kafka's:
// their first broker synonym (log.retention.ms, …) has a null default, so
// ConfigHelper drops the whole chain.
func TestTopicDefaults(t *testing.T) {
	for _, want := range []string{
		"cleanup.policy=delete (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.cleanup.policy=delete]",
		"compression.type=producer (DEFAULT_CONFIG) [DEFAULT_CONFIG:compression.type=producer]",
		"delete.retention.ms=86400000 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.cleaner.delete.retention.ms=86400000]",
		"file.delete.delay.ms=60000 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.segment.delete.delay.ms=60000]",
		"flush.messages=9223372036854775807 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.flush.interval.messages=9223372036854775807]",
		"flush.ms=9223372036854775807 (DEFAULT_CONFIG)",
		"follower.replication.throttled.replicas= (DEFAULT_CONFIG)",
		"index.interval.bytes=4096 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.index.interval.bytes=4096]",
		"local.retention.ms=-2 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.local.retention.ms=-2]",
		"max.compaction.lag.ms=9223372036854775807 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.cleaner.max.compaction.lag.ms=9223372036854775807]",
		"max.message.bytes=1048588 (DEFAULT_CONFIG) [DEFAULT_CONFIG:message.max.bytes=1048588]",
		"message.timestamp.after.max.ms=3600000 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.message.timestamp.after.max.ms=3600000]",
		"message.timestamp.before.max.ms=9223372036854775807 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.message.timestamp.before.max.ms=9223372036854775807]",
		"message.timestamp.type=CreateTime (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.message.timestamp.type=CreateTime]",
		"min.cleanable.dirty.ratio=0.5 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5]",
		"min.compaction.lag.ms=0 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.cleaner.min.compaction.lag.ms=0]",
		"min.insync.replicas=1 (DEFAULT_CONFIG) [DEFAULT_CONFIG:min.insync.replicas=1]",
		"preallocate=false (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.preallocate=false]",
		"remote.storage.enable=false (DEFAULT_CONFIG)",
		"retention.bytes=-1 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.retention.bytes=-1]",
		"retention.ms=604800000 (DEFAULT_CONFIG)",
		"segment.bytes=1073741824 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.segment.bytes=1073741824]",
		"segment.index.bytes=10485760 (DEFAULT_CONFIG) [DEFAULT_CONFIG:log.index.size.max.bytes=10485760]",
		"segment.jitter.ms=0 (DEFAULT_CONFIG)",
		"segment.ms=604800000 (DEFAULT_CONFIG)",
		"unclean.leader.election.enable=false (DEFAULT_CONFIG) [DEFAULT_CONFIG:unclean.leader.election.enable=false]",
	} {
		key, _, _ := strings.Cut(want, "=")
		e := resolveTopic(t, Layers{}, key)
		assert.Equal(t, want, e.String())
		assert.False(t, e.ReadOnly, key)
		assert.False(t, e.Sensitive, key)
		assert.NotEmpty(t, e.Documentation, key)
	}
	e := resolveTopic(t, Layers{}, "cleanup.policy")
	assert.Equal(t, kmsg.ConfigTypeList, e.Type)
	e = resolveTopic(t, Layers{}, "min.cleanable.dirty.ratio")
	assert.Equal(t, kmsg.ConfigTypeDouble, e.Type)

	_, ok := ResolveTopic(Layers{}, "log.retention.ms")
	assert.False(t, ok, "a broker name is not a topic config")
}

// TestTopicPrecedence walks retention.ms down the layers: each layer
// wins over the ones below it, and the synonym list shows every set
// occurrence in Kafka's order.
func TestTopicPrecedence(t *testing.T) {
	full := Layers{
		Topic:          set("retention.ms", "1000"),
		Broker:         set("log.retention.ms", "2000"),
		ClusterDefault: set("log.retention.ms", "3000"),
		Static:         set("log.retention.ms", "4000", "log.retention.minutes", "5", "log.retention.hours", "6"),
	}
	chainTail := "STATIC_BROKER_CONFIG:log.retention.ms=4000, STATIC_BROKER_CONFIG:log.retention.minutes=5, " +
		"STATIC_BROKER_CONFIG:log.retention.hours=6, DEFAULT_CONFIG:log.retention.hours=168"

	l := full
	assert.Equal(t, "retention.ms=1000 (DYNAMIC_TOPIC_CONFIG) [DYNAMIC_TOPIC_CONFIG:retention.ms=1000, "+
		"DYNAMIC_BROKER_CONFIG:log.retention.ms=2000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3000, "+chainTail+"]",
		resolveTopic(t, l, "retention.ms").String())

	l.Topic = Set{}
	assert.Equal(t, "retention.ms=2000 (DYNAMIC_BROKER_CONFIG) [DYNAMIC_BROKER_CONFIG:log.retention.ms=2000, "+
		"DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3000, "+chainTail+"]",
		resolveTopic(t, l, "retention.ms").String())

	l.Broker = Set{}
	assert.Equal(t, "retention.ms=3000 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3000, "+chainTail+"]",
		resolveTopic(t, l, "retention.ms").String())

	l.ClusterDefault = Set{}
	assert.Equal(t, "retention.ms=4000 (STATIC_BROKER_CONFIG) ["+chainTail+"]",
		resolveTopic(t, l, "retention.ms").String())

	// Within one layer the synonyms keep their priority: minutes beat hours.
	l.Static = set("log.retention.minutes", "5", "log.retention.hours", "6")
	e := resolveTopic(t, l, "retention.ms")
	assert.Equal(t, "300000", *e.Value)
	// Kafka's ConfigHelper drops the chain up to log.retention.ms, which is
	// unset, so it reports DEFAULT_CONFIG with no synonyms even though the
	// value comes from the static minutes. CreateTopics says STATIC.
	assert.Equal(t, "retention.ms=300000 (DEFAULT_CONFIG)", e.String())
	created := createdByName(t, l, "retention.ms")
	assert.Equal(t, "retention.ms=300000 (STATIC_BROKER_CONFIG)", created.String())

	l.Static = set("log.retention.hours", "24")
	assert.Equal(t, "retention.ms=86400000 (DEFAULT_CONFIG)", resolveTopic(t, l, "retention.ms").String())

	// A dynamic head keeps the static variants behind it in the list.
	l.ClusterDefault = set("log.retention.ms", "5000")
	l.Static = set("log.retention.minutes", "30")
	assert.Equal(t, "retention.ms=5000 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=5000, "+
		"STATIC_BROKER_CONFIG:log.retention.minutes=30, DEFAULT_CONFIG:log.retention.hours=168]",
		resolveTopic(t, l, "retention.ms").String())
}

// TestSynonymChains pins the other chains: segment.ms (roll hours),
// flush.ms (scheduler interval, same unit), and a same-name synonym.
func TestSynonymChains(t *testing.T) {
	l := Layers{Static: set("log.roll.hours", "2", "log.flush.scheduler.interval.ms", "700")}
	assert.Equal(t, "segment.ms=7200000 (DEFAULT_CONFIG)", resolveTopic(t, l, "segment.ms").String())
	assert.Equal(t, "flush.ms=700 (DEFAULT_CONFIG)", resolveTopic(t, l, "flush.ms").String())

	l = Layers{ClusterDefault: set("log.roll.ms", "1000", "log.flush.interval.ms", "50"), Static: set("log.roll.hours", "2")}
	assert.Equal(t, "segment.ms=1000 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:log.roll.ms=1000, "+
		"STATIC_BROKER_CONFIG:log.roll.hours=2, DEFAULT_CONFIG:log.roll.hours=168]",
		resolveTopic(t, l, "segment.ms").String())
	assert.Equal(t, "flush.ms=50 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:log.flush.interval.ms=50, "+
		"DEFAULT_CONFIG:log.flush.scheduler.interval.ms=9223372036854775807]",
		resolveTopic(t, l, "flush.ms").String())

	l = Layers{Topic: set("min.insync.replicas", "2"), Static: set("min.insync.replicas", "3")}
	assert.Equal(t, "min.insync.replicas=2 (DYNAMIC_TOPIC_CONFIG) [DYNAMIC_TOPIC_CONFIG:min.insync.replicas=2, "+
		"STATIC_BROKER_CONFIG:min.insync.replicas=3, DEFAULT_CONFIG:min.insync.replicas=1]",
		resolveTopic(t, l, "min.insync.replicas").String())

	assert.Equal(t, []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}, brokerChain("log.retention.hours"))
	assert.Equal(t, []string{"log.roll.ms", "log.roll.hours"}, brokerChain("log.roll.ms"))
	assert.Equal(t, []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}, brokerChain("log.flush.interval.ms"))
	assert.Equal(t, []string{"log.flush.scheduler.interval.ms"}, brokerChain("log.flush.scheduler.interval.ms"))
	assert.Equal(t, []string{"message.max.bytes"}, brokerChain("message.max.bytes"))
}

// TestOverrideShownParsed: DescribeConfigs shows an override as Kafka
// parsed it; CreateTopics shows it as stored.
func TestOverrideShownParsed(t *testing.T) {
	l := Layers{Topic: set("cleanup.policy", "compact, delete", "min.cleanable.dirty.ratio", "1")}
	assert.Equal(t, "cleanup.policy=compact,delete (DYNAMIC_TOPIC_CONFIG) [DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, "+
		"DEFAULT_CONFIG:log.cleanup.policy=delete]", resolveTopic(t, l, "cleanup.policy").String())
	assert.Equal(t, "1.0", *resolveTopic(t, l, "min.cleanable.dirty.ratio").Value)
	assert.Equal(t, "cleanup.policy=compact, delete (DYNAMIC_TOPIC_CONFIG)", createdByName(t, l, "cleanup.policy").String())
}

func TestDescribeTopicSortedAndFiltered(t *testing.T) {
	all := DescribeTopic(Layers{}, nil)
	require.Len(t, all, len(topicDefs))
	names := entryNames(all)
	assert.True(t, slices.IsSorted(names), "%v", names)

	// Kafka ignores names it does not know, and repeats none.
	some := DescribeTopic(Layers{}, []string{"segment.bytes", "nope", "log.retention.ms", "retention.ms", "segment.bytes"})
	assert.Equal(t, []string{"retention.ms", "segment.bytes"}, entryNames(some))
	assert.Empty(t, DescribeTopic(Layers{}, []string{"nope"}))

	created := CreatedTopicConfigs(Layers{})
	assert.Equal(t, names, entryNames(created))
	for _, e := range created {
		assert.Empty(t, e.Synonyms, e.Name)
		assert.Equal(t, kmsg.ConfigSourceDefaultConfig, e.Source, e.Name)
	}
}

func TestDescribeBroker(t *testing.T) {
	l := Layers{
		ClusterDefault: set("log.retention.ms", "1000"),
		Static:         set("node.id", "3", "broker.id", "3", "log.dirs", "/data/a, /data/b", "log.retention.hours", "24"),
	}
	for _, want := range []string{
		"log.retention.ms=1000 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=1000, " +
			"STATIC_BROKER_CONFIG:log.retention.hours=24, DEFAULT_CONFIG:log.retention.hours=168]",
		"log.retention.hours=24 (STATIC_BROKER_CONFIG) [STATIC_BROKER_CONFIG:log.retention.hours=24, DEFAULT_CONFIG:log.retention.hours=168]",
		"log.retention.minutes=null (DEFAULT_CONFIG)",
		"log.dirs=/data/a,/data/b (STATIC_BROKER_CONFIG) [STATIC_BROKER_CONFIG:log.dirs=/data/a, /data/b]",
		"node.id=3 (STATIC_BROKER_CONFIG) [STATIC_BROKER_CONFIG:node.id=3, DEFAULT_CONFIG:node.id=-1]",
		"num.partitions=1 (DEFAULT_CONFIG) [DEFAULT_CONFIG:num.partitions=1]",
		"advertised.listeners=null (DEFAULT_CONFIG)",
	} {
		key, _, _ := strings.Cut(want, "=")
		assert.Equal(t, want, resolveBroker(t, l, key).String())
	}
	assert.False(t, resolveBroker(t, l, "log.retention.ms").ReadOnly)
	assert.True(t, resolveBroker(t, l, "log.retention.hours").ReadOnly)
	assert.True(t, resolveBroker(t, l, "node.id").ReadOnly)
	assert.False(t, resolveBroker(t, l, "max.connections").ReadOnly)
	assert.False(t, resolveBroker(t, l, "producer.id.expiration.ms").ReadOnly)

	all := DescribeBroker(l, nil)
	require.Len(t, all, len(brokerDefs))
	assert.True(t, slices.IsSorted(entryNames(all)))
	assert.Equal(t, []string{"node.id"}, entryNames(DescribeBroker(l, []string{"node.id", "retention.ms"})))
}

// TestDescribeClusterDefault: the "" broker resource lists only what is
// set at that level, as stored, with synonyms from that level only.
func TestDescribeClusterDefault(t *testing.T) {
	cd := set("log.retention.ms", " 1000", "min.insync.replicas", "2")
	got := DescribeClusterDefault(cd, nil)
	require.Len(t, got, 2)
	assert.Equal(t, "log.retention.ms= 1000 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms= 1000]", got[0].String())
	assert.Equal(t, "min.insync.replicas=2 (DYNAMIC_DEFAULT_BROKER_CONFIG) [DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=2]", got[1].String())
	assert.False(t, got[0].ReadOnly)
	assert.Equal(t, []string{"min.insync.replicas"}, entryNames(DescribeClusterDefault(cd, []string{"min.insync.replicas", "num.partitions"})))
	assert.Empty(t, DescribeClusterDefault(Set{}, nil))
}

func createdByName(t *testing.T, l Layers, key string) Entry {
	t.Helper()
	for _, e := range CreatedTopicConfigs(l) {
		if e.Name == key {
			return e
		}
	}
	t.Fatalf("%s not in CreatedTopicConfigs", key)
	return Entry{}
}

func entryNames(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}
