package sim

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// State is a node's lifecycle state.
type State uint8

const (
	Down     State = iota // never started, crashed, or stopped
	Up                    // running
	Stopping              // asked to stop gracefully, not done yet
)

func (s State) String() string {
	return [...]string{"down", "up", "stopping"}[s]
}

// Node is one simulated host: a process (restartable), its clock, its disk
// and its network endpoints. Clients are nodes too.
type Node struct {
	sim     *Sim
	index   int32
	name    string
	factory func() env.Process
	state   State
	gate    gate
	clock   nodeClock
	disk    *Disk
	proc    env.Process
	log     *slog.Logger
	rng     *rand.Rand

	starts    uint64
	timerSeq  uint64
	listeners map[int]*listener
	endpoints map[uint64]*endpoint
	// stopTimeout bounds a graceful stop; past it the node is killed.
	stopTimeout time.Duration
}

// Name is the node's name, also its host name on the simulated network.
func (n *Node) Name() string { return n.name }

// Index is the node's position in the order nodes were added.
func (n *Node) Index() int { return int(n.index) }

// State is the node's lifecycle state.
func (n *Node) State() State { return n.state }

// Paused reports whether the node is paused.
func (n *Node) Paused() bool { return n.gate.paused }

// Starts counts the node's starts, restarts included.
func (n *Node) Starts() uint64 { return n.starts }

// Disk is the node's disk, kept across crashes.
func (n *Node) Disk() *Disk { return n.disk }

// Process is the running incarnation's process, nil when down.
func (n *Node) Process() env.Process { return n.proc }

// WallClock is the node's wall-clock time now.
func (n *Node) WallClock() time.Time { return time.Unix(0, n.clock.wall(n.sim.sched.now)).UTC() }

// MonoClock is the node's monotonic time now.
func (n *Node) MonoClock() time.Duration { return time.Duration(n.clock.mono(n.sim.sched.now)) }

func (n *Node) rec(k Kind) Record { return Record{Kind: k, Node: n.index} }

// Start starts a new incarnation: a fresh process from the factory, with a
// fresh Env, seeing only what the disk kept. Start runs as an event at the
// current time.
func (n *Node) Start() error {
	if n.state != Down {
		return fmt.Errorf("start %s: node is %s", n.name, n.state)
	}
	kind := KindStart
	if n.starts > 0 {
		kind = KindRestart
	}
	n.starts++
	n.gate.inc++
	n.gate.paused = false
	n.state = Up
	n.proc = n.factory()
	e := &nodeEnv{n: n, inc: n.gate.inc}
	n.rng = n.sim.seeds.Stream(fmt.Sprintf("node/%s/%d", n.name, n.starts))
	n.sim.sched.scheduleGated(n.sim.sched.now, n.rec(kind), &n.gate, nil, func() { n.proc.Start(e) })
	return nil
}

// Crash kills the node at once, as a power loss does: memory, timers,
// connections and unsynced writes are gone; peers see their connections
// reset. Crashing a down node is a no-op.
func (n *Node) Crash() {
	if n.state == Down {
		return
	}
	n.sim.sched.Schedule(n.sim.sched.now, n.rec(KindCrash), func() {})
	n.kill(true)
	n.disk.crash()
}

// kill ends the incarnation. reset says whether peers see resets (a crash)
// or orderly closes (a stop).
func (n *Node) kill(reset bool) {
	n.sim.sched.drop(&n.gate)
	n.gate.inc++ // no queued event carries this number: the old incarnation's events die
	n.gate.paused = false
	for _, id := range slices.Sorted(maps.Keys(n.endpoints)) {
		n.endpoints[id].abort(reset)
	}
	for _, port := range slices.Sorted(maps.Keys(n.listeners)) {
		delete(n.listeners, port)
	}
	n.state, n.proc = Down, nil
}

// Stop asks the process to stop gracefully. The node goes down when the
// process calls done, or when the stop timeout passes (then it is killed
// like a crash, but its page cache survives: the OS kept running).
func (n *Node) Stop() {
	if n.state != Up {
		return
	}
	n.state = Stopping
	inc := n.gate.inc
	finish := func() {
		if n.state == Stopping && n.gate.inc == inc {
			n.sim.sched.Schedule(n.sim.sched.now, n.rec(KindStop), func() {})
			n.kill(false)
		}
	}
	n.sim.sched.scheduleGated(n.sim.sched.now, n.rec(KindCall), &n.gate, nil, func() { n.proc.Stop(finish) })
	n.sim.sched.Schedule(n.sim.sched.now+Time(n.stopTimeout), Record{Kind: KindUser, Node: n.index}, finish)
}

// Pause freezes the node like a long GC pause: nothing of it runs, its
// clocks keep going, frames for it wait in its kernel buffers.
func (n *Node) Pause() {
	if n.state == Down || n.gate.paused {
		return
	}
	n.sim.sched.Schedule(n.sim.sched.now, n.rec(KindPause), func() {})
	n.gate.paused = true
}

// Resume ends a pause: what was held runs now, in order.
func (n *Node) Resume() {
	if !n.gate.paused {
		return
	}
	n.sim.sched.Schedule(n.sim.sched.now, n.rec(KindResume), func() {})
	n.gate.paused = false
	n.sim.sched.release(&n.gate)
}

// SetClockOffset sets the wall clock to true time plus offset.
func (n *Node) SetClockOffset(offset time.Duration) {
	n.clock.setOffset(n.sim.sched.now, n.sim.opts.Epoch, offset)
	n.sim.sched.Schedule(n.sim.sched.now, Record{Kind: KindClock, Node: n.index, A: uint64(offset)}, func() {})
}

// SetClockDrift sets how fast both clocks run against true time, in parts
// per million (100 means 100 µs fast per second).
func (n *Node) SetClockDrift(ppm int64) {
	n.clock.setDrift(n.sim.sched.now, ppm)
	n.sim.sched.Schedule(n.sim.sched.now, Record{Kind: KindClock, Node: n.index, B: uint64(ppm)}, func() {})
}

// JumpClock moves the wall clock by d (negative: backwards). The monotonic
// clock does not jump.
func (n *Node) JumpClock(d time.Duration) {
	n.clock.jump(n.sim.sched.now, d)
	n.sim.sched.Schedule(n.sim.sched.now, Record{Kind: KindClock, Node: n.index, A: uint64(d), B: 1}, func() {})
}

// ---- env.Env ----

// nodeEnv is the Env of one incarnation.
type nodeEnv struct {
	n   *Node
	inc uint64
}

var _ env.Env = (*nodeEnv)(nil)

func (e *nodeEnv) Name() string     { return e.n.name }
func (e *nodeEnv) Clock() env.Clock { return simClock{n: e.n, inc: e.inc} }
func (e *nodeEnv) Net() env.Network { return simNet{n: e.n, inc: e.inc} }
func (e *nodeEnv) FS() env.FS       { return diskFS{d: e.n.disk, inc: e.inc} }
func (e *nodeEnv) Rand() *rand.Rand { return e.n.rng }
func (e *nodeEnv) Log() *slog.Logger {
	return e.n.log
}
