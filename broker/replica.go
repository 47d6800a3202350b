package broker

import (
	"slices"
	"time"

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

// soleReplica is the replication of a single-node broker: it leads, and
// it is the whole ISR.
func soleReplica(self int32) replication {
	return replication{leader: self, replicas: []int32{self}, isr: []int32{self}}
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
	for _, id := range p.isr {
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
	if !slices.Contains(p.isr, id) && offset >= p.hw && offset >= p.epochStart() {
		b.alterISR(p, append(slices.Clone(p.isr), id))
	}
	b.maybeAdvanceHW(p)
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

// alterISR changes a partition's ISR. Without a controller (a single
// node, or a test wiring replicas by hand) the leader decides alone; in a
// cluster the change goes through AlterPartition.
func (b *Broker) alterISR(p *partition, isr []int32) {
	slices.Sort(isr)
	b.log.Info("isr change", "topic", p.t.name, "partition", p.index, "from", p.isr, "to", isr)
	p.isr = isr
	p.partitionEpoch++
	b.maybeAdvanceHW(p)
}

// becomeLeader makes this broker the partition's leader at epoch.
func (b *Broker) becomeLeader(p *partition, epoch int32, replicas, isr []int32) {
	b.unfollow(p)
	p.leader, p.leaderEpoch = b.cfg.NodeID, epoch
	p.replicas, p.isr = slices.Clone(replicas), slices.Clone(isr)
	p.followers = map[int32]*followerState{}
	p.leaderSinceMono = b.e.Clock().Mono()
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
		case w.acksHW && p.hw >= w.end:
			if len(p.isr) < p.t.settings.minInsyncReplicas {
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
