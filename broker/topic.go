package broker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/storage"
)

// topic is one topic with its partitions. On a single node this broker
// leads every partition.
type topic struct {
	name       string
	id         [16]byte
	configs    configs.Set // topic-level config overrides
	settings   topicSettings
	partitions []*partition
}

// partition is one partition's log and the state around it.
type partition struct {
	t     *topic
	index int32
	log   *storage.Log
	// hw is the high watermark: what consumers may read, the offset every
	// ISR member holds (replica.go).
	hw          int64
	leaderEpoch int32
	producers   *producerTable
	// flushed is the offset below which the log is fsynced (from the
	// log's OnFlushed); with flush.messages=1 it, not the log end, is what
	// this replica may acknowledge.
	flushed int64
	replication
}

func (p *partition) dir() string { return partitionDir(p.t.name, p.index) }

func partitionDir(topic string, index int32) string {
	return "logs/" + topic + "-" + strconv.Itoa(int(index))
}

// recover rebuilds the broker's state from its data directory: the
// metadata file, then every partition log (storage recovery truncates torn
// tails) and its idempotent producer state.
func (b *Broker) recover() error {
	mf, found, err := b.meta.load()
	if err != nil {
		return err
	}
	if !found {
		mf = metaFile{Version: metaVersion, ClusterID: b.cfg.ClusterID, NodeID: b.cfg.NodeID}
	}
	if found && mf.NodeID != b.cfg.NodeID {
		return fmt.Errorf("data directory belongs to node %d, not %d", mf.NodeID, b.cfg.NodeID)
	}
	b.dynBroker, b.dynCluster = configs.SetOf(mf.BrokerConfigs), configs.SetOf(mf.ClusterDefaultConfigs)
	b.nextProducerID = mf.ProducerIDNext
	b.producerIDBlockEnd = mf.ProducerIDNext
	b.producerIDDurableEnd = mf.ProducerIDNext
	for _, mt := range mf.Topics {
		t, err := b.openTopic(mt.Name, mt.ID, mt.Partitions, configs.SetOf(mt.Configs))
		if err != nil {
			return fmt.Errorf("topic %s: %w", mt.Name, err)
		}
		b.topics[t.name] = t
		b.topicIDs[t.id] = t
	}
	return nil
}

// openTopic opens (creating if new) the logs of a topic's partitions.
func (b *Broker) openTopic(name string, id [16]byte, partitions int32, overrides configs.Set) (*topic, error) {
	s, err := topicSettingsOf(b.layers(overrides))
	if err != nil {
		return nil, err
	}
	t := &topic{name: name, id: id, configs: overrides, settings: s}
	for i := range partitions {
		if err := b.addPartition(t, i); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (b *Broker) addPartition(t *topic, index int32) error {
	l, err := storage.Open(b.e.FS(), b.e.Clock(), b.log, b.path(partitionDir(t.name, index)), t.settings.storage)
	if err != nil {
		return fmt.Errorf("partition %d: %w", index, err)
	}
	p := &partition{t: t, index: index, log: l, hw: l.EndOffset(), flushed: l.EndOffset()}
	p.replication = soleReplica(b.cfg.NodeID)
	l.SetHighWatermark(p.hw)
	l.OnFlushed(func(offset int64) {
		p.flushed = max(p.flushed, offset)
		b.maybeAdvanceHW(p)
	})
	p.producers = newProducerTable(b.cfg.ProducersPerPartitionMax)
	if err := p.producers.rebuild(l); err != nil {
		return fmt.Errorf("partition %d: producer state: %w", index, err)
	}
	t.partitions = append(t.partitions, p)
	return nil
}

// snapshot is the metadata file for the current state.
func (b *Broker) snapshot() metaFile {
	mf := metaFile{
		Version:               metaVersion,
		ClusterID:             b.cfg.ClusterID,
		NodeID:                b.cfg.NodeID,
		ProducerIDNext:        b.producerIDBlockEnd,
		BrokerConfigs:         b.dynBroker.Map(),
		ClusterDefaultConfigs: b.dynCluster.Map(),
	}
	for _, t := range b.sortedTopics() {
		mf.Topics = append(mf.Topics, metaTopic{
			Name:       t.name,
			ID:         t.id,
			Partitions: int32(len(t.partitions)),
			Configs:    t.configs.Map(),
		})
	}
	return mf
}

// partitionCount is the number of partitions across all topics.
func (b *Broker) partitionCount() int {
	n := 0
	for _, t := range b.topics { //gregor:unordered-ok a sum
		n += len(t.partitions)
	}
	return n
}

// newTopicID draws a topic id from the broker's random stream: never the
// zero id (Kafka reserves it) and never one in use.
func (b *Broker) newTopicID() [16]byte {
	for {
		var id [16]byte
		r := b.e.Rand()
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		if id != ([16]byte{}) && b.topicIDs[id] == nil {
			return id
		}
	}
}

// validTopicName applies Kafka's rules: 1–249 characters of [a-zA-Z0-9._-],
// not "." or "..".
func validTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name cannot be %q", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is longer than 249 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q contains %q; only ASCII alphanumerics, '.', '_' and '-' are allowed", name, r)
		}
	}
	return nil
}

// collides reports a topic whose name differs from name only in '.' vs
// '_' (Kafka forbids both: they map to the same metric names).
func (b *Broker) collides(name string) string {
	norm := strings.ReplaceAll(name, ".", "_")
	for _, t := range b.sortedTopics() {
		if t.name != name && strings.ReplaceAll(t.name, ".", "_") == norm {
			return t.name
		}
	}
	return ""
}

// closeLogs closes every partition log (at stop).
func (b *Broker) closeLogs() {
	for _, t := range b.sortedTopics() {
		for _, p := range t.partitions {
			if err := p.log.Close(); err != nil {
				b.log.Warn("closing log", "topic", t.name, "partition", p.index, "err", err)
			}
		}
	}
}

// sortedPartitions lists every partition in (topic, index) order.
func (b *Broker) sortedPartitions() []*partition {
	var out []*partition
	for _, t := range b.sortedTopics() {
		out = append(out, t.partitions...)
	}
	return out
}
