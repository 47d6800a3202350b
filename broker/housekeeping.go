package broker

import "time"

// housekeeping runs every TickMs: each log's time-based work (segment.ms
// rolls, flush.ms, retention by retention.ms/bytes), producer expiry, and
// the high watermark catching up if the log start moved past it.
func (b *Broker) housekeeping() {
	b.reopenFailedLogs()
	nowMs := b.nowMs()
	expiryMs := int64(b.brokerSettings().ProducerIDExpirationMs)
	for _, p := range b.sortedPartitions() {
		if err := p.log.Tick(); err != nil {
			b.log.Warn("log housekeeping", "topic", p.t.name, "partition", p.index, "err", err)
		}
		p.producers.forgetBelow(p.log.StartOffset())
		p.producers.expire(nowMs, expiryMs)
		b.shrinkISR(p, int64(b.brokerSettings().ReplicaLagTimeMaxMs))
		if p.hw < p.log.StartOffset() {
			b.advanceHW(p, p.log.StartOffset())
		}
	}
}

// reopenFailedLogs closes every replica whose log failed (a write or
// fsync error) and opens it again from disk. Kafka takes a failed log
// directory offline and, with a single one, halts the broker, which its
// supervisor restarts; gregor restarts the replica alone, the same way:
// recovery keeps what the disk holds, and the role comes back from the
// metadata image. Until then the replica answers with errors, and nothing
// it failed to store is acknowledged.
func (b *Broker) reopenFailedLogs() {
	for _, p := range b.sortedPartitions() {
		if err := p.log.Err(); err != nil {
			b.log.Warn("reopening a failed log", "topic", p.t.name, "partition", p.index, "err", err)
			b.reopened[reopenKey{p.t.id, p.index}] = reopenState{hw: p.hw, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch,
				isrPending: p.isrPending, isrPendingEpochs: p.isrPendingEpochs}
			b.closeReplica(p)
			p.t.partitions[p.index] = nil
			b.reopenPending = true
		}
	}
	if b.reopenPending && !b.closed && b.ctl != nil {
		b.reconcile()
	}
}

// flushAll fsyncs every log (graceful stop), then calls done; a flush
// that does not finish within StopTimeoutMs is given up on, logged.
func (b *Broker) flushAll(done func()) {
	ps := b.sortedPartitions()
	finished := false
	finish := func() {
		if !finished {
			finished = true
			done()
		}
	}
	timer := b.e.Clock().AfterFunc(time.Duration(b.cfg.StopTimeoutMs)*time.Millisecond, func() {
		b.log.Warn("stop: flush timed out", "timeout_ms", b.cfg.StopTimeoutMs)
		finish()
	})
	left := len(ps) + 1
	step := func(err error) {
		if err != nil {
			b.log.Warn("stop: flush failed", "err", err)
		}
		if left--; left == 0 {
			timer.Stop()
			finish()
		}
	}
	for _, p := range ps {
		// Flush, then the checkpoints (recovery point, log start, leader
		// epochs), so a clean restart re-reads nothing.
		p.log.Flush(func(err error) {
			if err != nil {
				step(err)
				return
			}
			p.log.Checkpoint(step)
		})
	}
	step(nil)
}
