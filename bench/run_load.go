package bench

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// load runs the producers through the warm-up and the measured phase.
func (r *run) load(ctx context.Context) error {
	rate := r.w.ProducerRate
	if rate == 0 {
		rate = maxRateInitial
	}
	if err := r.setRate(rate); err != nil {
		return err
	}
	loadCtx, stop := context.WithCancel(ctx)
	r.stopLoad = stop
	produceCtx, stopProduce := context.WithCancel(context.WithoutCancel(ctx))
	r.stopProduce = stopProduce
	for _, p := range r.producers {
		r.loadDone.Add(1)
		go func() {
			defer r.loadDone.Done()
			p.send(loadCtx, produceCtx, r)
		}()
	}
	if r.w.ProducerRate == 0 {
		r.loadDone.Add(1)
		go func() {
			defer r.loadDone.Done()
			r.controlRate(loadCtx)
		}()
	}
	r.lastWindowAt, r.lastCounts = time.Now(), r.counts()
	if d := r.w.WarmupDuration(); d > 0 {
		r.logf("----- warm-up (%v) -----", d)
		if err := r.phase(ctx, PhaseWarmup, d); err != nil {
			return err
		}
	}
	if r.w.ConsumerBacklogSizeGB > 0 {
		r.backlogPhase.Store(true)
		r.loadDone.Add(1)
		go func() {
			defer r.loadDone.Done()
			r.buildAndDrainBacklog(loadCtx)
		}()
	}
	r.logf("----- benchmark (%v) -----", r.w.TestDuration())
	return r.phase(ctx, PhaseTest, r.w.TestDuration())
}

func (r *run) setRate(rate float64) error {
	l, err := NewRateLimiter(rate, r.now)
	if err != nil {
		return err
	}
	r.limiter.Store(l)
	return nil
}

// controlRate runs the max-rate search (producerRate 0).
func (r *run) controlRate(ctx context.Context) {
	rc := NewRateController()
	rate := float64(maxRateInitial)
	ticker := time.NewTicker(r.opts.RateControlPeriod)
	defer ticker.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			c := r.counts()
			received := c.sent
			if r.subs > 0 {
				received = c.received / r.subs
			}
			rate = rc.NextRate(rate, now.Sub(last), c.sent, received)
			last = now
			_ = r.setRate(rate) // NextRate never returns less than maxRateFloor
		}
	}
}

// buildAndDrainBacklog is OMB's backlog mode: pause the consumers until
// consumerBacklogSizeGB is retained, resume them, wait until the backlog
// has drained to backlogDrainRatio, then run testDuration more.
func (r *run) buildAndDrainBacklog(ctx context.Context) {
	defer r.backlogPhase.Store(false)
	for _, c := range r.consumers {
		c.client.PauseFetchTopics(c.topic)
	}
	requested := r.w.ConsumerBacklogSizeGB * r.opts.backlogUnitBytes
	if !r.waitBacklog(ctx, func(backlog int64) bool { return backlog*int64(r.w.MessageSize) >= requested }) {
		return
	}
	r.logf("backlog of %d GB built; draining", r.w.ConsumerBacklogSizeGB)
	for _, c := range r.consumers {
		c.client.ResumeFetchTopics(c.topic)
	}
	capacity := requested / int64(r.w.MessageSize)
	empty := max(1000, int64((1-r.w.BacklogDrainRatio)*float64(capacity)))
	if !r.waitBacklog(ctx, func(backlog int64) bool { return backlog <= empty }) {
		return
	}
	r.logf("backlog drained; running %v more", r.w.TestDuration())
	select {
	case <-ctx.Done():
	case <-time.After(r.w.TestDuration()):
	}
}

func (r *run) waitBacklog(ctx context.Context, done func(backlog int64) bool) bool {
	for {
		if done(r.counts().backlog(r.subs)) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// finish stops the load, waits (bounded) for outstanding acks and for the
// consumers, and fills in totals and aggregates.
func (r *run) finish(ctx context.Context, drain bool) {
	if r.stopLoad != nil {
		r.stopLoad()
		if !drain {
			r.stopProduce()
		}
		// A sender blocked on a full buffer returns when acks free space;
		// if the target never acks, fail its send.
		if !waitTimeout(&r.loadDone, r.opts.DrainTimeout) {
			r.note("senders still blocked %v after the load stopped: their sends failed", r.opts.DrainTimeout)
			r.stopProduce()
			r.loadDone.Wait()
		}
	}
	drained := false
	if drain && len(r.producers) > 0 {
		drained = r.drain(ctx)
	}
	c := r.counts()
	r.result.Totals = Totals{
		Published: c.sent, PublishErrors: c.errors, PublishedBytes: c.sentBytes,
		Consumed: c.received, ConsumedBytes: c.receivedBytes, ExpectedConsumed: c.sent * r.subs,
		Drained: drained,
	}
	r.result.setAggregates(summarize(r.aggregate[0]), summarize(r.aggregate[1]), summarize(r.aggregate[2]),
		quantilesOf(r.aggregate[0], 1000), quantilesOf(r.aggregate[1], 1), quantilesOf(r.aggregate[2], 1000))
	r.result.Setup.EndTime = time.Now().UTC()
}

// drain waits, at most DrainTimeout, until every send is answered and
// consumers have every acknowledged record.
func (r *run) drain(ctx context.Context) bool {
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.DrainTimeout)
	defer cancel()
	for _, p := range r.producers {
		if err := p.client.Flush(drainCtx); err != nil {
			r.note("sends still unanswered %v after the load stopped: %v", r.opts.DrainTimeout, err)
			return false
		}
	}
	return r.waitBacklog(drainCtx, func(backlog int64) bool { return backlog == 0 })
}

// waitTimeout waits for wg, at most d; it reports whether wg finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// close releases clients and, unless asked to keep them, the topics and
// groups. Nothing here waits long on a target that stopped answering:
// leaving groups and deleting topics are bounded, and connections the
// target holds are freed by its Teardown.
func (r *run) close(ctx context.Context) {
	if r.stopProduce != nil {
		r.stopProduce() // after the drain: it fails what is still buffered
	}
	if r.stopConsume != nil {
		r.stopConsume()
	}
	// Closing a group consumer commits and leaves the group, which waits
	// for the broker; a target that stopped answering would hold it for
	// as long as the client retries. So clients close in the background,
	// bounded: the stragglers end when the target's Teardown drops their
	// connections.
	var closing sync.WaitGroup
	for _, c := range r.consumers {
		closing.Add(1)
		go func() { defer closing.Done(); c.client.Close() }()
	}
	for _, p := range r.producers {
		closing.Add(1)
		go func() { defer closing.Done(); p.client.Close() }()
	}
	if !waitTimeout(&closing, r.opts.cleanupTimeout) {
		r.note("clients still closing %v after the run (the target is not answering)", r.opts.cleanupTimeout)
	}
	r.consumeDone.Wait()
	if r.admin == nil {
		return
	}
	defer r.admin.Close()
	if r.opts.KeepTopics || len(r.topics) == 0 {
		return
	}
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.cleanupTimeout)
	defer cancel()
	adm := kadm.NewClient(r.admin)
	if len(r.groups) > 0 {
		_, _ = adm.DeleteGroups(cleanCtx, r.groups...)
	}
	_, _ = adm.DeleteTopics(cleanCtx, r.topics...)
}
