package simcluster

import (
	"fmt"
	"github.com/gregor-dst/gregor/checker/history"
	"slices"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/checker/replication"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
)

// Names of the harness's own end-of-run checks, beside R1–R9 and K1.
const (
	// LostWrite: an acknowledged acks=all record is not readable after
	// the cluster converged (and no allowance explains it).
	LostWrite = "lost write"
	// Duplicate: an idempotently produced value is in a log twice.
	Duplicate = "duplicate"
	// FailedWritten: a record reported Failed (never written) is in a log.
	FailedWritten = "failed write present"
	// Diverged: replicas of a converged partition hold different logs.
	Diverged = "replicas diverged"
	// ImagesDiffer: converged controllers hold different metadata.
	ImagesDiffer = "metadata images differ"
)

// Converged says what keeps the cluster from having converged, "" when
// it has: every broker up and serving; one quorum leader every voter
// follows, with every image at the same offset; every broker registered
// and unfenced at its current epoch; every partition led, its ISR every
// replica, every replica at the leader's epoch with the leader's log end
// and high watermark; and no produce outcome outstanding.
func (c *Cluster) Converged() string {
	if p := c.brokersConverged(); p != "" {
		return p
	}
	im := c.obs.image()
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			if why := c.partitionConverged(t.Name, p.Index, p.Leader, p.LeaderEpoch, p.Replicas, p.ISR); why != "" {
				return why
			}
		}
	}
	if o := c.Outcomes(); o.Unfinished > 0 && c.producersUp() {
		return fmt.Sprintf("%d produced records have no outcome yet", o.Unfinished)
	}
	return ""
}

func (c *Cluster) brokersConverged() string {
	var leader, epoch int32 = -1, -1
	var offset int64 = -2
	for i, n := range c.brokers {
		b := c.Broker(i)
		switch {
		case b == nil || n.State() != sim.Up:
			return fmt.Sprintf("%s is %s", n.Name(), n.State())
		case n.Paused():
			return fmt.Sprintf("%s is paused", n.Name())
		case !b.Serving():
			return fmt.Sprintf("%s does not serve clients", n.Name())
		}
		qs := b.QuorumStatus()
		if i == 0 {
			leader, epoch, offset = qs.LeaderID, qs.Epoch, b.ControllerImage().Offset
		}
		switch {
		case qs.LeaderID < 0 || qs.LeaderID != leader || qs.Epoch != epoch:
			return fmt.Sprintf("%s follows quorum leader %d in epoch %d, %s leader %d in epoch %d", n.Name(), qs.LeaderID, qs.Epoch, c.brokers[0].Name(), leader, epoch)
		case b.ControllerImage().Offset != offset:
			return fmt.Sprintf("%s applied metadata to offset %d, %s to %d", n.Name(), b.ControllerImage().Offset, c.brokers[0].Name(), offset)
		}
		rb := b.ControllerImage().Brokers[int32(i)]
		if rb == nil || rb.Fenced || rb.Epoch != b.State().BrokerEpoch {
			return fmt.Sprintf("%s is not registered and unfenced at its broker epoch %d", n.Name(), b.State().BrokerEpoch)
		}
	}
	return ""
}

func (c *Cluster) partitionConverged(topic string, part, leader, epoch int32, replicas, isr []int32) string {
	name := fmt.Sprintf("%s-%d", topic, part)
	if leader < 0 {
		return name + " has no leader"
	}
	if len(isr) != len(replicas) {
		return fmt.Sprintf("%s has ISR %v of replicas %v", name, isr, replicas)
	}
	lp, ok := replicaState(c.Broker(int(leader)).State(), topic, part)
	if !ok || lp.Leader != leader || lp.LeaderEpoch != epoch {
		return fmt.Sprintf("%s: leader %d has not taken epoch %d", name, leader, epoch)
	}
	if lp.HW != lp.LEO {
		return fmt.Sprintf("%s: leader %d has HW %d, LEO %d", name, leader, lp.HW, lp.LEO)
	}
	for _, r := range replicas {
		ps, ok := replicaState(c.Broker(int(r)).State(), topic, part)
		switch {
		case !ok:
			return fmt.Sprintf("%s: replica %d has no log", name, r)
		case ps.Leader != leader || ps.LeaderEpoch != epoch:
			return fmt.Sprintf("%s: replica %d follows %d in epoch %d, not %d in %d", name, r, ps.Leader, ps.LeaderEpoch, leader, epoch)
		case ps.LEO != lp.LEO || ps.HW != lp.HW:
			return fmt.Sprintf("%s: replica %d has HW %d LEO %d, the leader %d and %d", name, r, ps.HW, ps.LEO, lp.HW, lp.LEO)
		}
	}
	return ""
}

