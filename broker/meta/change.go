package meta

import "slices"

// changeFor computes the record that moves partition p to targetISR and
// re-elects its leader if it must, as Kafka's PartitionChangeBuilder does
// for an ONLINE or UNCLEAN election (without ELR or reassignment):
//
//   - the current leader stays if it is in targetISR and may lead;
//   - else the first replica, in replica order, that is in targetISR and
//     may lead;
//   - else, with unclean election on, the first replica that may lead, and
//     the ISR becomes just that replica (data written only to the old ISR
//     can be lost);
//   - else NoLeader.
//
// An empty targetISR does not empty the ISR: without ELR (KIP-966) the
// last member stays, since it holds every committed offset. The record
// sets Leader only when the leader changes, because a set Leader always
// starts a new leader epoch (see PartitionChange). ok is false when
// nothing would change.
func changeFor(p *Partition, targetISR []int32, mayLead func(int32) bool, unclean bool) (Record, bool) {
	change := &PartitionChange{TopicID: p.TopicID, Partition: p.Index}
	leader, wasUnclean := elect(p, targetISR, mayLead, unclean)
	if leader != p.Leader {
		change.Leader = &leader
		if wasUnclean {
			change.ISR = []int32{leader}
		}
	}
	if change.ISR == nil && len(targetISR) > 0 && !slices.Equal(targetISR, p.ISR) {
		change.ISR = slices.Clone(targetISR)
	}
	if change.Leader == nil && change.ISR == nil {
		return Record{}, false
	}
	return Record{PartitionChange: change}, true
}

// elect picks p's leader for targetISR (see changeFor); unclean reports
// that the leader comes from outside targetISR.
func elect(p *Partition, targetISR []int32, mayLead func(int32) bool, unclean bool) (leader int32, wasUnclean bool) {
	valid := func(r int32) bool { return slices.Contains(targetISR, r) && mayLead(r) }
	if p.Leader != NoLeader && valid(p.Leader) {
		return p.Leader, false
	}
	for _, r := range p.Replicas {
		if valid(r) {
			return r, false
		}
	}
	if unclean {
		for _, r := range p.Replicas {
			if mayLead(r) {
				return r, true
			}
		}
	}
	return NoLeader, false
}

// reelect writes the changes that take broker gone out of every ISR
// (but a last member) and every leadership, electing new leaders among
// the active brokers other than gone; or, with gone = NoLeader and
// coming a broker being unfenced, elects leaders for the leaderless
// partitions, counting coming as able to lead although the image still
// has it fenced. It is Kafka's generateLeaderAndIsrUpdates.
func reelect(im *Image, gone, coming int32, unclean func(topic string) bool) []Record {
	mayLead := func(r int32) bool { return r != gone && (r == coming || im.Active(r)) }
	var recs []Record
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			var target []int32
			switch {
			case gone != NoLeader && (p.Leader == gone || slices.Contains(p.ISR, gone)):
				target = without(p.ISR, gone)
			case gone == NoLeader && p.Leader == NoLeader:
				target = p.ISR
			default:
				continue
			}
			if r, ok := changeFor(p, target, mayLead, unclean(t.Name)); ok {
				recs = append(recs, r)
			}
		}
	}
	return recs
}

func without(s []int32, x int32) []int32 {
	out := make([]int32, 0, len(s))
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}
