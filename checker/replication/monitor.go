package replication

import (
	"cmp"
	"slices"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/meta"
)

// The invariants, as Violation.Invariant and Loss.Invariant name them.
const (
	R1 = "R1 epoch uniqueness"
	R2 = "R2 log matching"
	R3 = "R3 StrongIsr"
	R4 = "R4 watermark order"
	R5 = "R5 acks=all admission"
	R6 = "R6 no loss of committed data"
	R7 = "R7 ISR rules"
	R8 = "R8 truncation"
	R9 = "R9 offset uniqueness"
	// WeakIsr is R3 checked against a leader's cached ISR. It can fail in
	// a correct cluster (the gap is where committed data gets lost), so it
	// is informational: Monitor.Infos, never a violation.
	WeakIsr = "R3 WeakIsr"
)

// Observation is the cluster between two simulator events.
type Observation struct {
	// TimeNs is the simulated time, for witnesses.
	TimeNs int64
	// Nodes are the brokers. A node that is absent, or not Up, is down:
	// the next time it is up counts as a restart.
	Nodes []NodeView
	// Controller is the committed metadata image; nil before the quorum
	// exists. Without it R3 is checked only as WeakIsr.
	Controller *meta.Image
	// Allow is what the run's faults may legitimately lose.
	Allow Allowances
	_     struct{}
}

// NodeView is one broker.
type NodeView struct {
	// State is the broker's replica state. A node that is down still
	// names itself in State.NodeID; the rest is ignored.
	State broker.State
	// Batches reads a local replica's batches from offset from, as
	// (*broker.Broker).Batches does.
	Batches func(topic string, partition int32, from int64, fn func(broker.BatchInfo) bool) error
	Up      bool
	// Incarnation, when not zero, changes at every restart (the
	// simulator's incarnation number). A change of State.BrokerEpoch, or an
	// observation while down, also marks a restart.
	Incarnation int64
	_           struct{}
}

// Allowances are the data losses a run's faults may cause (the fault
// atlas). A loss they explain is recorded in Losses instead of reported.
type Allowances struct {
	// Unclean reports whether an unclean leader election may have happened
	// for the partition by now. nil: none. Under it a partition may lose
	// committed data (R6, R8, R9), and R3 and the ISR-origin rule of R7 are
	// not checked for it.
	Unclean func(topic string, partition int32) bool
	// FsyncLoss says crashes may drop what a broker had not fsynced (power
	// cuts, torn writes; the simulated disk does this at every crash, so a
	// run with crashes sets it). A restarted replica may then come back
	// with less than its high watermark, down to what it had flushed (R8);
	// the monitor records such a restart as a loss of unflushed data on
	// that replica, and an acknowledged write it covers may be lost (R6,
	// R9), and truncated by followers of a leader that lost it (R8), once
	// enough replicas lost it (see ELR).
	FsyncLoss bool
	// ELR says the cluster keeps eligible leader replicas (KIP-966): then
	// committed data survives unless unflushed data was lost on at least
	// minISR replicas (more than minISR−1), and a leader may come from
	// outside the ISR (R7's election rule is not checked). Without ELR, as
	// in gregor today, one replica losing its unflushed tail can lose
	// committed data (the "last replica standing").
	ELR bool
	_   struct{}
}

// Config sets the monitor's costs.
type Config struct {
	// LogEvery runs the log comparisons (R1 batch stamps, R2, R3
	// contents, R6 contents, R9) on every LogEvery-th Observe; 0 or 1:
	// on every one. ObserveLogs and Rescan run them regardless.
	LogEvery int
	// MinInsyncReplicas is the KIP-966 tolerance for losses that no
	// acknowledged write names (R9 with ELR): the latest minISR that Acked
	// reported for the partition wins over it. 0: 1.
	MinInsyncReplicas int
	_                 struct{}
}

// Violation is a broken invariant and the few facts that prove it.
type Violation struct {
	Invariant string // R1 … R9, or WeakIsr among Infos
	Topic     string
	Partition int32
	TimeNs    int64
	// Witness names the nodes, offsets, epochs and times that prove it.
	Witness string
}

// Loss is committed data that the Allowances explain: an acknowledged
// write missing from the leader's log (R6), a replica that truncated below
// its high watermark (R8) or a committed offset now holding another batch
// (R9).
type Loss struct {
	Invariant string
	Topic     string
	Partition int32
	// Offset and LastOffset bound what was lost (LastOffset may equal
	// Offset when only a point is known).
	Offset, LastOffset int64
	TimeNs             int64
	// Reason is the allowance: "unclean election", or "unflushed data
	// lost on …" with the restarts that lost it.
	Reason  string
	Witness string
}

