package meta

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestControllerProperties drives the controller with random steps over
// a small cluster, applying every decision's records (through Encode and
// Decode) to the image, and checks after each step what must always hold.
// A failure names its seed; run it alone with -run
// 'TestControllerProperties/seed=N'.
func TestControllerProperties(t *testing.T) {
	const steps = 2000
	seeds := uint64(8)
	if testing.Short() {
		seeds = 2
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			m := newModel(t, seed)
			for m.step = 0; m.step < steps; m.step++ {
				m.randomStep()
			}
			require.Greater(t, m.counts["alter ok"], 100, "too few successful AlterPartitions: %v", m.counts)
			require.Greater(t, m.counts["alter refused"], 100, "too few refused AlterPartitions: %v", m.counts)
			require.Greater(t, m.counts["unclean election"], 0, "no unclean election: %v", m.counts)
			t.Logf("%v", m.counts)
		})
	}
}

type model struct {
	t        *testing.T
	seed     uint64
	rng      *rand.Rand
	im       *Image
	step     int
	nBrokers int32
	// incarnations counts each broker's registrations.
	incarnations map[int32]int
	unclean      map[string]bool
	nextTopic    int
	history      []string
	counts       map[string]int
	// uncleanStep: the step may put a replica from outside the ISR into
	// it (an unclean ElectLeaders, or cancelling a reassignment whose ISR
	// holds only adding replicas).
	uncleanStep bool
}

func newModel(t *testing.T, seed uint64) *model {
	m := &model{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x6d657461)), im: NewImage(),
		incarnations: map[int32]int{}, unclean: map[string]bool{}, counts: map[string]int{},
	}
	m.nBrokers = 3 + m.rng.Int32N(3)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d failed at step %d; last steps:\n%s", seed, m.step, strings.Join(m.history, "\n"))
		}
	})
	for id := int32(1); id <= m.nBrokers; id++ {
		m.register(id)
		m.unfence(id, m.im.Brokers[id].Epoch)
	}
	return m
}

func (m *model) uncleanFor(topic string) bool { return m.unclean[topic] }

func (m *model) note(format string, args ...any) {
	m.history = append(m.history, fmt.Sprintf("%d: ", m.step)+fmt.Sprintf(format, args...))
	if len(m.history) > 30 {
		m.history = m.history[1:]
	}
}

// commit encodes, decodes and applies one decision's records, then checks
// the invariants against the image before them. alter: the records come
// from AlterPartition, the only decision that may grow an ISR.
func (m *model) commit(recs []Record, alter bool) {
	m.t.Helper()
	before := m.snapshot()
	prev, err := Restore(before)
	require.NoError(m.t, err)
	if len(recs) > 0 {
		b, err := Encode(recs)
		require.NoError(m.t, err)
		decoded, err := Decode(b)
		require.NoError(m.t, err)
		for _, r := range decoded {
			m.note("  apply %s", show(r))
			require.NoError(m.t, m.im.Apply(r), "seed %d step %d: %s", m.seed, m.step, show(r))
		}
		m.im.Offset++
	}
	m.check(prev, alter)
}

func (m *model) snapshot() []byte {
	b, err := m.im.Snapshot()
	require.NoError(m.t, err)
	return b
}

func (m *model) randomStep() {
	switch w := m.rng.IntN(100); {
	case w < 8:
		m.register(1 + m.rng.Int32N(m.nBrokers))
	case w < 16:
		m.fence(1 + m.rng.Int32N(m.nBrokers))
	case w < 26:
		id := 1 + m.rng.Int32N(m.nBrokers)
		if b := m.im.Brokers[id]; b != nil {
			epoch := b.Epoch
			if m.rng.IntN(4) == 0 {
				epoch-- // a heartbeat of an older incarnation
			}
			m.unfence(id, epoch)
		}
	case w < 32:
		m.createTopic()
	case w < 35:
		m.deleteTopic()
	case w < 39:
		m.addPartitions()
	case w < 41:
		m.toggleUnclean()
	case w < 43:
		m.allocateProducerIDs()
	case w < 45:
		m.setConfig()
	case w < 47:
		m.controlledShutdown(1 + m.rng.Int32N(m.nBrokers))
	case w < 50:
		m.electLeader()
	case w < 54:
		m.reassign()
	default:
		m.alterPartition()
	}
}

