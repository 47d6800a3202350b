package meta

import (
	"fmt"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregor-dst/gregor/internal/assert"
)

// The controller's decisions, as pure functions of the image: each returns
// the records to write (nothing is changed until they are committed and
// applied, in order, to the image the decision was taken on) or the Kafka
// error to answer with. They follow Kafka's KRaft controller
// (ClusterControlManager, ReplicationControlManager, PartitionChangeBuilder,
// ProducerIdControlManager); the differences are listed in doc.go.

// Registration is a BrokerRegistration request.
type Registration struct {
	ID            int32
	IncarnationID [16]byte
	Host          string
	Port          int32
	Rack          string
}

// Register admits a broker incarnation. A retry of the same incarnation
// gets its existing epoch and no records. A new incarnation gets the next
// broker epoch and starts fenced, and the old incarnation first loses
// whatever it held: its leaderships move and it leaves every ISR in which
// it is not the last member, since the old process's log may have lost its
// unflushed tail. (Kafka refuses the new incarnation with
// DUPLICATE_BROKER_REGISTRATION while the old one's session is valid and
// fences it when the session expires, which writes the same changes; the
// session is the caller's to check.)
func Register(im *Image, r Registration, unclean func(topic string) bool) ([]Record, int64) {
	old := im.Brokers[r.ID]
	if old != nil && old.IncarnationID == r.IncarnationID {
		return nil, old.Epoch
	}
	var recs []Record
	if old != nil {
		recs = reelect(im, r.ID, NoLeader, unclean)
	}
	epoch := im.NextBrokerEpoch
	recs = append(recs, Record{RegisterBroker: &RegisterBroker{
		ID: r.ID, Epoch: epoch, Host: r.Host, Port: r.Port, Rack: r.Rack,
		IncarnationID: r.IncarnationID, Fenced: true,
	}})
	return recs, epoch
}

// Unfence lets a caught-up broker incarnation lead and join ISRs, then
// elects leaders for the partitions that have none: the broker takes those
// whose ISR lists it, and, where the topic allows unclean election, a
// partition whose ISR has no live member gets the first live replica
// (Kafka's handleBrokerUnfenced). A stale epoch or an unfenced broker gets
// no records, and so does a broker in controlled shutdown (it only ever
// shuts down: Kafka answers its heartbeats SHUTDOWN_NOW).
func Unfence(im *Image, id int32, epoch int64, unclean func(topic string) bool) []Record {
	b := im.Brokers[id]
	if b == nil || b.Epoch != epoch || !b.Fenced || b.InControlledShutdown {
		return nil
	}
	recs := []Record{{UnfenceBroker: &UnfenceBroker{ID: id, Epoch: epoch}}}
	return append(recs, reelect(im, NoLeader, id, unclean)...)
}

// Fence stops a broker that went silent (session timeout) or is shutting
// down. It leaves every ISR it is in, unless it is the last member (which
// KRaft keeps so the partition can come back with it), and each of its
// leaderships moves to the first other active ISR member in replica order,
// or, where the topic allows unclean election, to the first active replica
// with the ISR reset to it; otherwise the partition has no leader. The
// partition changes come before the FenceBroker record, as in Kafka's
// handleBrokerFenced, so no record leaves a fenced broker leading.
func Fence(im *Image, id int32, unclean func(topic string) bool) []Record {
	b := im.Brokers[id]
	if b == nil || b.Fenced {
		return nil
	}
	recs := reelect(im, id, NoLeader, unclean)
	return append(recs, Record{FenceBroker: &FenceBroker{ID: id, Epoch: b.Epoch}})
}

// ElectUncleanLeaders elects a leader from outside the ISR for every
// leaderless partition of a topic that allows unclean election, as Kafka's
// periodic maybeElectUncleanLeaders does: a topic whose
// unclean.leader.election.enable is turned on after its partitions went
// offline gets them back without waiting for a broker to be unfenced.
func ElectUncleanLeaders(im *Image, unclean func(topic string) bool) []Record {
	var recs []Record
	for _, t := range im.SortedTopics() {
		if !unclean(t.Name) {
			continue
		}
		for _, p := range t.Partitions {
			if p.Leader != NoLeader {
				continue
			}
			if r, ok := changeFor(p, p.ISR, im.MayLead, true); ok {
				recs = append(recs, r)
			}
		}
	}
	return recs
}