// Monitor checks R1–R9 across observations.
type Monitor struct {
	cfg  Config
	now  int64
	obs  int64 // observations so far: orders restarts after acks
	img  *meta.Image
	allw Allowances

	nodes   map[int32]*nodeTrack
	nodeIDs []int32 // sorted keys of nodes
	// imageParts: the partitions of the image's records (see imagePart).
	imageParts map[*meta.Partition]*partTrack
	replicas   map[replicaKey]*replicaTrack
	parts      map[tpKey]*partTrack
	names      map[nameKey]tpKey // the latest topic id of each name
	unbound    []*ackedWrite     // acks for partitions not yet observed

	pending  []Violation // found by Acked, returned by the next Observe
	reported map[string]bool
	losses   []Loss
	lossSeen map[string]bool
	infos    []Violation

	scratch scratch
}

// scratch is memory one observation uses and the next reuses: Observe
// runs after nearly every simulated event, where allocating per call
// costs more than the checks.
type scratch struct {
	views   []*NodeView  // up nodes by id
	tracks  []*nodeTrack // views' tracks
	reps    []replica    // the replicas of this observation
	touched []*group     // partitions in this observation, as met
	groups  []*group     // partitions by key (the last sort)
	scan    []*replica   // a partition's replicas, leader first
}

// New returns a monitor with no history.
func New(cfg Config) *Monitor {
	return &Monitor{
		cfg:        cfg,
		nodes:      map[int32]*nodeTrack{},
		replicas:   map[replicaKey]*replicaTrack{},
		parts:      map[tpKey]*partTrack{},
		names:      map[nameKey]tpKey{},
		imageParts: map[*meta.Partition]*partTrack{},
		reported:   map[string]bool{},
		lossSeen:   map[string]bool{},
	}
}

// Observe runs the cheap checks, and the log comparisons on every
// Config.LogEvery-th call. It returns the violations found now (and any
// that Acked found since the previous call); each is reported once.
func (m *Monitor) Observe(o Observation) []Violation {
	m.obs++
	logs := m.cfg.LogEvery <= 1 || m.obs%int64(m.cfg.LogEvery) == 0
	return m.observe(o, logs)
}

// ObserveLogs is Observe with the log comparisons forced.
func (m *Monitor) ObserveLogs(o Observation) []Violation {
	m.obs++
	return m.observe(o, true)
}

// Rescan is ObserveLogs after forgetting how far each log was compared:
// every replica's batches are read again from its log start and checked
// against the history (which a rewrite between observations, invisible to
// the incremental pass, cannot escape). Use it at the end of a run.
func (m *Monitor) Rescan(o Observation) []Violation {
	m.obs++
	for _, k := range m.sortedReplicaKeys() {
		m.replicas[k].forgetScan()
	}
	for _, k := range m.sortedPartKeys() {
		m.parts[k].unverifyAcks()
	}
	return m.observe(o, true)
}

// Pending reports whether Acked found violations that the next Observe
// will return, so a caller that skips unchanged observations still
// reports them.
func (m *Monitor) Pending() bool { return len(m.pending) > 0 }

// Losses are the losses of committed data that the allowances explained,
// in the order seen.
func (m *Monitor) Losses() []Loss { return slices.Clone(m.losses) }

// Infos are informational findings (WeakIsr gaps), in the order seen.
func (m *Monitor) Infos() []Violation { return slices.Clone(m.infos) }

func (m *Monitor) observe(o Observation, logs bool) []Violation {
	m.now, m.img, m.allw = o.TimeNs, o.Controller, o.Allow
	out := m.pending
	m.pending = nil
	groups := m.group(o)
	m.bindAcks()
	for _, g := range groups {
		out = m.cheapChecks(g, out)
	}
	if logs {
		for _, g := range groups {
			out = m.logChecks(g, out)
		}
	}
	for _, g := range groups {
		m.remember(g)
	}
	return out
}

// cheapChecks are the per-observation checks, O(replicas) per partition
// but for the writes they find lost.
func (m *Monitor) cheapChecks(g *group, out []Violation) []Violation {
	for _, r := range g.replicas {
		if r.restarted {
			out = m.checkRestart(g, r, out)
		}
		m.noteRewrite(r)
	}
	out = m.checkLeaders(g, out)
	out = m.checkEpochCaches(g, out)
	out = m.checkWatermarks(g, out)
	out = m.checkTruncation(g, out)
	out = m.checkISR(g, out)
	out = m.checkIsrGaps(g, out)
	return m.checkAckedPresent(g, out)
}

