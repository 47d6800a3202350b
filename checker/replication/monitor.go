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

	nodes    map[int32]*nodeTrack
	nodeIDs  []int32 // sorted keys of nodes
	replicas map[replicaKey]*replicaTrack
	parts    map[tpKey]*partTrack
	names    map[nameKey]tpKey // the latest topic id of each name
	unbound  []*ackedWrite     // acks for partitions not yet observed

	pending  []Violation // found by Acked, returned by the next Observe
	reported map[string]bool
	losses   []Loss
	lossSeen map[string]bool
	infos    []Violation
}

// New returns a monitor with no history.
func New(cfg Config) *Monitor {
	return &Monitor{
		cfg:      cfg,
		nodes:    map[int32]*nodeTrack{},
		replicas: map[replicaKey]*replicaTrack{},
		parts:    map[tpKey]*partTrack{},
		names:    map[nameKey]tpKey{},
		reported: map[string]bool{},
		lossSeen: map[string]bool{},
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
	for _, r := range g.scanOrder() {
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
	byKey := map[tpKey]*group{}
	var keys []tpKey
	get := func(k tpKey) *group {
		g := byKey[k]
		if g == nil {
			g = &group{key: k, p: m.part(k)}
			byKey[k] = g
			keys = append(keys, k)
		}
		return g
	}
	for _, v := range views {
		nt := m.nodes[v.State.NodeID]
		for i := range v.State.Partitions {
			ps := &v.State.Partitions[i]
			k := tpKey{topic: ps.Topic, id: ps.TopicID, part: ps.Partition}
			g := get(k)
			rt, restarted := m.replica(replicaKey{node: v.State.NodeID, tp: k}, nt)
			g.replicas = append(g.replicas, &replica{node: v.State.NodeID, view: v, ps: ps, t: rt, gen: nt.gen, restarted: restarted})
			m.names[nameKey{topic: k.topic, part: k.part}] = k
		}
	}
	if m.img != nil {
		for _, t := range m.img.SortedTopics() {
			for _, p := range t.Partitions {
				g := get(tpKey{topic: t.Name, id: t.ID, part: p.Index})
				g.image = p
			}
		}
	}
	slices.SortFunc(keys, compareKeys)
	groups := make([]*group, 0, len(keys))
	for _, k := range keys {
		groups = append(groups, byKey[k])
	}
	return groups
}

// trackNodes notes which nodes are up and which restarted, and returns
// the up ones by node id (the first view of a repeated id wins).
func (m *Monitor) trackNodes(o Observation) []*NodeView {
	var views []*NodeView
	seen := map[int32]bool{}
	for i := range o.Nodes {
		v := &o.Nodes[i]
		if !v.Up || seen[v.State.NodeID] {
			continue
		}
		seen[v.State.NodeID] = true
		views = append(views, v)
	}
	slices.SortFunc(views, func(a, b *NodeView) int { return cmp.Compare(a.State.NodeID, b.State.NodeID) })
	for _, id := range m.nodeIDs {
		if !seen[id] {
			m.nodes[id].up = false
		}
	}
	for _, v := range views {
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
	}
	return views
}

func (m *Monitor) part(k tpKey) *partTrack {
	p := m.parts[k]
	if p == nil {
		p = newPartTrack(k)
		m.parts[k] = p
	}
	return p
}

// replica finds a replica's history; restarted is true on the first
// observation of a new incarnation of a replica seen before (checkRestart
// then starts the new incarnation's track).
func (m *Monitor) replica(k replicaKey, nt *nodeTrack) (*replicaTrack, bool) {
	t := m.replicas[k]
	switch {
	case t == nil:
		t = &replicaTrack{}
		t.fresh(nt.gen)
		m.replicas[k] = t
	case t.gen != nt.gen && t.seen:
		return t, true
	case t.gen != nt.gen, t.lastObs < m.obs-1:
		// Never seen in its old incarnation, or gone for a while from a
		// node that stayed up (moved away and back): a new replica.
		t.fresh(nt.gen)
	}
	return t, false
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
