package replication

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/meta"
)

// The tests build histories of a synthetic cluster: a few nodes holding
// one partition ("t", 0), whose states and logs a test edits by hand
// between observations, playing both the correct broker (the good twin)
// and the broken one (the bad twin).

const topicName = "t"

var topicID = [16]byte{0xaa, 1}

type fakePart struct {
	ps  broker.PartitionState
	log []broker.BatchInfo
}

type fakeNode struct {
	id   int32
	up   bool
	inc  int64
	part *fakePart
}

type cluster struct {
	t     *testing.T
	now   int64
	nodes []*fakeNode
	image *meta.Image // nil: no controller
	allow Allowances
	m     *Monitor
	got   []Violation
	// reads counts the batches handed to the monitor (its cost).
	reads int
	// logs says whether observe forces the log pass.
	logs bool
}

// newCluster starts n nodes; node 1 leads epoch 1 with every node in
// the ISR; withImage adds a controller image that agrees.
func newCluster(t *testing.T, n int, withImage bool) *cluster {
	c := &cluster{t: t, m: New(Config{}), logs: true}
	var all []int32
	for i := 1; i <= n; i++ {
		all = append(all, int32(i))
	}
	for _, id := range all {
		c.nodes = append(c.nodes, &fakeNode{id: id, up: true, inc: 1, part: &fakePart{ps: broker.PartitionState{
			Topic: topicName, TopicID: topicID, Partition: 0, Leader: 1, LeaderEpoch: 1,
			Replicas: slices.Clone(all), ISR: slices.Clone(all),
		}}})
	}
	if withImage {
		c.image = meta.NewImage()
		tp := &meta.Topic{Name: topicName, ID: topicID, Configs: map[string]string{}, Partitions: []*meta.Partition{{
			TopicID: topicID, Index: 0, Replicas: slices.Clone(all), ISR: slices.Clone(all), Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1,
		}}}
		c.image.Topics[topicName] = tp
		c.image.TopicIDs[topicID] = tp
	}
	return c
}

func (c *cluster) node(id int32) *fakeNode { return c.nodes[id-1] }

func (c *cluster) ps(id int32) *broker.PartitionState { return &c.node(id).part.ps }

// crc makes distinct batch contents: a base offset and a variant.
func crc(base int64, variant int) uint32 { return uint32(base*1000 + int64(variant) + 7) }

// append adds a batch of n records at node id's log end, stamped with
// epoch, with content variant v.
func (c *cluster) append(id int32, epoch int32, n int64, v int) broker.BatchInfo {
	p := c.node(id).part
	b := broker.BatchInfo{BaseOffset: p.ps.LEO, LastOffset: p.ps.LEO + n - 1, LeaderEpoch: epoch, CRC: crc(p.ps.LEO, v)}
	c.put(id, b)
	return b
}

// put appends b to node id's log as it is, keeping the epoch cache.
func (c *cluster) put(id int32, b broker.BatchInfo) {
	p := c.node(id).part
	p.log = append(p.log, b)
	if k := len(p.ps.Epochs); k == 0 || p.ps.Epochs[k-1].Epoch != b.LeaderEpoch {
		p.ps.Epochs = append(p.ps.Epochs, broker.EpochStart{Epoch: b.LeaderEpoch, StartOffset: b.BaseOffset})
	}
	p.ps.LEO = b.LastOffset + 1
}

// produce appends a batch on the leader in its epoch.
func (c *cluster) produce(id int32, n int64) broker.BatchInfo {
	return c.append(id, c.ps(id).LeaderEpoch, n, 0)
}

// fetch copies what follower lacks from leader's log and takes the
// leader's HW as far as its log reaches.
func (c *cluster) fetch(follower, leader int32) {
	f, l := c.node(follower).part, c.node(leader).part
	for _, b := range l.log {
		if b.BaseOffset >= f.ps.LEO {
			c.put(follower, b)
		}
	}
	f.ps.HW = max(f.ps.HW, min(l.ps.HW, f.ps.LEO))
}

// commit moves leader's HW to the lowest LEO over its ISR.
func (c *cluster) commit(leader int32) {
	l := c.ps(leader)
	hw := l.LEO
	for _, id := range l.ISR {
		hw = min(hw, c.ps(id).LEO)
	}
	l.HW = max(l.HW, hw)
}

