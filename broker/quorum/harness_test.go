package quorum

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
)

// ---- a state machine that keeps every entry ----

// testSM keeps its whole applied sequence, so that its snapshots carry it
// and the monitor can compare every node's sequence after restores.
type testSM struct {
	c        *cluster
	id       int32
	entries  []MonitorEntry
	restores int
}

func (s *testSM) Apply(offset int64, epoch int32, data []byte) {
	s.entries = append(s.entries, MonitorEntry{Offset: offset, Epoch: epoch, Data: data})
	s.c.mon.Applied(s.id, offset, epoch, data)
}

func (s *testSM) Snapshot() []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.entries)))
	for _, e := range s.entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.Offset))
		b = binary.BigEndian.AppendUint32(b, uint32(e.Epoch))
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

func (s *testSM) Restore(offset int64, data []byte) {
	s.restores++
	s.entries = decodeEntries(data)
	s.c.mon.Restored(s.id, offset, s.entries)
}

func decodeEntries(b []byte) []MonitorEntry {
	if len(b) == 0 {
		return nil
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	out := make([]MonitorEntry, 0, n)
	for range n {
		e := MonitorEntry{Offset: int64(binary.BigEndian.Uint64(b)), Epoch: int32(binary.BigEndian.Uint32(b[8:]))}
		l := binary.BigEndian.Uint32(b[12:])
		e.Data = bytes.Clone(b[16 : 16+l])
		b = b[16+l:]
		out = append(out, e)
	}
	return out
}

// ---- the cluster ----

type clusterOpts struct {
	seed   uint64
	voters int
	disk   sim.DiskOptions
	net    *sim.NetOptions
	tweak  func(*Config)
	log    io.Writer
	trace  io.Writer
}

// cluster is a simulated quorum: voter i (1-based) runs on host "c<i>".
type cluster struct {
	t     testing.TB
	s     *sim.Sim
	ids   []int32
	hosts map[int32]*sim.Node
	nodes map[int32]*Node // the running incarnation's node
	sms   map[int32]*testSM
	mon   *Monitor
	cfgs  map[int32]Config
}

func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	c, err := buildCluster(t, o)
	require.NoError(t, err)
	return c
}

