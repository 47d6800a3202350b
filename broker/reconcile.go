package broker

import (
	"maps"
	"slices"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
)

// reconcile makes the broker match the metadata image after every applied
// entry, as a KRaft broker's metadata publisher does: dynamic configs,
// removed topics, and for each partition with a replica here its log and
// its role (leader or follower at the image's leader epoch, with the
// image's replicas and ISR).
func (b *Broker) reconcile() {
	if b.closed {
		return
	}
	im := b.ctl.Image()
	if im.Offset < b.reconciledOffset {
		// The quorum node restarted (its metadata log failed) and is
		// replaying its log into a fresh image: until it is back where
		// this broker already was, the image lacks topics that exist, and
		// acting on it would delete their logs.
		return
	}
	b.reconciledOffset = im.Offset
	b.reopenPending = false
	b.reconcileConfigs(im)
	if !b.registeredIn(im) {
		// Until the image holds this incarnation's registration, what it
		// says of this node is the previous incarnation's: its leaderships
		// and ISR places, which the controller takes away when it admits
		// this one. Acting on them would lead an old epoch with a log that
		// lost its high watermark (and, after a power loss, its unflushed
		// tail). Kafka's broker likewise publishes partitions only once
		// registered and caught up.
		return
	}
	b.dropRemovedTopics(im)
	for _, mt := range im.SortedTopics() {
		b.reconcileTopic(mt)
	}
}

// registeredIn reports whether im holds this incarnation's registration.
func (b *Broker) registeredIn(im *meta.Image) bool {
	rb := im.Brokers[b.cfg.NodeID]
	return rb != nil && rb.IncarnationID == b.incarnation
}

// reconcileConfigs takes the dynamic broker layers from the image and
// re-resolves topic settings when they changed.
func (b *Broker) reconcileConfigs(im *meta.Image) {
	cluster, mine := im.ClusterConfigs, im.BrokerConfigs[b.cfg.NodeID]
	if maps.Equal(b.dynCluster.Map(), cluster) && maps.Equal(b.dynBroker.Map(), mine) {
		return
	}
	b.dynCluster, b.dynBroker = configs.SetOf(cluster), configs.SetOf(mine)
	b.resettle()
}

// dropRemovedTopics deletes the local replicas of topics the image no
// longer has.
func (b *Broker) dropRemovedTopics(im *meta.Image) {
	for _, t := range b.sortedTopics() {
		if im.TopicIDs[t.id] == nil {
			b.deleteTopic(t)
		}
	}
}

func (b *Broker) reconcileTopic(mt *meta.Topic) {
	t := b.topicIDs[mt.ID]
	if t == nil {
		s, err := topicSettingsOf(b.layers(configs.SetOf(mt.Configs)))
		if err != nil {
			b.log.Error("topic settings from the metadata do not resolve; using defaults", "topic", mt.Name, "err", err)
			s, _ = topicSettingsOf(b.layers(configs.Set{}))
		}
		t = &topic{name: mt.Name, id: mt.ID, configs: configs.SetOf(mt.Configs), settings: s}
		b.topics[t.name], b.topicIDs[t.id] = t, t
	}
	if !maps.Equal(t.configs.Map(), mt.Configs) {
		t.configs = configs.SetOf(mt.Configs)
		b.settleTopic(t)
	}
	for len(t.partitions) < len(mt.Partitions) {
		t.partitions = append(t.partitions, nil)
	}
	for i, mp := range mt.Partitions {
		b.reconcilePartition(t, int32(i), mp)
	}
}

// reconcilePartition opens or drops the local replica and sets its role.
// A role changes only with the leader epoch; within an epoch the image
// brings ISR and replica changes (AlterPartition outcomes).
func (b *Broker) reconcilePartition(t *topic, index int32, mp *meta.Partition) {
	p := t.partitions[index]
	self := b.cfg.NodeID
	if !slices.Contains(mp.Replicas, self) {
		if p != nil {
			b.dropReplica(p)
			t.partitions[index] = nil
		}
		return
	}
	reopened, wasReopened := b.reopened[reopenKey{t.id, index}]
	fresh := p == nil
	if p == nil {
		if b.imageBehindReopen(t, index, mp) {
			b.reopenPending = true // housekeeping tries again
			return
		}
		var err error
		if p, err = b.openPartition(t, index); err != nil {
			b.log.Error("opening replica", "topic", t.name, "partition", index, "err", err)
			b.reopenPending = true // housekeeping tries again
			return
		}
		t.partitions[index] = p
		p.leader, p.leaderEpoch = meta.NoLeader, -1
		b.restoreHW(p)
	}
	switch {
	case mp.Leader == self && (p.leader != self || p.leaderEpoch != mp.LeaderEpoch):
		b.becomeLeader(p, mp.LeaderEpoch, mp.Replicas, mp.ISR)
		p.partitionEpoch = mp.PartitionEpoch
	case mp.Leader != self && (p.leader != mp.Leader || p.leaderEpoch != mp.LeaderEpoch):
		b.becomeFollower(p, mp.Leader, mp.LeaderEpoch, mp.Replicas, mp.ISR)
		p.partitionEpoch = mp.PartitionEpoch
	case mp.PartitionEpoch > p.partitionEpoch:
		p.replicas, p.isr, p.partitionEpoch = slices.Clone(mp.Replicas), slices.Clone(mp.ISR), mp.PartitionEpoch
		// A pending AlterPartition is settled now: committed (this is
		// it) or bound to be refused (it names the older partition
		// epoch).
		p.isrPending = nil
		if p.leader == self {
			b.maybeAdvanceHW(p)
			b.checkAcks(p)
		}
	}
	if fresh && wasReopened {
		b.resumeISRChange(p, reopened)
	}
}