// logChecks compare batches: each replica's new batches against the
// history (R1 stamps, R2 links, R9 committed offsets), the ISR members'
// committed ranges (R3) and the acknowledged writes (R6).
func (m *Monitor) logChecks(g *group, out []Violation) []Violation {
	m.scratch.scan = g.scanOrder(m.scratch.scan[:0])
	for _, r := range m.scratch.scan {
		out = m.scanReplica(g, r, out)
	}
	out = m.checkIsrContents(g, out)
	return m.checkAckedContents(g, out)
}

// group sorts the observation into partitions (by topic, id, index), each
// with its replicas on the nodes that are up (by node id) and its
// controller record, and notes restarts.
func (m *Monitor) group(o Observation) []*group {
	views := m.trackNodes(o)
	m.scratch.touched = m.scratch.touched[:0]
	reps := m.replicaSlots(views)
	for i, v := range views {
		nt := m.scratch.tracks[i]
		for j := range v.State.Partitions {
			ps := &v.State.Partitions[j]
			t, p := m.lookup(nt, j, v.State.NodeID, ps)
			g := m.touch(p)
			r := &reps[0]
			reps = reps[1:]
			*r = replica{node: v.State.NodeID, view: v, ps: ps, t: t, gen: nt.gen, restarted: m.incarnation(t, nt)}
			g.replicas = append(g.replicas, r)
			m.bindName(p)
		}
	}
	m.groupImage()
	return m.sortGroups()
}

// replicaSlots sizes the scratch replicas for views; the slice is not
// grown while it is handed out, so the pointers into it stay valid.
func (m *Monitor) replicaSlots(views []*NodeView) []replica {
	n := 0
	for _, v := range views {
		n += len(v.State.Partitions)
	}
	if cap(m.scratch.reps) < n {
		m.scratch.reps = make([]replica, n)
	}
	m.scratch.reps = m.scratch.reps[:n]
	return m.scratch.reps
}

// touch is p's group in this observation, emptied on its first use.
func (m *Monitor) touch(p *partTrack) *group {
	g := &p.cur
	if g.obs != m.obs {
		g.obs, g.replicas, g.leadSet = m.obs, g.replicas[:0], false
		if g.image != nil {
			g.image, g.imageTopic = nil, ""
		}
		m.scratch.touched = append(m.scratch.touched, g)
	}
	return g
}

// groupImage gives the groups their controller records. The topics are
// taken in map order: each record goes to its own group and the groups
// are sorted after. Only two topics of one name under different map keys
// (a broken image) would meet in a group: then the larger map key wins,
// as in a walk by sorted key.
func (m *Monitor) groupImage() {
	if m.img == nil {
		return
	}
	n := 0
	for name, t := range m.img.Topics { //gregor:unordered-ok one group per record; a clash is settled by map key
		for _, ip := range t.Partitions {
			g := m.touch(m.imagePart(t, ip))
			if g.image == nil || name >= g.imageTopic {
				g.image, g.imageTopic = ip, name
			}
		}
		n += len(t.Partitions)
	}
	if len(m.imageParts) > 2*n+64 {
		clear(m.imageParts) // records of images gone by
	}
}

// imagePart is the history of the partition of record ip of topic t,
// found by the record's address while it names the same partition: an
// image keeps its records from one observation to the next.
func (m *Monitor) imagePart(t *meta.Topic, ip *meta.Partition) *partTrack {
	k := tpKey{topic: t.Name, id: t.ID, part: ip.Index}
	if p := m.imageParts[ip]; p != nil && p.key == k {
		return p
	}
	p := m.part(k)
	m.imageParts[ip] = p
	return p
}

// sortGroups orders the groups by key; the previous order stands when
// the observation has the same partitions (the common case).
func (m *Monitor) sortGroups() []*group {
	s := &m.scratch
	if len(s.touched) == len(s.groups) && !slices.ContainsFunc(s.groups, func(g *group) bool { return g.obs != m.obs }) {
		return s.groups
	}
	s.groups = append(s.groups[:0], s.touched...)
	slices.SortFunc(s.groups, func(a, b *group) int { return compareKeys(a.key, b.key) })
	return s.groups
}

