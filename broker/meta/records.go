package meta

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Record is one metadata change; exactly one field is set. Records are
// encoded as JSON in the metadata log: the log is small, and a readable
// encoding makes traces and snapshots easy to inspect.
type Record struct {
	RegisterBroker  *RegisterBroker  `json:"register_broker,omitempty"`
	FenceBroker     *FenceBroker     `json:"fence_broker,omitempty"`
	UnfenceBroker   *UnfenceBroker   `json:"unfence_broker,omitempty"`
	ShutdownBroker  *ShutdownBroker  `json:"shutdown_broker,omitempty"`
	Topic           *TopicRecord     `json:"topic,omitempty"`
	Partition       *PartitionRecord `json:"partition,omitempty"`
	PartitionChange *PartitionChange `json:"partition_change,omitempty"`
	RemoveTopic     *RemoveTopic     `json:"remove_topic,omitempty"`
	Config          *ConfigRecord    `json:"config,omitempty"`
	ProducerIDs     *ProducerIDs     `json:"producer_ids,omitempty"`
}

// RegisterBroker (KRaft's RegisterBrokerRecord) admits a broker
// incarnation. Its epoch fences every older incarnation: requests carrying
// an older broker epoch are refused (KIP-841, KIP-903).
type RegisterBroker struct {
	ID            int32    `json:"id"`
	Epoch         int64    `json:"epoch"`
	Host          string   `json:"host"`
	Port          int32    `json:"port"`
	Rack          string   `json:"rack,omitempty"`
	IncarnationID [16]byte `json:"incarnation_id"`
	// Fenced: a newly registered broker starts fenced until it has caught
	// up with the metadata log.
	Fenced bool `json:"fenced"`
}

// FenceBroker / UnfenceBroker change whether a broker incarnation may lead
// or join an ISR; one naming an older epoch is stale.
type FenceBroker struct {
	ID    int32 `json:"id"`
	Epoch int64 `json:"epoch"`
}

// UnfenceBroker: see FenceBroker.
type UnfenceBroker struct {
	ID    int32 `json:"id"`
	Epoch int64 `json:"epoch"`
}

// ShutdownBroker (KRaft's BrokerRegistrationChangeRecord with
// InControlledShutdown set) marks a broker incarnation that asked to shut
// down: it stays unfenced, so it keeps serving while its leaderships
// move, but it may no longer lead or join an ISR. A new registration
// clears it; one naming an older epoch is stale.
type ShutdownBroker struct {
	ID    int32 `json:"id"`
	Epoch int64 `json:"epoch"`
}

// TopicRecord creates a topic.
type TopicRecord struct {
	Name string   `json:"name"`
	ID   [16]byte `json:"id"`
}

// PartitionRecord creates a partition with its full state.
type PartitionRecord struct {
	TopicID   [16]byte `json:"topic_id"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	ISR       []int32  `json:"isr"`
	Leader    int32    `json:"leader"`
	// LeaderEpoch rises with every leader change; PartitionEpoch with every
	// change at all (ISR included), which AlterPartition checks. Both are 0
	// for a new partition.
	LeaderEpoch    int32 `json:"leader_epoch"`
	PartitionEpoch int32 `json:"partition_epoch"`
	// Adding and Removing are an ongoing reassignment's replicas (both
	// subsets of Replicas); a new partition has none, but a snapshot-like
	// record may.
	Adding   []int32 `json:"adding,omitempty"`
	Removing []int32 `json:"removing,omitempty"`
}

// PartitionChange changes a partition; nil fields stay as they are, and
// at least one is set. As in Kafka's PartitionChangeRecord, a set Leader
// starts a new leader epoch (leader epoch + 1) even when it names the
// current leader, so the controller sets it only when the leader changes
// (or to force a new epoch); an ISR change alone keeps the leader epoch
// (KAFKA-15021). Every change moves the partition epoch on, which
// AlterPartition checks. The epochs are applied by Image, not carried.
type PartitionChange struct {
	TopicID   [16]byte `json:"topic_id"`
	Partition int32    `json:"partition"`
	ISR       []int32  `json:"isr,omitempty"`
	Leader    *int32   `json:"leader,omitempty"`
	Replicas  []int32  `json:"replicas,omitempty"`
	// Reassignment, when set, replaces the partition's adding and removing
	// replicas (empty lists: no reassignment in progress any more).
	Reassignment *Reassignment `json:"reassignment,omitempty"`
}

// Reassignment is the state of a partition reassignment (KIP-455):
// Adding are target replicas not yet in the ISR's company, Removing the
// old replicas that leave once every adding replica has joined the ISR.
// Replicas lists the target replicas first, then the removing ones.
type Reassignment struct {
	Adding   []int32 `json:"adding,omitempty"`
	Removing []int32 `json:"removing,omitempty"`
}

// RemoveTopic deletes a topic with its partitions and configs.
type RemoveTopic struct {
	ID [16]byte `json:"id"`
}

// ConfigRecord sets (Value non-nil) or removes a config of a resource:
// a topic (ResourceTopic, Resource = its name) or the brokers
// (ResourceBroker, Resource = "" for the cluster-wide default or a broker
// id in decimal).
type ConfigRecord struct {
	ResourceType int8    `json:"resource_type"`
	Resource     string  `json:"resource"`
	Name         string  `json:"name"`
	Value        *string `json:"value,omitempty"`
}

// ProducerIDs reserves the block [First, First+Size) for a broker, as
// KRaft's ProducerIdsRecord does.
type ProducerIDs struct {
	BrokerID int32 `json:"broker_id"`
	First    int64 `json:"first"`
	Size     int64 `json:"size"`
}

// Encode serializes records for one metadata log entry.
func Encode(rs []Record) ([]byte, error) {
	for i, r := range rs {
		if n := r.setFields(); n != 1 {
			return nil, fmt.Errorf("meta: record %d has %d fields set, want 1", i, n)
		}
	}
	return json.Marshal(rs)
}

// Decode parses one metadata log entry.
func Decode(b []byte) ([]Record, error) {
	var rs []Record
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("meta: decoding entry: %w", err)
	}
	for i, r := range rs {
		if n := r.setFields(); n != 1 {
			return nil, fmt.Errorf("meta: record %d has %d fields set, want 1", i, n)
		}
	}
	return rs, nil
}

// ErrStale is returned for a record that refers to state the image no
// longer has (a removed topic, an older broker epoch): harmless, since
// the controller's view was momentarily behind, and skipped.
var ErrStale = errors.New("meta: stale record")

func (r Record) setFields() int {
	n := 0
	for _, set := range []bool{
		r.RegisterBroker != nil, r.FenceBroker != nil, r.UnfenceBroker != nil, r.ShutdownBroker != nil,
		r.Topic != nil, r.Partition != nil, r.PartitionChange != nil,
		r.RemoveTopic != nil, r.Config != nil, r.ProducerIDs != nil,
	} {
		if set {
			n++
		}
	}
	return n
}
