package real

import (
	"container/heap"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// clock is the node's env.Clock: the machine's wall clock, and monotonic
// time since the Runtime was made (time.Since reads Go's monotonic clock,
// which never jumps).
type clock struct{ r *Runtime }

var _ env.Clock = clock{}

func (c clock) Now() time.Time      { return time.Now() }
func (c clock) Mono() time.Duration { return c.r.mono() }

func (r *Runtime) mono() time.Duration { return time.Since(r.start) }

// AfterFunc queues f on the node's timer heap.
func (c clock) AfterFunc(d time.Duration, f func()) env.Timer {
	return c.r.timers.add(max(d, 0), f)
}

// timers keeps a node's armed timers in a heap on the loop, ordered by
// (deadline, arming order) as the simulator orders them, and one
// time.Timer (wake) for the earliest deadline. Separate time.AfterFunc
// timers would not do: each runs on a goroutine of its own, so two timers
// due close together could reach the loop in either order, and a timer
// whose closure is already queued could not be stopped. Loop only, except
// wake's function.
type timers struct {
	r        *Runtime
	heap     timerHeap
	seq      uint64
	wake     *time.Timer
	armed    bool          // wake is set for armedDue and has not run yet
	armedDue time.Duration // monotonic
}

func newTimers(r *Runtime) *timers {
	ts := &timers{r: r}
	ts.wake = time.AfterFunc(time.Hour, func() { r.post(ts.run) })
	ts.wake.Stop()
	return ts
}

func (ts *timers) add(d time.Duration, f func()) *timer {
	ts.seq++
	t := &timer{ts: ts, due: ts.r.mono() + d, seq: ts.seq, f: f}
	heap.Push(&ts.heap, t)
	ts.arm()
	return t
}

// run fires the timers that are due, in order. Timers armed while it runs
// wait for the next round even if due already (AfterFunc(0) from a timer),
// so a timer that re-arms itself cannot hold the loop.
func (ts *timers) run() {
	ts.armed = false
	now, last := ts.r.mono(), ts.seq
	for len(ts.heap) > 0 && !ts.r.doneFlag.Load() {
		t := ts.heap[0]
		if t.due > now || t.seq > last {
			break
		}
		heap.Pop(&ts.heap)
		t.f()
	}
	ts.arm()
}

// arm sets wake for the earliest deadline unless it is set for that or
// earlier. A wake that finds nothing due (its timer was stopped) just
// re-arms.
func (ts *timers) arm() {
	if len(ts.heap) == 0 {
		return
	}
	due := ts.heap[0].due
	if ts.armed && ts.armedDue <= due {
		return
	}
	ts.armed, ts.armedDue = true, due
	ts.wake.Reset(max(due-ts.r.mono(), 0))
}

func (ts *timers) stop() { ts.wake.Stop() }

// timer is an armed AfterFunc; index is its place in the heap, -1 once it
// fired or was stopped.
type timer struct {
	ts    *timers
	due   time.Duration
	seq   uint64
	f     func()
	index int
}

// Stop reports whether the timer was still pending. It takes the timer
// off the heap; wake may still come and find nothing to do.
func (t *timer) Stop() bool {
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.ts.heap, t.index)
	return true
}

// timerHeap implements heap.Interface by (due, seq).
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