func (m *model) register(id int32) {
	n := m.incarnations[id]
	if n > 0 && m.rng.IntN(4) == 0 {
		n-- // a retry of the current incarnation
	} else {
		m.incarnations[id]++
	}
	inc := [16]byte{byte(id), byte(n), byte(n >> 8)}
	m.note("register %d incarnation %d", id, n)
	old := m.im.Brokers[id]
	recs, epoch := Register(m.im, Registration{ID: id, IncarnationID: inc, Host: "h", Port: 9092}, m.uncleanFor)
	if old != nil && old.IncarnationID == inc {
		require.Nil(m.t, recs)
		require.Equal(m.t, old.Epoch, epoch)
	}
	m.commit(recs, false)
	b := m.im.Brokers[id]
	require.Equal(m.t, epoch, b.Epoch)
	require.Equal(m.t, inc, b.IncarnationID)
	if old == nil || old.IncarnationID != inc {
		require.True(m.t, b.Fenced, "a new incarnation starts fenced")
		m.requireNotInISRsButLast(id)
	}
}

// requireNotInISRsButLast: a broker that was just fenced or re-registered
// leads nothing and is only in ISRs where it is the last member.
func (m *model) requireNotInISRsButLast(id int32) {
	for _, t := range m.im.SortedTopics() {
		for _, p := range t.Partitions {
			require.NotEqual(m.t, id, p.Leader, "seed %d: %s-%d", m.seed, t.Name, p.Index)
			if slices.Contains(p.ISR, id) {
				require.Equal(m.t, []int32{id}, p.ISR, "seed %d: %s-%d", m.seed, t.Name, p.Index)
			}
		}
	}
}

func (m *model) fence(id int32) {
	m.note("fence %d", id)
	b := m.im.Brokers[id]
	recs := Fence(m.im, id, m.uncleanFor)
	if b == nil || b.Fenced {
		require.Nil(m.t, recs)
		return
	}
	m.commit(recs, false)
	require.True(m.t, m.im.Brokers[id].Fenced)
	m.requireNotInISRsButLast(id)
}

func (m *model) unfence(id int32, epoch int64) {
	m.note("unfence %d at epoch %d", id, epoch)
	b := m.im.Brokers[id]
	recs := Unfence(m.im, id, epoch, m.uncleanFor)
	if b == nil || !b.Fenced || b.Epoch != epoch || b.InControlledShutdown {
		require.Nil(m.t, recs)
		return
	}
	m.commit(recs, false)
	require.True(m.t, m.im.Active(id))
}

func (m *model) createTopic() {
	m.nextTopic++
	name := fmt.Sprintf("t%d", m.nextTopic)
	partitions, rf := 1+m.rng.Int32N(4), int16(1+m.rng.IntN(4))
	m.note("create %s partitions %d rf %d", name, partitions, rf)
	recs, e, msg := CreateTopic(m.im, name, topicID(name), partitions, rf, m.rng.IntN(10))
	active, registered := 0, len(m.im.Brokers)
	for id := range m.im.Brokers { //gregor:unordered-ok counting
		if m.im.MayLead(id) {
			active++
		}
	}
	if active == 0 || int(rf) > registered {
		require.NotNil(m.t, e, "seed %d: rf %d, %d active of %d", m.seed, rf, active, registered)
		return
	}
	require.Nil(m.t, e, msg)
	m.unclean[name] = m.rng.IntN(3) == 0
	m.commit(recs, false)
	require.Len(m.t, m.im.Topics[name].Partitions, int(partitions))
}

func (m *model) randomTopic() *Topic {
	ts := m.im.SortedTopics()
	if len(ts) == 0 {
		return nil
	}
	return ts[m.rng.IntN(len(ts))]
}

func (m *model) deleteTopic() {
	if t := m.randomTopic(); t != nil {
		m.note("delete %s", t.Name)
		m.commit(DeleteTopic(m.im, t.ID), false)
		require.Nil(m.t, m.im.Topics[t.Name])
	}
}

func (m *model) addPartitions() {
	t := m.randomTopic()
	if t == nil {
		return
	}
	count := int32(len(t.Partitions)) + m.rng.Int32N(3) - 1
	m.note("add partitions %s to %d", t.Name, count)
	recs, e, _ := AddPartitions(m.im, t, count, m.rng.IntN(10))
	if e != nil {
		return
	}
	m.commit(recs, false)
	require.Len(m.t, t.Partitions, int(count))
}