// truncate cuts node id's log to end at offset to.
func (c *cluster) truncate(id int32, to int64) {
	p := c.node(id).part
	p.log = slices.DeleteFunc(p.log, func(b broker.BatchInfo) bool { return b.BaseOffset >= to })
	p.ps.Epochs = slices.DeleteFunc(p.ps.Epochs, func(e broker.EpochStart) bool { return e.StartOffset >= to })
	p.ps.LEO = to
	p.ps.HW = min(p.ps.HW, to)
	p.ps.Flushed = min(p.ps.Flushed, to)
}

func (c *cluster) flush(id int32) { c.ps(id).Flushed = c.ps(id).LEO }

// elect makes leader lead epoch with isr on every node, and in the image.
func (c *cluster) elect(leader, epoch int32, isr ...int32) {
	for _, n := range c.nodes {
		n.part.ps.Leader, n.part.ps.LeaderEpoch, n.part.ps.ISR = leader, epoch, slices.Clone(isr)
	}
	if c.image != nil {
		p := c.image.Topics[topicName].Partitions[0]
		p.Leader, p.LeaderEpoch, p.ISR = leader, epoch, slices.Clone(isr)
		p.PartitionEpoch++
	}
}

// setISR changes the ISR on the leader (and followers) and in the image,
// without an election.
func (c *cluster) setISR(isr ...int32) {
	for _, n := range c.nodes {
		n.part.ps.ISR = slices.Clone(isr)
	}
	if c.image != nil {
		p := c.image.Topics[topicName].Partitions[0]
		p.ISR = slices.Clone(isr)
		p.PartitionEpoch++
	}
}

func (c *cluster) crash(id int32) { c.node(id).up = false }

// restart brings node id back with its log cut to what it had flushed
// (the simulated disk's crash).
func (c *cluster) restart(id int32) {
	n := c.node(id)
	n.up, n.inc = true, n.inc+1
	c.truncate(id, n.part.ps.Flushed)
}

// ack reports b acknowledged with acks=all by leader.
func (c *cluster) ack(leader int32, b broker.BatchInfo, minISR int) {
	c.m.Acked(topicName, 0, b.BaseOffset, b.LastOffset, b.CRC, -1, len(c.ps(leader).ISR), minISR)
}

// observe hands the monitor the cluster as it is now, a millisecond after
// the previous observation.
func (c *cluster) observe() {
	o := c.snapshot()
	if c.logs {
		c.got = append(c.got, c.m.ObserveLogs(o)...)
	} else {
		c.got = append(c.got, c.m.Observe(o)...)
	}
}

// snapshot is the cluster as it is now, a millisecond after the previous
// snapshot.
func (c *cluster) snapshot() Observation {
	c.now += 1_000_000
	o := Observation{TimeNs: c.now, Controller: c.image, Allow: c.allow}
	for _, n := range c.nodes {
		p := n.part
		ps := p.ps
		ps.Replicas, ps.ISR, ps.Epochs = slices.Clone(ps.Replicas), slices.Clone(ps.ISR), slices.Clone(ps.Epochs)
		log := slices.Clone(p.log)
		o.Nodes = append(o.Nodes, NodeView{
			State: broker.State{NodeID: n.id, Partitions: []broker.PartitionState{ps}},
			Up:    n.up, Incarnation: n.inc,
			Batches: func(topic string, part int32, from int64, fn func(broker.BatchInfo) bool) error {
				if topic != topicName || part != 0 {
					return nil
				}
				from = max(from, ps.LogStart)
				if from > ps.LEO {
					return fmt.Errorf("offset %d out of range [%d, %d)", from, ps.LogStart, ps.LEO)
				}
				for _, b := range log {
					if b.LastOffset < from {
						continue
					}
					c.reads++
					if !fn(b) {
						break
					}
				}
				return nil
			},
		})
	}
	return o
}

// replicate has every up follower in the leader's ISR fetch, then the
// leader commit, then the followers learn the HW.
func (c *cluster) replicate(leader int32) {
	for _, id := range c.ps(leader).ISR {
		if id != leader && c.node(id).up {
			c.fetch(id, leader)
		}
	}
	c.commit(leader)
	for _, id := range c.ps(leader).ISR {
		if id != leader && c.node(id).up {
			c.fetch(id, leader)
		}
	}
}
