package sim

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// Options configure a Sim. Zero fields take the defaults of DefaultOptions.
type Options struct {
	Seed uint64
	// Epoch is the wall-clock time at virtual time zero.
	Epoch time.Time
	// QueuedEventsMax bounds the event queue; passing it fails the run.
	QueuedEventsMax int
	Net             NetOptions
	// StopTimeout bounds a graceful stop before the node is killed.
	StopTimeout time.Duration
	// Log receives the nodes' log lines (with virtual times); nil discards.
	Log io.Writer
	// LogLevel filters Log (default Info).
	LogLevel slog.Level
	// Trace, if set, receives one line per event run.
	Trace io.Writer

	_ struct{} // disallow positional literals
}

// DefaultOptions are the defaults for a seed.
func DefaultOptions(seed uint64) Options {
	return Options{
		Seed:            seed,
		Epoch:           DefaultEpoch,
		QueuedEventsMax: 1 << 22,
		Net:             DefaultNetOptions(),
		StopTimeout:     30 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Seed)
	if o.Epoch.IsZero() {
		o.Epoch = d.Epoch
	}
	if o.QueuedEventsMax == 0 {
		o.QueuedEventsMax = d.QueuedEventsMax
	}
	if o.Net == (NetOptions{}) {
		o.Net = d.Net
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = d.StopTimeout
	}
	return o
}

func (o Options) validate() error {
	n := o.Net
	switch {
	case o.QueuedEventsMax < 0:
		return errors.New("sim: QueuedEventsMax must not be negative")
	case n.DialTimeout <= 0 || n.StallTimeout <= 0:
		return errors.New("sim: Net.DialTimeout and Net.StallTimeout must be positive")
	case n.FrameBytesMax <= 0 || n.ConnQueuedBytesMax < n.FrameBytesMax:
		return errors.New("sim: Net.FrameBytesMax must be positive and at most Net.ConnQueuedBytesMax")
	case n.Latency.Min < 0 || n.Latency.Mean < n.Latency.Min || n.Latency.Tail < 0:
		return errors.New("sim: Net.Latency needs 0 <= Min <= Mean and Tail >= 0")
	case n.BandwidthBytesPerSecond < 0:
		return errors.New("sim: Net.BandwidthBytesPerSecond must not be negative")
	}
	return nil
}

// Sim is one simulated world: nodes, their network and disks, one
// scheduler, one seed. Everything runs on the caller's goroutine.
type Sim struct {
	opts   Options
	seeds  Seeds
	sched  *Scheduler
	trace  *Trace
	net    *Network
	nodes  []*Node
	byName map[string]*Node
	logOut *slog.Logger
	logH   *logHandler
	failed error // first panic or limit failure; the run stops there
}

// New makes an empty world.
func New(opts Options) (*Sim, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Sim{opts: opts, seeds: NewSeeds(opts.Seed), trace: newTrace(), byName: map[string]*Node{}}
	s.sched = NewScheduler(opts.QueuedEventsMax, s.trace)
	s.net = newNetwork(s, opts.Net)
	s.logH = newLogHandler(opts.Log, opts.LogLevel, s)
	if opts.Trace != nil {
		s.trace.writeTo(opts.Trace, func(i int32) string { return s.nodes[i].name })
	}
	return s, nil
}

// Seed is the run seed.
func (s *Sim) Seed() uint64 { return s.opts.Seed }

// Seeds gives drivers their own named random streams.
func (s *Sim) Seeds() Seeds { return s.seeds }

// Now is the current virtual time.
func (s *Sim) Now() Time { return s.sched.now }

// Net is the simulated network, for faults.
func (s *Sim) Net() *Network { return s.net }

// Scheduler gives drivers the event queue.
func (s *Sim) Scheduler() *Scheduler { return s.sched }

// TraceHash is the rolling hash over every event run so far.
func (s *Sim) TraceHash() uint64 { return s.trace.Hash() }

// Events counts the events run so far.
func (s *Sim) Events() uint64 { return s.trace.Count() }

// Nodes lists the nodes in the order they were added.
func (s *Sim) Nodes() []*Node { return s.nodes }

// Node finds a node by name, nil if there is none.
func (s *Sim) Node(name string) *Node { return s.byName[name] }