func (m *model) toggleUnclean() {
	if t := m.randomTopic(); t != nil {
		m.unclean[t.Name] = !m.unclean[t.Name]
		m.note("unclean %s = %v", t.Name, m.unclean[t.Name])
		m.commit(ElectUncleanLeaders(m.im, m.uncleanFor), false)
	}
}

func (m *model) allocateProducerIDs() {
	id := 1 + m.rng.Int32N(m.nBrokers)
	if b := m.im.Brokers[id]; b != nil {
		next := m.im.NextProducerID
		recs, e := AllocateProducerIDs(m.im, id, b.Epoch, 1000)
		require.Nil(m.t, e)
		m.commit(recs, false)
		require.Equal(m.t, next+1000, m.im.NextProducerID)
	}
}

func (m *model) setConfig() {
	var r ConfigRecord
	if t := m.randomTopic(); t != nil && m.rng.IntN(2) == 0 {
		r = ConfigRecord{ResourceType: ResourceTopic, Resource: t.Name, Name: "retention.ms"}
	} else {
		r = ConfigRecord{ResourceType: ResourceBroker, Resource: fmt.Sprint(m.rng.IntN(3)), Name: "x"}
	}
	if m.rng.IntN(3) > 0 {
		r.Value = str(fmt.Sprint(m.step))
	}
	m.commit([]Record{{Config: &r}}, false)
}

// alterPartition sends a leader's (or an impostor's) ISR change, right or
// wrong in one of the ways a real request can be, and checks the verdict
// against what the request got wrong.
func (m *model) alterPartition() {
	t := m.randomTopic()
	if t == nil || len(t.Partitions) == 0 {
		return
	}
	p := t.Partitions[m.rng.IntN(len(t.Partitions))]
	for try := 0; p.Leader == NoLeader && try < 5; try++ {
		if t = m.randomTopic(); len(t.Partitions) > 0 {
			p = t.Partitions[m.rng.IntN(len(t.Partitions))]
		}
	}
	valid := true
	r := AlterPartitionRequest{
		BrokerID: p.Leader, TopicID: p.TopicID, Partition: p.Index,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
	}
	if r.BrokerID == NoLeader || m.rng.IntN(10) == 0 {
		r.BrokerID = 1 + m.rng.Int32N(m.nBrokers)
		valid = valid && r.BrokerID == p.Leader
	}
	r.BrokerEpoch = -1
	if b := m.im.Brokers[r.BrokerID]; b != nil {
		r.BrokerEpoch = b.Epoch
	}
	if m.rng.IntN(15) == 0 {
		r.BrokerEpoch--
	}
	valid = valid && m.im.Brokers[r.BrokerID] != nil && m.im.Brokers[r.BrokerID].Epoch == r.BrokerEpoch
	if m.rng.IntN(10) == 0 {
		r.LeaderEpoch += m.rng.Int32N(3) - 1
	}
	if m.rng.IntN(10) == 0 {
		r.PartitionEpoch += m.rng.Int32N(3) - 1
	}
	valid = valid && r.LeaderEpoch == p.LeaderEpoch && r.PartitionEpoch == p.PartitionEpoch
	r.ISR = m.proposeISR(p)
	ids := make([]int32, len(r.ISR))
	for i, mem := range r.ISR {
		ids[i] = mem.ID
		b := m.im.Brokers[mem.ID]
		valid = valid && slices.Contains(p.Replicas, mem.ID) && !slices.Contains(ids[:i], mem.ID) &&
			b != nil && m.im.MayLead(mem.ID) && (mem.Epoch == -1 || mem.Epoch == b.Epoch)
	}
	valid = valid && slices.Contains(ids, p.Leader)

	m.note("alter %s-%d by %d@%d epochs %d/%d isr %v (valid %v)", t.Name, p.Index, r.BrokerID, r.BrokerEpoch, r.LeaderEpoch, r.PartitionEpoch, r.ISR, valid)
	leaderEpoch, before := p.LeaderEpoch, *p
	recs, e := AlterPartition(m.im, r)
	if valid && before.Reassigning() {
		// The ISR may complete the reassignment: checked by check.
		require.True(m.t, e == nil || e == kerr.NewLeaderElected, "seed %d step %d: %v", m.seed, m.step, e)
		m.counts["alter during reassignment"]++
		m.commit(recs, true)
		return
	}
	if !valid {
		require.NotNil(m.t, e, "seed %d step %d: an invalid AlterPartition was accepted", m.seed, m.step)
		require.Nil(m.t, recs)
		m.counts["alter refused"]++
		m.counts["refused "+e.Message]++
		return
	}
	require.Nil(m.t, e, "seed %d step %d: a valid AlterPartition was refused", m.seed, m.step)
	m.counts["alter ok"]++
	m.commit(recs, true)
	require.Equal(m.t, ids, p.ISR, "seed %d step %d", m.seed, m.step)
	require.Equal(m.t, leaderEpoch, p.LeaderEpoch, "an ISR change keeps the leader epoch")
}

