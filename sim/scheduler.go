package sim

import (
	"fmt"
	"time"

	"github.com/gregor-dst/gregor/internal/assert"
)

// Time is virtual time: nanoseconds since the start of the run.
type Time int64

// Duration converts a virtual time span to a time.Duration.
func (t Time) Duration() time.Duration { return time.Duration(t) }

func (t Time) String() string { return time.Duration(t).String() }

// gate ties events to one incarnation of a node: when the node crashes its
// incarnation number moves on and the old incarnation's events are dropped
// unseen; while the node is paused its events are held back and run, in
// order, when it resumes.
type gate struct {
	inc    uint64
	paused bool
	held   []event
}

// event is one entry of the scheduler's queue. Events are ordered by (at,
// seq): seq is the insertion sequence, so two events at the same instant run
// in the order they were scheduled, which is what makes a run reproducible.
// (A resumed node's released events take seqs that go first; see seqBase.)
type event struct {
	at    Time
	seq   uint64
	rec   Record
	fn    func()
	gate  *gate  // nil: not tied to a node incarnation
	inc   uint64 // gate.inc when scheduled
	timer *timer // non-nil for timers: skipped once stopped
}

// key is what the heap orders: small, so sifting moves 24 bytes rather
// than a whole event. body indexes the event in the scheduler's slab.
type key struct {
	at   Time
	seq  uint64
	body uint32
}

func (a key) before(b key) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// LimitError is the loud failure when the event queue passes its bound,
// almost always a runaway timer loop or a flood of frames.
type LimitError struct {
	Queued, Max int
	At          Time
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("sim: %d events queued at t=%s, over the bound of %d (a runaway timer or message loop?)",
		e.Queued, e.At, e.Max)
}

// Scheduler is a discrete-event loop over virtual time. It is not safe for
// concurrent use: a whole simulation runs on one goroutine.
type Scheduler struct {
	now       Time
	seq       uint64  // last sequence number of an ordinary event
	seqFirst  uint64  // last sequence number of a released event
	queue     []key   // 4-ary min-heap on (at, seq)
	bodies    []event // slab; queue entries point into it
	free      []uint32
	queuedMax int
	held      int // events held by paused gates; they count towards the bound
	trace     *Trace
	executed  uint64
	// last is the record of the event run last, for drivers that check
	// the world after every event of some nodes (Last).
	last Record
	// inEvent: an event's function is running. soon holds the zero-delay
	// callbacks it asked for; they run right after it, in order, as part
	// of it (see soonFor).
	inEvent bool
	soon    []event
}

// NewScheduler makes a scheduler whose queue holds at most queuedMax events.
func NewScheduler(queuedMax int, trace *Trace) *Scheduler {
	if queuedMax <= 0 {
		panic("sim: queuedMax must be positive")
	}
	return &Scheduler{queuedMax: queuedMax, trace: trace, seq: seqBase, queue: make([]key, 0, 1024), bodies: make([]event, 0, 1024)}
}

// Sequence numbers come from two ranges. Ordinary events count up from
// seqBase; the events a resumed node releases count up from zero, below
// every ordinary one. So at the instant of a resume the node's backlog runs
// first, in its own order, before anything else due then: otherwise an
// event queued for that instant before the resume (the node's own timer, a
// frame arriving for it) would overtake work that was due earlier.
const seqBase = 1 << 62

// Now is the current virtual time.
func (s *Scheduler) Now() Time { return s.now }

// Executed counts the events run so far.
func (s *Scheduler) Executed() uint64 { return s.executed }

// Last is the record of the event run last (the zero Record before any):
// a driver stepping the scheduler itself learns which node it touched.
func (s *Scheduler) Last() Record { return s.last }

// Queued counts the events waiting, held ones included.
func (s *Scheduler) Queued() int { return len(s.queue) + s.held }

