package bench

import (
	"context"
	"fmt"
	"time"
)

// counts are the run's totals so far.
type counts struct {
	sent, errors, sentBytes, received, receivedBytes int64
}

func (c counts) backlog(subs int64) int64 { return max(0, subs*c.sent-c.received) }

func (r *run) counts() counts {
	var c counts
	for _, p := range r.producers {
		c.sent += p.sent.Load()
		c.errors += p.errors.Load()
		c.sentBytes += p.sentBytes.Load()
	}
	for _, k := range r.consumers {
		c.received += k.received.Load()
		c.receivedBytes += k.receivedBytes.Load()
	}
	return c
}

// windowStats is one window, latencies in microseconds.
type windowStats struct {
	elapsed                                        time.Duration
	publishRate, publishErrorRate, consumeRate     float64
	publishBytesRate, consumeBytesRate, targetRate float64
	backlog                                        int64
	publish, delay, endToEnd                       latencyStats
}

// phase collects windows until duration has passed (and, in the measured
// phase, no backlog is being built or drained). Measured windows go into
// the result and the aggregates; every window goes to Progress and Log.
func (r *run) phase(ctx context.Context, phase Phase, duration time.Duration) error {
	start := r.lastWindowAt
	end := start.Add(duration)
	measured := phase == PhaseTest
	for k := 0; ; k++ {
		next := start.Add(time.Duration(k+1) * r.opts.Window)
		if next.After(end) && !r.backlogPending(phase) {
			if !end.After(r.lastWindowAt) {
				return nil // a backlog phase ended past the planned end
			}
			next = end
		}
		if err := sleepUntilTime(ctx, next); err != nil {
			return err
		}
		w := r.collectWindow(measured)
		p := r.progress(phase, k, time.Since(start), duration, w)
		fmt.Fprintln(r.log, p.String())
		if r.opts.Progress != nil {
			r.opts.Progress(p)
		}
		if measured {
			r.result.addWindow(w)
			if err := r.checkpoint(); err != nil {
				return err
			}
		}
		if !time.Now().Before(end) && !r.backlogPending(phase) {
			return nil
		}
	}
}

func (r *run) backlogPending(phase Phase) bool {
	return phase == PhaseTest && r.backlogPhase.Load()
}

func sleepUntilTime(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// collectWindow drains every recorder and counter into one window.
func (r *run) collectWindow(measured bool) windowStats {
	now := time.Now()
	elapsed := now.Sub(r.lastWindowAt)
	r.lastWindowAt = now
	c := r.counts()
	last := r.lastCounts
	r.lastCounts = c

	for _, h := range r.window {
		h.Reset()
	}
	for _, p := range r.producers {
		p.latency.drainInto(r.window[0])
		p.delay.drainInto(r.window[1])
	}
	for _, k := range r.consumers {
		k.endToEnd.drainInto(r.window[2])
	}
	if measured {
		for i, h := range r.window {
			r.aggregate[i].Merge(h)
		}
	}
	secs := max(elapsed.Seconds(), 1e-9)
	return windowStats{
		elapsed:          elapsed,
		publishRate:      float64(c.sent-last.sent) / secs,
		publishErrorRate: float64(c.errors-last.errors) / secs,
		consumeRate:      float64(c.received-last.received) / secs,
		publishBytesRate: float64(c.sentBytes-last.sentBytes) / secs,
		consumeBytesRate: float64(c.receivedBytes-last.receivedBytes) / secs,
		targetRate:       r.limiter.Load().OpsPerSecond(),
		backlog:          c.backlog(r.subs),
		publish:          summarize(r.window[0]),
		delay:            summarize(r.window[1]),
		endToEnd:         summarize(r.window[2]),
	}
}

func (r *run) progress(phase Phase, k int, elapsed, duration time.Duration, w windowStats) Progress {
	return Progress{
		Phase: phase, Window: k, Elapsed: elapsed, Duration: duration, TargetRate: w.targetRate,
		PublishRate: w.publishRate, PublishErrorRate: w.publishErrorRate, ConsumeRate: w.consumeRate,
		PublishBytesRate: w.publishBytesRate, ConsumeBytesRate: w.consumeBytesRate, Backlog: w.backlog,
		PublishLatency: latencySummary(w.publish), PublishDelay: latencySummary(w.delay), EndToEnd: latencySummary(w.endToEnd),
	}
}