// proposeISR shrinks or grows p's ISR; members carry their broker epoch,
// an older one, or none.
func (m *model) proposeISR(p *Partition) []ISRMember {
	var ids []int32
	for _, id := range p.ISR {
		if id == p.Leader || m.rng.IntN(3) > 0 {
			ids = append(ids, id)
		}
	}
	for _, id := range p.Replicas {
		if !slices.Contains(ids, id) && m.rng.IntN(3) == 0 {
			ids = append(ids, id)
		}
	}
	switch m.rng.IntN(40) {
	case 0:
		ids = append(ids, 9) // not a replica
	case 1:
		if len(ids) > 0 {
			ids = append(ids, ids[0]) // repeated
		}
	case 2:
		ids = without(ids, p.Leader)
	}
	out := make([]ISRMember, len(ids))
	for i, id := range ids {
		out[i] = ISRMember{ID: id, Epoch: -1}
		if b := m.im.Brokers[id]; b != nil && m.rng.IntN(5) > 0 {
			out[i].Epoch = b.Epoch
			if m.rng.IntN(20) == 0 {
				out[i].Epoch-- // the leader saw an older incarnation
			}
		}
	}
	return out
}

// check asserts the invariants of the image after a step, given the image
// before it.
func (m *model) check(prev *Image, alter bool) {
	m.t.Helper()
	at := func(what string, t *Topic, p *Partition) string {
		return fmt.Sprintf("seed %d step %d: %s-%d: %s", m.seed, m.step, t.Name, p.Index, what)
	}
	for _, t := range m.im.SortedTopics() {
		for _, p := range t.Partitions {
			require.NoError(m.t, checkPartition(p.Replicas, p.ISR, p.Leader), at("valid", t, p))
			require.NoError(m.t, checkReassignment(p.Replicas, p.Adding, p.Removing), at("valid reassignment", t, p))
			if p.Leader != NoLeader {
				require.True(m.t, m.im.MayLead(p.Leader), at("a fenced, shutting down or unregistered broker leads", t, p))
				require.Contains(m.t, p.ISR, p.Leader, at("the leader is not in the ISR", t, p))
			} else {
				for _, id := range p.ISR {
					require.False(m.t, m.im.MayLead(id), at("leaderless with an active ISR member", t, p))
				}
				if m.unclean[t.Name] {
					for _, id := range p.Replicas {
						require.False(m.t, m.im.MayLead(id), at("leaderless with unclean election and an active replica", t, p))
					}
				}
			}
			old := prev.Partition(p.TopicID, p.Index)
			if old == nil || prev.Topics[t.Name] == nil {
				// A new partition: epochs 0, its active replicas as ISR,
				// the first of them leading.
				require.Zero(m.t, p.LeaderEpoch, at("new partition", t, p))
				require.Zero(m.t, p.PartitionEpoch, at("new partition", t, p))
				var active []int32
				for _, id := range p.Replicas {
					if prev.MayLead(id) {
						active = append(active, id)
					}
				}
				require.Equal(m.t, active, p.ISR, at("new partition ISR", t, p))
				require.Equal(m.t, p.ISR[0], p.Leader, at("new partition leader", t, p))
				continue
			}
			m.checkTransition(t, old, p, alter, at)
		}
	}
	got, err := Restore(m.snapshot())
	require.NoError(m.t, err)
	require.Equal(m.t, m.im, got, "seed %d step %d: snapshot round trip", m.seed, m.step)
}