// trackNodes notes which nodes are up and which restarted, and returns
// the up ones by node id (the first view of a repeated id wins).
func (m *Monitor) trackNodes(o Observation) []*NodeView {
	views := m.scratch.views[:0]
	for i := range o.Nodes {
		v := &o.Nodes[i]
		// Clusters are small: a linear search beats a set.
		if v.Up && !slices.ContainsFunc(views, func(w *NodeView) bool { return w.State.NodeID == v.State.NodeID }) {
			views = append(views, v)
		}
	}
	if !slices.IsSortedFunc(views, byNodeID) {
		slices.SortFunc(views, byNodeID)
	}
	m.scratch.views = views
	m.markDown(views)
	m.scratch.tracks = m.scratch.tracks[:0]
	for _, v := range views {
		m.scratch.tracks = append(m.scratch.tracks, m.nodeUp(v))
	}
	return views
}

func byNodeID(a, b *NodeView) int { return cmp.Compare(a.State.NodeID, b.State.NodeID) }

// markDown marks the known nodes missing from views (by node id) down.
func (m *Monitor) markDown(views []*NodeView) {
	j := 0
	for _, id := range m.nodeIDs {
		for j < len(views) && views[j].State.NodeID < id {
			j++
		}
		if j == len(views) || views[j].State.NodeID != id {
			m.nodes[id].up = false
		}
	}
}

// nodeUp is the track of v's node, up now, a restart counted.
func (m *Monitor) nodeUp(v *NodeView) *nodeTrack {
	id := v.State.NodeID
	nt := m.nodes[id]
	if nt == nil {
		nt = &nodeTrack{}
		m.nodes[id] = nt
		i, _ := slices.BinarySearch(m.nodeIDs, id)
		m.nodeIDs = slices.Insert(m.nodeIDs, i, id)
	} else if nt.restartedBy(v) {
		nt.gen++
	}
	nt.up, nt.incarnation, nt.brokerEpoch = true, v.Incarnation, v.State.BrokerEpoch
	return nt
}

func (m *Monitor) part(k tpKey) *partTrack {
	p := m.parts[k]
	if p == nil {
		p = newPartTrack(k)
		m.parts[k] = p
	}
	return p
}

// lookup finds the history of node's replica ps (the j-th partition of
// its state) and of its partition: by the node's previous state when the
// j-th partition is the same one (the common case), else by key.
func (m *Monitor) lookup(nt *nodeTrack, j int, node int32, ps *broker.PartitionState) (*replicaTrack, *partTrack) {
	k := tpKey{topic: ps.Topic, id: ps.TopicID, part: ps.Partition}
	if j < len(nt.known) && nt.known[j].key == k {
		return nt.known[j].t, nt.known[j].p
	}
	rk := replicaKey{node: node, tp: k}
	t := m.replicas[rk]
	if t == nil {
		t = &replicaTrack{}
		t.fresh(nt.gen)
		m.replicas[rk] = t
	}
	c := knownReplica{key: k, t: t, p: m.part(k)}
	if j < len(nt.known) {
		nt.known[j] = c
	} else {
		nt.known = append(nt.known, c)
	}
	return c.t, c.p
}

// incarnation reports whether t is seen for the first time in a new
// incarnation of a replica seen before (checkRestart then starts the new
// incarnation's track), and starts over a replica that was gone.
func (m *Monitor) incarnation(t *replicaTrack, nt *nodeTrack) bool {
	switch {
	case t.gen != nt.gen && t.seen:
		return true
	case t.gen != nt.gen, t.lastObs < m.obs-1:
		// Never seen in its old incarnation, or gone for a while from a
		// node that stayed up (moved away and back): a new replica.
		t.fresh(nt.gen)
	}
	return false
}

// bindName makes p's key the one its name stands for (for Acked): the
// last replica met in an observation wins. p.named spares the map write
// when the name already stands for p.
func (m *Monitor) bindName(p *partTrack) {
	if p.named {
		return
	}
	n := nameKey{topic: p.key.topic, part: p.key.part}
	if old, ok := m.names[n]; ok {
		m.parts[old].named = false
	}
	m.names[n] = p.key
	p.named = true
}

func (m *Monitor) sortedReplicaKeys() []replicaKey {
	keys := make([]replicaKey, 0, len(m.replicas))
	for k := range m.replicas { //gregor:unordered-ok sorted below
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b replicaKey) int {
		return cmp.Or(compareKeys(a.tp, b.tp), cmp.Compare(a.node, b.node))
	})
	return keys
}

func (m *Monitor) sortedPartKeys() []tpKey {
	keys := make([]tpKey, 0, len(m.parts))
	for k := range m.parts { //gregor:unordered-ok sorted below
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

// unclean reports whether the allowances cover an unclean election of k.
func (m *Monitor) unclean(k tpKey) bool {
	return m.allw.Unclean != nil && m.allw.Unclean(k.topic, k.part)
}
