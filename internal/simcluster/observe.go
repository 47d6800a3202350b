package simcluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/broker/quorum"
	"github.com/gregor-dst/gregor/checker/replication"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/gregor-dst/gregor/sim"
)

// QuorumSafety names violations found by quorum.Monitor (K1 of the broker
// anchors: one leader per epoch, watermark order of the metadata log).
const QuorumSafety = "K1 quorum safety"

// Violation is a broken invariant and the facts that prove it.
type Violation struct {
	Invariant string // R1 … R9 (checker/replication), K1, or a final check
	Topic     string
	Partition int32
	TimeNs    int64
	Witness   string
}

func (v Violation) String() string {
	where := ""
	if v.Topic != "" {
		where = fmt.Sprintf(" %s-%d", v.Topic, v.Partition)
	}
	return fmt.Sprintf("%s%s at %s: %s", v.Invariant, where, sim.Time(v.TimeNs), v.Witness)
}

// partKey names a partition.
type partKey struct {
	topic string
	part  int32
}

// imagePart is what the observer remembers of a partition in the image,
// to notice unclean elections.
type imagePart struct {
	epoch int32
	isr   []int32
}

// observer feeds the monitors. It keeps each broker's latest view and
// refreshes only the broker an event touched, since an event runs one
// node's code; an event of the world itself (a fault) refreshes all.
type observer struct {
	c     *Cluster
	mon   *replication.Monitor
	qmon  *quorum.Monitor
	views []replication.NodeView
	// imageNode is the up broker with the most advanced metadata image.
	imageNode int
	allow     replication.Allowances
	// unclean marks partitions whose leader was elected from outside the
	// previous ISR; imageOffset and parts are the image last looked at.
	unclean     map[partKey]bool
	imageOffset int64
	parts       map[partKey]imagePart
	isr         *isrTracker
	violations  []Violation
	qreported   int
	observed    uint64 // the event count at the last observation
	// rolesMoved: a refresh since the last observation saw a leader,
	// leader epoch or ISR change.
	rolesMoved bool
}

func newObserver(c *Cluster) *observer {
	o := &observer{
		c:         c,
		mon:       replication.New(replication.Config{LogEvery: c.cfg.LogEvery, MinInsyncReplicas: 1}),
		qmon:      quorum.NewMonitor(),
		imageNode: -1, imageOffset: -1,
		unclean: map[partKey]bool{}, parts: map[partKey]imagePart{},
		isr: newISRTracker(),
	}
	o.allow = replication.Allowances{
		FsyncLoss: c.cfg.FsyncLoss,
		Unclean:   func(topic string, p int32) bool { return o.unclean[partKey{topic, p}] },
	}
	return o
}

// after observes the cluster after an event, if it touched a broker or
// the world and changed what the monitors see. An event that left every
// view as it was (a fetch parked in purgatory, a timer that found nothing
// to do: most events) is not observed: the monitors' checks depend on
// the views alone, so they would find what they found last time.
func (o *observer) after(rec sim.Record) {
	n := int(rec.Node)
	changed := false
	switch {
	case len(o.views) == 0 || rec.Node < 0:
		o.refreshAll()
		changed = true
	case n < len(o.c.brokers):
		changed = o.refresh(n)
	default:
		return // a client's event: brokers unchanged
	}
	image := o.imageChanged()
	if changed || image || o.mon.Pending() || o.quorumPending() {
		// The log comparisons are sampled (Config.LogEvery) for cost, but
		// forced when leadership or an ISR moves: a replica joining the
		// ISR or taking the lead with a log that differs below the high
		// watermark may leave it again before the next sample.
		o.observe(image || o.rolesMoved)
		o.rolesMoved = false
	}
}

func (o *observer) refreshAll() {
	if len(o.views) == 0 {
		o.views = make([]replication.NodeView, len(o.c.brokers))
	}
	o.imageNode = -1
	for i := range o.c.brokers {
		o.refresh(i)
	}
}