// resumeISRChange takes over the ISR change a replica's failed log left in
// flight, if this reopened replica leads in the same leader and partition
// epochs (the image has not settled it): the controller may still commit
// it, so the high watermark must keep counting its members (maximalISR),
// and it is asked again with the members' epochs of the time.
func (b *Broker) resumeISRChange(p *partition, r reopenState) {
	if r.isrPending == nil || p.leader != b.cfg.NodeID || p.leaderEpoch != r.leaderEpoch || p.partitionEpoch != r.partitionEpoch {
		return
	}
	p.isrPending, p.isrPendingEpochs = r.isrPending, r.isrPendingEpochs
	p.isrProposal++
	b.log.Info("isr change resumed after reopening", "topic", p.t.name, "partition", p.index, "from", p.isr, "to", p.isrPending)
	b.sendAlterISR(p, p.isrProposal)
}

// openPartition opens (recovering, or creating) a local replica's log and
// rebuilds its producer state from it.
func (b *Broker) openPartition(t *topic, index int32) (*partition, error) {
	l, err := storage.Open(b.e.FS(), b.e.Clock(), b.log, b.path(partitionDir(t.name, index)), t.settings.storage)
	if err != nil {
		return nil, err
	}
	// A reopened replica knows no high watermark (there is no checkpoint
	// of it): a follower learns it from its leader, and a leader moves it
	// up from the log start as its ISR fetches (at once when it is the
	// whole ISR). Starting higher could show consumers a tail that a
	// later leader does not have.
	hw := l.StartOffset()
	l.SetHighWatermark(hw)
	// Only what is below the recovery point is known to be fsynced: past
	// it the log may hold what sits in the page cache alone (a log
	// reopened after a failed fsync, or a process restarted without a
	// power loss), which an ack counting on fsync (flush.messages=1) must
	// not count until a flush has made it durable.
	p := &partition{t: t, index: index, log: l, hw: hw, flushed: l.RecoveryPoint()}
	l.OnFlushed(func(offset int64) {
		p.flushed = max(p.flushed, offset)
		b.maybeAdvanceHW(p)
		b.followerFlushed(p)
	})
	p.producers = newProducerTable(b.cfg.ProducersPerPartitionMax)
	if err := p.producers.rebuild(l); err != nil {
		l.Close()
		return nil, err
	}
	if p.flushed < l.EndOffset() {
		l.Flush(nil)
	}
	return p, nil
}

// dropReplica stops a local replica this broker no longer holds (moved by
// a reassignment, or its topic deleted) and removes its files.
func (b *Broker) dropReplica(p *partition) {
	b.closeReplica(p)
	if err := storage.Delete(b.e.FS(), b.path(p.dir()), func(err error) {
		if err != nil {
			b.log.Error("removing a dropped replica", "topic", p.t.name, "partition", p.index, "err", err)
		}
	}); err != nil {
		b.log.Error("removing a dropped replica", "topic", p.t.name, "partition", p.index, "err", err)
	}
}

// imageBehindReopen reports whether the image's record of a replica
// closed for reopening is older than what the replica knew: the answer
// to its own AlterPartition, which the local image has not applied yet.
// Reopening on that record would bring back an ISR the controller has
// already replaced (with members that may lag the high watermark), so
// the replica waits for the image.
func (b *Broker) imageBehindReopen(t *topic, index int32, mp *meta.Partition) bool {
	r, ok := b.reopened[reopenKey{t.id, index}]
	return ok && (mp.LeaderEpoch < r.leaderEpoch || mp.LeaderEpoch == r.leaderEpoch && mp.PartitionEpoch < r.partitionEpoch)
}

// restoreHW gives a replica reopened after its log failed the high
// watermark it had: the process kept it in memory, and the reopened log
// still holds what the old one held (no power was lost), so a leader's
// watermark does not go back within its epoch.
func (b *Broker) restoreHW(p *partition) {
	k := reopenKey{p.t.id, p.index}
	r, ok := b.reopened[k]
	if !ok {
		return
	}
	delete(b.reopened, k)
	if hw := min(r.hw, p.log.EndOffset()); hw > p.hw {
		p.hw = hw
		p.log.SetHighWatermark(hw)
	}
}

// closeReplica stops serving a local replica and closes its log, keeping
// its files.
func (b *Broker) closeReplica(p *partition) {
	b.unfollow(p)
	// Its ISR change in flight stops asking: a replica reopened in its
	// place takes the change over (resumeISRChange).
	p.isrPending = nil
	b.failAcks(p, kerr.NotLeaderForPartition)
	b.waiters.wake(p) // parked fetches of it answer with NOT_LEADER_OR_FOLLOWER
	if err := p.log.Close(); err != nil {
		b.log.Warn("closing a replica", "topic", p.t.name, "partition", p.index, "err", err)
	}
}

// deleteTopic forgets a topic and removes its local replicas.
func (b *Broker) deleteTopic(t *topic) {
	delete(b.topics, t.name)
	delete(b.topicIDs, t.id)
	for i, p := range t.partitions {
		if p != nil {
			b.dropReplica(p)
			t.partitions[i] = nil
		}
	}
	b.log.Info("topic deleted", "topic", t.name)
}
