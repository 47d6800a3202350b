package quorum

import (
	"errors"
	"math"

	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The leader's side of Fetch for the metadata partition (KIP-595): the
// request's epoch must be the leader's; its fetch offset and last fetched
// epoch are checked against the leader's log (validateFetch), and the
// answer is entries from the fetch offset, a diverging epoch, or the id of
// the snapshot to download. A valid fetch from a voter tells the leader
// how far that voter's durable log reaches. A fetch that finds nothing new
// is parked for up to its MaxWait.

// fetchReq is what the leader needs of a fetch request, kept while the
// fetch is parked.
type fetchReq struct {
	version    int16
	replica    int32
	epoch      int32
	offset     int64
	lastEpoch  int32
	followerHW int64
	maxBytes   int32
	maxWaitMs  int32
}

// notLeaderCode is NOT_LEADER_OR_FOLLOWER (kerr calls it by its old name).
var notLeaderCode = kerr.NotLeaderForPartition.Code

func (n *Node) handleFetch(req *kmsg.FetchRequest, respond func(kmsg.Response)) {
	t := req.Topics[0]
	p := t.Partitions[0]
	fr := fetchReq{
		version: req.Version, replica: req.ReplicaState.ID, epoch: p.CurrentLeaderEpoch,
		offset: p.FetchOffset, lastEpoch: p.LastFetchedEpoch, followerHW: p.HighWatermark,
		maxBytes: min(req.MaxBytes, p.PartitionMaxBytes, n.cfg.FetchMaxBytes), maxWaitMs: req.MaxWaitMillis,
	}
	if req.Version < 15 {
		fr.replica = req.ReplicaID
	}
	if !n.clusterOK(req.ClusterID) {
		resp := n.fetchError(fr, 0)
		resp.(*kmsg.FetchResponse).ErrorCode = kerr.InconsistentClusterID.Code
		respond(resp)
		return
	}
	n.serveFetch(fr, respond, true)
}

// isMetadataFetch reports whether a fetch is for the metadata partition
// alone, the only kind the quorum serves.
func isMetadataFetch(req *kmsg.FetchRequest) bool {
	return len(req.Topics) == 1 && req.Topics[0].TopicID == metadataTopicID &&
		len(req.Topics[0].Partitions) == 1 && req.Topics[0].Partitions[0].Partition == metadataPartition
}

// serveFetch answers fr now or parks it. fresh is false for a parked
// fetch being answered: its bookkeeping was done when it came.
func (n *Node) serveFetch(fr fetchReq, respond func(kmsg.Response), fresh bool) {
	if code := n.leaderEpochCheck(fr.epoch); code != 0 {
		respond(n.fetchError(fr, code))
		return
	}
	r := n.role.(*leader)
	resp, p := n.fetchResponse(fr)
	check := n.validateFetch(fr.offset, fr.lastEpoch)
	switch check.kind {
	case fetchDiverging:
		p.DivergingEpoch.Epoch, p.DivergingEpoch.EndOffset = check.epoch, check.end
		respond(resp)
		return
	case fetchSnapshot:
		p.SnapshotID.Epoch, p.SnapshotID.EndOffset = check.epoch, check.end
		respond(resp)
		return
	case fetchOutOfRange:
		p.ErrorCode = kerr.OffsetOutOfRange.Code
		respond(resp)
		return
	}
	hwMoved := false
	if fresh && fr.replica != n.cfg.NodeID && n.isVoter(fr.replica) {
		hwMoved = r.fetched(fr.replica, fr.offset)
		if n.role != role(r) {
			respond(n.fetchError(fr, notLeaderCode))
			return
		}
	}
	data, err := n.mlog.Read(fr.offset, int(fr.maxBytes), true)
	if err != nil {
		n.log.Warn("reading the metadata log for a fetch failed", "offset", fr.offset, "err", err)
		p.ErrorCode = kerr.KafkaStorageError.Code
		if errors.Is(err, storage.ErrCorrupt) {
			n.fatal(err)
		}
		respond(resp)
		return
	}
	stale := fr.followerHW != math.MaxInt64 && fr.followerHW < n.hw
	if len(data) == 0 && fresh && fr.maxWaitMs > 0 && !hwMoved && !stale && r.park(fr, respond) {
		return
	}
	p.RecordBatches = data
	p.HighWatermark, p.LastStableOffset = n.hw, n.hw
	respond(resp)
}

// leaderEpochCheck is the epoch check of every request a follower sends
// its leader: an older epoch is fenced, a newer one unknown, and only the
// leader serves.
func (n *Node) leaderEpochCheck(epoch int32) int16 {
	_, leading := n.role.(*leader)
	switch {
	case epoch < n.epoch:
		return kerr.FencedLeaderEpoch.Code
	case epoch > n.epoch:
		return kerr.UnknownLeaderEpoch.Code
	case !leading:
		return notLeaderCode
	}
	return 0
}

// fetchResponse is an answer to fr with no data yet, naming the leader
// and epoch as this node knows them, and the partition to fill in.
func (n *Node) fetchResponse(fr fetchReq) (kmsg.Response, *kmsg.FetchResponseTopicPartition) {
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(fr.version)
	p := kmsg.NewFetchResponseTopicPartition()
	p.Partition = metadataPartition
	p.HighWatermark, p.LastStableOffset = n.hw, n.hw
	p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = n.knownLeader(), n.epoch
	if n.mlog != nil {
		p.LogStartOffset = n.mlog.StartOffset()
	}
	resp.Topics = []kmsg.FetchResponseTopic{{TopicID: metadataTopicID, Partitions: []kmsg.FetchResponseTopicPartition{p}}}
	return resp, &resp.Topics[0].Partitions[0]
}

func (n *Node) fetchError(fr fetchReq, code int16) kmsg.Response {
	resp, p := n.fetchResponse(fr)
	p.ErrorCode = code
	return resp
}

// ---- validation against the log ----

type fetchCheckKind uint8

const (
	fetchValid fetchCheckKind = iota
	fetchDiverging
	fetchSnapshot
	fetchOutOfRange
)

type fetchCheck struct {
	kind  fetchCheckKind
	epoch int32
	end   int64
}

// validateFetch checks a follower's position, (offset, last epoch), as
// KRaft's validateOffsetAndEpoch does: below the log start, or in an
// epoch older than the newest snapshot, the follower must take the
// snapshot; if the leader's log has the follower's last epoch ending
// before offset (or does not have that epoch), the logs diverged, and the
// answer is the largest epoch at or below it with its end; otherwise the
// follower's log is a prefix of the leader's.
func (n *Node) validateFetch(offset int64, lastEpoch int32) fetchCheck {
	l := n.mlog
	start := l.StartOffset()
	sid, hasSnap := n.snaps.latest()
	switch {
	case offset < 0:
		return fetchCheck{kind: fetchOutOfRange}
	case offset == 0 && start == 0:
		return fetchCheck{kind: fetchValid}
	case hasSnap && offset == sid.End && lastEpoch == sid.Epoch && offset >= start:
		return fetchCheck{kind: fetchValid}
	case hasSnap && (offset < start || offset == start && lastEpoch != sid.Epoch || lastEpoch < sid.Epoch):
		return fetchCheck{kind: fetchSnapshot, epoch: sid.Epoch, end: sid.End}
	case offset < start:
		return fetchCheck{kind: fetchOutOfRange}
	}
	epoch, end := l.EndOffsetForEpoch(lastEpoch)
	if epoch == storage.UndefinedEpoch {
		// Nothing at or below the follower's epoch: it diverged from the
		// start of what this log holds.
		return fetchCheck{kind: fetchDiverging, epoch: lastEpoch, end: start}
	}
	if epoch != lastEpoch || end < offset {
		return fetchCheck{kind: fetchDiverging, epoch: epoch, end: end}
	}
	return fetchCheck{kind: fetchValid}
}