// refresh takes broker i's state, quorum status and image; it reports
// whether broker i's view changed.
func (o *observer) refresh(i int) bool {
	n := o.c.brokers[i]
	b := o.c.Broker(i)
	prev := &o.views[i]
	if b == nil || n.State() == sim.Down {
		view := replication.NodeView{State: broker.State{NodeID: int32(i)}, Incarnation: int64(n.Starts())}
		changed := prev.Up || prev.Incarnation != view.Incarnation
		o.views[i] = view
		o.isr.down(i, o.c.s.Now())
		if o.imageNode == i {
			o.refreshImageNode()
		}
		return changed
	}
	o.qmon.ObserveStatus(b.QuorumStatus())
	switch im, cur := b.ControllerImage(), o.nodeImage(); {
	case i == o.imageNode && (im == nil || im.Offset < o.imageOffset):
		// This broker's quorum node restarted (its metadata log failed)
		// and replays from the start: its image went back, so the most
		// advanced committed image is now another broker's.
		o.refreshImageNode()
	case im != nil && (cur == nil || im.Offset > cur.Offset):
		o.imageNode = i
	}
	inc := int64(n.Starts())
	if !prev.Up || prev.Incarnation != inc {
		o.views[i] = replication.NodeView{State: b.State(), Batches: b.Batches, Up: true, Incarnation: inc}
		o.rolesMoved = true
	} else {
		var before []broker.PartitionState
		if assert.Enabled {
			before = slices.Clone(prev.State.Partitions) // UpdateState never writes its slices in place
		}
		changed, moved := b.UpdateState(&prev.State)
		if assert.Enabled {
			assert.Thatf(sameState(prev.State, b.State()), "simcluster: broker %d: UpdateState differs from State", i)
			assert.Thatf(moved || !rolesDiffer(before, prev.State.Partitions), "simcluster: broker %d: UpdateState missed a role change", i)
		}
		if !changed {
			return false
		}
		if !moved {
			return true // the ISR claims stand
		}
		o.rolesMoved = true
	}
	o.isr.note(i, o.views[i].State, o.c.s.Now())
	return true
}

// imageChanged reports whether the metadata image moved since the last
// observation.
func (o *observer) imageChanged() bool {
	im := o.image()
	return im != nil && im.Offset != o.imageOffset
}

// quorumPending reports whether the quorum monitor found something not
// yet reported.
func (o *observer) quorumPending() bool { return len(o.qmon.Violations()) > o.qreported }

// refreshImageNode picks the up broker with the most advanced image.
func (o *observer) refreshImageNode() {
	o.imageNode = -1
	best := int64(-2)
	for i := range o.c.brokers {
		if b := o.c.Broker(i); b != nil && b.ControllerImage() != nil && b.ControllerImage().Offset > best {
			o.imageNode, best = i, b.ControllerImage().Offset
		}
	}
}

// image is the most advanced committed metadata image of an up broker,
// or nil while even that one is behind an image the monitors already saw:
// when quorum nodes restart (their metadata logs failed) they replay into
// fresh images, and an old image would tell the monitors of ISRs and
// leaders long gone. The brokers ignore such images too (reconcile).
func (o *observer) image() *meta.Image {
	if im := o.nodeImage(); im != nil && im.Offset >= o.imageOffset {
		return im
	}
	return nil
}

// nodeImage is the image of the broker picked as the most advanced.
func (o *observer) nodeImage() *meta.Image {
	if o.imageNode < 0 {
		return nil
	}
	if b := o.c.Broker(o.imageNode); b != nil {
		return b.ControllerImage()
	}
	return nil
}

// observe hands the monitors the cluster as it is; logs forces the log
// comparisons.
func (o *observer) observe(logs bool) {
	o.observed = o.c.s.Events()
	im := o.image()
	o.noteImage(im)
	obs := replication.Observation{TimeNs: int64(o.c.s.Now()), Nodes: o.views, Controller: im, Allow: o.allow}
	var vs []replication.Violation
	if logs {
		vs = o.mon.ObserveLogs(obs)
	} else {
		vs = o.mon.Observe(obs)
	}
	o.add(vs)
	o.quorumViolations()
}

// rescan compares every replica's whole log against the history.
func (o *observer) rescan() {
	o.refreshAll()
	im := o.image()
	o.noteImage(im)
	o.add(o.mon.Rescan(replication.Observation{TimeNs: int64(o.c.s.Now()), Nodes: o.views, Controller: im, Allow: o.allow}))
	o.quorumViolations()
}

