package quorum

import (
	"errors"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// follower replicates the epoch's leader by pulling: one Fetch at a time
// from its log end, with the epoch of its last entry, so the leader can
// check that the logs agree. The answer carries entries (appended, then
// fsynced before the next fetch, so the offset the next fetch reports is
// durable: the leader counts it towards commitment), a diverging epoch
// (the log is cut where it parted from the leader's, then fetched again),
// or a snapshot id (the log is behind the leader's log start: the
// snapshot is downloaded in chunks and installed). A follower that gets no
// successful answer for FetchTimeoutMs stands for election.
type follower struct {
	n        *Node
	leader   int32
	timeout  timer // no successful fetch for FetchTimeoutMs
	retry    timer
	inflight bool
	flushing bool
	dl       *download // a snapshot download in progress
}

// download is a snapshot arriving chunk by chunk into a temporary file.
type download struct {
	id   snapshotID
	size int64 // -1 until the first chunk says
	pos  int64
	f    env.File
	tmp  string
	path string
}

func (r *follower) kind() StateKind { return Follower }

func (r *follower) leave(error) {
	r.timeout.stop()
	r.retry.stop()
	r.abortDownload()
}

func (n *Node) becomeFollower(epoch, leaderID int32) {
	voted := int32(-1)
	if epoch == n.epoch {
		voted = n.votedID
	}
	r := &follower{n: n, leader: leaderID}
	n.transition(r, epoch, leaderID, voted)
	r.armTimeout()
	n.store.whenDurable(n.inRole(r.fetch))
}

func (r *follower) armTimeout() {
	r.n.armElection(&r.timeout, r.n.ms(r.n.cfg.FetchTimeoutMs))
}

// electSoon shortens the wait for an election: the leader resigned.
func (r *follower) electSoon(d time.Duration) { r.n.armElection(&r.timeout, d) }

func (r *follower) retryLater(f func()) {
	r.n.arm(&r.retry, r.n.ms(r.n.cfg.RetryBackoffMs), f)
}

// fetch sends the next Fetch, after an fsync if the log has unflushed
// entries: the offset a fetch reports must be durable.
func (r *follower) fetch() {
	n := r.n
	if r.inflight || r.flushing || r.dl != nil {
		return
	}
	l := n.mlog
	if l.RecoveryPoint() < l.EndOffset() && !n.cfg.bugs.countUnflushed {
		r.flushing = true
		l.Flush(n.inRoleErr(func(err error) {
			r.flushing = false
			if err != nil {
				n.fatal(err)
				return
			}
			r.fetch()
		}))
		return
	}
	end, lastEpoch := n.lastFetched()
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(fetchVersion)
	req.ClusterID = n.clusterID()
	req.ReplicaState.ID, req.ReplicaState.Epoch = n.cfg.NodeID, -1
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = int32(n.cfg.FetchMaxWaitMs), 1, n.cfg.FetchMaxBytes
	p := kmsg.NewFetchRequestTopicPartition()
	p.Partition, p.CurrentLeaderEpoch, p.FetchOffset, p.LastFetchedEpoch = metadataPartition, n.epoch, end, lastEpoch
	p.LogStartOffset, p.PartitionMaxBytes, p.HighWatermark = l.StartOffset(), n.cfg.FetchMaxBytes, n.hw
	req.Topics = []kmsg.FetchRequestTopic{{TopicID: metadataTopicID, Partitions: []kmsg.FetchRequestTopicPartition{p}}}
	r.inflight = true
	timeout := n.ms(n.cfg.RequestTimeoutMs + n.cfg.FetchMaxWaitMs)
	n.tr.send(r.leader, req, timeout, n.inRoleResp(func(resp kmsg.Response, err error) {
		r.inflight = false
		r.fetched(resp, err)
	}))
}

func (r *follower) fetched(resp kmsg.Response, err error) {
	n := r.n
	p, ok := fetchPartition(resp)
	if err != nil || !ok {
		r.retryLater(r.fetch)
		return
	}
	if n.observe(p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch) {
		return
	}
	if p.ErrorCode != 0 {
		n.log.Debug("fetch refused", "leader", r.leader, "err", kerr.ErrorForCode(p.ErrorCode))
		r.retryLater(r.fetch)
		return
	}
	r.armTimeout()
	switch {
	case p.DivergingEpoch.EndOffset >= 0 || p.DivergingEpoch.Epoch >= 0:
		r.diverged(p.DivergingEpoch.Epoch, p.DivergingEpoch.EndOffset)
	case p.SnapshotID.EndOffset >= 0:
		r.startDownload(snapshotID{End: p.SnapshotID.EndOffset, Epoch: p.SnapshotID.Epoch})
	default:
		r.append(p)
	}
}

func fetchPartition(resp kmsg.Response) (kmsg.FetchResponseTopicPartition, bool) {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok || f.ErrorCode != 0 || len(f.Topics) != 1 || len(f.Topics[0].Partitions) != 1 {
		return kmsg.FetchResponseTopicPartition{}, false
	}
	return f.Topics[0].Partitions[0], true
}

// diverged cuts the log where it parted from the leader's: at the end of
// the largest epoch both hold, as far as both hold it (KIP-595's
// DivergingEpoch, like KIP-279's truncation). Committed entries are never
// cut: Raft's log matching guarantees they agree.
func (r *follower) diverged(epoch int32, end int64) {
	n := r.n
	l := n.mlog
	localEpoch, localEnd := l.EndOffsetForEpoch(epoch)
	to := end
	if localEpoch != storage.UndefinedEpoch {
		to = min(to, localEnd)
	}
	to = max(to, l.StartOffset())
	assert.Thatf(to >= n.hw, "quorum %d: truncating to %d below the high watermark %d (diverging epoch %d at %d)",
		n.cfg.NodeID, to, n.hw, epoch, end)
	n.log.Info("truncating a diverging log", "to", to, "end", l.EndOffset(), "leader_epoch", epoch, "leader_end", end)
	if err := l.Truncate(to); err != nil {
		r.logError(err, r.fetch)
		return
	}
	n.stats.Truncations++
	r.fetch()
}

// append writes fetched batches, learns the high watermark and applies
// what it committed; the next fetch follows the fsync.
func (r *follower) append(p kmsg.FetchResponseTopicPartition) {
	n := r.n
	l := n.mlog
	whole, _ := records.Each(p.RecordBatches, func(records.Header, []byte) error { return nil })
	if whole > 0 {
		if err := l.AppendAsFollower(p.RecordBatches[:whole]); err != nil {
			r.logError(err, r.fetch)
			return
		}
	}
	n.hw = max(n.hw, min(p.HighWatermark, l.EndOffset()))
	n.applyCommitted()
	if n.role == role(r) {
		r.fetch()
	}
}

// logError handles a failed log operation: a failed log restarts the
// node; anything else (a write error, a full disk) is retried.
func (r *follower) logError(err error, retry func()) {
	if errors.Is(err, storage.ErrLogFailed) {
		r.n.fatal(err)
		return
	}
	r.n.log.Warn("metadata log write failed; retrying", "err", err)
	r.retryLater(retry)
}

// ---- snapshot download ----

func (r *follower) startDownload(id snapshotID) {
	n := r.n
	path := n.snaps.dir + "/" + snapName(id)
	dl := &download{id: id, size: -1, tmp: path + snapTmpSuffix, path: path}
	f, err := n.snaps.createFile(dl.tmp)
	if err != nil {
		n.log.Warn("cannot start a snapshot download", "err", err)
		r.retryLater(r.fetch)
		return
	}
	dl.f = f
	r.dl = dl
	n.log.Info("downloading snapshot", "end", id.End, "epoch", id.Epoch)
	r.fetchChunk()
}

func (r *follower) abortDownload() {
	if r.dl == nil {
		return
	}
	r.dl.f.Close()
	r.n.snaps.remove(r.dl.tmp)
	r.dl = nil
}

func (r *follower) fetchChunk() {
	n := r.n
	dl := r.dl
	req := kmsg.NewPtrFetchSnapshotRequest()
	req.SetVersion(fetchSnapshotVersion)
	req.ClusterID, req.ReplicaID, req.MaxBytes = n.clusterID(), n.cfg.NodeID, n.cfg.SnapshotChunkBytes
	p := kmsg.NewFetchSnapshotRequestTopicPartition()
	p.Partition, p.CurrentLeaderEpoch, p.Position = metadataPartition, n.epoch, dl.pos
	p.SnapshotID.EndOffset, p.SnapshotID.Epoch = dl.id.End, dl.id.Epoch
	req.Topics = []kmsg.FetchSnapshotRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.FetchSnapshotRequestTopicPartition{p}}}
	n.tr.send(r.leader, req, n.ms(n.cfg.RequestTimeoutMs), n.inRoleResp(func(resp kmsg.Response, err error) {
		if r.dl == dl {
			r.chunk(resp, err)
		}
	}))
}

