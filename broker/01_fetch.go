package broker

// Fetch: v4–18
//
// Behavior:
//   - Consumers read up to the high watermark (read_uncommitted) or the
//     last stable offset (read_committed; without transactions the two
//     are equal). Whole raw batches are returned as stored.
//   - Limits: MaxBytes for the response (capped by the broker's
//     fetch.max.bytes), PartitionMaxBytes per partition; the first batch
//     of the first partition with data is returned whole even past the
//     limits (KIP-74), so a large batch never blocks a consumer.
//   - With fewer than MinBytes available, the fetch waits in purgatory up
//     to MaxWaitMillis, woken by appends to its partitions; an error in
//     any partition answers at once.
//   - OFFSET_OUT_OF_RANGE outside [log start, log end]; FENCED_LEADER_EPOCH
//     and UNKNOWN_LEADER_EPOCH for a stale or future CurrentLeaderEpoch.
//   - Fetch sessions (KIP-227) are not kept: a request to open one is
//     answered with session id 0, which tells the client to keep sending
//     full fetches; an unknown session id is FETCH_SESSION_ID_NOT_FOUND.
//
// Version notes:
//   - v5+: LogStartOffset. v7+: sessions. v9+: CurrentLeaderEpoch. v11+:
//     PreferredReadReplica (-1). v12+: flexible. v13+: topics by id
//     (UNKNOWN_TOPIC_ID). v15+: ReplicaState.

import (
	"slices"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"errors"
)

func init() { regKey(1, 4, 18, (*Broker).serveFetch) }

func (b *Broker) serveFetch(r *request) {
	req := r.req.(*kmsg.FetchRequest)
	if req.SessionID != 0 {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		r.respond(resp)
		return
	}
	resp, bytes, failed := b.readFetch(req)
	if failed || bytes >= int(req.MinBytes) || req.MaxWaitMillis <= 0 || b.stopping {
		r.respond(resp)
		return
	}
	b.waiters.park(r, req)
}

