package broker

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker/peer"
	"github.com/gregor-dst/gregor/broker/records"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Followers pull from their leaders as in Kafka: one fetcher per leader
// broker keeps one Fetch in flight for every partition this broker follows
// there (long-polled by the leader), appends what comes back as is, and
// truncates where the leader says its log diverges.

const (
	replicaFetchVersion     = 15 // ReplicaState (KIP-903)
	replicaFetchBackoffMs   = 100
	replicaFetchWaitMaxMs   = 500      // replica.fetch.wait.max.ms
	replicaFetchBytesMax    = 10 << 20 // replica.fetch.response.max.bytes
	replicaFetchPartBytesMx = 1 << 20  // replica.fetch.max.bytes
)

// fetcher follows the partitions led by one broker.
type fetcher struct {
	leader   int32
	parts    []*partition
	inFlight bool
	backoff  bool
}

// becomeFollower makes this broker a follower of the partition under
// leader at epoch. Produce answers waiting here fail: only a leader can
// acknowledge. Any divergence from the new leader's log is found on the
// first fetch (DivergingEpoch).
func (b *Broker) becomeFollower(p *partition, leader, epoch int32, replicas, isr []int32) {
	p.leader, p.leaderEpoch = leader, epoch
	p.replicas, p.isr = slices.Clone(replicas), slices.Clone(isr)
	p.followers, p.isrPending = nil, nil
	b.failAcks(p, kerr.NotLeaderForPartition)
	b.waiters.wake(p) // parked consumer fetches learn they must move
	b.unfollow(p)
	if leader < 0 || leader == b.cfg.NodeID {
		return
	}
	f := b.fetchers[leader]
	if f == nil {
		f = &fetcher{leader: leader}
		b.fetchers[leader] = f
	}
	f.parts = append(f.parts, p)
	b.kick(f)
}

// unfollow removes p from whichever fetcher has it.
func (b *Broker) unfollow(p *partition) {
	for _, f := range b.fetchers { //gregor:unordered-ok p is in at most one fetcher
		if i := slices.Index(f.parts, p); i >= 0 {
			f.parts = slices.Delete(f.parts, i, i+1)
		}
	}
}

// kick sends the fetcher's next Fetch if none is in flight.
func (b *Broker) kick(f *fetcher) {
	if f.inFlight || f.backoff || len(f.parts) == 0 || b.closed || b.awaitingFlush(f) {
		return
	}
	addr, ok := b.peerAddr(f.leader)
	if !ok {
		b.retryLater(f)
		return
	}
	req := b.replicaFetchRequest(f)
	if len(req.Topics) == 0 {
		return // every log failed: housekeeping reopens them, and the new roles kick again
	}
	f.inFlight = true
	b.peers().Do(addr, req, func(resp kmsg.Response, err error) {
		f.inFlight = false
		if err != nil {
			if !errors.Is(err, peer.ErrClosed) {
				b.log.Debug("replica fetch failed", "leader", f.leader, "err", err)
			}
			b.retryLater(f)
			return
		}
		if b.applyReplicaFetch(f, req, resp.(*kmsg.FetchResponse)) {
			b.kick(f)
		} else {
			b.retryLater(f)
		}
	})
}

// awaitingFlush: a partition of f fsyncs every message
// (flush.messages=1) and has not yet fsynced what it fetched. Its next
// fetch tells the leader it holds everything below its log end, which
// moves the high watermark, so it waits for the fsync: Kafka's follower
// flushes synchronously in its append path before it fetches again, and
// only that makes an acks=all write durable on every ISR member. The log's
// OnFlushed kicks the fetcher (followerFlushed).
func (b *Broker) awaitingFlush(f *fetcher) bool {
	for _, p := range f.parts {
		if p.t.settings.flushEveryMessage && p.flushed < p.log.EndOffset() && p.log.Err() == nil {
			return true
		}
	}
	return false
}

// followerFlushed resumes p's fetcher once p's log is fsynced (see
// awaitingFlush).
func (b *Broker) followerFlushed(p *partition) {
	if p.leader == b.cfg.NodeID || p.leader < 0 {
		return
	}
	if f := b.fetchers[p.leader]; f != nil && slices.Contains(f.parts, p) {
		b.kick(f)
	}
}

