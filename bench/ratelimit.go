package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// RateLimiter hands out intended send times at a uniform rate: open-loop
// load, as OMB's UniformRateLimiter. The i-th Acquire returns start +
// i/rate, whatever the callers did with the earlier times, so a sender that
// falls behind (a blocked send, a slow broker) gets times in the past and
// sends at once: the schedule does not wait for the system under test,
// which is what removes coordinated omission. Senders record publish delay
// = actual send − intended send.
//
// Times are durations on the caller's monotonic clock (the now function).
// The start is the clock at the first Acquire. Safe for concurrent use by
// every producer of a run.
type RateLimiter struct {
	now          func() time.Duration
	opsPerSecond float64
	start        atomic.Int64 // nanoseconds; startUnset until the first Acquire
	issued       atomic.Int64
}

const startUnset = math.MinInt64

// NewRateLimiter returns a limiter at opsPerSecond on the clock now.
func NewRateLimiter(opsPerSecond float64, now func() time.Duration) (*RateLimiter, error) {
	if math.IsNaN(opsPerSecond) || math.IsInf(opsPerSecond, 0) || opsPerSecond <= 0 {
		return nil, fmt.Errorf("rate limiter: rate must be a positive number, got %v", opsPerSecond)
	}
	l := &RateLimiter{now: now, opsPerSecond: opsPerSecond}
	l.start.Store(startUnset)
	return l, nil
}

// OpsPerSecond is the limiter's rate.
func (l *RateLimiter) OpsPerSecond() float64 { return l.opsPerSecond }

// Acquire returns the next intended send time. The i-th time is computed
// from i, not by adding intervals, so no rounding error accumulates.
func (l *RateLimiter) Acquire() time.Duration {
	i := l.issued.Add(1) - 1
	start := l.start.Load()
	if start == startUnset {
		l.start.CompareAndSwap(startUnset, int64(l.now())) // the first caller sets it
		start = l.start.Load()
	}
	return time.Duration(start + int64(float64(i)*1e9/l.opsPerSecond))
}

// pacer sleeps one goroutine until intended times. It reuses one timer.
//
// It sleeps with the Go runtime's timers, whose overshoot is the OS timer
// slack (measured and recorded in each result as timerSlackMicros, often
// 50 µs – 1 ms in containers). Spinning instead would be exact but burn a
// CPU per producer, which on a small machine steals from an in-process
// broker. So publish delays below the timer slack are the harness, not
// the target.
type pacer struct {
	now   func() time.Duration
	timer *time.Timer
}

func newPacer(now func() time.Duration) *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{now: now, timer: t}
}

// sleepUntil returns false if ctx ended first.
func (p *pacer) sleepUntil(ctx context.Context, t time.Duration) bool {
	d := t - p.now()
	if d <= 0 {
		return ctx.Err() == nil
	}
	p.timer.Reset(d)
	select {
	case <-ctx.Done():
		p.timer.Stop()
		return false
	case <-p.timer.C:
		return true
	}
}

// measureTimerSlack is the median overshoot of short sleeps: the floor
// under which publish delay is the harness's own.
func measureTimerSlack() time.Duration {
	const samples = 15
	var overshoots [samples]time.Duration
	for i := range overshoots {
		start := time.Now()
		time.Sleep(50 * time.Microsecond)
		overshoots[i] = time.Since(start) - 50*time.Microsecond
	}
	slices.Sort(overshoots[:])
	return overshoots[samples/2]
}