// readFetch builds the response from what is readable now.
func (b *Broker) readFetch(req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	left := int(min(req.MaxBytes, b.cfg.FetchBytesMax))
	if req.Version < 3 || left <= 0 {
		left = int(b.cfg.FetchBytesMax)
	}
	total, failed := 0, false
	replica, replicaEpoch := fetchReplica(req)
	for _, rt := range req.Topics {
		t, terr := b.fetchTopic(rt, req.Version)
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			var sp kmsg.FetchResponseTopicPartition
			var n int
			if replica >= 0 {
				sp, n = b.replicaFetchPartition(t, terr, rp, replica, replicaEpoch, left, total == 0)
			} else {
				sp, n = b.fetchPartition(t, terr, rp, req.IsolationLevel, left, total == 0)
			}
			failed = failed || sp.ErrorCode != 0
			total += n
			left -= n
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total, failed
}

// fetchReplica is the follower a fetch comes from (id, broker epoch), or
// -1 for a consumer: ReplicaID before v15, ReplicaState from v15.
func fetchReplica(req *kmsg.FetchRequest) (int32, int64) {
	if req.Version >= 15 {
		return req.ReplicaState.ID, req.ReplicaState.Epoch
	}
	return req.ReplicaID, -1
}

// replicaFetchPartition serves a follower: it reads up to the log end
// (not the HW), tells a follower whose last fetched epoch diverges from
// the leader's log where to truncate (DivergingEpoch, KIP-320/595), and
// records how far the follower has come.
func (b *Broker) replicaFetchPartition(t *topic, terr *kerr.Error, rp kmsg.FetchRequestTopicPartition, replica int32, brokerEpoch int64, left int, first bool) (kmsg.FetchResponseTopicPartition, int) {
	sp := kmsg.NewFetchResponseTopicPartition()
	sp.Partition = rp.Partition
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
	sp.RecordBatches = []byte{}
	p, e := b.leaderPartition(t, terr, rp.Partition, rp.CurrentLeaderEpoch)
	if e == nil && !slices.Contains(p.replicas, replica) {
		e = kerr.NotLeaderForPartition
	}
	if e != nil {
		sp.ErrorCode = e.Code
		return sp, 0
	}
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = p.hw, p.hw, p.log.StartOffset()
	if rp.LastFetchedEpoch >= 0 {
		epoch, end := b.endOffsetForEpoch(p, rp.LastFetchedEpoch)
		if epoch != rp.LastFetchedEpoch || end < rp.FetchOffset {
			sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = epoch, end
			return sp, 0
		}
	}
	if rp.FetchOffset < p.log.StartOffset() || rp.FetchOffset > p.log.EndOffset() {
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
		return sp, 0
	}
	b.followerFetched(p, replica, brokerEpoch, rp.FetchOffset)
	sp.HighWatermark, sp.LastStableOffset = p.hw, p.hw
	if rp.FetchOffset == p.log.EndOffset() || (left <= 0 && !first) {
		return sp, 0
	}
	data, err := p.log.Read(rp.FetchOffset, min(int(rp.PartitionMaxBytes), max(left, 0)), first)
	if err != nil {
		b.log.Error("replica read failed", "topic", t.name, "partition", p.index, "err", err)
		sp.ErrorCode = kerr.KafkaStorageError.Code
		return sp, 0
	}
	if len(data) > 0 {
		sp.RecordBatches = data
	}
	return sp, len(data)
}

// leaderPartition finds a partition this broker leads, checking the
// caller's view of the leader epoch.
func (b *Broker) leaderPartition(t *topic, terr *kerr.Error, index int32, clientEpoch int32) (*partition, *kerr.Error) {
	switch {
	case terr != nil:
		return nil, terr
	case index < 0 || int(index) >= len(t.partitions):
		return nil, kerr.UnknownTopicOrPartition
	}
	p := t.local(index)
	if p == nil {
		// Not a replica here: the client's epoch is still checked against
		// the image's, so a client with stale metadata learns which way.
		if mp := b.ctl.Image().Partition(t.id, index); mp != nil {
			if e := epochError(clientEpoch, mp.LeaderEpoch); e != nil {
				return nil, e
			}
		}
		return nil, kerr.NotLeaderForPartition
	}
	if e := epochError(clientEpoch, p.leaderEpoch); e != nil {
		return nil, e
	}
	if p.leader != b.cfg.NodeID {
		return nil, kerr.NotLeaderForPartition
	}
	return p, nil
}

func (b *Broker) fetchTopic(rt kmsg.FetchRequestTopic, version int16) (*topic, *kerr.Error) {
	return b.requestTopic(rt.Topic, rt.TopicID, version >= 13)
}

func (b *Broker) fetchPartition(t *topic, terr *kerr.Error, rp kmsg.FetchRequestTopicPartition, isolation int8, left int, first bool) (kmsg.FetchResponseTopicPartition, int) {
	sp := kmsg.NewFetchResponseTopicPartition()
	sp.Partition = rp.Partition
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
	// Empty, not null: before v12 the field is nullable, and librdkafka
	// rejects a null record set ("invalid MessageSetSize -1"), as Kafka
	// never sends one.
	sp.RecordBatches = []byte{}
	if terr != nil {
		sp.ErrorCode = terr.Code
		return sp, 0
	}
	if rp.Partition < 0 || int(rp.Partition) >= len(t.partitions) {
		sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return sp, 0
	}
	p, e := b.leaderPartition(t, nil, rp.Partition, rp.CurrentLeaderEpoch)
	if e != nil {
		sp.ErrorCode = e.Code
		return sp, 0
	}
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = p.hw, p.hw, p.log.StartOffset()
	if rp.FetchOffset < p.log.StartOffset() || rp.FetchOffset > p.log.EndOffset() {
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
		return sp, 0
	}
	limit := p.hw // the LSO equals the HW until transactions exist
	_ = isolation
	if rp.FetchOffset >= limit || (left <= 0 && !first) {
		return sp, 0
	}
	data, err := p.log.Read(rp.FetchOffset, min(int(rp.PartitionMaxBytes), max(left, 0)), first)
	if err != nil {
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			sp.ErrorCode = kerr.OffsetOutOfRange.Code
		} else {
			b.log.Error("read failed", "topic", t.name, "partition", p.index, "err", err)
			sp.ErrorCode = kerr.KafkaStorageError.Code
		}
		return sp, 0
	}
	if batches := cutAt(data, limit); len(batches) > 0 {
		sp.RecordBatches = batches
	}
	return sp, len(sp.RecordBatches)
}

