package replication

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/meta"
)

// noRewind is a replica's rewind point when its log did not change below
// what was already read.
const noRewind = math.MaxInt64

// tpKey names a partition. The topic id keeps a recreated topic apart
// from the deleted one of the same name.
type tpKey struct {
	topic string
	id    [16]byte
	part  int32
}

func compareKeys(a, b tpKey) int {
	return cmp.Or(strings.Compare(a.topic, b.topic), bytes.Compare(a.id[:], b.id[:]), cmp.Compare(a.part, b.part))
}

// nameKey is a partition as Acked names it, before its topic id is known.
type nameKey struct {
	topic string
	part  int32
}

type replicaKey struct {
	node int32
	tp   tpKey
}

// nodeTrack is a broker across observations. gen counts the restarts the
// monitor saw: a replica's facts belong to one gen.
type nodeTrack struct {
	up          bool
	incarnation int64
	brokerEpoch int64
	gen         int
	// known are the histories of the partitions of its last state, in
	// its order: a state rarely changes its partitions, so this spares
	// the lookups by key (hashing a topic name) at every observation.
	known []knownReplica
}

// knownReplica is a partition of a node's state and its histories.
type knownReplica struct {
	key tpKey
	t   *replicaTrack
	p   *partTrack
}

// restartedBy reports whether v is a new incarnation of the node: it was
// seen down since, or its incarnation or (registered) broker epoch moved.
func (nt *nodeTrack) restartedBy(v *NodeView) bool {
	switch {
	case !nt.up:
		return true
	case v.Incarnation != 0 && nt.incarnation != 0 && v.Incarnation != nt.incarnation:
		return true
	case v.State.BrokerEpoch > 0 && nt.brokerEpoch > 0 && v.State.BrokerEpoch != nt.brokerEpoch:
		return true
	}
	return false
}

// replicaTrack is one replica (a node's copy of a partition) across
// observations. Most of it describes the current incarnation and is reset
// at a restart; maxEpoch and the loss marker outlive restarts.
type replicaTrack struct {
	gen     int
	seen    bool                  // observed in this incarnation
	lastObs int64                 // the observation that last showed it
	last    broker.PartitionState // as last observed
	lastAt  int64

	maxHW   int64 // the highest HW it showed in this incarnation
	maxHWAt int64

	// The highest leader epoch it held, in any role, in any incarnation:
	// the epochs a node leads must not go back below it (R1).
	hasEpoch   bool
	maxEpoch   int32
	maxEpochAt int64

	// The follower's HW when first seen in carriedEpoch: a HW it brought
	// from the previous leader, which the new one may not have yet (R4).
	carriedSet   bool
	carriedEpoch int32
	carriedHW    int64

	// rewind is the lowest offset at which the log changed under what the
	// log pass already read (a truncation, or a rewrite seen in the epoch
	// cache), noRewind if none.
	rewind int64

	// The log pass's place: batches below scanEnd were read; lastBatch is
	// the last of them (the link to the next); pending are those read
	// above the replica's HW, committed when the HW passes them.
	scanned   bool
	scanEnd   int64
	hasBatch  bool
	lastBatch broker.BatchInfo
	pending   []broker.BatchInfo
	// r3Done: below it, the replica's log was compared with the committed
	// batches (R3 contents).
	r3Set  bool
	r3Done int64

	// lost: at a restart the replica dropped unflushed data from lossFrom
	// on (FsyncLoss). It stays set while the replica is in the controller's
	// ISR, the KIP-966 window in which R3 exempts it.
	lost     bool
	lossFrom int64
}

// fresh is the track of a new incarnation (or of a replica that came
// back after it was gone), keeping what outlives it.
func (t *replicaTrack) fresh(gen int) {
	*t = replicaTrack{
		gen: gen, hasEpoch: t.hasEpoch, maxEpoch: t.maxEpoch, maxEpochAt: t.maxEpochAt,
		lost: t.lost, lossFrom: t.lossFrom, rewind: noRewind,
	}
}

// forgetScan makes the next log pass read the replica from its log start.
func (t *replicaTrack) forgetScan() {
	t.scanned, t.hasBatch, t.pending, t.r3Set, t.rewind = false, false, nil, false, noRewind
}

// partTrack is a partition's history.
type partTrack struct {
	key tpKey

	// The highest leader epoch any state or the controller showed.
	hasEpoch bool
	maxEpoch int32
	// leaders: who led each epoch, first seen; epochStarts: where each
	// epoch began, as replicas' epoch caches say (R1).
	leaders     map[int32]epochFact
	epochStarts map[int32]startFact
	// leaderHW: the leader's HW in each epoch, for one incarnation (R4).
	leaderHW map[int32]*hwFact
	// links: every batch read, by (base offset, epoch), with the batch
	// before it (R1, R2).
	links map[batchKey]link
	// committed: the batches seen below some replica's HW, by offset,
	// disjoint (R9, R3 contents).
	committed []committedBatch

	// acked: acknowledged acks=all writes by offset (R6); ackLeader is the
	// leader their verified flags refer to.
	acked []*ackedWrite
	// ackFrom: acked[:ackFrom] are verified, where the search for the
	// unverified ones starts. anyGone: some are marked gone.
	ackFrom      int
	anyGone      bool
	ackLeaderSet bool
	ackLeader    leaderIdent
	minISR       int
	// markers: restarts that lost unflushed data (FsyncLoss), in order.
	markers []lossMarker

	hasPrevImage bool
	prevImage    imageFact

	// named: Monitor.names maps this partition's name to its key.
	named bool
	// cur is the partition in the observation under way, kept here so
	// that grouping allocates nothing.
	cur group
}