func (r *follower) chunk(resp kmsg.Response, err error) {
	n := r.n
	dl := r.dl
	p, ok := snapshotPartition(resp)
	if err != nil || !ok {
		r.retryLater(r.fetchChunk)
		return
	}
	if n.observe(p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch) {
		return
	}
	badSize := p.Size <= 0 || p.Size > n.cfg.SnapshotBytesMax || dl.size >= 0 && p.Size != dl.size
	if p.ErrorCode != 0 || badSize || p.Position != dl.pos || len(p.Bytes) == 0 && dl.pos < p.Size ||
		dl.pos+int64(len(p.Bytes)) > p.Size {
		// The snapshot is gone (a newer one replaced it) or the answer
		// makes no sense: start over from a fetch.
		n.log.Info("snapshot download abandoned", "end", dl.id.End, "err", kerr.ErrorForCode(p.ErrorCode), "size", p.Size)
		r.abortDownload()
		r.retryLater(r.fetch)
		return
	}
	r.armTimeout()
	if _, err := dl.f.WriteAt(p.Bytes, dl.pos); err != nil {
		n.log.Warn("writing a snapshot chunk failed", "err", err)
		r.retryLater(r.fetchChunk)
		return
	}
	dl.size, dl.pos = p.Size, dl.pos+int64(len(p.Bytes))
	if dl.pos < dl.size {
		r.fetchChunk()
		return
	}
	r.finishDownload()
}