// Schedule runs fn at time at (clamped to now), recording rec in the trace
// when it runs. It panics with *LimitError past the queue bound; Run turns
// that into an error.
func (s *Scheduler) Schedule(at Time, rec Record, fn func()) {
	s.push(event{at: at, rec: rec, fn: fn})
}

func (s *Scheduler) scheduleGated(at Time, rec Record, g *gate, t *timer, fn func()) {
	s.scheduleFor(at, rec, g, g.inc, t, fn)
}

// scheduleFor ties an event to incarnation inc of g's node, which may be
// over already: then the event is dead on arrival. The Env of an
// incarnation schedules this way, so that a process still running code
// after its own end (after calling Stop's done, which kills it at once)
// cannot plant callbacks in the node's next life or in its downtime.
func (s *Scheduler) scheduleFor(at Time, rec Record, g *gate, inc uint64, t *timer, fn func()) {
	s.push(event{at: at, rec: rec, fn: fn, gate: g, inc: inc, timer: t})
}

func (s *Scheduler) push(e event) { s.insert(e, &s.seq) }

// soonFor runs fn at the current instant, after whatever runs now: while
// an event runs, right after it and as part of it (a zero-delay timer
// costs no event of its own: the simulated process cannot tell, since
// nothing else could have run at the same instant in between but events
// that were due then anyway); otherwise as an event of its own. Its
// record is not traced: the event that asked for it is, and its order is
// fixed by the code that ran.
func (s *Scheduler) soonFor(rec Record, g *gate, inc uint64, t *timer, fn func()) {
	e := event{at: s.now, rec: rec, fn: fn, gate: g, inc: inc, timer: t}
	if !s.inEvent {
		s.push(e)
		return
	}
	if len(s.soon) >= s.queuedMax {
		panic(&LimitError{Queued: len(s.soon), Max: s.queuedMax, At: s.now})
	}
	s.soon = append(s.soon, e)
}

// runSoon runs the zero-delay callbacks of the event that just ran,
// including those they ask for in turn. A node that stopped itself
// meanwhile drops its own; a stopped timer is skipped.
func (s *Scheduler) runSoon() {
	for i := 0; i < len(s.soon); i++ {
		e := s.soon[i]
		s.soon[i] = event{}
		if s.admit(e) {
			e.fn()
		}
	}
	s.soon = s.soon[:0]
}

// insert queues e with the next sequence number of the range seq counts.
func (s *Scheduler) insert(e event, seq *uint64) {
	if e.at < s.now {
		e.at = s.now
	}
	if len(s.queue)+s.held >= s.queuedMax {
		s.compact()
		if len(s.queue)+s.held >= s.queuedMax {
			panic(&LimitError{Queued: len(s.queue) + s.held, Max: s.queuedMax, At: s.now})
		}
	}
	*seq++
	e.seq = *seq
	var body uint32
	if n := len(s.free); n > 0 {
		body = s.free[n-1]
		s.free = s.free[:n-1]
		s.bodies[body] = e
	} else {
		body = uint32(len(s.bodies))
		s.bodies = append(s.bodies, e)
	}
	s.queue = append(s.queue, key{at: e.at, seq: e.seq, body: body})
	s.up(len(s.queue) - 1)
}

// Step runs the next event. It reports false when the queue is empty.
func (s *Scheduler) Step() bool { return s.StepUntil(Time(1<<63 - 1)) }

// StepUntil runs the next event due at or before limit, skipping events
// that can no longer run. It reports false when none is left by limit;
// time then stays at the last event run or skipped.
func (s *Scheduler) StepUntil(limit Time) bool {
	for len(s.queue) > 0 && s.queue[0].at <= limit {
		e := s.pop()
		// Time never runs backwards: push clamps to now and the heap
		// yields the minimum. A failure here is a broken heap.
		assert.That(e.at >= s.now, "scheduler: event before now")
		s.now = e.at
		if assert.Enabled {
			s.checkHeap()
		}
		if !s.admit(e) {
			continue
		}
		s.executed++
		s.trace.add(e.at, e.rec)
		s.last = e.rec
		s.inEvent = true
		e.fn()
		s.runSoon()
		s.inEvent = false
		return true
	}
	return false
}