func buildCluster(t testing.TB, o clusterOpts) (*cluster, error) {
	opts := sim.DefaultOptions(o.seed)
	opts.Log, opts.LogLevel, opts.Trace = o.log, slog.LevelInfo, o.trace
	if o.net != nil {
		opts.Net = *o.net
	}
	s, err := sim.New(opts)
	if err != nil {
		return nil, err
	}
	c := &cluster{t: t, s: s, hosts: map[int32]*sim.Node{}, nodes: map[int32]*Node{},
		sms: map[int32]*testSM{}, mon: NewMonitor(), cfgs: map[int32]Config{}}
	voters := map[int32]string{}
	for i := 1; i <= o.voters; i++ {
		c.ids = append(c.ids, int32(i))
		voters[int32(i)] = fmt.Sprintf("c%d:9093", i)
	}
	for _, id := range c.ids {
		cfg := DefaultConfig(id, voters)
		cfg.ClusterID = "gregor-test"
		if o.tweak != nil {
			o.tweak(&cfg)
		}
		c.cfgs[id] = cfg
		h, err := s.AddNode(fmt.Sprintf("c%d", id), c.factory(id), o.disk)
		if err != nil {
			return nil, err
		}
		c.hosts[id] = h
	}
	for _, id := range c.ids {
		if err := c.hosts[id].Start(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) factory(id int32) func() env.Process {
	return func() env.Process {
		sm := &testSM{c: c, id: id}
		n, err := New(c.cfgs[id], sm)
		if err != nil {
			panic(err)
		}
		n.OnLeaderChange(func(leader, epoch int32) { c.mon.LeaderView(id, leader, epoch) })
		c.nodes[id], c.sms[id] = n, sm
		return n
	}
}

// node is voter id's running node, nil when its host is down.
func (c *cluster) node(id int32) *Node {
	if c.hosts[id].State() == sim.Down {
		return nil
	}
	return c.nodes[id]
}

func (c *cluster) all() []*sim.Node {
	out := make([]*sim.Node, len(c.ids))
	for i, id := range c.ids {
		out[i] = c.hosts[id]
	}
	return out
}

// observe feeds every running node's status to the monitor.
func (c *cluster) observe() {
	for _, id := range c.ids {
		if n := c.node(id); n != nil && !c.hosts[id].Paused() {
			c.mon.ObserveStatus(n.Status())
		}
	}
}

// run advances d, observing every 10ms, and fails the test on a crash or
// a safety violation.
func (c *cluster) run(d time.Duration) {
	c.t.Helper()
	c.runUntil(d, func() bool { return false })
}

// runUntil advances in 10ms steps until cond holds or d passed; it
// reports whether cond held.
func (c *cluster) runUntil(d time.Duration, cond func() bool) bool {
	c.t.Helper()
	end := c.s.Now() + sim.Time(d)
	for c.s.Now() < end {
		step := min(sim.Time(10*time.Millisecond), end-c.s.Now())
		require.NoError(c.t, c.s.RunFor(step.Duration()))
		c.observe()
		require.NoError(c.t, c.mon.Err())
		if cond() {
			return true
		}
	}
	return false
}

// leader is the running node in state Leader with the highest epoch.
func (c *cluster) leader() (int32, bool) {
	best, epoch := int32(-1), int32(-1)
	for _, id := range c.ids {
		if n := c.node(id); n != nil && !c.hosts[id].Paused() {
			if s := n.Status(); s.State == Leader && s.Epoch > epoch {
				best, epoch = id, s.Epoch
			}
		}
	}
	return best, best >= 0
}

// waitLeader runs until a leader exists whose epoch a majority of running
// nodes follow, and returns it.
func (c *cluster) waitLeader(limit time.Duration) int32 {
	c.t.Helper()
	var id int32
	ok := c.runUntil(limit, func() bool {
		l, ok := c.leader()
		if !ok {
			return false
		}
		epoch := c.nodes[l].Status().Epoch
		following := 0
		for _, x := range c.ids {
			if n := c.node(x); n != nil {
				if s := n.Status(); s.Epoch == epoch && s.LeaderID == l {
					following++
				}
			}
		}
		id = l
		return following >= len(c.ids)/2+1
	})
	require.True(c.t, ok, "no leader within %s", limit)
	return id
}

// result is a proposal's outcome.
type result struct {
	done   bool
	offset int64
	err    error
}

// propose asks node id to propose data, on its thread.
func (c *cluster) propose(id int32, data []byte) *result {
	res := &result{}
	c.s.Call(c.hosts[id], func(p env.Process) {
		p.(*Node).Propose(data, func(off int64, err error) {
			res.done, res.offset, res.err = true, off, err
			if err == nil {
				c.mon.Acked(off, data)
			}
		})
	})
	return res
}

// proposeAll proposes count entries "<prefix>-<i>" to the leader, at most
// window at a time, re-proposing after errors to whoever leads then, and
// returns once all were acknowledged or limit passed.
func (c *cluster) proposeAll(prefix string, count, window int, limit time.Duration) int {
	c.t.Helper()
	acked, next := 0, 0
	var inflight []*result
	end := c.s.Now() + sim.Time(limit)
	for acked < count && c.s.Now() < end {
		keep := inflight[:0]
		for _, r := range inflight {
			switch {
			case !r.done:
				keep = append(keep, r)
			case r.err == nil:
				acked++
			}
		}
		inflight = keep
		if l, ok := c.leader(); ok {
			for len(inflight) < window && next < count {
				inflight = append(inflight, c.propose(l, fmt.Appendf(nil, "%s-%d", prefix, next)))
				next++
			}
		}
		c.run(5 * time.Millisecond)
		if len(inflight) == 0 && next >= count {
			break
		}
	}
	return acked
}

// converged reports whether every running node applied up to the
// highest offset applied anywhere.
func (c *cluster) converged() bool {
	end := c.mon.AppliedEnd()
	for _, id := range c.ids {
		n := c.node(id)
		if n == nil || n.Status().AppliedOffset < end {
			return false
		}
	}
	return true
}

// checkFinal checks, on every running node, that each acknowledged entry
// is in its state machine, and that logs agree wherever two hold an
// entry with the same offset and epoch (log matching).
func (c *cluster) checkFinal() {
	c.t.Helper()
	for _, id := range c.ids {
		if c.node(id) != nil {
			c.mon.CheckAcked(id, c.sms[id].entries)
		}
	}
	require.NoError(c.t, c.mon.Err())
	require.Empty(c.t, c.logMismatch())
}

// logMismatch compares every pair of running nodes' logs batch by batch.
func (c *cluster) logMismatch() string {
	type batch struct {
		epoch int32
		crc   uint32
	}
	logs := map[int32]map[int64]batch{}
	for _, id := range c.ids {
		n := c.node(id)
		if n == nil || n.mlog == nil {
			continue
		}
		m := map[int64]batch{}
		_ = n.mlog.Batches(0, func(h records.Header, _ []byte) bool {
			m[h.BaseOffset] = batch{h.PartitionLeaderEpoch, h.CRC}
			return true
		})
		logs[id] = m
	}
	ids := slices.Sorted(mapsKeys(logs))
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			for _, off := range slices.Sorted(mapsKeys(logs[a])) {
				x := logs[a][off]
				if y, ok := logs[b][off]; ok && x.epoch == y.epoch && x.crc != y.crc {
					return fmt.Sprintf("nodes %d and %d hold different batches at offset %d in epoch %d", a, b, off, x.epoch)
				}
			}
		}
	}
	return ""
}

func mapsKeys[K int32 | int64, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