func (b *Broker) retryLater(f *fetcher) {
	if f.backoff || b.closed {
		return
	}
	f.backoff = true
	b.e.Clock().AfterFunc(replicaFetchBackoffMs*time.Millisecond, func() {
		f.backoff = false
		b.kick(f)
	})
}

func (b *Broker) replicaFetchRequest(f *fetcher) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(replicaFetchVersion)
	req.ReplicaState.ID, req.ReplicaState.Epoch = b.cfg.NodeID, b.brokerEpoch
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = replicaFetchWaitMaxMs, 1, replicaFetchBytesMax
	req.SessionID, req.SessionEpoch = 0, -1
	for _, p := range f.parts {
		if p.log.Err() != nil {
			// A failed log may have lost what it did not fsync, so its
			// end offset is no promise: a fetch from there would tell
			// the leader this replica holds data it may not, and move
			// the high watermark past it (Kafka's fetcher drops a
			// partition whose log directory failed).
			continue
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch = p.index, p.leaderEpoch
		rp.FetchOffset, rp.LogStartOffset = p.log.EndOffset(), p.log.StartOffset()
		rp.LastFetchedEpoch = -1
		if e, ok := p.log.LatestEpoch(); ok && b.cfg.plant != bugSkipTruncation {
			rp.LastFetchedEpoch = e
		}
		rp.PartitionMaxBytes = replicaFetchPartBytesMx
		req.Topics = append(req.Topics, kmsg.FetchRequestTopic{TopicID: p.t.id, Partitions: []kmsg.FetchRequestTopicPartition{rp}})
	}
	return req
}

// applyReplicaFetch applies a leader's answer; false asks for a backoff
// (nothing usable came back).
func (b *Broker) applyReplicaFetch(f *fetcher, req *kmsg.FetchRequest, resp *kmsg.FetchResponse) bool {
	if resp.ErrorCode != 0 {
		return false
	}
	progressed := false
	for i, rt := range resp.Topics {
		t := b.topicIDs[rt.TopicID]
		for _, sp := range rt.Partitions {
			if t == nil || i >= len(req.Topics) || t.local(sp.Partition) == nil {
				continue
			}
			p := t.local(sp.Partition)
			if p.leader != f.leader || p.leaderEpoch != req.Topics[i].Partitions[0].CurrentLeaderEpoch {
				continue // the role changed while the fetch was out
			}
			progressed = b.applyFetchedPartition(p, sp) || progressed
		}
	}
	return progressed
}

// applyFetchedPartition applies one partition of a leader's answer.
func (b *Broker) applyFetchedPartition(p *partition, sp kmsg.FetchResponseTopicPartition) bool {
	switch {
	case sp.ErrorCode == kerr.OffsetOutOfRange.Code:
		return b.outOfRange(p, sp)
	case sp.ErrorCode != 0:
		return false // not leader, fenced epoch, …: wait for new metadata
	case sp.DivergingEpoch.EndOffset >= 0:
		b.truncateToLeader(p, sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset)
		return true
	}
	if len(sp.RecordBatches) > 0 {
		if err := b.appendFromLeader(p, sp.RecordBatches); err != nil {
			b.log.Error("follower append failed", "topic", p.t.name, "partition", p.index, "err", err)
			return false
		}
	}
	if hw := min(sp.HighWatermark, p.log.EndOffset()); hw > p.hw {
		b.advanceHW(p, hw)
	}
	if sp.LogStartOffset > p.log.StartOffset() && sp.LogStartOffset <= p.hw {
		if err := p.log.DeleteRecordsBefore(sp.LogStartOffset); err == nil {
			p.producers.forgetBelow(p.log.StartOffset())
		}
	}
	return true
}

