package quorum

import (
	"bytes"
	"errors"
	"math"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/gregor-dst/gregor/internal/assert"
)

// The metadata log is a broker/storage Log in Dir/__cluster_metadata-0:
// record batches stamped with the epoch of the leader that appended them,
// the epoch cache that validates fetches, recovery after a crash. The
// quorum decides when it is fsynced: the leader after each append, a
// follower before each fetch. Nothing is deleted by age or size; the log
// start only moves up to a snapshot.

func (n *Node) storageConfig() storage.Config {
	c := storage.DefaultConfig()
	c.SegmentBytes = n.cfg.SegmentBytes
	c.RetentionMs, c.RetentionBytes = -1, -1
	c.FlushMessages, c.FlushMs = math.MaxInt64, math.MaxInt64
	return c
}

// lastFetched is the log's end offset and the epoch of its last entry:
// what a follower reports in a fetch and a candidate in a vote. A log
// holding nothing past its start takes the epoch of the snapshot it
// starts at (or of the entries deleted below it); an empty log has epoch
// 0.
func (n *Node) lastFetched() (int64, int32) {
	l := n.mlog
	end := l.EndOffset()
	if end > l.StartOffset() {
		e, ok := l.LatestEpoch()
		assert.Thatf(ok, "quorum %d: a log with entries [%d, %d) has no epoch", n.cfg.NodeID, l.StartOffset(), end)
		return end, e
	}
	if sid, ok := n.snaps.latest(); ok && sid.End == end {
		return end, sid.Epoch
	}
	if e, ok := l.LatestEpoch(); ok {
		return end, e
	}
	return end, 0
}

// onFlushed runs when an fsync moved the log's durable end: the leader's
// own share of the high watermark.
func (n *Node) onFlushed() {
	if r, ok := n.role.(*leader); ok {
		r.advanceHighWatermark()
	}
}

// applyCommitted hands the entries below the high watermark that are not
// yet applied to the state machine, in offset order, then reports
// committed proposals and considers a snapshot.
func (n *Node) applyCommitted() {
	if n.applying {
		return // the state machine called back into the node
	}
	target := min(n.hw, n.mlog.EndOffset())
	if n.applied >= target {
		return
	}
	n.applying = true
	err := n.mlog.Batches(n.applied, func(h records.Header, batch []byte) bool {
		if h.BaseOffset >= target {
			return false
		}
		if err := n.applyBatch(h, batch, target); err != nil {
			n.log.Error("cannot decode a committed batch", "offset", h.BaseOffset, "err", err)
			return false
		}
		return n.applied < target
	})
	n.applying = false
	if err != nil {
		n.log.Warn("reading committed entries failed", "err", err)
		if errors.Is(err, storage.ErrCorrupt) {
			n.fatal(err)
			return
		}
		n.after(n.ms(n.cfg.RetryBackoffMs), n.applyCommitted)
	}
	if r, ok := n.role.(*leader); ok {
		r.completeApplied()
	}
	n.maybeSnapshot()
	n.checkInvariants()
}

// applyBatch applies the records of one batch below target; a control
// batch (LeaderChange) is the quorum's own and is skipped.
func (n *Node) applyBatch(h records.Header, batch []byte, target int64) error {
	if h.IsControl() {
		n.applied, n.appliedEpoch = min(h.NextOffset(), target), h.PartitionLeaderEpoch
		return nil
	}
	recs, err := records.Records(batch, h, int(n.cfg.BatchBytesMax))
	if err != nil {
		return err
	}
	for _, rec := range recs {
		off := rec.Offset(h)
		if off < n.applied {
			continue
		}
		if off >= target {
			return nil
		}
		n.sm.Apply(off, h.PartitionLeaderEpoch, bytes.Clone(rec.Value))
		n.applied, n.appliedEpoch = off+1, h.PartitionLeaderEpoch
	}
	n.applied, n.appliedEpoch = min(h.NextOffset(), target), h.PartitionLeaderEpoch
	return nil
}

// maybeSnapshot asks the state machine for a snapshot once enough was
// applied since the last one (or the log grew large), writes it durably,
// and then deletes the log below it.
func (n *Node) maybeSnapshot() {
	if !n.running || n.snaps.writing || n.applied <= n.snapAppliedAt {
		return
	}
	byEntries := n.cfg.SnapshotEveryEntries > 0 && n.applied-n.snapAppliedAt >= n.cfg.SnapshotEveryEntries
	byBytes := n.cfg.SnapshotEveryBytes > 0 && n.mlog.Size() >= n.cfg.SnapshotEveryBytes
	if !byEntries && !byBytes {
		return
	}
	id := snapshotID{End: n.applied, Epoch: n.appliedEpoch}
	n.snapAppliedAt = n.applied
	data := n.sm.Snapshot()
	if int64(len(data)) > n.cfg.SnapshotBytesMax {
		n.log.Error("snapshot larger than SnapshotBytesMax; not written", "bytes", len(data))
		return
	}
	inc := n.inc
	n.snaps.write(id, data, func(err error) {
		if n.inc != inc || !n.running {
			return
		}
		if err != nil {
			n.log.Warn("writing a snapshot failed", "end", id.End, "err", err)
			return
		}
		n.stats.SnapshotsTaken++
		n.log.Info("snapshot written", "end", id.End, "epoch", id.Epoch, "bytes", len(data))
		if err := n.mlog.DeleteRecordsBefore(id.End); err != nil && errors.Is(err, storage.ErrLogFailed) {
			n.fatal(err)
		}
	})
}