// producersUp reports whether every producer client runs (a crashed one
// never reports its records).
func (c *Cluster) producersUp() bool {
	for _, n := range c.clients {
		if _, ok := c.wl.acks[n.Name()]; ok && n.State() != sim.Up {
			return false
		}
	}
	return true
}

// checkConverged runs the end-of-run checks on a converged cluster: the
// monitors' full rescan, identical replicas, identical images.
func (c *Cluster) checkConverged() {
	c.obs.rescan()
	im := c.obs.image()
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			c.compareReplicas(t.Name, p.Index, p.Replicas)
		}
	}
	c.compareImages()
	if !c.cfg.LossesAllowed {
		for _, l := range c.obs.mon.Losses() {
			if l.Invariant == replication.R6 || l.Invariant == replication.R9 {
				c.obs.violate(l.Invariant, l.Topic, l.Partition, "committed data lost in a safe run (%s): %s", l.Reason, l.Witness)
			}
		}
	}
}

func (c *Cluster) compareReplicas(topic string, part int32, replicas []int32) {
	var ref []broker.BatchInfo
	for i, r := range replicas {
		var log []broker.BatchInfo
		if err := c.Broker(int(r)).Batches(topic, part, 0, func(b broker.BatchInfo) bool {
			log = append(log, b)
			return true
		}); err != nil {
			c.obs.violate(Diverged, topic, part, "reading replica %d: %v", r, err)
			return
		}
		if i == 0 {
			ref = log
			continue
		}
		if j := firstDifference(ref, log); j >= 0 {
			c.obs.violate(Diverged, topic, part, "replica %d differs from replica %d at batch %d: %s vs %s",
				r, replicas[0], j, batchAt(log, j), batchAt(ref, j))
			return
		}
	}
}

func firstDifference(a, b []broker.BatchInfo) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func batchAt(l []broker.BatchInfo, i int) string {
	if i >= len(l) {
		return "(end of log)"
	}
	b := l[i]
	return fmt.Sprintf("[%d..%d] epoch %d crc %08x", b.BaseOffset, b.LastOffset, b.LeaderEpoch, b.CRC)
}

func (c *Cluster) compareImages() {
	var ref []byte
	for i := range c.brokers {
		snap, err := c.Broker(i).ControllerImage().Snapshot()
		if err != nil {
			c.obs.violate(ImagesDiffer, "", 0, "%s: snapshot: %v", BrokerName(i), err)
			return
		}
		if i == 0 {
			ref = snap
		} else if string(snap) != string(ref) {
			c.obs.violate(ImagesDiffer, "", 0, "%s's image differs from %s's at offset %d", BrokerName(i), BrokerName(0), c.Broker(i).ControllerImage().Offset)
			return
		}
	}
}

// ---- reading back ----

// reader reads every partition from its log start to its high watermark
// through a client, one Fetch at a time.
type reader struct {
	cl     *kclient.Client
	parts  []partKey
	i      int
	offset int64
	empty  int // fetches in a row that brought nothing below the HW
	out    map[partKey][]kclient.Record
	done   bool
	err    error
	// record puts each fetch into the queue history as a final poll.
	record func(partKey) func(kclient.FetchResult)
}

// emptyFetchesMax bounds fetches that make no progress before giving up.
const emptyFetchesMax = 50

// ReadAll reads every partition of every topic back through client,
// within limit.
func (c *Cluster) ReadAll(client string, limit time.Duration) (map[partKey][]kclient.Record, error) {
	n := c.s.Node(client)
	im := c.obs.image()
	if n == nil || im == nil {
		return nil, fmt.Errorf("no client %q or no metadata", client)
	}
	r := &reader{out: map[partKey][]kclient.Record{}, record: func(k partKey) func(kclient.FetchResult) {
		if done, ok := c.rec.Poll(client, history.Key{Topic: k.topic, Partition: k.part}, true); ok {
			return done
		}
		return func(kclient.FetchResult) {}
	}}
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			r.parts = append(r.parts, partKey{t.Name, p.Index})
		}
	}
	c.s.Call(n, func(p env.Process) {
		r.cl = p.(*kclient.Process).Client
		r.next()
	})
	ok, err := c.RunWhile(limit, 50*time.Millisecond, func() bool { return !r.done })
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("reading back took over %s (at partition %d of %d)", limit, r.i, len(r.parts))
	}
	return r.out, r.err
}