// AddNode adds a host named name (also its network host name) running the
// processes factory makes, one per incarnation. It starts down.
func (s *Sim) AddNode(name string, factory func() env.Process, disk DiskOptions) (*Node, error) {
	if name == "" || s.byName[name] != nil {
		return nil, fmt.Errorf("sim: node name %q is empty or taken", name)
	}
	n := &Node{
		sim: s, index: int32(len(s.nodes)), name: name, factory: factory,
		clock: newNodeClock(s.sched.now, s.opts.Epoch), stopTimeout: s.opts.StopTimeout,
		listeners: map[int]*listener{}, endpoints: map[uint64]*endpoint{},
	}
	n.disk = newDisk(n, disk, s.seeds.Stream("disk/"+name))
	n.log = slog.New(s.logH.forNode(name))
	s.nodes = append(s.nodes, n)
	s.byName[name] = n
	s.net.addHost()
	return n, nil
}

// At schedules fn, a driver's action (a fault, a client call), at time t.
func (s *Sim) At(t Time, fn func()) {
	s.sched.Schedule(t, Record{Kind: KindUser, Node: -1}, fn)
}

// RunFor runs events for d of virtual time and ends with the clock at
// now+d.
func (s *Sim) RunFor(d time.Duration) error { return s.RunUntil(s.sched.now + Time(d)) }

// RunUntil runs every event due at or before t, then sets the clock to t.
func (s *Sim) RunUntil(t Time) error {
	err := s.run(t, func() bool { return true })
	if err == nil {
		s.sched.AdvanceTo(t)
	}
	return err
}

// RunUntilIdle runs until no event is queued. A world with a periodic timer
// never idles, so maxEvents bounds it; reaching the bound is an error.
func (s *Sim) RunUntilIdle(maxEvents uint64) error {
	start := s.sched.executed
	err := s.run(never, func() bool { return s.sched.executed-start < maxEvents })
	if err == nil {
		if _, ok := s.sched.Next(); ok {
			return fmt.Errorf("sim: not idle after %d events", maxEvents)
		}
	}
	return err
}

// RunWhile runs events while cond holds (checked before each event) and
// the queue is not empty.
func (s *Sim) RunWhile(cond func() bool) error {
	return s.run(never, cond)
}

// PanicError is a panic inside a process or the simulator: the run's
// verdict is "crash".
type PanicError struct {
	Value any
	At    Time
	Stack string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic at t=%s: %v", e.At, e.Value)
}

// Err is the failure that stopped the run, if any.
func (s *Sim) Err() error { return s.failed }

// never is a time no event reaches.
const never = Time(1<<63 - 1)

// run steps through events due by limit while more holds.
func (s *Sim) run(limit Time, more func() bool) (err error) {
	if s.failed != nil {
		return s.failed
	}
	defer func() {
		if r := recover(); r != nil {
			if le, ok := r.(*LimitError); ok {
				s.failed = le
			} else {
				s.failed = &PanicError{Value: r, At: s.sched.now, Stack: string(debug.Stack())}
			}
			err = s.failed
		}
		if ferr := s.trace.flush(); ferr != nil && err == nil {
			err = fmt.Errorf("sim: writing trace: %w", ferr)
		}
	}()
	for more() && s.sched.StepUntil(limit) {
	}
	return nil
}

// CallInline runs fn with the node's running process at once, inside
// the event that is running, when the node is up and not paused; else it
// does what Call does. A driver that decides in an event of its own what
// a client does next saves the call's event.
func (s *Sim) CallInline(n *Node, fn func(env.Process)) {
	if s.sched.inEvent && n.proc != nil && !n.gate.paused {
		fn(n.proc)
		return
	}
	s.Call(n, fn)
}

// Call runs fn with the node's running process on the node's thread, at
// the current time: a harness's request to a process (a client operation
// in a toy scenario). It is dropped if the node is down by then and held
// while it is paused.
func (s *Sim) Call(n *Node, fn func(env.Process)) {
	s.sched.scheduleGated(s.sched.now, n.rec(KindCall), &n.gate, nil, func() {
		if n.proc != nil { // scheduled while down: nothing to call
			fn(n.proc)
		}
	})
}