// admit decides whether a popped event runs now: events of a dead
// incarnation or a stopped timer are dropped, those of a paused node held.
func (s *Scheduler) admit(e event) bool {
	if e.timer != nil && e.timer.stopped {
		return false
	}
	if e.gate == nil {
		return true
	}
	if e.gate.inc != e.inc {
		return false
	}
	if e.gate.paused {
		e.gate.held = append(e.gate.held, e)
		s.held++
		return false
	}
	return true
}

// release requeues a resumed gate's held events at now, in their order,
// ahead of every other event due now (see seqBase).
func (s *Scheduler) release(g *gate) {
	held := g.held
	g.held = nil
	s.held -= len(held)
	for _, e := range held {
		e.at = s.now
		s.insert(e, &s.seqFirst)
	}
}

// drop forgets a gate's held events (the node crashed while paused).
func (s *Scheduler) drop(g *gate) {
	s.held -= len(g.held)
	g.held = nil
}

// Next is the time of the earliest queued event, if any.
func (s *Scheduler) Next() (Time, bool) {
	if len(s.queue) == 0 {
		return 0, false
	}
	return s.queue[0].at, true
}

// AdvanceTo moves time forward to t without running anything; used after
// the queue drains so that "run for 10s" ends at 10s.
func (s *Scheduler) AdvanceTo(t Time) {
	if t > s.now {
		s.now = t
	}
}

// compact removes events that can never run (stopped timers, dead
// incarnations) so that the bound counts only live work.
func (s *Scheduler) compact() {
	live := s.queue[:0]
	for _, k := range s.queue {
		e := &s.bodies[k.body]
		if e.timer != nil && e.timer.stopped || e.gate != nil && e.gate.inc != e.inc {
			*e = event{}
			s.free = append(s.free, k.body)
			continue
		}
		live = append(live, k)
	}
	s.queue = live
	// Heapify from the last parent down. With fewer than two keys there is
	// no parent, and (0-2)/4 truncates to 0: down(0) on an empty queue
	// (everything compacted away) would index out of range.
	if len(s.queue) < 2 {
		return
	}
	for i := (len(s.queue) - 2) / 4; i >= 0; i-- {
		s.down(i)
	}
}

// pop removes the earliest event and frees its slab slot.
func (s *Scheduler) pop() event {
	q := s.queue
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	s.queue = q[:last]
	if last > 0 {
		s.down(0)
	}
	e := s.bodies[top.body]
	s.bodies[top.body] = event{} // drop references for the GC
	s.free = append(s.free, top.body)
	return e
}

// up and down sift by moving a hole rather than swapping: each key moves
// once. The heap is 4-ary, half as deep as a binary one.
func (s *Scheduler) up(i int) {
	q := s.queue
	k := q[i]
	for i > 0 {
		p := (i - 1) / 4
		if !k.before(q[p]) {
			break
		}
		q[i] = q[p]
		i = p
	}
	q[i] = k
}

func (s *Scheduler) down(i int) {
	q := s.queue
	n := len(q)
	k := q[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if q[j].before(q[m]) {
				m = j
			}
		}
		if !q[m].before(k) {
			break
		}
		q[i] = q[m]
		i = m
	}
	q[i] = k
}

// checkHeap verifies the heap order around the root and its children, and
// that every queued key points at its own body. It is an invariants-build
// check: a sampled walk, cheap enough to run on every event.
func (s *Scheduler) checkHeap() {
	q := s.queue
	for i := 1; i < len(q) && i <= 16; i++ {
		assert.That(!q[i].before(q[(i-1)/4]), "scheduler: heap order broken")
	}
	for i := 0; i < len(q) && i < 16; i++ {
		b := &s.bodies[q[i].body]
		assert.That(b.seq == q[i].seq && b.at == q[i].at, "scheduler: key and body disagree")
	}
}