// epochError checks a client's CurrentLeaderEpoch (-1: not given) against
// ours, as Kafka does: older is fenced, newer means our metadata is
// behind.
func epochError(clientEpoch, ours int32) *kerr.Error {
	switch {
	case clientEpoch < 0 || clientEpoch == ours:
		return nil
	case clientEpoch < ours:
		return kerr.FencedLeaderEpoch
	default:
		return kerr.UnknownLeaderEpoch
	}
}

// cutAt drops whole batches that start at or beyond limit (reads return
// whole batches; consumers must not see past the high watermark).
func cutAt(data []byte, limit int64) []byte {
	end := 0
	for end < len(data) {
		h, err := records.ParseHeader(data[end:])
		if err != nil || h.BaseOffset >= limit {
			break
		}
		end += h.Size()
	}
	return data[:end]
}

// fetchPurgatory holds fetches waiting for MinBytes, bounded.
type fetchPurgatory struct {
	b         *Broker
	max       int
	waiting   []*fetchWait
	scheduled bool
}

type fetchWait struct {
	r     *request
	req   *kmsg.FetchRequest
	timer env.Timer
	done  bool
	woken bool
}

func newFetchPurgatory(b *Broker, max int) *fetchPurgatory {
	return &fetchPurgatory{b: b, max: max}
}

// park waits for data or the fetch's max wait; a full purgatory answers
// at once with what there is.
func (fp *fetchPurgatory) park(r *request, req *kmsg.FetchRequest) {
	if len(fp.waiting) >= fp.max {
		resp, _, _ := fp.b.readFetch(req)
		r.respond(resp)
		return
	}
	w := &fetchWait{r: r, req: req}
	w.timer = fp.b.e.Clock().AfterFunc(time.Duration(req.MaxWaitMillis)*time.Millisecond, func() {
		fp.finish(w)
	})
	fp.waiting = append(fp.waiting, w)
}

// wake marks the fetches that may want p's new data and re-reads them in a
// callback of their own: answering one lets its connection serve its next
// request, which must not run inside the handler that appended.
func (fp *fetchPurgatory) wake(p *partition) {
	marked := false
	for _, w := range fp.waiting {
		if !w.done && w.wants(p) {
			w.woken, marked = true, true
		}
	}
	if marked && !fp.scheduled {
		fp.scheduled = true
		fp.b.e.Clock().AfterFunc(0, fp.recheck)
	}
}

func (fp *fetchPurgatory) recheck() {
	fp.scheduled = false
	for _, w := range append([]*fetchWait(nil), fp.waiting...) {
		if w.done || !w.woken {
			continue
		}
		w.woken = false
		if resp, n, failed := fp.b.readFetch(w.req); failed || n >= int(w.req.MinBytes) {
			fp.answer(w, resp)
		}
	}
}

func (w *fetchWait) wants(p *partition) bool {
	for _, rt := range w.req.Topics {
		if rt.Topic == p.t.name || rt.TopicID == p.t.id {
			for _, rp := range rt.Partitions {
				if rp.Partition == p.index {
					return true
				}
			}
		}
	}
	return false
}

// finish answers a waiting fetch with what is readable now.
func (fp *fetchPurgatory) finish(w *fetchWait) {
	if w.done {
		return
	}
	resp, _, _ := fp.b.readFetch(w.req)
	fp.answer(w, resp)
}

// answer sends resp, read just now, to a waiting fetch.
func (fp *fetchPurgatory) answer(w *fetchWait, resp *kmsg.FetchResponse) {
	w.done = true
	w.timer.Stop()
	fp.remove(w)
	w.r.respond(resp)
}

func (fp *fetchPurgatory) remove(w *fetchWait) {
	for i, x := range fp.waiting {
		if x == w {
			fp.waiting = append(fp.waiting[:i], fp.waiting[i+1:]...)
			return
		}
	}
}

// dropConn forgets the fetches of a closed connection.
func (fp *fetchPurgatory) dropConn(c *conn) {
	for _, w := range append([]*fetchWait(nil), fp.waiting...) {
		if w.r.conn == c {
			w.done = true
			w.timer.Stop()
			fp.remove(w)
		}
	}
}

// clear drops every waiting fetch (stop).
func (fp *fetchPurgatory) clear() {
	for _, w := range fp.waiting {
		w.done = true
		w.timer.Stop()
	}
	fp.waiting = nil
}