// CreateTopic places a new topic's partitions (see place), with the
// active replicas as ISR and the first of them as leader, at leader and
// partition epoch 0. The errors and their messages are KRaft's
// (ReplicationControlManager.createTopic, StripedReplicaPlacer); rf and
// partitions must already have their defaults resolved (-1 is an error
// here).
func CreateTopic(im *Image, name string, id [16]byte, partitions int32, rf int16, start int) ([]Record, *kerr.Error, string) {
	switch {
	case im.Topics[name] != nil:
		return nil, kerr.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", name)
	case im.TopicIDs[id] != nil:
		return nil, kerr.UnknownServerError, fmt.Sprintf("Topic id %x is already in use.", id)
	case rf <= 0:
		return nil, kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value."
	case partitions <= 0:
		return nil, kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value."
	}
	parts, msg := place(im, id, 0, partitions, int(rf), start)
	if msg != "" {
		return nil, kerr.InvalidReplicationFactor, fmt.Sprintf("Unable to replicate the partition %d time(s): %s", rf, msg)
	}
	return append([]Record{{Topic: &TopicRecord{Name: name, ID: id}}}, parts...), nil, ""
}

// AddPartitions grows topic t to count partitions, placed like
// CreateTopic's with the replication factor of its first partition
// (KRaft's createPartitions, with its messages).
func AddPartitions(im *Image, t *Topic, count int32, start int) ([]Record, *kerr.Error, string) {
	if im.TopicIDs[t.ID] == nil {
		return nil, kerr.UnknownTopicOrPartition, kerr.UnknownTopicOrPartition.Description
	}
	have := int32(len(t.Partitions))
	switch {
	case count == have:
		return nil, kerr.InvalidPartitions, fmt.Sprintf("Topic already has %d partition(s).", have)
	case count < have:
		return nil, kerr.InvalidPartitions, fmt.Sprintf("The topic %s currently has %d partition(s); %d would not be an increase.", t.Name, have, count)
	case have == 0:
		return nil, kerr.UnknownServerError, fmt.Sprintf("Invalid state: topic %s appears to have no partitions.", t.Name)
	}
	parts, msg := place(im, t.ID, have, count-have, len(t.Partitions[0].Replicas), start)
	if msg != "" {
		return nil, kerr.InvalidReplicationFactor, msg
	}
	return parts, nil, ""
}

// place builds the records of partitions first … first+n-1, each with rf
// replicas. Like Kafka's StripedReplicaPlacer without racks it stripes
// round robin: partition p starts at active broker (start+p) mod |active|
// and takes the next ones in id order; only when the active brokers run
// out does it add fenced ones (and those in controlled shutdown), which
// start outside the ISR. The leader is always active. msg is the placer's
// error, if any.
func place(im *Image, topicID [16]byte, first, n int32, rf, start int) (recs []Record, msg string) {
	var active, fenced []int32
	for _, b := range im.SortedBrokers() {
		if !im.MayLead(b.ID) {
			fenced = append(fenced, b.ID)
		} else {
			active = append(active, b.ID)
		}
	}
	switch {
	case len(active) == 0:
		return nil, "All brokers are currently fenced."
	case rf > len(active)+len(fenced):
		return nil, fmt.Sprintf("The target replication factor of %d cannot be reached because only %d broker(s) are registered.", rf, len(active)+len(fenced))
	}
	for i := range n {
		p := first + i
		replicas := make([]int32, 0, rf)
		replicas = appendStripe(replicas, active, min(rf, len(active)), start, p)
		replicas = appendStripe(replicas, fenced, rf-len(replicas), start, p)
		isr := replicas[:min(rf, len(active))]
		recs = append(recs, Record{Partition: &PartitionRecord{
			TopicID: topicID, Partition: p, Replicas: replicas, ISR: slices.Clone(isr), Leader: replicas[0],
		}})
	}
	return recs, ""
}

// appendStripe appends k brokers of ring, starting at (start+p) mod |ring|.
func appendStripe(dst, ring []int32, k, start int, p int32) []int32 {
	if k == 0 {
		return dst
	}
	n := len(ring)
	off := (start%n + n + int(p)%n) % n
	for i := range k {
		dst = append(dst, ring[(off+i)%n])
	}
	return dst
}

// DeleteTopic removes a topic, with its partitions and configs.
func DeleteTopic(im *Image, id [16]byte) []Record {
	if im.TopicIDs[id] == nil {
		return nil
	}
	return []Record{{RemoveTopic: &RemoveTopic{ID: id}}}
}

// AllocateProducerIDs reserves the next block of size producer ids for a
// broker incarnation (KIP-730; Kafka's blocks are 1000 ids). A stale
// broker epoch gets STALE_BROKER_EPOCH and an exhausted id space
// UNKNOWN_SERVER_ERROR, as in Kafka's ProducerIdControlManager.
func AllocateProducerIDs(im *Image, brokerID int32, brokerEpoch int64, size int64) ([]Record, *kerr.Error) {
	assert.Thatf(size > 0, "meta: producer id block of size %d", size)
	if b := im.Brokers[brokerID]; b == nil || b.Epoch != brokerEpoch {
		return nil, kerr.StaleBrokerEpoch
	}
	if im.NextProducerID > math.MaxInt64-size {
		return nil, kerr.UnknownServerError
	}
	return []Record{{ProducerIDs: &ProducerIDs{BrokerID: brokerID, First: im.NextProducerID, Size: size}}}, nil
}
