package replication

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/meta"
)

// BenchmarkObserve replays a recorded-like run through the monitor: 3
// brokers, 3 partitions led by different nodes, each batch appended on
// its leader, fetched by both followers, committed, acknowledged
// (acks=all) and its HW learned by the followers, with an observation
// after every step that changed one broker (as the simulator's observer
// calls it). One op is one Observe (with the Acked calls before it); the
// sequence starts over with a new monitor when it runs out.
//
//	go test -run '^$' -bench Observe -benchmem ./checker/replication/
func BenchmarkObserve(b *testing.B) {
	for _, logEvery := range []int{64, 1} {
		b.Run(fmt.Sprintf("LogEvery=%d", logEvery), func(b *testing.B) {
			seq := recordRun(3, 3, 1500)
			cfg := Config{LogEvery: logEvery, MinInsyncReplicas: 1}
			m, next := New(cfg), 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if next == len(seq) {
					m, next = New(cfg), 0
				}
				s := &seq[next]
				next++
				for _, a := range s.acks {
					m.Acked(topicName, a.part, a.b.BaseOffset, a.b.LastOffset, a.b.CRC, -1, 3, 2)
				}
				if vs := m.Observe(s.obs); len(vs) > 0 {
					b.Fatalf("violations: %+v", vs)
				}
			}
		})
	}
}

// benchStep is one observation and the acknowledgements before it.
type benchStep struct {
	acks []benchAck
	obs  Observation
}

type benchAck struct {
	part int32
	b    broker.BatchInfo
}

// benchCluster is a healthy cluster whose logs only grow, so that an
// observation's Batches can keep reading the prefix it saw.
type benchCluster struct {
	now   int64
	parts [][]*fakePart // by node index, then partition
	views []NodeView
	image *meta.Image
	steps []benchStep
	acks  []benchAck
}

// recordRun records the steps of batches batches spread over parts
// partitions on nodes nodes.
func recordRun(nodes, parts, batches int) []benchStep {
	c := newBenchCluster(nodes, parts)
	for i := range nodes {
		c.snap(i)
	}
	c.step()
	for i := range batches {
		p := i % parts
		leader := p % nodes
		lp := c.parts[leader][p]
		bi := broker.BatchInfo{BaseOffset: lp.ps.LEO, LastOffset: lp.ps.LEO + 4, LeaderEpoch: 1, CRC: crc(lp.ps.LEO, p)}
		benchPut(lp, bi)
		c.snap(leader)
		c.step()
		c.followers(leader, p)
		lp.ps.HW = lp.ps.LEO
		c.snap(leader)
		c.step()
		c.acks = append(c.acks, benchAck{part: int32(p), b: bi})
		c.followers(leader, p)
	}
	return c.steps
}

func newBenchCluster(nodes, parts int) *benchCluster {
	c := &benchCluster{views: make([]NodeView, nodes), image: meta.NewImage()}
	all := make([]int32, nodes)
	for i := range all {
		all[i] = int32(i + 1)
	}
	tp := &meta.Topic{Name: topicName, ID: topicID, Configs: map[string]string{}}
	for p := range parts {
		leader := all[p%nodes]
		tp.Partitions = append(tp.Partitions, &meta.Partition{
			TopicID: topicID, Index: int32(p), Replicas: all, ISR: all, Leader: leader, LeaderEpoch: 1, PartitionEpoch: 1,
		})
	}
	c.image.Topics[topicName], c.image.TopicIDs[topicID] = tp, tp
	for range nodes {
		var ps []*fakePart
		for p := range parts {
			ps = append(ps, &fakePart{ps: broker.PartitionState{
				Topic: topicName, TopicID: topicID, Partition: int32(p), Leader: all[p%nodes], LeaderEpoch: 1,
				PartitionEpoch: 1, Replicas: all, ISR: all,
			}})
		}
		c.parts = append(c.parts, ps)
	}
	return c
}

// followers has every follower of partition p fetch from leader, with
// an observation after each.
func (c *benchCluster) followers(leader, p int) {
	lp := c.parts[leader][p]
	for n := range c.parts {
		if n == leader {
			continue
		}
		fp := c.parts[n][p]
		for _, b := range lp.log[len(fp.log):] {
			benchPut(fp, b)
		}
		fp.ps.HW = min(lp.ps.HW, fp.ps.LEO)
		fp.ps.Flushed = fp.ps.LEO
		c.snap(n)
		c.step()
	}
}

func benchPut(p *fakePart, b broker.BatchInfo) {
	p.log = append(p.log, b)
	if len(p.ps.Epochs) == 0 {
		p.ps.Epochs = []broker.EpochStart{{Epoch: b.LeaderEpoch, StartOffset: b.BaseOffset}}
	}
	p.ps.LEO, p.ps.Flushed = b.LastOffset+1, b.LastOffset+1
}

// snap takes node n's view as broker.State and Batches would give it.
func (c *benchCluster) snap(n int) {
	st := broker.State{NodeID: int32(n + 1), BrokerEpoch: 1}
	logs := make([][]broker.BatchInfo, len(c.parts[n]))
	for p, fp := range c.parts[n] {
		ps := fp.ps
		ps.Replicas, ps.ISR, ps.Epochs = slices.Clone(ps.Replicas), slices.Clone(ps.ISR), slices.Clone(ps.Epochs)
		st.Partitions = append(st.Partitions, ps)
		logs[p] = fp.log
	}
	c.views[n] = NodeView{State: st, Up: true, Incarnation: 1, Batches: func(topic string, part int32, from int64, fn func(broker.BatchInfo) bool) error {
		log := logs[part]
		i, _ := slices.BinarySearchFunc(log, from, func(b broker.BatchInfo, o int64) int { return int(b.LastOffset - o) })
		for _, b := range log[i:] {
			if b.LastOffset >= from && !fn(b) {
				break
			}
		}
		return nil
	}}
}

// step records an observation of the views as they are, with the acks
// since the previous one.
func (c *benchCluster) step() {
	c.now += 100_000
	c.steps = append(c.steps, benchStep{acks: c.acks, obs: Observation{
		TimeNs: c.now, Nodes: slices.Clone(c.views), Controller: c.image, Allow: Allowances{FsyncLoss: true},
	}})
	c.acks = nil
}
