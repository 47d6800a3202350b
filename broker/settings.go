package broker

import (
	"fmt"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/storage"
)

// topicSettings is what the broker reads of a topic's effective configs
// on its hot paths, resolved once when the topic or a config changes.
type topicSettings struct {
	storage              storage.Config
	maxMessageBytes      int32
	logAppendTime        bool
	timestampBeforeMaxMs int64
	timestampAfterMaxMs  int64
	// flushEveryMessage: flush.messages=1 (fsync before acknowledging),
	// the "always" durability mode.
	flushEveryMessage bool
	minInsyncReplicas int
}

// layers are the config layers a topic resolves through: its overrides,
// this broker's dynamic configs, the cluster-wide dynamic defaults, then
// the static configs it started with.
func (b *Broker) layers(topic configs.Set) configs.Layers {
	return configs.Layers{Topic: topic, Broker: b.dynBroker, ClusterDefault: b.dynCluster, Static: b.static}
}

func topicSettingsOf(l configs.Layers) (topicSettings, error) {
	ts, err := configs.TopicSettingsOf(l)
	if err != nil {
		return topicSettings{}, err
	}
	sc := storage.DefaultConfig()
	sc.SegmentBytes = ts.SegmentBytes
	sc.SegmentMs = ts.SegmentMs
	sc.RetentionMs = ts.RetentionMs
	sc.RetentionBytes = ts.RetentionBytes
	sc.FlushMessages = ts.FlushMessages
	sc.FlushMs = ts.FlushMs
	sc.IndexIntervalBytes = int32(min(ts.IndexIntervalBytes, 1<<30))
	sc.SegmentIndexBytesMax = int32(min(ts.SegmentIndexBytes, 1<<30))
	// The log must accept any batch the topic accepts, plus the batch's
	// own overhead.
	sc.BatchBytesMax = max(ts.MaxMessageBytes, sc.BatchBytesMax)
	return topicSettings{
		storage:              sc,
		maxMessageBytes:      ts.MaxMessageBytes,
		logAppendTime:        ts.MessageTimestampType == "LogAppendTime",
		timestampBeforeMaxMs: ts.MessageTimestampBeforeMaxMs,
		timestampAfterMaxMs:  ts.MessageTimestampAfterMaxMs,
		flushEveryMessage:    ts.FlushMessages == 1,
		minInsyncReplicas:    ts.MinInsyncReplicas,
	}, nil
}

// brokerSettings resolves the broker-level settings. They were validated
// when they were set, so an error here is a bug.
func (b *Broker) brokerSettings() configs.BrokerSettings {
	bs, err := configs.BrokerSettingsOf(b.layers(configs.Set{}))
	if err != nil {
		panic(fmt.Sprintf("broker: settings validated at startup no longer resolve: %v", err))
	}
	return bs
}

// resettle re-resolves every topic's settings after a broker-level config
// change, and hands the new storage settings to the logs.
func (b *Broker) resettle() {
	for _, t := range b.sortedTopics() {
		b.settleTopic(t)
	}
}

func (b *Broker) settleTopic(t *topic) {
	s, err := topicSettingsOf(b.layers(t.configs))
	if err != nil {
		// Every layer was validated when set; keep the old settings
		// rather than serve with half-applied ones.
		b.log.Error("topic settings no longer resolve", "topic", t.name, "err", err)
		return
	}
	t.settings = s
	for _, p := range t.partitions {
		if p == nil {
			continue
		}
		if err := p.log.SetConfig(s.storage); err != nil {
			b.log.Error("applying topic settings to a log", "topic", t.name, "partition", p.index, "err", err)
		}
	}
}
