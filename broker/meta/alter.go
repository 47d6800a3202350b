package meta

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregor-dst/gregor/internal/assert"
)

// AlterPartitionRequest is a leader's request to change an ISR
// (AlterPartition v3: topic ids and the members' broker epochs).
type AlterPartitionRequest struct {
	BrokerID       int32
	BrokerEpoch    int64
	TopicID        [16]byte
	Partition      int32
	LeaderEpoch    int32
	PartitionEpoch int32
	// ISR is the proposed ISR with each member's broker epoch (KIP-903:
	// a member that restarted since the leader saw it must not join).
	ISR []ISRMember
}

// ISRMember is one member of a proposed ISR.
type ISRMember struct {
	ID    int32
	Epoch int64 // -1: not given (older requests)
}

// AlterPartition validates an ISR change as KRaft's controller does
// (ReplicationControlManager.alterPartition and
// validateAlterPartitionData) and returns its record, or the error to
// answer with. In Kafka's order:
//
//   - the requester's broker epoch is not current: STALE_BROKER_EPOCH
//     (Kafka fails the whole request with it);
//   - unknown topic id: UNKNOWN_TOPIC_ID; unknown partition:
//     UNKNOWN_TOPIC_OR_PARTITION;
//   - a leader or partition epoch above the image's: NOT_CONTROLLER (this
//     image is behind a newer controller's);
//   - an older leader epoch: FENCED_LEADER_EPOCH;
//   - the requester is not the leader: INVALID_REQUEST (in its leader
//     epoch it is the leader, so only a broken broker gets here);
//   - an older partition epoch: INVALID_UPDATE_VERSION;
//   - a member that is not a replica, a duplicate, or an ISR without the
//     leader: INVALID_REQUEST;
//   - a member that is unregistered, fenced, in controlled shutdown, or
//     registered at another epoch than the one given: INELIGIBLE_REPLICA
//     (KIP-841, KIP-903).
//     Kafka checks every member, not only joining ones; members leaving
//     are not checked, so a leader may always drop a fenced follower.
//
// An ISR equal to the current one (in the same order) needs no record:
// the answer is the partition as it is. An ISR that holds every target
// replica of a reassignment completes it (see builder.build); if that
// removes the leader, the records come with NEW_LEADER_ELECTED, which is
// Kafka's answer for that partition, and must be written all the same.
func AlterPartition(im *Image, r AlterPartitionRequest) ([]Record, *kerr.Error) {
	if b := im.Brokers[r.BrokerID]; b == nil || b.Epoch != r.BrokerEpoch {
		return nil, kerr.StaleBrokerEpoch
	}
	if im.TopicIDs[r.TopicID] == nil {
		return nil, kerr.UnknownTopicID
	}
	p := im.Partition(r.TopicID, r.Partition)
	switch {
	case p == nil:
		return nil, kerr.UnknownTopicOrPartition
	case r.LeaderEpoch > p.LeaderEpoch, r.PartitionEpoch > p.PartitionEpoch:
		return nil, kerr.NotController
	case r.LeaderEpoch < p.LeaderEpoch:
		return nil, kerr.FencedLeaderEpoch
	case r.BrokerID != p.Leader:
		return nil, kerr.InvalidRequest
	case r.PartitionEpoch < p.PartitionEpoch:
		return nil, kerr.InvalidUpdateVersion
	}
	isr, e := checkISR(im, p, r.ISR)
	if e != nil {
		return nil, e
	}
	rec, ok := changeFor(p, isr, im.MayLead, false)
	if !ok {
		return nil, nil
	}
	// The leader is in the ISR and may lead, so only the completion of a
	// reassignment that removes it moves leadership: the records are
	// written and the requester told NEW_LEADER_ELECTED.
	if l := rec.PartitionChange.Leader; l != nil && *l != p.Leader {
		assert.That(rec.PartitionChange.Replicas != nil, "meta: AlterPartition moved the leader without a reassignment")
		return []Record{rec}, kerr.NewLeaderElected
	}
	return []Record{rec}, nil
}

func checkISR(im *Image, p *Partition, members []ISRMember) ([]int32, *kerr.Error) {
	isr := make([]int32, 0, len(members))
	for _, m := range members {
		if !slices.Contains(p.Replicas, m.ID) || slices.Contains(isr, m.ID) {
			return nil, kerr.InvalidRequest
		}
		isr = append(isr, m.ID)
	}
	if !slices.Contains(isr, p.Leader) {
		return nil, kerr.InvalidRequest
	}
	for _, m := range members {
		b := im.Brokers[m.ID]
		if b == nil || !im.MayLead(m.ID) || (m.Epoch != -1 && m.Epoch != b.Epoch) {
			return nil, kerr.IneligibleReplica
		}
	}
	return isr, nil
}
