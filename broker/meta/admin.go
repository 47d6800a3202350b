package meta

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// The decisions behind a broker's controlled shutdown and the admin
// requests that move leaders and replicas (ElectLeaders,
// AlterPartitionReassignments) or place them by hand (CreateTopics and
// CreatePartitions with an assignment). Messages are Kafka's
// (ReplicationControlManager) unless noted.

// ControlledShutdown starts the controlled shutdown of a broker
// incarnation that asked for it in a heartbeat (Kafka's
// handleBrokerInControlledShutdown): each of its leaderships moves to the
// first other ISR member that may lead, in replica order (or, where the
// topic allows unclean election, to the first replica that may lead),
// else the partition has no leader; it leaves every ISR in which it is
// not the last member; and a ShutdownBroker record marks it, so it
// leads and joins nothing until it registers again. The partition
// changes come first, as in Fence. A stale epoch, a fenced broker (which
// may shut down at once) and a broker already in controlled shutdown get
// no records.
func ControlledShutdown(im *Image, id int32, epoch int64, unclean func(topic string) bool) []Record {
	b := im.Brokers[id]
	if b == nil || b.Epoch != epoch || b.Fenced || b.InControlledShutdown {
		return nil
	}
	recs := reelect(im, id, NoLeader, unclean)
	return append(recs, Record{ShutdownBroker: &ShutdownBroker{ID: id, Epoch: epoch}})
}

// ElectionType is ElectLeaders' election type.
type ElectionType int8

// Election types, as Kafka numbers them.
const (
	// ElectPreferred moves leadership to the first replica if it is in
	// the ISR and may lead.
	ElectPreferred ElectionType = 0
	// ElectUnclean elects a leader for a leaderless partition, from
	// outside the ISR if it must, whatever the topic's
	// unclean.leader.election.enable says.
	ElectUnclean ElectionType = 1
)

// ElectLeader is one partition of an ElectLeaders request (Kafka's
// ReplicationControlManager.electLeader): ELECTION_NOT_NEEDED when the
// preferred replica leads already (ElectPreferred) or the partition has a
// leader (ElectUnclean); PREFERRED_LEADER_NOT_AVAILABLE or
// ELIGIBLE_LEADERS_NOT_AVAILABLE when the election changes nothing.
func ElectLeader(im *Image, topic string, partition int32, typ ElectionType) ([]Record, *kerr.Error, string) {
	p, e, msg := findPartition(im, topic, partition, "No such topic as %s", "No such partition as %s-%d")
	if e != nil {
		return nil, e, msg
	}
	if typ == ElectPreferred && p.Leader == p.Replicas[0] || typ == ElectUnclean && p.Leader != NoLeader {
		return nil, kerr.ElectionNotNeeded, kerr.ElectionNotNeeded.Description
	}
	b := newBuilder(p, im.MayLead)
	b.preferred, b.unclean = typ == ElectPreferred, typ == ElectUnclean
	rec, ok := b.build()
	switch {
	case ok:
		return []Record{rec}, nil, ""
	case typ == ElectPreferred:
		return nil, kerr.PreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable.Description
	default:
		return nil, kerr.EligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable.Description
	}
}

// findPartition finds topic's partition, or the error with Kafka's
// messages for a missing topic or partition.
func findPartition(im *Image, topic string, partition int32, noTopic, noPartition string) (*Partition, *kerr.Error, string) {
	t := im.Topics[topic]
	if t == nil {
		return nil, kerr.UnknownTopicOrPartition, fmt.Sprintf(noTopic, topic)
	}
	p := im.Partition(t.ID, partition)
	if p == nil {
		return nil, kerr.UnknownTopicOrPartition, fmt.Sprintf(noPartition, topic, partition)
	}
	return p, nil, ""
}

// Reassign starts, changes or (target nil) cancels a partition's
// reassignment (KIP-455, Kafka's alterPartitionReassignment).
//
// A target is checked as a manual assignment (non-empty, registered
// brokers, no repeats: INVALID_REPLICA_ASSIGNMENT), and, unless
// allowRFChange (AlterPartitionReassignments v1, KIP-860), must keep the
// replication factor (INVALID_REPLICATION_FACTOR, gregor's message).
// The target replicas not yet replicas become adding, the replicas not in
// the target removing, and the replicas the target followed by the
// removing ones. The reassignment completes in the same record if every
// target replica is in the ISR already, and otherwise with the
// AlterPartition that brings the last of them in (see builder.build);
// removing a replica bumps the leader epoch. A leaderless partition of a
// topic that allows unclean election gets a leader among the new
// replicas at once (Kafka's periodic unclean election would give it one
// soon after). A target equal to the replicas, with no reassignment in
// progress, needs no record.
//
// Cancelling (Kafka's PartitionReassignmentRevert) drops the adding
// replicas from the replicas and the ISR, and keeps the removing ones;
// NO_REASSIGNMENT_IN_PROGRESS if there is nothing to cancel, and
// INVALID_REPLICA_ASSIGNMENT if only adding replicas are in the ISR and
// the topic does not allow unclean election.
func Reassign(im *Image, topic string, partition int32, target []int32, allowRFChange bool, unclean func(topic string) bool) ([]Record, *kerr.Error, string) {
	p, e, msg := findPartition(im, topic, partition, "Unable to find a topic named %s.", "Unable to find partition %s:%d.")
	if e != nil {
		return nil, e, msg
	}
	if target == nil {
		return cancelReassignment(im, topic, p, unclean(topic))
	}
	if e, msg := checkAssignment(im, target, 0); e != nil {
		return nil, e, msg
	}
	if rf := len(p.Replicas) - len(p.Removing); !allowRFChange && len(target) != rf {
		return nil, kerr.InvalidReplicationFactor, fmt.Sprintf("The replication factor is changed from %d to %d but AllowReplicationFactorChange is false.", rf, len(target))
	}
	b := newBuilder(p, im.MayLead)
	b.unclean = unclean(topic)
	b.removing = withoutAll(p.Replicas, target)
	b.adding = withoutAll(target, p.Replicas)
	b.replicas = append(slices.Clone(target), b.removing...)
	rec, ok := b.build()
	if !ok {
		return nil, nil, ""
	}
	return []Record{rec}, nil, ""
}