func newPartTrack(k tpKey) *partTrack {
	p := &partTrack{
		key: k, leaders: map[int32]epochFact{}, epochStarts: map[int32]startFact{},
		leaderHW: map[int32]*hwFact{}, links: map[batchKey]link{},
	}
	p.cur.key, p.cur.p = k, p
	return p
}

func (p *partTrack) noteEpoch(e int32) {
	if !p.hasEpoch || e > p.maxEpoch {
		p.hasEpoch, p.maxEpoch = true, e
	}
}

func (p *partTrack) unverifyAcks() {
	for _, w := range p.acked {
		w.verified = false
	}
	p.ackFrom, p.ackLeaderSet = 0, false
}

type epochFact struct {
	node         int32
	byController bool // else by the node's own state
	at           int64
}

type startFact struct {
	start int64
	node  int32
	at    int64
}

type hwFact struct {
	node int32
	gen  int
	hw   int64
	at   int64
	// restarted: the leader restarted while leading the epoch, so its HW
	// restarted from a checkpoint (single-node brokers keep their epoch).
	restarted bool
}

type batchKey struct {
	base  int64
	epoch int32
}

type link struct {
	b        broker.BatchInfo
	hasPrev  bool
	prev     broker.BatchInfo
	node     int32 // who showed b (and prev, once known)
	at       int64
	prevNode int32
	prevAt   int64
}

type committedBatch struct {
	b    broker.BatchInfo
	node int32
	hw   int64
	at   int64
}

type leaderIdent struct {
	node  int32
	gen   int
	epoch int32
}

type lossMarker struct {
	node int32
	from int64
	at   int64
	seq  int64
}

// imageFact is the controller's record of a partition at the previous
// observation, with its leader's HW then (when that leader was seen in
// the record's epoch).
type imageFact struct {
	leader, epoch, pe int32
	isr               []int32
	hasLeaderHW       bool
	leaderHW          int64
	at                int64
}

// group is one partition in this observation: its replicas on the nodes
// that are up, by node id, and the controller's record of it.
type group struct {
	key      tpKey
	p        *partTrack
	replicas []*replica
	image    *meta.Partition
	// obs is the observation the group was filled for; imageTopic is the
	// image's map key for image.
	obs        int64
	imageTopic string
	// lead caches leader() for the observation, once leadSet.
	leadSet bool
	lead    *replica
}

// replica is one replica in this observation.
type replica struct {
	node      int32
	view      *NodeView
	ps        *broker.PartitionState
	t         *replicaTrack
	gen       int  // the node's incarnation now
	restarted bool // first sight of a new incarnation of a known replica
	rewrote   bool // its log changed under what was read (this observation)
}

func (g *group) replicaOf(node int32) *replica {
	for _, r := range g.replicas {
		if r.node == node {
			return r
		}
	}
	return nil
}

func (r *replica) leads() bool { return r.ps.Leader == r.node }

// leader is the replica whose log is the partition's now: with a
// controller record, its leader if that node is up and has taken the
// record's epoch; without one, the self-declared leader of the highest
// epoch. nil if there is none to look at.
func (g *group) leader() *replica {
	if !g.leadSet {
		g.lead, g.leadSet = g.findLeader(), true
	}
	return g.lead
}

func (g *group) findLeader() *replica {
	if g.image != nil {
		if g.image.Leader == meta.NoLeader {
			return nil
		}
		r := g.replicaOf(g.image.Leader)
		if r == nil || !r.leads() || r.ps.LeaderEpoch != g.image.LeaderEpoch {
			return nil
		}
		return r
	}
	var best *replica
	for _, r := range g.replicas {
		if r.leads() && (best == nil || r.ps.LeaderEpoch > best.ps.LeaderEpoch) {
			best = r
		}
	}
	if best != nil && g.p.hasEpoch && best.ps.LeaderEpoch < g.p.maxEpoch {
		// A newer epoch was seen: this claimant was deposed (partitioned
		// away, or the brokers that know better are down) and is not the
		// leader whose log the invariants speak of.
		return nil
	}
	return best
}

// scanOrder appends the replicas to out, the leader first: its log is
// the truth an allowed conflict is resolved to (R9).
func (g *group) scanOrder(out []*replica) []*replica {
	l := g.leader()
	if l == nil {
		return append(out, g.replicas...)
	}
	out = append(out, l)
	for _, r := range g.replicas {
		if r != l {
			out = append(out, r)
		}
	}
	return out
}