func (r *reader) next() {
	if r.i >= len(r.parts) || r.cl == nil {
		r.done = true
		return
	}
	k := r.parts[r.i]
	record := r.record(k)
	r.cl.Fetch(k.topic, k.part, r.offset, func(res kclient.FetchResult) {
		record(res)
		if res.Err != nil {
			r.err, r.done = fmt.Errorf("fetching %s-%d at %d: %w", k.topic, k.part, r.offset, res.Err), true
			return
		}
		r.out[k] = append(r.out[k], res.Records...)
		if n := len(res.Records); n > 0 {
			r.offset, r.empty = res.Records[n-1].Offset+1, 0
		} else if r.empty++; r.empty > emptyFetchesMax {
			r.err, r.done = fmt.Errorf("%s-%d: no progress at %d below HW %d", k.topic, k.part, r.offset, res.HighWatermark), true
			return
		}
		if r.offset >= res.HighWatermark {
			r.i, r.offset, r.empty = r.i+1, 0, 0
		}
		r.next()
	})
}

// checkReadBack compares what was read with what was produced: every
// acknowledged acks=all record at its offset (unless the monitors
// recorded its loss as allowed), no idempotently produced value twice, no
// Failed value at all.
// It returns the acknowledged records not read back.
func (c *Cluster) checkReadBack(logs map[partKey][]kclient.Record) int {
	where := map[string]string{}
	for _, k := range sortedKeys(logs) {
		for _, r := range logs[k] {
			v, at := string(r.Value), fmt.Sprintf("%s-%d offset %d", k.topic, k.part, r.Offset)
			if prev, dup := where[v]; dup && c.wl.idempotent[v] {
				c.obs.violate(Duplicate, k.topic, k.part, "value %q at %s and at %s", v, prev, at)
			}
			where[v] = at
			if c.wl.failed[v] {
				c.obs.violate(FailedWritten, k.topic, k.part, "value %q was reported Failed but is at %s", v, at)
			}
		}
	}
	lost := 0
	for _, a := range c.wl.acked {
		if a.acks != -1 {
			continue
		}
		got := recordAt(logs[a.key], a.offset)
		if got == a.value {
			continue
		}
		lost++
		if !c.lossAllowed(a) {
			c.obs.violate(LostWrite, a.key.topic, a.key.part, "value %q acknowledged at offset %d (produced at %s) reads back as %q",
				a.value, a.offset, a.at, got)
		}
	}
	return lost
}

// lossAllowed: the run allows losses and the monitor recorded one
// covering the record's offset.
func (c *Cluster) lossAllowed(a ackedRecord) bool {
	if !c.cfg.LossesAllowed {
		return false
	}
	for _, l := range c.obs.mon.Losses() {
		if l.Topic == a.key.topic && l.Partition == a.key.part && l.Offset <= a.offset && a.offset <= max(l.LastOffset, l.Offset) {
			return true
		}
	}
	return false
}

func recordAt(log []kclient.Record, offset int64) string {
	i, ok := slices.BinarySearchFunc(log, offset, func(r kclient.Record, o int64) int {
		switch {
		case r.Offset < o:
			return -1
		case r.Offset > o:
			return 1
		}
		return 0
	})
	if !ok {
		return "(nothing)"
	}
	return string(log[i].Value)
}

func sortedKeys[V any](m map[partKey]V) []partKey {
	keys := make([]partKey, 0, len(m))
	for k := range m { //gregor:unordered-ok sorted below
		keys = append(keys, k)
	}
	slices.SortFunc(keys, comparePartKeys)
	return keys
}

func comparePartKeys(a, b partKey) int {
	switch {
	case a.topic < b.topic:
		return -1
	case a.topic > b.topic:
		return 1
	}
	return int(a.part - b.part)
}
