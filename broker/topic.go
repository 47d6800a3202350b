package broker

import (
	"fmt"
	"strconv"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/storage"
)

// topic is one topic as the metadata image has it, with the partitions
// that have a replica on this broker (nil at the other indexes).
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

// closeLogs closes every partition log (at stop).
func (b *Broker) closeLogs() {
	for _, t := range b.sortedTopics() {
		for _, p := range t.partitions {
			if p == nil {
				continue
			}
			if err := p.log.Close(); err != nil {
				b.log.Warn("closing log", "topic", t.name, "partition", p.index, "err", err)
			}
		}
	}
}

// sortedPartitions lists every local replica in (topic, index) order.
func (b *Broker) sortedPartitions() []*partition {
	var out []*partition
	for _, t := range b.sortedTopics() {
		for _, p := range t.partitions {
			if p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// local finds the local replica of a topic's partition: nil when the
// index is out of range or the replica lives on other brokers.
func (t *topic) local(index int32) *partition {
	if index < 0 || int(index) >= len(t.partitions) {
		return nil
	}
	return t.partitions[index]
}