// remember keeps this observation's facts for the next.
func (m *Monitor) remember(g *group) {
	for _, r := range g.replicas {
		t, ps := r.t, r.ps
		t.seen, t.lastObs, t.lastAt = true, m.obs, m.now
		keepState(&t.last, ps)
		if ps.HW > t.maxHW {
			t.maxHW, t.maxHWAt = ps.HW, m.now
		}
		if !t.hasEpoch || ps.LeaderEpoch > t.maxEpoch {
			t.hasEpoch, t.maxEpoch, t.maxEpochAt = true, ps.LeaderEpoch, m.now
		}
		if t.lost && !inISR(g, r.node) {
			t.lost = false // out of the ISR: it must catch up to rejoin (R7)
		}
	}
	if im := g.image; im != nil {
		isr, _ := keepSlice(g.p.prevImage.isr, im.ISR)
		f := imageFact{leader: im.Leader, epoch: im.LeaderEpoch, pe: im.PartitionEpoch, isr: isr, at: m.now}
		if l := g.leader(); l != nil {
			f.hasLeaderHW, f.leaderHW = true, l.ps.HW
		}
		g.p.hasPrevImage, g.p.prevImage = true, f
	}
}

// inISR reports whether node is in the partition's ISR: the controller's,
// or without a controller record its leader's; true when neither is known.
func inISR(g *group, node int32) bool {
	if g.image != nil {
		return slices.Contains(g.image.ISR, node)
	}
	if l := g.leader(); l != nil {
		return slices.Contains(l.ps.ISR, node)
	}
	return true
}

// keepState copies ps into kept, reusing kept's slices where equal: the
// observation's slices are not the monitor's to keep, and most do not
// change between events. An equal state is not copied at all: copying
// pointers costs write barriers while the GC runs, which in a busy
// simulation is often.
func keepState(kept, ps *broker.PartitionState) {
	replicas, newReplicas := keepSlice(kept.Replicas, ps.Replicas)
	isr, newISR := keepSlice(kept.ISR, ps.ISR)
	epochs, newEpochs := keepSlice(kept.Epochs, ps.Epochs)
	if !newReplicas && !newISR && !newEpochs && sameScalars(kept, ps) {
		return
	}
	*kept = *ps
	kept.Replicas, kept.ISR, kept.Epochs = replicas, isr, epochs
}

// sameScalars compares the fields of two states but their slices
// (TestKeepStateSeesEveryField fails when a field is missing here).
func sameScalars(a, b *broker.PartitionState) bool {
	return a.Topic == b.Topic && a.TopicID == b.TopicID && a.Partition == b.Partition &&
		a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.PartitionEpoch == b.PartitionEpoch &&
		a.LogStart == b.LogStart && a.HW == b.HW && a.LEO == b.LEO && a.Flushed == b.Flushed
}

// keepSlice is old if it equals cur, else a copy of cur (changed).
func keepSlice[T comparable](old, cur []T) (kept []T, changed bool) {
	if slices.Equal(old, cur) {
		return old, false
	}
	return slices.Clone(cur), true
}

// epochAt is the epoch that wrote offset x by an epoch cache, -1 if none.
func epochAt(cache []broker.EpochStart, x int64) int32 {
	e := int32(-1)
	for _, c := range cache {
		if c.StartOffset > x {
			break
		}
		e = c.Epoch
	}
	return e
}

// epochStart is where epoch e begins by an epoch cache.
func epochStart(cache []broker.EpochStart, e int32) (int64, bool) {
	for _, c := range cache {
		if c.Epoch == e {
			return c.StartOffset, true
		}
	}
	return 0, false
}

// divergence is the lowest offset in [from, upto) that two epoch caches
// attribute to different epochs: where a log was rewritten between two
// observations even if it is as long as before.
func divergence(old, cur []broker.EpochStart, from, upto int64) (int64, bool) {
	points := []int64{from}
	for _, c := range old {
		points = append(points, c.StartOffset)
	}
	for _, c := range cur {
		points = append(points, c.StartOffset)
	}
	slices.Sort(points)
	for _, x := range points {
		if x < from || x >= upto {
			continue
		}
		if epochAt(old, x) != epochAt(cur, x) {
			return x, true
		}
	}
	return 0, false
}

// noteRewrite notes where r's log changed under what was read: a lower
// LEO, or an epoch cache that attributes old offsets to other epochs.
func (m *Monitor) noteRewrite(r *replica) {
	t, ps := r.t, r.ps
	if !t.seen {
		return
	}
	d := int64(noRewind)
	if ps.LEO < t.last.LEO {
		d = ps.LEO
	}
	if !slices.Equal(t.last.Epochs, ps.Epochs) {
		from := max(ps.LogStart, t.last.LogStart)
		if x, ok := divergence(t.last.Epochs, ps.Epochs, from, min(ps.LEO, t.last.LEO)); ok {
			d = min(d, x)
		}
	}
	if d != noRewind {
		r.rewrote = true
		t.rewind = min(t.rewind, d)
	}
}