func (o *observer) add(vs []replication.Violation) {
	for _, v := range vs {
		o.violations = append(o.violations, Violation{Invariant: v.Invariant, Topic: v.Topic, Partition: v.Partition, TimeNs: v.TimeNs, Witness: v.Witness})
	}
}

func (o *observer) quorumViolations() {
	qs := o.qmon.Violations()
	for _, w := range qs[o.qreported:] {
		o.violations = append(o.violations, Violation{Invariant: QuorumSafety, TimeNs: int64(o.c.s.Now()), Witness: w})
	}
	o.qreported = len(qs)
}

// violate records a violation found by the harness's own checks.
func (o *observer) violate(inv, topic string, part int32, format string, args ...any) {
	o.violations = append(o.violations, Violation{Invariant: inv, Topic: topic, Partition: part, TimeNs: int64(o.c.s.Now()), Witness: fmt.Sprintf(format, args...)})
}

// noteImage marks unclean elections: a partition whose new leader epoch
// has a leader outside the ISR the image had before. (The monitor's
// Unclean allowance asks for them.)
func (o *observer) noteImage(im *meta.Image) {
	if im == nil || im.Offset == o.imageOffset {
		return
	}
	o.imageOffset = im.Offset
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			k := partKey{t.Name, p.Index}
			prev, seen := o.parts[k]
			if seen && p.LeaderEpoch > prev.epoch && p.Leader >= 0 && !slices.Contains(prev.isr, p.Leader) {
				o.unclean[k] = true
			}
			if !seen || p.LeaderEpoch != prev.epoch || !slices.Equal(p.ISR, prev.isr) {
				o.parts[k] = imagePart{epoch: p.LeaderEpoch, isr: slices.Clone(p.ISR)}
			}
		}
	}
}

// Unclean lists the partitions an unclean election was seen for.
func (o *observer) uncleanParts() []string {
	var out []string
	for k := range o.unclean { //gregor:unordered-ok sorted below
		out = append(out, fmt.Sprintf("%s-%d", k.topic, k.part))
	}
	slices.Sort(out)
	return out
}

// Losses are the losses of committed data the allowances explained.
func (c *Cluster) Losses() []replication.Loss { return c.obs.mon.Losses() }

// UncleanElections lists the partitions that had an unclean election.
func (c *Cluster) UncleanElections() []string { return c.obs.uncleanParts() }

// formatLoss is a loss on one line.
func formatLoss(l replication.Loss) string {
	return fmt.Sprintf("%s %s-%d offsets %d..%d at %s (%s): %s", l.Invariant, l.Topic, l.Partition,
		l.Offset, l.LastOffset, sim.Time(l.TimeNs), l.Reason, strings.TrimSpace(l.Witness))
}

// sameState compares two broker states field by field (a nil and an empty
// slice are equal).
func sameState(a, b broker.State) bool {
	return a.NodeID == b.NodeID && a.BrokerEpoch == b.BrokerEpoch &&
		slices.EqualFunc(a.Partitions, b.Partitions, func(p, q broker.PartitionState) bool {
			return p.Topic == q.Topic && p.TopicID == q.TopicID && p.Partition == q.Partition && p.Leader == q.Leader &&
				p.LeaderEpoch == q.LeaderEpoch && p.PartitionEpoch == q.PartitionEpoch && p.LogStart == q.LogStart &&
				p.HW == q.HW && p.LEO == q.LEO && p.Flushed == q.Flushed && slices.Equal(p.Replicas, q.Replicas) &&
				slices.Equal(p.ISR, q.ISR) && slices.Equal(p.Epochs, q.Epochs)
		})
}

// rolesDiffer reports whether two replica lists differ in a replica's
// leader, leader epoch or ISR, or in which replicas they hold.
func rolesDiffer(a, b []broker.PartitionState) bool {
	return !slices.EqualFunc(a, b, func(p, q broker.PartitionState) bool {
		return p.Topic == q.Topic && p.TopicID == q.TopicID && p.Partition == q.Partition && p.Leader == q.Leader &&
			p.LeaderEpoch == q.LeaderEpoch && slices.Equal(p.ISR, q.ISR)
	})
}
