package meta

import "slices"

// builder builds one partition's next state and the record that reaches
// it, as Kafka's PartitionChangeBuilder does (without ELR): the caller
// sets targets (replicas, ISR, reassignment) and the kind of election,
// and build completes a reassignment that can complete, elects the
// leader and bumps the leader epoch where Kafka does.
type builder struct {
	p                *Partition
	replicas, isr    []int32
	adding, removing []int32
	mayLead          func(int32) bool
	// unclean allows a leader from outside the ISR; preferred tries the
	// first replica first (ElectLeaders type 0).
	unclean, preferred bool
}

// newBuilder starts a change of p whose targets are p's current state.
func newBuilder(p *Partition, mayLead func(int32) bool) *builder {
	return &builder{p: p, replicas: p.Replicas, isr: p.ISR, adding: p.Adding, removing: p.Removing, mayLead: mayLead}
}

// build returns the record, or ok false when nothing would change:
//
//   - a reassignment completes once every target replica is in the
//     target ISR: the removing replicas leave the replicas and the ISR
//     (KIP-455; Kafka's PartitionReassignmentReplicas);
//   - the leader is elected (see elect); an unclean leader restarts the
//     ISR as just itself (data written only to the old ISR can be lost);
//   - an empty target ISR does not empty the ISR: without ELR (KIP-966)
//     the last member stays, since it holds every committed offset;
//   - the record sets Leader only when the leader changes or a replica
//     leaves the replica set, because a set Leader always starts a new
//     leader epoch (see PartitionChange): a removed replica must not be
//     able to act in the old epoch (Kafka's
//     triggerLeaderEpochBumpForReplicaReassignmentIfNeeded). An ISR
//     change alone keeps the leader epoch (KAFKA-15021).
func (c *builder) build() (Record, bool) {
	p := c.p
	c.completeReassignment()
	rec := &PartitionChange{TopicID: p.TopicID, Partition: p.Index}
	isr := c.isr
	leader, wasUnclean := c.elect()
	switch {
	case leader != p.Leader:
		rec.Leader = &leader
		if wasUnclean {
			isr = []int32{leader}
		}
	case !containsAll(c.replicas, p.Replicas):
		rec.Leader = &leader
	}
	if len(isr) > 0 && !slices.Equal(isr, p.ISR) {
		rec.ISR = slices.Clone(isr)
	}
	if !slices.Equal(c.replicas, p.Replicas) {
		rec.Replicas = slices.Clone(c.replicas)
	}
	if !slices.Equal(c.adding, p.Adding) || !slices.Equal(c.removing, p.Removing) {
		rec.Reassignment = &Reassignment{Adding: nonEmpty(c.adding), Removing: nonEmpty(c.removing)}
	}
	if rec.Leader == nil && rec.ISR == nil && rec.Replicas == nil && rec.Reassignment == nil {
		return Record{}, false
	}
	return Record{PartitionChange: rec}, true
}

// completeReassignment moves the targets to the reassignment's end when
// every target replica (replicas but removing) is in the target ISR and
// the ISR keeps a member (Kafka's maybeCompleteReassignment).
func (c *builder) completeReassignment() {
	if len(c.adding) == 0 && len(c.removing) == 0 {
		return
	}
	replicas := withoutAll(c.replicas, c.removing)
	isr := withoutAll(c.isr, c.removing)
	if len(isr) == 0 || !containsAll(isr, replicas) {
		return
	}
	c.replicas, c.isr, c.adding, c.removing = replicas, isr, nil, nil
}

// elect picks the leader for the targets, as Kafka's electLeader does:
//
//   - with preferred, the first replica if it is in the target ISR and
//     may lead;
//   - the current leader, if it is in the target ISR and may lead;
//   - else the first replica, in replica order, that is in the target
//     ISR and may lead;
//   - else, with unclean election on, the first replica that may lead
//     (wasUnclean reports it);
//   - else NoLeader.
func (c *builder) elect() (leader int32, wasUnclean bool) {
	valid := func(r int32) bool { return slices.Contains(c.isr, r) && c.mayLead(r) }
	if c.preferred && len(c.replicas) > 0 && valid(c.replicas[0]) {
		return c.replicas[0], false
	}
	if c.p.Leader != NoLeader && valid(c.p.Leader) {
		return c.p.Leader, false
	}
	for _, r := range c.replicas {
		if valid(r) {
			return r, false
		}
	}
	if c.unclean {
		for _, r := range c.replicas {
			if c.mayLead(r) {
				return r, true
			}
		}
	}
	return NoLeader, false
}

// changeFor is the common change: p's ISR becomes targetISR and its
// leader is re-elected if it must (an ONLINE or UNCLEAN election).
func changeFor(p *Partition, targetISR []int32, mayLead func(int32) bool, unclean bool) (Record, bool) {
	c := newBuilder(p, mayLead)
	c.isr, c.unclean = targetISR, unclean
	return c.build()
}

// reelect writes the changes that take broker gone out of every ISR
// (but a last member) and every leadership, electing new leaders among
// the brokers that may lead other than gone; or, with gone = NoLeader and
// coming a broker being unfenced, elects leaders for the leaderless
// partitions, counting coming as able to lead although the image still
// has it fenced. It is Kafka's generateLeaderAndIsrUpdates.
func reelect(im *Image, gone, coming int32, unclean func(topic string) bool) []Record {
	mayLead := func(r int32) bool { return r != gone && (r == coming || im.MayLead(r)) }
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

// withoutAll is s without the members of xs, in s's order.
func withoutAll(s, xs []int32) []int32 {
	out := make([]int32, 0, len(s))
	for _, v := range s {
		if !slices.Contains(xs, v) {
			out = append(out, v)
		}
	}
	return out
}

// containsAll reports whether every member of xs is in s.
func containsAll(s, xs []int32) bool {
	for _, x := range xs {
		if !slices.Contains(s, x) {
			return false
		}
	}
	return true
}
