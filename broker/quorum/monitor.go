package quorum

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Monitor checks the quorum's safety properties (K1 in the broker
// anchors) from what the nodes report, as a test or a cluster checker
// sees them. It holds no reference to any node: feed it leader changes
// (OnLeaderChange), status snapshots, the entries each node's state
// machine applies and restores, and the proposals acknowledged. It is not
// safe for concurrent use.
//
// The properties:
//   - Election safety: at most one leader per epoch; every node that
//     learns a leader for an epoch learns the same one.
//   - State machine safety: the entries nodes apply at an offset are the
//     same everywhere (so applied sequences are prefixes of one another),
//     and each node applies in increasing offset order.
//   - Durability: an acknowledged proposal is the entry committed at its
//     offset; CheckAcked verifies at the end that every acknowledged
//     entry is in a given node's applied sequence (nothing committed was
//     lost across crashes).
//   - Watermark order on each node: log start ≤ applied ≤ high watermark
//     ≤ log end, and flushed ≤ log end.
type Monitor struct {
	leaders    map[int32]int32 // epoch → leader
	committed  map[int64]monEntry
	maxApplied int64 // highest offset applied anywhere, +1
	acked      map[int64][]byte
	lastApply  map[int32]int64 // node → last offset applied in its current run
	violations []string
}

type monEntry struct {
	epoch int32
	data  []byte
	node  int32 // first node that applied it
}

// violationsMax bounds the violations kept; the first ones matter.
const violationsMax = 100

// NewMonitor returns an empty monitor.
func NewMonitor() *Monitor {
	return &Monitor{
		leaders: map[int32]int32{}, committed: map[int64]monEntry{},
		acked: map[int64][]byte{}, lastApply: map[int32]int64{},
	}
}

func (m *Monitor) fail(format string, args ...any) {
	if len(m.violations) < violationsMax {
		m.violations = append(m.violations, fmt.Sprintf(format, args...))
	}
}

// LeaderView records that node learned leader (-1: none) for epoch.
func (m *Monitor) LeaderView(node, leader, epoch int32) {
	if leader < 0 {
		return
	}
	if l, ok := m.leaders[epoch]; ok && l != leader {
		m.fail("epoch %d has two leaders: %d and %d (seen by node %d)", epoch, l, leader, node)
		return
	}
	m.leaders[epoch] = leader
}

// ObserveStatus checks a node's status and records its view of the
// leader.
func (m *Monitor) ObserveStatus(s Status) {
	if s.State == Down {
		return
	}
	if s.State == Leader {
		m.LeaderView(s.NodeID, s.NodeID, s.Epoch)
	} else if s.LeaderID >= 0 && s.State != Resigned {
		m.LeaderView(s.NodeID, s.LeaderID, s.Epoch)
	}
	if !(s.LogStartOffset <= s.AppliedOffset && s.AppliedOffset <= s.HighWatermark && s.HighWatermark <= s.LogEndOffset) {
		m.fail("node %d: want log start %d <= applied %d <= high watermark %d <= log end %d",
			s.NodeID, s.LogStartOffset, s.AppliedOffset, s.HighWatermark, s.LogEndOffset)
	}
	if s.FlushedOffset > s.LogEndOffset {
		m.fail("node %d: flushed %d past log end %d", s.NodeID, s.FlushedOffset, s.LogEndOffset)
	}
}

// Applied records that node's state machine applied an entry.
func (m *Monitor) Applied(node int32, offset int64, epoch int32, data []byte) {
	if last, ok := m.lastApply[node]; ok && offset <= last {
		m.fail("node %d applied offset %d after %d", node, offset, last)
	}
	m.lastApply[node] = offset
	m.check(node, offset, epoch, data)
	m.maxApplied = max(m.maxApplied, offset+1)
}

func (m *Monitor) check(node int32, offset int64, epoch int32, data []byte) {
	e, ok := m.committed[offset]
	switch {
	case !ok:
		m.committed[offset] = monEntry{epoch: epoch, data: bytes.Clone(data), node: node}
		if want, acked := m.acked[offset]; acked && !bytes.Equal(want, data) {
			m.fail("node %d applied %q at offset %d, where %q was acknowledged", node, data, offset, want)
		}
	case e.epoch != epoch || !bytes.Equal(e.data, data):
		m.fail("node %d applied %q (epoch %d) at offset %d, node %d applied %q (epoch %d)",
			node, data, epoch, offset, e.node, e.data, e.epoch)
	}
}

// Restored records that node's state machine was restored to the state
// before offset (a start, a snapshot install); its applies start over
// from there. entries, if the state machine keeps them, are the entries
// the restored state holds, checked like applied ones.
func (m *Monitor) Restored(node int32, offset int64, entries []MonitorEntry) {
	for _, e := range entries {
		if e.Offset >= offset {
			m.fail("node %d restored to %d holds an entry at %d", node, offset, e.Offset)
		}
		m.check(node, e.Offset, e.Epoch, e.Data)
	}
	m.lastApply[node] = offset - 1
}

// MonitorEntry is an applied entry, as a state machine may keep them.
type MonitorEntry struct {
	Offset int64
	Epoch  int32
	Data   []byte
}

// Acked records a proposal acknowledged at offset.
func (m *Monitor) Acked(offset int64, data []byte) {
	if prev, ok := m.acked[offset]; ok && !bytes.Equal(prev, data) {
		m.fail("offset %d acknowledged twice: %q and %q", offset, prev, data)
	}
	m.acked[offset] = bytes.Clone(data)
	if e, ok := m.committed[offset]; ok && !bytes.Equal(e.data, data) {
		m.fail("offset %d acknowledged as %q, node %d applied %q", offset, data, e.node, e.data)
	}
}

// CheckAcked verifies that every acknowledged entry is among entries (a
// node's whole applied sequence, from its state machine) at its offset.
func (m *Monitor) CheckAcked(node int32, entries []MonitorEntry) {
	at := make(map[int64][]byte, len(entries))
	for _, e := range entries {
		at[e.Offset] = e.Data
	}
	for _, off := range slices.Sorted(maps.Keys(m.acked)) {
		got, ok := at[off]
		switch {
		case !ok:
			m.fail("node %d lost acknowledged entry %q at offset %d", node, m.acked[off], off)
		case !bytes.Equal(got, m.acked[off]):
			m.fail("node %d holds %q at offset %d, %q was acknowledged", node, got, off, m.acked[off])
		}
	}
}

// AppliedEnd is one past the highest offset applied anywhere.
func (m *Monitor) AppliedEnd() int64 { return m.maxApplied }

// AckedCount is the number of acknowledged proposals.
func (m *Monitor) AckedCount() int { return len(m.acked) }

// Violations lists the broken properties, first first.
func (m *Monitor) Violations() []string { return m.violations }

// Err is nil if no property broke, else the first violation.
func (m *Monitor) Err() error {
	if len(m.violations) == 0 {
		return nil
	}
	return fmt.Errorf("quorum safety: %s (and %d more)", m.violations[0], len(m.violations)-1)
}
