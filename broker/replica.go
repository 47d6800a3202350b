package broker

import (
	"slices"
	"time"

	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replication is a partition's replica state on this broker: who leads,
// who is in sync, and, on the leader, what each follower has and the
// produce requests waiting for the high watermark.
type replication struct {
	leader         int32
	replicas       []int32
	isr            []int32
	partitionEpoch int32
	// acks are the produce requests waiting on this partition, in append
	// order (so in offset order).
	acks []*ackWait
	// followers is what the leader knows of each other replica, from its
	// fetches; leaderSinceMono is when this broker became leader (a
	// follower that has not fetched since counts as caught up then).
	followers       map[int32]*followerState
	leaderSinceMono time.Duration
	// isrPending is the ISR of an AlterPartition in flight (nil: none),
	// isrProposal numbers the proposals (so a late answer to an older one
	// is told apart); isrRetryMono is when a refused change may be
	// proposed again.
	isrPending   []int32
	isrProposal  uint64
	isrRetryMono time.Duration
	// isrPendingEpochs are the members' broker epochs when the change was
	// proposed: a retry must carry them, not a restarted follower's new
	// epoch, or the controller admits an incarnation that is not caught
	// up (KIP-903).
	isrPendingEpochs map[int32]int64
}

// followerState is a follower as its leader sees it (Kafka's Replica):
// its log end is the offset it last fetched from, and it was caught up
// when it fetched at or past the leader's log end of the time.
type followerState struct {
	leo                int64
	lastFetchMono      time.Duration
	lastFetchLeaderLEO int64
	lastCaughtUpMono   time.Duration
	brokerEpoch        int64
}

// ackEnd is the offset up to which this replica may acknowledge writes:
// the log end, or with flush.messages=1 what is fsynced.
func (p *partition) ackEnd() int64 {
	if p.t.settings.flushEveryMessage {
		return min(p.flushed, p.log.EndOffset())
	}
	return p.log.EndOffset()
}

// maybeAdvanceHW recomputes a leader's high watermark: the lowest
// acknowledgeable end over the ISR (Kafka's rule), never moving back.
func (b *Broker) maybeAdvanceHW(p *partition) {
	if p.leader != b.cfg.NodeID {
		return
	}
	hw := p.ackEnd()
	for _, id := range p.maximalISR() {
		if id != b.cfg.NodeID {
			hw = min(hw, b.followerEnd(p, id))
		}
	}
	b.advanceHW(p, hw)
	b.checkAcks(p)
}

// followerEnd is what an ISR follower is known to hold. Until it fetches
// from this leader, nothing past the high watermark.
func (b *Broker) followerEnd(p *partition, id int32) int64 {
	if f := p.followers[id]; f != nil {
		return f.leo
	}
	return p.hw
}

// followerFetched records a follower's fetch at offset (it holds
// everything below it) and what follows from it: the HW may advance and
// the follower may rejoin the ISR.
func (b *Broker) followerFetched(p *partition, id int32, brokerEpoch int64, offset int64) {
	if p.followers == nil {
		p.followers = map[int32]*followerState{}
	}
	f := p.followers[id]
	if f == nil {
		f = &followerState{lastCaughtUpMono: p.leaderSinceMono}
		p.followers[id] = f
	}
	now, leo := b.e.Clock().Mono(), p.log.EndOffset()
	switch {
	case offset >= leo:
		f.lastCaughtUpMono = now
	case offset >= f.lastFetchLeaderLEO:
		// It has everything the leader had at its previous fetch.
		f.lastCaughtUpMono = max(f.lastCaughtUpMono, f.lastFetchMono)
	}
	f.leo, f.lastFetchMono, f.lastFetchLeaderLEO, f.brokerEpoch = offset, now, leo, brokerEpoch
	if !slices.Contains(p.isr, id) && slices.Contains(p.replicas, id) && offset >= p.hw && offset >= p.epochStart() {
		b.alterISR(p, append(slices.Clone(p.isr), id))
	}
	b.maybeAdvanceHW(p)
}

// endOffsetForEpoch answers OffsetForLeaderEpoch (and the fetch's
// divergence check) for requested, as Kafka's leader does. Kafka writes a
// new leader epoch into the epoch cache when the replica becomes leader,
// at its log end; gregor's cache learns an epoch from its first batch. So
// while the leader has appended nothing in its epoch, answer as if the
// entry were there: the epoch starts at the log end. Without it a leader
// whose log is empty (a replica that lost its unflushed log and was
// elected) knows no epoch at all, and its followers, told "undefined",
// never truncate the tail it lacks.
func (b *Broker) endOffsetForEpoch(p *partition, requested int32) (int32, int64) {
	latest, ok := p.log.LatestEpoch()
	if p.leader != b.cfg.NodeID || (ok && latest >= p.leaderEpoch) {
		return p.log.EndOffsetForEpoch(requested)
	}
	leo := p.log.EndOffset()
	switch {
	case requested == p.leaderEpoch:
		return requested, leo
	case requested > p.leaderEpoch || requested < 0:
		return storage.UndefinedEpoch, storage.UndefinedEpochOffset
	case !ok:
		return requested, leo // below every epoch: it ends where the first one starts
	case requested >= latest:
		return latest, leo // the cached latest epoch ends where the leader's begins
	}
	return p.log.EndOffsetForEpoch(requested)
}

// epochStart is where the current leader epoch began in this log: a
// follower rejoins the ISR only once it has fetched into the leader's
// epoch, so it holds nothing the leader truncated (R7).
func (p *partition) epochStart() int64 {
	for _, e := range p.log.Epochs() {
		if e.Epoch == p.leaderEpoch {
			return e.StartOffset
		}
	}
	return p.log.EndOffset()
}

// shrinkISR drops followers that have not caught up within
// replica.lag.time.max.ms (Kafka's isr shrink, checked on every tick).
func (b *Broker) shrinkISR(p *partition, lagMaxMs int64) {
	if p.leader != b.cfg.NodeID || len(p.isr) <= 1 {
		return
	}
	now := b.e.Clock().Mono()
	isr := []int32{}
	for _, id := range p.isr {
		f := p.followers[id]
		caughtUp := p.leaderSinceMono
		if f != nil {
			caughtUp = f.lastCaughtUpMono
		}
		if id == b.cfg.NodeID || now-caughtUp <= time.Duration(lagMaxMs)*time.Millisecond {
			isr = append(isr, id)
		}
	}
	if len(isr) < len(p.isr) {
		b.alterISR(p, isr)
	}
}

// alterISR asks the controller to change a partition's ISR
// (AlterPartition), one change in flight per partition, as Kafka's leader
// does. While it is in flight the high watermark counts the union of the
// old and the proposed ISR (Kafka's "maximal ISR"), so neither a pending
// shrink nor a pending expansion lets it move past what the ISR that ends
// up committed holds. The committed ISR arrives in the answer or, if
// that is lost, in the metadata image.
func (b *Broker) alterISR(p *partition, isr []int32) {
	now := b.e.Clock().Mono()
	if p.isrPending != nil || now < p.isrRetryMono || b.brokerEpoch == 0 {
		return
	}
	isr = slices.Clone(isr)
	slices.Sort(isr)
	p.isrPending = isr
	p.isrPendingEpochs = make(map[int32]int64, len(isr))
	for _, id := range isr {
		p.isrPendingEpochs[id] = b.memberEpoch(p, id)
	}
	p.isrProposal++
	b.log.Info("isr change proposed", "topic", p.t.name, "partition", p.index, "from", p.isr, "to", isr)
	b.sendAlterISR(p, p.isrProposal)
}

// sendAlterISR sends the pending ISR change. An answer that never came
// (a timeout, a lost connection), or NOT_CONTROLLER from a controller that
// resigned with it in flight, leaves its fate unknown: the next controller
// may commit it. So the change stays pending, and the high watermark keeps
// counting its members, until an answer or the image (reconcilePartition,
// a newer partition epoch) says what the ISR is; it is sent again after a
// backoff meanwhile. Only INELIGIBLE_REPLICA (or OPERATION_NOT_ATTEMPTED)
// says the change was not made, as in Kafka's Partition. Dropping the
// change at once let the HW pass a joining follower's log end while the
// controller had already put it in the ISR (R3, R7).
func (b *Broker) sendAlterISR(p *partition, proposal uint64) {
	req := b.alterPartitionRequest(p, p.isrPending)
	epoch := p.leaderEpoch
	current := func() bool {
		return p.leaderEpoch == epoch && p.leader == b.cfg.NodeID && p.isrPending != nil && p.isrProposal == proposal
	}
	b.toController(req, func(resp kmsg.Response, err error) {
		if !current() {
			return // the role changed, or the image settled the change, meanwhile
		}
		r, _ := resp.(*kmsg.AlterPartitionResponse)
		code := alterPartitionCode(r, err)
		switch code {
		case 0:
		case kerr.IneligibleReplica.Code, kerr.OperationNotAttempted.Code:
			// The controller says the partition epoch is current and the
			// change was not made: back to the committed ISR.
			b.log.Info("isr change refused", "topic", p.t.name, "partition", p.index, "code", code)
			p.isrPending = nil
			p.isrRetryMono = b.e.Clock().Mono() + isrRetryBackoff
			b.maybeAdvanceHW(p)
			return
		default:
			// No answer, a controller that resigned with the change in
			// flight (the next one may commit it), or a newer leader or
			// partition epoch than this leader knows (a change of the same
			// epoch may be committed): stay pending until the image brings
			// the partition's state (Kafka's handleAlterPartitionError),
			// asking again meanwhile.
			b.log.Info("isr change unsettled; asking again", "topic", p.t.name, "partition", p.index, "code", code, "err", err)
			b.after(isrRetryBackoff.Milliseconds(), func() {
				if current() {
					b.sendAlterISR(p, proposal)
				}
			})
			return
		}
		p.isrPending = nil
		rp := r.Topics[0].Partitions[0]
		if rp.LeaderEpoch == p.leaderEpoch && rp.PartitionEpoch > p.partitionEpoch {
			p.isr, p.partitionEpoch = slices.Clone(rp.ISR), rp.PartitionEpoch
		}
		b.maybeAdvanceHW(p)
	})
}

// isrRetryBackoff spaces AlterPartition attempts after a refusal (an
// ineligible or fenced replica keeps being refused until it changes).
const isrRetryBackoff = time.Second

func (b *Broker) alterPartitionRequest(p *partition, isr []int32) *kmsg.AlterPartitionRequest {
	req := kmsg.NewPtrAlterPartitionRequest()
	req.SetVersion(3)
	req.BrokerID, req.BrokerEpoch = b.cfg.NodeID, b.brokerEpoch
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = p.index, p.leaderEpoch, p.partitionEpoch
	for _, id := range isr {
		m := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
		m.BrokerID, m.BrokerEpoch = id, b.memberEpoch(p, id)
		if e, ok := p.isrPendingEpochs[id]; ok {
			m.BrokerEpoch = e
		}
		rp.NewEpochISR = append(rp.NewEpochISR, m)
	}
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.TopicID = p.t.id
	rt.Partitions = []kmsg.AlterPartitionRequestTopicPartition{rp}
	req.Topics = []kmsg.AlterPartitionRequestTopic{rt}
	return req
}

// memberEpoch is an ISR member's broker epoch as this leader knows it:
// its own, or the one a follower's latest fetch carried (-1: unknown).
func (b *Broker) memberEpoch(p *partition, id int32) int64 {
	if id == b.cfg.NodeID {
		return b.brokerEpoch
	}
	if f := p.followers[id]; f != nil {
		return f.brokerEpoch
	}
	return -1
}

// alterPartitionCode is the outcome of an AlterPartition: the top-level
// or partition error, or -1 when nothing usable came back.
func alterPartitionCode(r *kmsg.AlterPartitionResponse, err error) int16 {
	switch {
	case err != nil || r == nil:
		return -1
	case r.ErrorCode != 0:
		return r.ErrorCode
	case len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1:
		return -1
	}
	return r.Topics[0].Partitions[0].ErrorCode
}

// maximalISR is the ISR the high watermark waits for: the committed one,
// plus the members of a pending change.
func (p *partition) maximalISR() []int32 {
	if p.isrPending == nil {
		return p.isr
	}
	out := slices.Clone(p.isr)
	for _, id := range p.isrPending {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// becomeLeader makes this broker the partition's leader at epoch.
func (b *Broker) becomeLeader(p *partition, epoch int32, replicas, isr []int32) {
	b.unfollow(p)
	p.leader, p.leaderEpoch = b.cfg.NodeID, epoch
	p.replicas, p.isr = slices.Clone(replicas), slices.Clone(isr)
	p.followers = map[int32]*followerState{}
	p.leaderSinceMono = b.e.Clock().Mono()
	p.isrPending, p.isrRetryMono = nil, 0
	b.maybeAdvanceHW(p)
}

// pendingProduce is a produce request whose answer waits for some of its
// partitions to be acknowledgeable.
type pendingProduce struct {
	r     *request
	resp  *kmsg.ProduceResponse
	waits []*ackWait
	left  int
	timer env.Timer
	done  bool
}

// ackWait is one partition of a pending produce.
type ackWait struct {
	pp     *pendingProduce
	topic  int
	part   int
	end    int64 // the offset after the batch
	acksHW bool  // acks=-1: wait for the HW; acks=1: for this replica
	// settled: answered (satisfied or failed); an unsettled wait at the
	// request's timeout is REQUEST_TIMED_OUT.
	settled bool
	p       *partition
}

// waitAcks parks a produce answer until each listed wait is satisfied or
// the request's timeout passes (REQUEST_TIMED_OUT for what is left).
func (b *Broker) waitAcks(r *request, resp *kmsg.ProduceResponse, waits []*ackWait, timeoutMs int32) {
	pp := &pendingProduce{r: r, resp: resp, waits: waits, left: len(waits)}
	if pp.left == 0 {
		r.respond(resp)
		return
	}
	for _, w := range waits {
		w.pp = pp
	}
	pp.timer = b.e.Clock().AfterFunc(time.Duration(max(timeoutMs, 0))*time.Millisecond, func() {
		b.expireProduce(pp)
	})
	for _, w := range waits {
		w.p.acks = append(w.p.acks, w)
	}
	for _, w := range waits {
		b.checkAcks(w.p)
	}
	r.parked()
}

// checkAcks completes the waits on p that are now satisfied. A write
// acknowledged by the ISR while the ISR is below min.insync.replicas gets
// NOT_ENOUGH_REPLICAS_AFTER_APPEND, as in Kafka: it is in the log, but not
// as durable as the producer asked, so the outcome is ambiguous.
func (b *Broker) checkAcks(p *partition) {
	kept := p.acks[:0]
	for _, w := range p.acks {
		switch {
		case w.pp.done:
		case w.acksHW && b.acksAllDone(p, w.end):
			if len(p.isr) < b.minISR(p) {
				b.failWait(w, kerr.NotEnoughReplicasAfterAppend)
			} else {
				b.finishWait(w)
			}
		case !w.acksHW && p.ackEnd() >= w.end:
			b.finishWait(w)
		default:
			kept = append(kept, w)
		}
	}
	clear(p.acks[len(kept):])
	p.acks = kept
}

// failAcks fails every wait on p (the log failed, or this broker stopped
// leading it).
func (b *Broker) failAcks(p *partition, e *kerr.Error) {
	for _, w := range p.acks {
		if !w.pp.done {
			b.failWait(w, e)
		}
	}
	p.acks = nil
}

func (b *Broker) failWait(w *ackWait, e *kerr.Error) {
	sp := &w.pp.resp.Topics[w.topic].Partitions[w.part]
	sp.ErrorCode, sp.BaseOffset = e.Code, -1
	b.finishWait(w)
}

// finishWait counts a satisfied wait; the last one answers, in a callback
// of its own so the connection's next request never runs inside whatever
// moved the high watermark.
func (b *Broker) finishWait(w *ackWait) {
	w.settled = true
	pp := w.pp
	if pp.left--; pp.left > 0 {
		return
	}
	pp.done = true
	pp.timer.Stop()
	b.e.Clock().AfterFunc(0, func() { pp.r.respond(pp.resp) })
}

func (b *Broker) expireProduce(pp *pendingProduce) {
	if pp.done {
		return
	}
	pp.done = true
	for _, w := range pp.waits {
		if !w.settled {
			sp := &pp.resp.Topics[w.topic].Partitions[w.part]
			sp.ErrorCode, sp.BaseOffset = kerr.RequestTimedOut.Code, -1
		}
	}
	pp.r.respond(pp.resp)
}
