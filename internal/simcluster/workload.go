package simcluster

import (
	"fmt"
	"github.com/gregor-dst/gregor/checker/history"
	"github.com/gregor-dst/gregor/workloads/queue"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
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
	// Unfinished are records whose outcome was not reported yet; Abandoned
	// those whose client crashed first (their fate is unknown).
	Unfinished, Abandoned int
}

// clientFlight counts a client incarnation's records without an outcome.
type clientFlight struct {
	starts uint64
	open   int
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
	// idempotent are the values produced by idempotent producers, which
	// must not be written twice.
	idempotent map[string]bool
	// idempotentClients are the producers with idempotence on.
	idempotentClients map[string]bool
	flights           map[string]*clientFlight
}

func newWorkload(c *Cluster) *workload {
	return &workload{c: c, acks: map[string]int16{}, flights: map[string]*clientFlight{}, failed: map[string]bool{}, ambiguous: map[string]bool{}, idempotent: map[string]bool{},
		idempotentClients: map[string]bool{}}
}

// Outcomes counts the records produced so far by outcome.
func (c *Cluster) Outcomes() Outcomes {
	o := c.wl.outcomes
	for name, f := range c.wl.flights { //gregor:unordered-ok a sum
		if n := c.s.Node(name); n == nil || n.Starts() != f.starts || n.State() == sim.Down {
			o.Abandoned += f.open
		}
	}
	o.Unfinished = o.Produced - o.Acked - o.Failed - o.Ambiguous - o.Abandoned
	return o
}

// flight is client's count of records without an outcome, for its
// incarnation starts: a new incarnation abandons the old one's.
func (w *workload) flight(client string, starts uint64) *clientFlight {
	f := w.flights[client]
	if f == nil {
		f = &clientFlight{starts: starts}
		w.flights[client] = f
	}
	if f.starts != starts {
		w.outcomes.Abandoned += f.open
		f.open, f.starts = 0, starts
	}
	return f
}

// AddProducer adds a client node that produces with acks (-1: all; 1 or
// 0: never idempotent, as Kafka requires), its other settings from cfg:
// with acks=all, cfg.Idempotent says whether it is idempotent.
func (c *Cluster) AddProducer(name string, acks int16, cfg kclient.Config) (*sim.Node, error) {
	cfg.Acks, cfg.Idempotent = acks, cfg.Idempotent && acks == -1
	c.wl.acks[name] = acks
	c.wl.idempotentClients[name] = cfg.Idempotent
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
	c.s.CallInline(n, func(p env.Process) {
		cl := p.(*kclient.Process).Client
		if cl == nil {
			return
		}
		c.noteIncarnation(client, n)
		c.wl.outcomes.Produced++
		f := c.wl.flight(client, n.Starts())
		f.open++
		if c.wl.idempotentClients[client] {
			c.wl.idempotent[value] = true
		}
		at := c.s.Now()
		record := c.recordSend(client, topic, part, value)
		cl.Produce(topic, part, nil, []byte(value), func(r kclient.ProduceResult) {
			f.open--
			c.wl.outcome(client, value, at, r)
			record(r)
			if done != nil {
				done(r)
			}
		})
	})
}

// noteIncarnation retires a restarted client's history processes: the
// calls its previous incarnation left open stay open (their outcome is
// unknown), and the new incarnation's calls come from new processes.
func (c *Cluster) noteIncarnation(client string, n *sim.Node) {
	s := n.Starts()
	if prev, ok := c.clientStarts[client]; ok && prev != s {
		c.rec.Crash(client)
	}
	c.clientStarts[client] = s
}

// recordSend puts a send of a numeric value into the queue history (other
// values, a scenario's names, are not the queue workload's).
func (c *Cluster) recordSend(client, topic string, part int32, value string) func(kclient.ProduceResult) {
	v, ok := queue.DecodeValue([]byte(value))
	if !ok {
		return func(kclient.ProduceResult) {}
	}
	done, ok := c.rec.Send(client, history.Key{Topic: topic, Partition: part}, v, c.wl.acks[client] == -1)
	if !ok {
		return func(kclient.ProduceResult) {}
	}
	return done
}