// appendFromLeader appends the leader's batches as they are and keeps the
// producer state current, so this replica can deduplicate if it leads.
func (b *Broker) appendFromLeader(p *partition, data []byte) error {
	n, err := records.Each(data, func(records.Header, []byte) error { return nil })
	if err != nil {
		return err
	}
	data = data[:n] // a batch cut by the leader's byte limit comes next time
	if len(data) == 0 {
		return nil
	}
	appendErr := p.log.AppendAsFollower(data)
	// An append cut short by a write error keeps the batches before the
	// failed one: they are in the log, so the producer state must count
	// them, or this replica, leading later, would append a retry of one
	// again (a duplicate the idempotent producer was promised away).
	end := p.log.EndOffset()
	_, err = records.Each(data, func(h records.Header, _ []byte) error {
		if h.LastOffset() < end && h.ProducerID >= 0 && !h.IsControl() {
			p.producers.update(h, h.BaseOffset)
		}
		return nil
	})
	if appendErr != nil {
		return appendErr
	}
	return err
}

// truncateToLeader cuts this replica's log where it diverges from the
// leader's (KIP-279): at the end of the largest epoch both share.
func (b *Broker) truncateToLeader(p *partition, epoch int32, leaderEnd int64) {
	if b.cfg.plant == bugSkipTruncation {
		return
	}
	target := min(leaderEnd, p.log.EndOffset())
	if e, end := p.log.EndOffsetForEpoch(epoch); e >= 0 {
		target = min(target, end)
	}
	b.truncate(p, target, "diverging epoch")
}

// outOfRange handles OFFSET_OUT_OF_RANGE: the leader's log starts after
// ours ends (retention there), or ours runs past the leader's (which only
// an unclean election allows): start over at the leader's log start, or
// cut back to its high watermark.
func (b *Broker) outOfRange(p *partition, sp kmsg.FetchResponseTopicPartition) bool {
	if sp.LogStartOffset > p.log.EndOffset() {
		if err := p.log.TruncateFullyAndStartAt(sp.LogStartOffset); err != nil {
			b.log.Error("follower restart", "topic", p.t.name, "partition", p.index, "err", err)
			return false
		}
		b.rebuildProducers(p)
		p.hw = sp.LogStartOffset
		p.log.SetHighWatermark(p.hw)
		return true
	}
	if sp.HighWatermark >= 0 && sp.HighWatermark < p.log.EndOffset() {
		b.truncate(p, sp.HighWatermark, "ahead of the leader")
		return true
	}
	return false
}

func (b *Broker) truncate(p *partition, offset int64, why string) {
	if offset >= p.log.EndOffset() {
		return
	}
	b.log.Info("truncating", "topic", p.t.name, "partition", p.index, "from", p.log.EndOffset(), "to", offset, "why", why)
	if err := p.log.Truncate(offset); err != nil {
		b.log.Error("truncate failed", "topic", p.t.name, "partition", p.index, "err", err)
		return
	}
	p.hw = min(p.hw, offset)
	p.flushed = min(p.flushed, offset)
	b.rebuildProducers(p)
}

// rebuildProducers replays producer state after a truncation removed
// batches it had counted. A read error leaves the table short of batches
// in the log, and a replica that leads with it would append retries of
// them again: the log is failed instead, as an unreadable log directory
// is in Kafka, and housekeeping reopens it (rebuilding from scratch).
func (b *Broker) rebuildProducers(p *partition) {
	p.producers = newProducerTable(b.cfg.ProducersPerPartitionMax)
	if err := p.producers.rebuild(p.log); err != nil {
		b.log.Error("producer state rebuild failed; failing the log", "topic", p.t.name, "partition", p.index, "err",
			p.log.Fail(fmt.Errorf("rebuilding producer state: %w", err)))
	}
}

// peers is the broker's client to other nodes, made on first use.
func (b *Broker) peers() *peer.Client {
	if b.peerClient == nil {
		b.peerClient = peer.New(b.e, peer.Config{ClientID: "gregor-broker", RequestTimeoutMs: 30_000})
	}
	return b.peerClient
}

// peerAddr is where broker id serves, from its registration in the
// metadata image.
func (b *Broker) peerAddr(id int32) (string, bool) {
	rb := b.ctl.Image().Brokers[id]
	if rb == nil {
		return "", false
	}
	return net.JoinHostPort(rb.Host, strconv.Itoa(int(rb.Port))), true
}
