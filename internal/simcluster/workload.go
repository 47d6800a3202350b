package simcluster

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
)

// ackedRecord is a record a producer saw acknowledged.
type ackedRecord struct {
	key    partKey
	offset int64
	value  string
	acks   int16
	at     sim.Time
}

// Outcomes counts produced records by what became of them.
type Outcomes struct {
	Produced, Acked, Failed, Ambiguous int
	// Unfinished are records whose outcome was not reported (their client
	// crashed, or the run ended first).
	Unfinished int
}

// workload keeps what the clients produced and what became of it.
type workload struct {
	c        *Cluster
	acks     map[string]int16 // per client node: its acks setting
	outcomes Outcomes
	acked    []ackedRecord
	// failed are values definitely not written; ambiguous may be.
	failed    map[string]bool
	ambiguous map[string]bool
}

func newWorkload(c *Cluster) *workload {
	return &workload{c: c, acks: map[string]int16{}, failed: map[string]bool{}, ambiguous: map[string]bool{}}
}

// Outcomes counts the records produced so far by outcome.
func (c *Cluster) Outcomes() Outcomes {
	o := c.wl.outcomes
	o.Unfinished = o.Produced - o.Acked - o.Failed - o.Ambiguous
	return o
}

// AddProducer adds a client node that produces with acks (-1: all,
// idempotent; 1 or 0: not idempotent), its other settings from cfg.
func (c *Cluster) AddProducer(name string, acks int16, cfg kclient.Config) (*sim.Node, error) {
	cfg.Acks, cfg.Idempotent = acks, acks == -1
	c.wl.acks[name] = acks
	return c.AddClient(name, cfg)
}

// Produce has client produce value to a partition, on the client's
// thread; done (optional) gets the outcome. Acknowledged acks=all writes
// are reported to the replication monitor (R5, R6, R9) with the largest
// ISR a leader of the partition claimed since the call.
func (c *Cluster) Produce(client, topic string, part int32, value string, done func(kclient.ProduceResult)) {
	n := c.s.Node(client)
	if n == nil {
		return
	}
	c.s.Call(n, func(p env.Process) {
		cl := p.(*kclient.Process).Client
		if cl == nil {
			return
		}
		c.wl.outcomes.Produced++
		at := c.s.Now()
		cl.Produce(topic, part, nil, []byte(value), func(r kclient.ProduceResult) {
			c.wl.outcome(client, value, at, r)
			if done != nil {
				done(r)
			}
		})
	})
}

func (w *workload) outcome(client, value string, at sim.Time, r kclient.ProduceResult) {
	switch r.Outcome {
	case kclient.Acked:
		w.outcomes.Acked++
		if r.Offset >= 0 {
			k := partKey{r.Topic, r.Partition}
			w.acked = append(w.acked, ackedRecord{key: k, offset: r.Offset, value: value, acks: w.acks[client], at: at})
			if r.Offset == r.Batch.BaseOffset && r.Batch.LastOffset >= r.Batch.BaseOffset {
				w.report(k, w.acks[client], r.Batch, at)
			}
		}
	case kclient.Failed:
		w.outcomes.Failed++
		w.failed[value] = true
	default:
		w.outcomes.Ambiguous++
		w.ambiguous[value] = true
	}
}

// report hands an acknowledged batch to the monitor.
func (w *workload) report(k partKey, acks int16, b kclient.BatchRef, at sim.Time) {
	minISR := w.c.minISR(k.topic)
	isr, known := w.c.obs.isr.maxSince(k, at)
	if !known {
		isr = minISR // too old to judge: not an R5 finding
	}
	w.c.obs.mon.Acked(k.topic, k.part, b.BaseOffset, b.LastOffset, b.CRC, acks, isr, minISR)
}

// minISR is topic's min.insync.replicas: its own config in the image, or
// the brokers' static one.
func (c *Cluster) minISR(topic string) int {
	if im := c.obs.image(); im != nil {
		if t := im.Topics[topic]; t != nil {
			if v, ok := t.Configs["min.insync.replicas"]; ok {
				if n, err := strconv.Atoi(v); err == nil {
					return n
				}
			}
		}
	}
	if v, ok := c.static.Get("min.insync.replicas"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return 1
}

// CreateTopic creates a topic through client's admin calls and runs until
// it answered and every partition has a leader, within limit.
func (c *Cluster) CreateTopic(client, name string, partitions int32, configs map[string]string, limit time.Duration) error {
	n := c.s.Node(client)
	if n == nil {
		return fmt.Errorf("no client %q", client)
	}
	var done bool
	var cerr error
	c.s.Call(n, func(p env.Process) {
		cl := p.(*kclient.Process).Client
		if cl == nil {
			done, cerr = true, fmt.Errorf("client %s is not running", client)
			return
		}
		cl.CreateTopic(name, partitions, configs, func(err error) { done, cerr = true, err })
	})
	ok, err := c.RunWhile(limit, 10*time.Millisecond, func() bool { return !done || !c.topicLed(name) })
	switch {
	case err != nil:
		return err
	case cerr != nil:
		return fmt.Errorf("creating %s: %w", name, cerr)
	case !ok:
		return fmt.Errorf("topic %s has no leaders %s after asking", name, limit)
	}
	return nil
}

// topicLed reports whether every partition of topic has a leader that
// serves it.
func (c *Cluster) topicLed(name string) bool {
	im := c.obs.image()
	if im == nil || im.Topics[name] == nil {
		return false
	}
	for _, p := range im.Topics[name].Partitions {
		b := c.Broker(int(p.Leader))
		if b == nil || !b.Serving() || !leads(b, name, p.Index, p.LeaderEpoch) {
			return false
		}
	}
	return true
}

// leads reports whether b leads the partition at epoch by its own state.
func leads(b *broker.Broker, topic string, part, epoch int32) bool {
	ps, ok := replicaState(b.State(), topic, part)
	return ok && ps.Leader == b.State().NodeID && ps.LeaderEpoch == epoch
}

// replicaState finds a partition in a broker's state.
func replicaState(st broker.State, topic string, part int32) (broker.PartitionState, bool) {
	for _, ps := range st.Partitions {
		if ps.Topic == topic && ps.Partition == part {
			return ps, true
		}
	}
	return broker.PartitionState{}, false
}
