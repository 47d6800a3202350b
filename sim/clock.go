package sim

import (
	"time"

	"github.com/gregor-dst/gregor/env"
)

// DefaultEpoch is the wall-clock time at virtual time zero. It is fixed so
// that timestamps in a run (Kafka record timestamps, log lines) are the same
// in every rerun.
var DefaultEpoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// nodeClock is a node's oscillator. With true (virtual) time T:
//
//	wall(T) = wallBase + scale(T − base)
//	mono(T) = monoBase + scale(T − base)
//	scale(d) = d × (1 + driftPpm/10⁶)
//
// Changing the drift rebases both at the current instant so the clocks stay
// continuous; a jump moves only wallBase, since monotonic time never jumps.
// Integer parts-per-million keep the arithmetic exact and free of floating
// point, so it is the same on every machine.
type nodeClock struct {
	base     Time
	wallBase int64 // Unix nanoseconds at base
	monoBase int64 // monotonic nanoseconds at base
	driftPpm int64
}

func newNodeClock(now Time, epoch time.Time) nodeClock {
	return nodeClock{base: now, wallBase: epoch.UnixNano() + int64(now), monoBase: int64(now)}
}

func (c *nodeClock) wall(now Time) int64 { return c.wallBase + scalePpm(int64(now-c.base), c.driftPpm) }
func (c *nodeClock) mono(now Time) int64 { return c.monoBase + scalePpm(int64(now-c.base), c.driftPpm) }

func (c *nodeClock) rebase(now Time) {
	c.wallBase, c.monoBase, c.base = c.wall(now), c.mono(now), now
}

func (c *nodeClock) setDrift(now Time, ppm int64) {
	if ppm <= -1_000_000 {
		panic("sim: clock drift must be above -10⁶ ppm")
	}
	c.rebase(now)
	c.driftPpm = ppm
}

func (c *nodeClock) jump(now Time, d time.Duration) {
	c.rebase(now)
	c.wallBase += int64(d)
}

// setOffset makes wall time equal true wall time plus offset from now on.
func (c *nodeClock) setOffset(now Time, epoch time.Time, offset time.Duration) {
	c.rebase(now)
	c.wallBase = epoch.UnixNano() + int64(now) + int64(offset)
}

// trueSpan converts a span of this node's monotonic time to virtual time,
// rounding up so a timer never fires early by its own clock. The drift in
// force when the timer is armed is used for its whole span; drift changes
// are rare and small, and this keeps timers out of the drift bookkeeping.
func (c *nodeClock) trueSpan(d int64) Time {
	if c.driftPpm == 0 {
		return Time(d)
	}
	m := 1_000_000 + c.driftPpm
	q, r := d/m, d%m
	t := q*1_000_000 + (r*1_000_000+m-1)/m
	return Time(t)
}

// scalePpm computes ⌊d × (10⁶+ppm)/10⁶⌋ without overflow for any run
// length: d is split into whole millions and a remainder.
//
// It rounds down for either sign of drift (Go's division truncates towards
// zero, which would round up a slow clock): trueSpan rounds a timer up to
// the first instant at which the clock, so read, has reached the deadline,
// and a slow node must not read its deadline a nanosecond before its timer
// fires.
func scalePpm(d, ppm int64) int64 {
	if ppm == 0 {
		return d
	}
	q, r := d/1_000_000, d%1_000_000
	x := r * ppm
	f := x / 1_000_000
	if x%1_000_000 < 0 {
		f--
	}
	return d + q*ppm + f
}

// timer is one armed AfterFunc.
type timer struct {
	stopped bool
	fired   bool
}

func (t *timer) Stop() bool {
	wasPending := !t.stopped && !t.fired
	t.stopped = true
	return wasPending
}

// simClock is the env.Clock a node incarnation sees.
type simClock struct {
	n   *Node
	inc uint64
}

var _ env.Clock = simClock{}

func (c simClock) Now() time.Time {
	return time.Unix(0, c.n.clock.wall(c.n.sim.sched.now)).UTC()
}

func (c simClock) Mono() time.Duration {
	return time.Duration(c.n.clock.mono(c.n.sim.sched.now))
}

func (c simClock) AfterFunc(d time.Duration, f func()) env.Timer {
	n := c.n
	t := &timer{}
	span := max(n.clock.trueSpan(int64(d)), 0)
	n.timerSeq++
	rec := Record{Kind: KindTimer, Node: n.index, A: n.timerSeq}
	fire := func() {
		t.fired = true
		f()
	}
	if span == 0 {
		n.sim.sched.soonFor(rec, &n.gate, c.inc, t, fire)
		return t
	}
	n.sim.sched.scheduleFor(n.sim.sched.now+span, rec, &n.gate, c.inc, t, fire)
	return t
}
