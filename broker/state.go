package broker

import (
	"slices"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/broker/quorum"
	"github.com/gregor-dst/gregor/broker/records"
)

// State is a read-only picture of a broker's replicas, for the invariant
// monitors (checker/) that the simulator runs between events. It is
// copied out, so a monitor can keep it.
type State struct {
	NodeID      int32
	BrokerEpoch int64
	Partitions  []PartitionState // by topic, then partition
}

// PartitionState is one local replica.
type PartitionState struct {
	Topic          string
	TopicID        [16]byte
	Partition      int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
	// LogStart, HW and LEO are this replica's log start offset, high
	// watermark and log end offset.
	LogStart, HW, LEO int64
	// Flushed is the offset below which the log is fsynced.
	Flushed int64
	// Epochs is the leader epoch cache: each epoch and its start offset.
	Epochs []EpochStart
}

// EpochStart is one leader epoch cache entry.
type EpochStart struct {
	Epoch       int32
	StartOffset int64
}

// BatchInfo identifies a batch in a replica's log, enough to compare
// replicas (same offsets, same epoch, same CRC: the same batch).
type BatchInfo struct {
	BaseOffset, LastOffset int64
	LeaderEpoch            int32
	CRC                    uint32
}

// UpdateState makes *st what State would return, reusing its memory: the
// simulator's observer calls it after every event that ran on the broker,
// where a copy per event cost more than the checks. A changed slice is
// replaced by a new one, never written in place, so states copied from
// *st before keep their values. It reports whether *st changed and
// whether a replica's leader, leader epoch or ISR may have moved (always
// when a replica came or went or the broker epoch changed).
func (b *Broker) UpdateState(st *State) (changed, rolesMoved bool) {
	if st.NodeID != b.cfg.NodeID || st.BrokerEpoch != b.brokerEpoch || !b.sameReplicas(st.Partitions) {
		*st = b.State()
		return true, true // rare (a replica came or went, a new registration): say so
	}
	for i := range st.Partitions {
		c, m := b.updateReplica(&st.Partitions[i])
		changed, rolesMoved = changed || c, rolesMoved || m
	}
	return changed, rolesMoved
}

// sameReplicas reports whether ps (in State's order) names exactly the
// local replicas, each of the same topic incarnation.
func (b *Broker) sameReplicas(ps []PartitionState) bool {
	if len(ps) != b.localPartitions() {
		return false
	}
	for i := range ps {
		t := b.topics[ps[i].Topic]
		if t == nil || t.id != ps[i].TopicID || t.local(ps[i].Partition) == nil {
			return false
		}
	}
	return true
}

// updateReplica brings ps up to its local partition (sameReplicas holds).
func (b *Broker) updateReplica(ps *PartitionState) (changed, rolesMoved bool) {
	p := b.topics[ps.Topic].local(ps.Partition)
	rolesMoved = p.leader != ps.Leader || p.leaderEpoch != ps.LeaderEpoch || !slices.Equal(p.isr, ps.ISR)
	changed = rolesMoved || p.partitionEpoch != ps.PartitionEpoch || p.log.StartOffset() != ps.LogStart ||
		p.hw != ps.HW || p.log.EndOffset() != ps.LEO || p.flushed != ps.Flushed
	ps.Leader, ps.LeaderEpoch, ps.PartitionEpoch = p.leader, p.leaderEpoch, p.partitionEpoch
	ps.LogStart, ps.HW, ps.LEO, ps.Flushed = p.log.StartOffset(), p.hw, p.log.EndOffset(), p.flushed
	if !slices.Equal(p.isr, ps.ISR) {
		ps.ISR = slices.Clone(p.isr)
	}
	if !slices.Equal(p.replicas, ps.Replicas) {
		ps.Replicas, changed = slices.Clone(p.replicas), true
	}
	if !b.sameEpochs(p, ps.Epochs) {
		ps.Epochs, changed = epochStarts(p), true
	}
	return changed, rolesMoved
}

// sameEpochs compares a local leader epoch cache with a copy of it.
func (b *Broker) sameEpochs(p *partition, es []EpochStart) bool {
	if p.log.EpochCount() != len(es) {
		return false
	}
	for i, e := range es {
		if c := p.log.EpochAt(i); c.Epoch != e.Epoch || c.StartOffset != e.StartOffset {
			return false
		}
	}
	return true
}

// epochStarts copies p's leader epoch cache.
func epochStarts(p *partition) []EpochStart {
	var out []EpochStart
	for i := range p.log.EpochCount() {
		e := p.log.EpochAt(i)
		out = append(out, EpochStart{Epoch: e.Epoch, StartOffset: e.StartOffset})
	}
	return out
}

// localPartitions counts the local replicas (State's partitions).
func (b *Broker) localPartitions() int {
	n := 0
	for _, t := range b.topics { //gregor:unordered-ok a count
		for _, p := range t.partitions {
			if p != nil {
				n++
			}
		}
	}
	return n
}

// State copies out the broker's replica state. A broker that is not
// serving (crashed before recovery finished) has no partitions.
func (b *Broker) State() State {
	st := State{NodeID: b.cfg.NodeID, BrokerEpoch: b.brokerEpoch}
	for _, p := range b.sortedPartitions() {
		ps := PartitionState{
			Topic: p.t.name, TopicID: p.t.id, Partition: p.index,
			Leader: p.leader, LeaderEpoch: p.leaderEpoch, PartitionEpoch: p.partitionEpoch,
			Replicas: slices.Clone(p.replicas), ISR: slices.Clone(p.isr),
			LogStart: p.log.StartOffset(), HW: p.hw, LEO: p.log.EndOffset(), Flushed: p.flushed,
		}
		ps.Epochs = epochStarts(p)
		st.Partitions = append(st.Partitions, ps)
	}
	return st
}

// Batches walks the batches of a local replica from offset from, for
// monitors comparing logs (log matching, committed data on every ISR
// member). fn returns false to stop.
func (b *Broker) Batches(topic string, partition int32, from int64, fn func(BatchInfo) bool) error {
	t := b.topics[topic]
	if t == nil || t.local(partition) == nil {
		return nil
	}
	return t.local(partition).log.Headers(from, func(h records.Header) bool {
		return fn(BatchInfo{BaseOffset: h.BaseOffset, LastOffset: h.LastOffset(), LeaderEpoch: h.PartitionLeaderEpoch, CRC: h.CRC})
	})
}

// ControllerImage is the committed metadata image this broker's embedded
// controller has applied, for monitors (nil before Start). It changes as
// the broker applies entries; callers must not mutate it.
func (b *Broker) ControllerImage() *meta.Image {
	if b.ctl == nil {
		return nil
	}
	return b.ctl.Image()
}

// QuorumStatus is the embedded quorum voter's status, for quorum.Monitor
// (State Down before Start).
func (b *Broker) QuorumStatus() quorum.Status {
	if b.ctl == nil {
		return quorum.Status{NodeID: b.cfg.NodeID, LeaderID: -1, VotedID: -1}
	}
	return b.ctl.Quorum().Status()
}

// Serving reports whether the broker serves clients: registered, unfenced
// once, and not stopping.
func (b *Broker) Serving() bool { return b.ready && !b.stopping }
