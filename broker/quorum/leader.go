package quorum

import (
	"bytes"
	"errors"
	"slices"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// leader won its epoch. It first appends a LeaderChange control entry:
// entries of earlier epochs commit only together with one of the
// leader's own (Raft's commit rule), so a fresh leader commits what its
// predecessors left without waiting for a proposal. It tells the other
// voters with BeginQuorumEpoch until each has acknowledged (answered, or
// fetched), and serves their fetches.
//
// The high watermark is the largest offset that a majority, the leader
// included, has durably: for the leader its fsynced log end, for a
// follower the offset it fetches from (followers fsync before fetching).
// It only moves once an entry of this epoch is below it.
//
// Check quorum: a leader that has not heard a fetch from a majority within
// 1.5 × FetchTimeoutMs resigns, so a leader cut off from the quorum stops
// serving stale reads and accepting proposals it can never commit.
type leader struct {
	n           *Node
	epochStart  int64 // offset of the LeaderChange entry
	voters      []voterState
	checkQuorum timer
	begin       timer
	drainTimer  timer
	drainArmed  bool
	accum       []proposal // not yet appended
	pending     []proposal // appended, not yet committed; by offset
	parked      []*parkedFetch
}

type voterState struct {
	id        int32
	endOffset int64 // fetch offset of its last valid fetch; -1 before one
	lastFetch time.Duration
	fetched   bool // fetched in the current check-quorum window
	acked     bool // acknowledged the epoch: no more BeginQuorumEpoch
}

type proposal struct {
	data   []byte
	offset int64
	done   func(offset int64, err error)
}

func (r *leader) kind() StateKind { return Leader }

func (n *Node) becomeLeader() {
	r := &leader{n: n}
	n.transition(r, n.epoch, n.cfg.NodeID, n.votedID)
	n.stats.EpochsLed++
	for _, id := range n.ids {
		r.voters = append(r.voters, voterState{id: id, endOffset: -1, lastFetch: -1, acked: id == n.cfg.NodeID})
	}
	r.epochStart = n.mlog.EndOffset()
	if err := r.appendLeaderChange(); err != nil {
		n.log.Warn("appending the LeaderChange entry failed; resigning", "err", err)
		if errors.Is(err, storage.ErrLogFailed) {
			n.fatal(err)
			return
		}
		n.becomeResigned()
		return
	}
	r.flush()
	r.armCheckQuorum()
	r.sendBeginQuorumEpoch()
}

func (r *leader) leave(reason error) {
	n := r.n
	r.checkQuorum.stop()
	r.begin.stop()
	r.drainTimer.stop()
	notLeader := &NotLeaderError{LeaderID: -1, Epoch: n.epoch}
	for _, p := range r.accum {
		n.later(func() { p.done(-1, notLeader) })
	}
	for _, p := range r.pending {
		n.later(func() { p.done(p.offset, reason) })
	}
	parked := r.parked
	r.accum, r.pending, r.parked = nil, nil, nil
	for _, pf := range parked {
		pf.timer.Stop()
		pf.respond(n.fetchError(pf.fr, notLeaderCode))
	}
}

// later runs f from a callback of its own, even if the node halts
// meanwhile: it tells a proposer how its proposal ended.
func (n *Node) later(f func()) { n.clock.AfterFunc(0, f) }

// appendLeaderChange writes the control entry that opens the epoch.
func (r *leader) appendLeaderChange() error {
	n := r.n
	key := kmsg.ControlRecordKey{Version: 0, Type: controlLeaderChange}
	msg := kmsg.LeaderChangeMessage{Version: 0, LeaderID: n.cfg.NodeID}
	for _, id := range n.ids {
		msg.Voters = append(msg.Voters, kmsg.LeaderChangeMessageVoter{VoterID: id})
		msg.GrantingVoters = append(msg.GrantingVoters, kmsg.LeaderChangeMessageVoter{VoterID: id})
	}
	now := n.clock.Now().UnixMilli()
	batch, err := records.Build(r.batchOptions(now, true), []records.Record{{Key: key.AppendTo(nil), Value: msg.AppendTo(nil)}})
	assert.Thatf(err == nil, "quorum: building the LeaderChange batch: %v", err)
	_, err = n.mlog.Append(batch, n.epoch, now)
	return err
}

// controlLeaderChange is the control record type of a LeaderChange
// message (Kafka's ControlRecordType.LEADER_CHANGE).
const controlLeaderChange kmsg.ControlRecordKeyType = 2

func (r *leader) batchOptions(nowMs int64, control bool) records.BuildOptions {
	return records.BuildOptions{
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		BaseTimestamp: nowMs, Control: control, PartitionLeaderEpoch: r.n.epoch,
	}
}

// ---- proposals ----

// Propose appends data to the log (leader only) and calls done with its
// offset once it is committed and applied here, or with an error:
// *NotLeaderError (ErrNotLeader, with the known leader as a hint),
// ErrTooLarge, ErrBusy, ErrAppend (not appended), or ErrLeaderChanged and
// ErrStopped (appended; the outcome is unknown). done always runs from a
// callback of its own.
func (n *Node) Propose(data []byte, done func(offset int64, err error)) {
	if n.clock == nil {
		done(-1, ErrStopped)
		return
	}
	fail := func(err error) { n.later(func() { done(-1, err) }) }
	r, ok := n.role.(*leader)
	switch {
	case !n.running || !ok:
		leaderID := n.leaderID
		if leaderID == n.cfg.NodeID || !n.running {
			leaderID = -1
		}
		fail(&NotLeaderError{LeaderID: leaderID, Epoch: n.epoch})
	case len(data) > n.cfg.EntryBytesMax:
		fail(ErrTooLarge)
	case len(r.accum)+len(r.pending) >= n.cfg.ProposalsPendingMax:
		fail(ErrBusy)
	default:
		r.accum = append(r.accum, proposal{data: bytes.Clone(data), offset: -1, done: done})
		r.armDrain()
	}
}

// armDrain closes the batch after LingerMs (0: at the end of the current
// callback), so that proposals made together share one append and one
// fsync.
func (r *leader) armDrain() {
	if r.drainArmed {
		return
	}
	r.drainArmed = true
	r.n.arm(&r.drainTimer, r.n.ms(r.n.cfg.LingerMs), r.drain)
}

func (r *leader) drain() {
	n := r.n
	r.drainArmed = false
	appended := false
	for len(r.accum) > 0 {
		take := r.batchSize()
		base, err := r.appendBatch(r.accum[:take])
		if err != nil {
			if errors.Is(err, storage.ErrLogFailed) {
				n.fatal(err)
				return
			}
			n.log.Warn("append failed", "entries", take, "err", err)
			for _, p := range r.accum[:take] {
				n.later(func() { p.done(-1, errors.Join(ErrAppend, err)) })
			}
			r.accum = r.accum[take:]
			continue
		}
		for i := range take {
			p := r.accum[i]
			p.offset = base + int64(i)
			r.pending = append(r.pending, p)
		}
		r.accum = r.accum[take:]
		appended = true
	}
	r.accum = nil
	if appended {
		r.flush()
		r.wakeParked(false)
	}
}

// batchSize is how many of the accumulated proposals fit one batch.
func (r *leader) batchSize() int {
	limit := int(r.n.cfg.BatchBytesMax) - batchOverheadBytes
	size, take := 0, 0
	for take < len(r.accum) && take < r.n.cfg.BatchEntriesMax {
		size += len(r.accum[take].data) + batchOverheadBytes/4
		if take > 0 && size > limit {
			break
		}
		take++
	}
	return take
}

func (r *leader) appendBatch(ps []proposal) (int64, error) {
	n := r.n
	recs := make([]records.Record, len(ps))
	for i, p := range ps {
		recs[i] = records.Record{Value: p.data}
	}
	now := n.clock.Now().UnixMilli()
	batch, err := records.Build(r.batchOptions(now, false), recs)
	assert.Thatf(err == nil, "quorum: building a batch: %v", err)
	return n.mlog.Append(batch, n.epoch, now)
}

// flush fsyncs the log; the leader's own share of the high watermark
// moves when it lands (onFlushed).
func (r *leader) flush() {
	n := r.n
	n.mlog.Flush(n.inRoleErr(func(err error) {
		if err != nil {
			n.fatal(err)
		}
	}))
}

// completeApplied reports proposals applied up to the node's applied
// offset.
func (r *leader) completeApplied() {
	n := r.n
	k := 0
	for k < len(r.pending) && r.pending[k].offset < n.applied {
		p := r.pending[k]
		n.later(func() { p.done(p.offset, nil) })
		k++
	}
	r.pending = r.pending[k:]
}

// ---- replication state ----

// fetched records a voter's valid fetch at offset: its durable log end.
// It reports whether the high watermark moved.
func (r *leader) fetched(id int32, offset int64) bool {
	n := r.n
	i := n.voterIndex(id)
	v := &r.voters[i]
	v.endOffset, v.lastFetch, v.acked = offset, n.clock.Mono(), true
	r.heard(i)
	return r.advanceHighWatermark()
}

// heard notes a voter's fetch for check quorum; once a majority (the
// leader included) has fetched, the window starts again.
func (r *leader) heard(i int) {
	n := r.n
	r.voters[i].fetched = true
	heard := 1
	for _, v := range r.voters {
		if v.fetched && v.id != n.cfg.NodeID {
			heard++
		}
	}
	if heard >= n.majority {
		for j := range r.voters {
			r.voters[j].fetched = false
		}
		r.armCheckQuorum()
	}
}

func (r *leader) armCheckQuorum() {
	n := r.n
	if len(n.ids) == 1 {
		return
	}
	n.arm(&r.checkQuorum, n.ms(n.cfg.FetchTimeoutMs*3/2), func() {
		n.log.Warn("no fetches from a majority of the voters; resigning", "epoch", n.epoch)
		n.becomeResigned()
	})
}

// advanceHighWatermark moves the high watermark to the largest offset a
// majority holds durably, once that covers an entry of this epoch.
func (r *leader) advanceHighWatermark() bool {
	n := r.n
	offsets := make([]int64, len(r.voters))
	for i, v := range r.voters {
		offsets[i] = v.endOffset
		if v.id == n.cfg.NodeID {
			offsets[i] = n.mlog.RecoveryPoint()
			if n.cfg.bugs.countUnflushed {
				offsets[i] = n.mlog.EndOffset()
			}
		}
	}
	slices.Sort(offsets)
	hw := offsets[len(offsets)-n.majority] // the majority-th largest
	if hw <= r.epochStart || hw <= n.hw {
		return false
	}
	assert.Thatf(hw <= n.mlog.EndOffset(), "quorum %d: high watermark %d past the log end %d", n.cfg.NodeID, hw, n.mlog.EndOffset())
	n.hw = hw
	n.applyCommitted()
	if n.role == role(r) {
		r.wakeParked(true)
	}
	return true
}

func (r *leader) voterStatus() []VoterStatus {
	n := r.n
	now := n.clock.Mono()
	out := make([]VoterStatus, len(r.voters))
	for i, v := range r.voters {
		out[i] = VoterStatus{ID: v.id, EndOffset: v.endOffset, LastFetchAgoMs: -1}
		if v.id == n.cfg.NodeID {
			out[i].EndOffset = n.mlog.RecoveryPoint()
		}
		if v.lastFetch >= 0 {
			out[i].LastFetchAgoMs = (now - v.lastFetch).Milliseconds()
		}
	}
	return out
}

// ---- BeginQuorumEpoch ----

// sendBeginQuorumEpoch tells the voters that have not acknowledged the
// epoch, and again every FetchTimeoutMs/2 until they do.
func (r *leader) sendBeginQuorumEpoch() {
	n := r.n
	for _, v := range r.voters {
		if !v.acked {
			r.begin1(v.id)
		}
	}
	n.arm(&r.begin, n.ms(max(n.cfg.FetchTimeoutMs/2, 1)), r.sendBeginQuorumEpoch)
}

func (r *leader) begin1(id int32) {
	n := r.n
	req := kmsg.NewPtrBeginQuorumEpochRequest()
	req.SetVersion(beginQuorumEpochVersion)
	req.ClusterID, req.VoterID = n.clusterID(), id
	p := kmsg.NewBeginQuorumEpochRequestTopicPartition()
	p.Partition, p.LeaderID, p.LeaderEpoch = metadataPartition, n.cfg.NodeID, n.epoch
	req.Topics = []kmsg.BeginQuorumEpochRequestTopic{{Topic: metadataTopic, Partitions: []kmsg.BeginQuorumEpochRequestTopicPartition{p}}}
	n.tr.send(id, req, n.ms(n.cfg.RequestTimeoutMs), n.inRoleResp(func(resp kmsg.Response, err error) {
		b, ok := resp.(*kmsg.BeginQuorumEpochResponse)
		if err != nil || !ok || b.ErrorCode != 0 || len(b.Topics) != 1 || len(b.Topics[0].Partitions) != 1 {
			return
		}
		bp := b.Topics[0].Partitions[0]
		if n.observe(bp.LeaderID, bp.LeaderEpoch) {
			return
		}
		if bp.ErrorCode == 0 {
			r.voters[n.voterIndex(id)].acked = true
		}
	}))
}

// sendEndQuorumEpoch tells the other voters that this leader resigns,
// naming them as preferred candidates in order of how far they fetched,
// so the best placed stands first (used by a graceful stop).
func (r *leader) sendEndQuorumEpoch() {
	n := r.n
	order := slices.Clone(r.voters)
	slices.SortStableFunc(order, func(a, b voterState) int { return -cmpInt64(a.endOffset, b.endOffset) })
	var ids []int32
	for _, v := range order {
		if v.id != n.cfg.NodeID {
			ids = append(ids, v.id)
		}
	}
	n.sendEndQuorumEpoch(ids)
}

// ---- parked fetches ----

// parkedFetch is a fetch that found nothing new, held until entries are
// appended, the high watermark moves, the epoch ends or its wait is over.
type parkedFetch struct {
	fr      fetchReq
	respond func(kmsg.Response)
	timer   env.Timer
}

// park holds a fetch; an older one of the same replica is answered now,
// and a full purgatory answers this one now.
func (r *leader) park(fr fetchReq, respond func(kmsg.Response)) bool {
	n := r.n
	for i, pf := range r.parked {
		if pf.fr.replica == fr.replica && fr.replica >= 0 {
			r.parked = append(r.parked[:i], r.parked[i+1:]...)
			pf.timer.Stop()
			n.serveFetch(pf.fr, pf.respond, false)
			break
		}
	}
	if len(r.parked) >= n.cfg.ParkedFetchesMax {
		return false
	}
	pf := &parkedFetch{fr: fr, respond: respond}
	pf.timer = n.after(n.ms(int64(fr.maxWaitMs)), n.inRole(func() { r.unpark(pf) }))
	r.parked = append(r.parked, pf)
	return true
}

func (r *leader) unpark(pf *parkedFetch) {
	for i, p := range r.parked {
		if p == pf {
			r.parked = append(r.parked[:i], r.parked[i+1:]...)
			pf.timer.Stop()
			r.n.serveFetch(pf.fr, pf.respond, false)
			return
		}
	}
}

// wakeParked answers the parked fetches that have something new: all of
// them when the high watermark moved, else those behind the log end.
func (r *leader) wakeParked(all bool) {
	end := r.n.mlog.EndOffset()
	parked := slices.Clone(r.parked)
	for _, pf := range parked {
		if all || pf.fr.offset < end {
			r.unpark(pf)
		}
	}
}

func (r *leader) checkInvariants() {
	n := r.n
	if r.voters == nil {
		return // entering the role
	}
	end := n.mlog.EndOffset()
	assert.Thatf(r.epochStart < end, "quorum %d: the epoch's LeaderChange at %d is not in the log ending at %d", n.cfg.NodeID, r.epochStart, end)
	prev := n.applied - 1
	for _, p := range r.pending {
		assert.Thatf(p.offset > prev && p.offset < end, "quorum %d: pending proposal at %d out of order (after %d, log end %d)", n.cfg.NodeID, p.offset, prev, end)
		prev = p.offset
	}
	for _, v := range r.voters {
		assert.Thatf(v.endOffset <= end, "quorum %d: voter %d fetched at %d past the log end %d", n.cfg.NodeID, v.id, v.endOffset, end)
	}
}