// Poll has client fetch a partition from offset (assign mode) and records
// the poll in the queue history; done gets the result.
func (c *Cluster) Poll(client, topic string, part int32, offset int64, final bool, done func(kclient.FetchResult)) {
	n := c.s.Node(client)
	if n == nil {
		return
	}
	c.s.CallInline(n, func(p env.Process) {
		cl := p.(*kclient.Process).Client
		if cl == nil {
			return
		}
		c.noteIncarnation(client, n)
		record, ok := c.rec.Poll(client, history.Key{Topic: topic, Partition: part}, final)
		if !ok {
			return
		}
		cl.Fetch(topic, part, offset, func(r kclient.FetchResult) {
			record(r)
			if done != nil {
				done(r)
			}
		})
	})
}

// History is the queue workload's history so far.
func (c *Cluster) History() []history.Op { return c.rec.Ops() }

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
	st := b.State()
	ps, ok := replicaState(st, topic, part)
	return ok && ps.Leader == st.NodeID && ps.LeaderEpoch == epoch
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

// ProduceOnce sends one Produce request with value to the partition's
// leader (by the most advanced image), from client, with no retry: done
// gets the partition's error code and offset, or the transport error.
// An acknowledged acks=all write is reported to the monitor and checked
// at the end like the producers' ones.
func (c *Cluster) ProduceOnce(client, topic string, part int32, acks int16, value string, done func(code int16, offset int64, err error)) {
	n, im := c.s.Node(client), c.obs.image()
	if n == nil || im == nil || im.Topics[topic] == nil || int(part) >= len(im.Topics[topic].Partitions) {
		done(-1, -1, fmt.Errorf("no client %q or no partition %s-%d", client, topic, part))
		return
	}
	leader := im.Topics[topic].Partitions[part].Leader
	data, err := records.Build(records.BuildOptions{
		ProducerID: records.NoProducerID, ProducerEpoch: records.NoProducerEpoch, BaseSequence: records.NoSequence,
		BaseTimestamp: n.WallClock().UnixMilli(), PartitionLeaderEpoch: records.NoPartitionLeaderEpoch,
	}, []records.Record{{Value: []byte(value)}})
	if err != nil {
		done(-1, -1, err)
		return
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 30_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = part, data
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.s.Call(n, func(p env.Process) {
		cl := p.(*kclient.Process).Client
		if cl == nil {
			done(-1, -1, fmt.Errorf("client %s is not running", client))
			return
		}
		at := c.s.Now()
		c.wl.outcomes.Produced++
		cl.Request(kclient.Addr(BrokerName(int(leader))+":"+strconv.Itoa(clientPort)), req, func(resp kmsg.Response, err error) {
			code, offset := int16(-1), int64(-1)
			if err == nil {
				sp := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
				code, offset = sp.ErrorCode, sp.BaseOffset
			}
			c.wl.onceOutcome(partKey{topic, part}, acks, value, data, at, code, offset, err)
			done(code, offset, err)
		})
	})
}

// onceOutcome books a ProduceOnce answer like a producer's outcome.
func (w *workload) onceOutcome(k partKey, acks int16, value string, data []byte, at sim.Time, code int16, offset int64, err error) {
	switch {
	case err == nil && code == 0:
		w.outcomes.Acked++
		w.acked = append(w.acked, ackedRecord{key: k, offset: offset, value: value, acks: acks, at: at})
		if h, herr := records.ParseHeader(data); herr == nil {
			w.report(k, acks, kclient.BatchRef{BaseOffset: offset, LastOffset: offset, CRC: h.CRC}, at)
		}
	case err == nil && kerr.ErrorForCode(code) != nil && !writtenDespite(code):
		w.outcomes.Failed++
		w.failed[value] = true
	default:
		w.outcomes.Ambiguous++
		w.ambiguous[value] = true
	}
}

// writtenDespite: codes Kafka may answer after appending (as kclient
// classifies them).
func writtenDespite(code int16) bool {
	switch code {
	case kerr.NotEnoughReplicasAfterAppend.Code, kerr.RequestTimedOut.Code, kerr.KafkaStorageError.Code, kerr.NotLeaderForPartition.Code:
		return true
	}
	return false
}