func cancelReassignment(im *Image, topic string, p *Partition, unclean bool) ([]Record, *kerr.Error, string) {
	if !p.Reassigning() {
		return nil, kerr.NoReassignmentInProgress, kerr.NoReassignmentInProgress.Description
	}
	b := newBuilder(p, im.MayLead)
	b.replicas, b.isr = withoutAll(p.Replicas, p.Adding), withoutAll(p.ISR, p.Adding)
	b.adding, b.removing = nil, nil
	if len(b.isr) == 0 {
		if !unclean {
			return nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("Unable to revert partition assignment for %s:%d because it would require an unclean leader election.", topic, p.Index)
		}
		b.isr, b.unclean = b.replicas[:1], true
	}
	rec, ok := b.build()
	if !ok {
		return nil, nil, ""
	}
	return []Record{rec}, nil, ""
}

// checkAssignment is Kafka's validateManualPartitionAssignment: one
// partition's replicas are non-empty, registered and distinct, and, if
// rf > 0, rf of them. The brokers are checked in id order, so the
// message names the same broker Kafka's would.
func checkAssignment(im *Image, replicas []int32, rf int) (*kerr.Error, string) {
	if len(replicas) == 0 {
		return kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list."
	}
	sorted := slices.Sorted(slices.Values(replicas))
	for i, id := range sorted {
		if im.Brokers[id] == nil {
			return kerr.InvalidReplicaAssignment, fmt.Sprintf("The manual partition assignment includes broker %d, but no such broker is registered.", id)
		}
		if i > 0 && sorted[i-1] == id {
			return kerr.InvalidReplicaAssignment, fmt.Sprintf("The manual partition assignment includes the broker %d more than once.", id)
		}
	}
	if rf > 0 && len(replicas) != rf {
		return kerr.InvalidReplicaAssignment, fmt.Sprintf("The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).", len(replicas), rf)
	}
	return nil, ""
}

// CreateTopicAssigned creates a topic whose partitions' replicas are
// given (CreateTopics with a manual assignment, partition i at index i):
// each is checked as in checkAssignment, with the first partition's
// replication factor for the others; the ISR is the replicas that may
// lead, the first of them leading.
func CreateTopicAssigned(im *Image, name string, id [16]byte, assignment [][]int32) ([]Record, *kerr.Error, string) {
	switch {
	case im.Topics[name] != nil:
		return nil, kerr.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", name)
	case im.TopicIDs[id] != nil:
		return nil, kerr.UnknownServerError, fmt.Sprintf("Topic id %x is already in use.", id)
	case len(assignment) == 0:
		return nil, kerr.InvalidReplicaAssignment, "The manual partition assignment is empty."
	}
	parts, e, msg := placeAssigned(im, id, 0, assignment, 0)
	if e != nil {
		return nil, e, msg
	}
	return append([]Record{{Topic: &TopicRecord{Name: name, ID: id}}}, parts...), nil, ""
}

// AddPartitionsAssigned grows topic t to count partitions with the
// replicas given for each new one (CreatePartitions with an assignment),
// which must match the topic's replication factor.
func AddPartitionsAssigned(im *Image, t *Topic, count int32, assignment [][]int32) ([]Record, *kerr.Error, string) {
	if _, e, msg := AddPartitions(im, t, count, 0); e != nil && e != kerr.InvalidReplicationFactor {
		return nil, e, msg
	}
	have := int32(len(t.Partitions))
	if int(count-have) != len(assignment) {
		return nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", count-have, len(assignment))
	}
	return placeAssigned(im, t.ID, have, assignment, len(t.Partitions[0].Replicas))
}

// placeAssigned builds the records of partitions first, first+1, … with
// the given replicas.
func placeAssigned(im *Image, topicID [16]byte, first int32, assignment [][]int32, rf int) ([]Record, *kerr.Error, string) {
	var recs []Record
	for i, replicas := range assignment {
		if e, msg := checkAssignment(im, replicas, rf); e != nil {
			return nil, e, msg
		}
		rf = len(replicas)
		var isr []int32
		for _, id := range replicas {
			if im.MayLead(id) {
				isr = append(isr, id)
			}
		}
		p := first + int32(i)
		if len(isr) == 0 {
			return nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("All brokers specified in the manual partition assignment for partition %d are fenced or in controlled shutdown.", p)
		}
		recs = append(recs, Record{Partition: &PartitionRecord{
			TopicID: topicID, Partition: p, Replicas: slices.Clone(replicas), ISR: isr, Leader: isr[0],
		}})
	}
	return recs, nil, ""
}