func snapshotPartition(resp kmsg.Response) (kmsg.FetchSnapshotResponseTopicPartition, bool) {
	f, ok := resp.(*kmsg.FetchSnapshotResponse)
	if !ok || f.ErrorCode != 0 || len(f.Topics) != 1 || len(f.Topics[0].Partitions) != 1 {
		return kmsg.FetchSnapshotResponseTopicPartition{}, false
	}
	return f.Topics[0].Partitions[0], true
}

// finishDownload checks the downloaded file, makes it durable under its
// final name, and installs it.
func (r *follower) finishDownload() {
	n := r.n
	dl := r.dl
	buf := make([]byte, dl.size)
	_, err := dl.f.ReadAt(buf, 0)
	var id snapshotID
	var data []byte
	if err == nil {
		id, data, err = decodeSnapshot(buf)
	}
	if err == nil && id != dl.id {
		err = errBadMessage
	}
	if err != nil {
		n.log.Warn("downloaded snapshot is bad; fetching again", "err", err)
		r.abortDownload()
		r.retryLater(r.fetch)
		return
	}
	r.dl = nil
	r.flushing = true // no fetch until the snapshot is in place
	inc := n.inc
	n.snaps.commitFile(dl.f, dl.tmp, dl.path, id, func(err error) {
		if n.inc != inc || !n.running {
			return
		}
		if err == nil {
			// Installed whatever the role is now: the file is registered
			// already, and a node this far behind cannot have won an
			// election meanwhile (a majority holds what it lacks).
			err = n.installSnapshot(id, data)
		}
		if err != nil {
			n.log.Warn("installing a downloaded snapshot failed", "err", err)
			n.snaps.remove(dl.tmp)
		}
		if n.role != role(r) {
			return
		}
		r.flushing = false
		if err != nil {
			r.retryLater(r.fetch)
			return
		}
		r.fetch()
	})
}

// installSnapshot replaces the state machine's state and the log with the
// snapshot's: the log restarts empty at its end.
func (n *Node) installSnapshot(id snapshotID, data []byte) error {
	_, leading := n.role.(*leader)
	assert.Thatf(!leading, "quorum %d: a leader installing snapshot %v", n.cfg.NodeID, id)
	assert.Thatf(id.End >= n.applied, "quorum %d: installing snapshot %v below the applied offset %d", n.cfg.NodeID, id, n.applied)
	if err := n.mlog.TruncateFullyAndStartAt(id.End); err != nil {
		if errors.Is(err, storage.ErrLogFailed) {
			n.fatal(err)
		}
		return err
	}
	n.sm.Restore(id.End, data)
	n.applied, n.appliedEpoch, n.snapAppliedAt = id.End, id.Epoch, id.End
	n.hw = max(n.hw, id.End)
	n.stats.SnapshotsInstalled++
	n.log.Info("installed snapshot", "end", id.End, "epoch", id.Epoch, "bytes", len(data))
	return nil
}