func (m *model) checkTransition(t *Topic, old, p *Partition, alter bool, at func(string, *Topic, *Partition) string) {
	changed := p.Leader != old.Leader || !slices.Equal(p.ISR, old.ISR) || !slices.Equal(p.Replicas, old.Replicas) ||
		!slices.Equal(p.Adding, old.Adding) || !slices.Equal(p.Removing, old.Removing)
	switch {
	case changed:
		require.Equal(m.t, old.PartitionEpoch+1, p.PartitionEpoch, at("partition epoch on a change", t, p))
	default:
		require.Equal(m.t, old.PartitionEpoch, p.PartitionEpoch, at("partition epoch without a change", t, p))
	}
	removed := !containsAll(p.Replicas, old.Replicas)
	if p.Leader != old.Leader || removed {
		require.Equal(m.t, old.LeaderEpoch+1, p.LeaderEpoch, at("leader epoch on a new leader or a removed replica", t, p))
	} else {
		require.Equal(m.t, old.LeaderEpoch, p.LeaderEpoch, at("leader epoch without a new leader", t, p))
	}
	if removed {
		m.counts["replicas removed"]++
	}
	if m.uncleanStep {
		return
	}
	uncleanElection := p.Leader != NoLeader && p.Leader != old.Leader && !slices.Contains(old.ISR, p.Leader)
	if uncleanElection {
		m.counts["unclean election"]++
		require.True(m.t, m.unclean[t.Name], at("a leader from outside the ISR without unclean election", t, p))
		require.Equal(m.t, []int32{p.Leader}, p.ISR, at("an unclean leader restarts the ISR", t, p))
		return
	}
	if !alter {
		for _, id := range p.ISR {
			require.Contains(m.t, old.ISR, id, at("the ISR grew outside AlterPartition", t, p))
		}
	}
}

func (m *model) controlledShutdown(id int32) {
	b := m.im.Brokers[id]
	if b == nil {
		return
	}
	m.note("controlled shutdown %d", id)
	recs := ControlledShutdown(m.im, id, b.Epoch, m.uncleanFor)
	if b.Fenced || b.InControlledShutdown {
		require.Nil(m.t, recs)
		return
	}
	m.commit(recs, false)
	require.False(m.t, m.im.MayLead(id))
	m.requireNotInISRsButLast(id)
	m.counts["controlled shutdown"]++
}

func (m *model) electLeader() {
	t := m.randomTopic()
	if t == nil || len(t.Partitions) == 0 {
		return
	}
	p := t.Partitions[m.rng.IntN(len(t.Partitions))]
	typ := ElectionType(m.rng.IntN(2))
	m.note("elect %s-%d type %d", t.Name, p.Index, typ)
	recs, e, _ := ElectLeader(m.im, t.Name, p.Index, typ)
	if e != nil {
		require.Nil(m.t, recs)
		m.counts["elect "+e.Message]++
		return
	}
	m.uncleanStep = typ == ElectUnclean
	m.commit(recs, false)
	m.uncleanStep = false
	m.counts["elect ok"]++
	if typ == ElectPreferred {
		require.Equal(m.t, p.Replicas[0], p.Leader, "seed %d step %d: preferred election", m.seed, m.step)
	}
}

func (m *model) reassign() {
	t := m.randomTopic()
	if t == nil || len(t.Partitions) == 0 {
		return
	}
	p := t.Partitions[m.rng.IntN(len(t.Partitions))]
	var target []int32
	if m.rng.IntN(4) > 0 {
		for _, i := range m.rng.Perm(int(m.nBrokers))[:1+m.rng.IntN(int(m.nBrokers))] {
			target = append(target, int32(i)+1)
		}
	}
	m.note("reassign %s-%d to %v", t.Name, p.Index, target)
	recs, e, msg := Reassign(m.im, t.Name, p.Index, target, true, m.uncleanFor)
	if e != nil {
		require.Nil(m.t, recs)
		m.counts["reassign "+e.Message]++
		return
	}
	require.Empty(m.t, msg)
	m.uncleanStep = target == nil && m.unclean[t.Name]
	m.commit(recs, false)
	m.uncleanStep = false
	m.counts["reassign ok"]++
	if target != nil && !p.Reassigning() {
		require.Equal(m.t, target, p.Replicas, "seed %d step %d: a completed reassignment", m.seed, m.step)
	}
}
