package sim

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

// ---- the test harness shared by the kernel tests ----
//
// A world is a Sim plus one log that every test process writes to, each
// line stamped with the virtual time ("1.5ms b recv x"), so that a test can
// assert the exact sequence of what the processes saw.

type world struct {
	t   *testing.T
	s   *Sim
	log []string
}

// ms is a short way to write virtual times and durations in tables.
func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// testNet is a network with a constant 1 ms one-way latency and no
// bandwidth limit, so that times in the logs are exact.
func testNet() NetOptions {
	return NetOptions{
		Latency:            Latency{Min: time.Millisecond, Mean: time.Millisecond},
		DialTimeout:        2 * time.Second,
		StallTimeout:       5 * time.Second,
		FrameBytesMax:      1000,
		ConnQueuedBytesMax: 3000,
	}
}

func testOptions(seed uint64) Options {
	o := DefaultOptions(seed)
	o.Net = testNet()
	o.StopTimeout = 2 * time.Second
	return o
}

func newWorld(t *testing.T, opts Options) *world {
	t.Helper()
	s, err := New(opts)
	require.NoError(t, err)
	return &world{t: t, s: s}
}

func (w *world) logf(format string, args ...any) {
	w.log = append(w.log, w.s.Now().String()+" "+fmt.Sprintf(format, args...))
}

// take returns the log so far and starts a new one.
func (w *world) take() []string {
	l := w.log
	w.log = nil
	return l
}

// spec is what every incarnation of a test node does.
type spec struct {
	start func(p *proc)
	// stop handles Process.Stop; nil calls done at once.
	stop func(p *proc, done func())
}

// proc is a test process: it keeps its Env and runs its spec.
type proc struct {
	w    *world
	e    env.Env
	spec spec
	// conns remembers connections by a test's own names.
	conns map[string]env.Conn
}

func (p *proc) Start(e env.Env) {
	p.e = e
	if p.spec.start != nil {
		p.spec.start(p)
	}
}

func (p *proc) Stop(done func()) {
	p.w.logf("%s stop called", p.e.Name())
	if p.spec.stop == nil {
		done()
		return
	}
	p.spec.stop(p, done)
}

func (p *proc) logf(format string, args ...any) {
	p.w.logf(p.e.Name()+" "+format, args...)
}

func (w *world) add(name string, sp spec, disk DiskOptions) *Node {
	w.t.Helper()
	n, err := w.s.AddNode(name, func() env.Process {
		return &proc{w: w, spec: sp, conns: map[string]env.Conn{}}
	}, disk)
	require.NoError(w.t, err)
	return n
}

func (w *world) start(ns ...*Node) {
	w.t.Helper()
	for _, n := range ns {
		require.NoError(w.t, n.Start())
	}
}

func (w *world) run(d time.Duration) {
	w.t.Helper()
	require.NoError(w.t, w.s.RunFor(d))
}

func (w *world) runUntil(t time.Duration) {
	w.t.Helper()
	require.NoError(w.t, w.s.RunUntil(Time(t)))
}

// at runs fn at virtual time t on node n's thread, as the running
// process's own work (held while n is paused, dropped if n is down).
func (w *world) at(t time.Duration, n *Node, fn func(p *proc)) {
	w.s.At(Time(t), func() {
		w.s.Call(n, func(ep env.Process) { fn(ep.(*proc)) })
	})
}

// do runs a harness action (a fault, a lifecycle change) at virtual time t.
func (w *world) do(t time.Duration, fn func()) { w.s.At(Time(t), fn) }

// procOf is the running incarnation of n.
func procOf(t *testing.T, n *Node) *proc {
	t.Helper()
	p, ok := n.Process().(*proc)
	require.True(t, ok, "%s is not running", n.Name())
	return p
}

// recHandler logs every connection event as "<tag> opened", "<tag> recv
// <frame>", "<tag> closed <err>".
type recHandler struct {
	w      *world
	tag    string
	opened func(c env.Conn)
	closed func(c env.Conn, err error)
}

func (h *recHandler) Opened(c env.Conn) {
	h.w.logf("%s opened", h.tag)
	if h.opened != nil {
		h.opened(c)
	}
}

func (h *recHandler) Received(_ env.Conn, f []byte) { h.w.logf("%s recv %s", h.tag, f) }

func (h *recHandler) Closed(c env.Conn, err error) {
	h.w.logf("%s closed %s", h.tag, errName(err))
	if h.closed != nil {
		h.closed(c, err)
	}
}

// errName names an env error for logs; unexpected errors show in full.
func errName(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{
		{env.ErrRefused, "refused"}, {env.ErrTimeout, "timeout"}, {env.ErrReset, "reset"},
		{env.ErrUnknownHost, "unknown-host"}, {env.ErrClosed, "closed"},
		{env.ErrFrameTooLarge, "too-large"}, {env.ErrBufferFull, "buffer-full"},
		{env.ErrAddrInUse, "addr-in-use"}, {env.ErrIO, "io"}, {env.ErrNoSpace, "no-space"},
		{env.ErrNotExist, "not-exist"}, {env.ErrExist, "exist"}, {io.EOF, "eof"},
	} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	if err == nil {
		return "nil"
	}
	return "other(" + err.Error() + ")"
}

// ---- node lifecycle ----

func TestNodeStartTwiceFails(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{}, DiskOptions{})
	require.Equal(t, Down, n.State())
	require.Equal(t, uint64(0), n.Starts())
	require.Nil(t, n.Process())

	require.NoError(t, n.Start())
	err := n.Start()
	require.Error(t, err)
	require.Contains(t, err.Error(), "node is up")
	require.Equal(t, uint64(1), n.Starts())

	n.Stop() // the default spec calls done at once
	require.Equal(t, Stopping, n.State())
	err = n.Start()
	require.Error(t, err)
	require.Contains(t, err.Error(), "node is stopping")
	w.run(0)
	require.Equal(t, Down, n.State())
	require.NoError(t, n.Start())
	require.Equal(t, uint64(2), n.Starts())
}

func TestNodeLifecycle(t *testing.T) {
	tests := []struct {
		name string
		// stop is the process's Stop; nil calls done at once.
		stop func(p *proc, done func())
		// act is done to the node at 1s.
		act func(n *Node)
		// states are the node's states at 1s (after act), 1.5s and 4s.
		states [3]State
		want   []string
	}{
		{
			name:   "stop with done at once",
			act:    (*Node).Stop,
			states: [3]State{Stopping, Down, Down},
			want:   []string{"0s n1 started #1", "1s n1 stop called"},
		},
		{
			name: "stop with done after a flush",
			stop: func(p *proc, done func()) {
				p.e.Clock().AfterFunc(ms(700), func() { p.logf("flushed"); done() })
			},
			act:    (*Node).Stop,
			states: [3]State{Stopping, Stopping, Down},
			want:   []string{"0s n1 started #1", "1s n1 stop called", "1.7s n1 flushed"},
		},
		{
			name:   "stop whose done never comes is killed after StopTimeout",
			stop:   func(p *proc, done func()) {},
			act:    (*Node).Stop,
			states: [3]State{Stopping, Stopping, Down},
			want:   []string{"0s n1 started #1", "1s n1 stop called"},
		},
		{
			name:   "stop while paused: Stop is held, the node is killed after StopTimeout",
			act:    func(n *Node) { n.Pause(); n.Stop() },
			states: [3]State{Stopping, Stopping, Down},
			want:   []string{"0s n1 started #1"},
		},
		{
			name:   "crash",
			act:    (*Node).Crash,
			states: [3]State{Down, Down, Down},
			want:   []string{"0s n1 started #1"},
		},
		{
			name:   "pause keeps the node up",
			act:    (*Node).Pause,
			states: [3]State{Up, Up, Up},
			want:   []string{"0s n1 started #1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			n := w.add("n1", spec{
				start: func(p *proc) { p.logf("started #%d", p.w.s.Node("n1").Starts()) },
				stop:  tt.stop,
			}, DiskOptions{})
			w.start(n)
			w.runUntil(time.Second)
			require.Equal(t, Up, n.State())
			tt.act(n)
			require.Equal(t, tt.states[0], n.State(), "right after the action")
			w.runUntil(ms(1500))
			require.Equal(t, tt.states[1], n.State(), "at 1.5s")
			w.runUntil(4 * time.Second) // the stop timeout (2s) has passed
			require.Equal(t, tt.states[2], n.State(), "at 4s")
			require.Equal(t, tt.want, w.take())
			if n.State() == Down {
				require.Nil(t, n.Process())
			}
		})
	}
}

func TestNodeStopTimeoutKillsAtTheBound(t *testing.T) {
	w := newWorld(t, testOptions(1)) // StopTimeout 2s
	n := w.add("n1", spec{
		start: func(p *proc) {
			// A periodic timer: it must die with the killed incarnation.
			var tick func()
			tick = func() { p.logf("tick"); p.e.Clock().AfterFunc(time.Second, tick) }
			p.e.Clock().AfterFunc(time.Second, tick)
		},
		stop: func(p *proc, done func()) {}, // never done
	}, DiskOptions{})
	w.start(n)
	w.do(ms(1500), n.Stop)
	w.runUntil(ms(3499))
	require.Equal(t, Stopping, n.State())
	w.runUntil(ms(3500))
	require.Equal(t, Down, n.State())
	w.runUntil(10 * time.Second)
	require.Equal(t, []string{"1s n1 tick", "1.5s n1 stop called", "2s n1 tick", "3s n1 tick"}, w.take())
}

// A process may go on using its Env after it called done; that incarnation
// is over, so nothing it arms may call back into it.
func TestNodeNoCallbackAfterStopDone(t *testing.T) {
	w := newWorld(t, testOptions(1))
	peer := w.add("peer", spec{start: func(p *proc) {
		_, err := p.e.Net().Listen(9, func(c env.Conn) env.Handler { return &recHandler{w: p.w, tag: "peer"} })
		require.NoError(t, err)
	}}, DiskOptions{})
	n := w.add("n1", spec{
		start: func(p *proc) {
			_, err := p.e.FS().Create("f")
			require.NoError(t, err)
		},
		stop: func(p *proc, done func()) {
			done()
			p.e.Clock().AfterFunc(ms(10), func() { p.logf("zombie timer") })
			f, err := p.e.FS().Open("f")
			require.NoError(t, err)
			f.Sync(func(error) { p.logf("zombie sync") })
			p.e.FS().SyncDir("", func(error) { p.logf("zombie syncdir") })
			p.e.Net().Dial("peer:9", &recHandler{w: p.w, tag: "zombie dial"})
			p.e.Net().Dial("nosuch:9", &recHandler{w: p.w, tag: "zombie dial"})
			_, err = p.e.Net().Listen(10, func(c env.Conn) env.Handler { return &recHandler{w: p.w, tag: "zombie"} })
			require.ErrorIs(t, err, env.ErrClosed)
		},
	}, DiskOptions{SyncLatency: Latency{Min: ms(5), Mean: ms(5)}})
	w.start(peer, n)
	w.do(time.Second, n.Stop)
	w.run(3 * time.Second)
	require.Equal(t, []string{"1s n1 stop called"}, w.take())
	require.Equal(t, Down, n.State())
}

func TestNodeRestartGetsAFreshRandStream(t *testing.T) {
	draws := func(seed uint64) []uint64 {
		w := newWorld(t, testOptions(seed))
		var got []uint64
		n := w.add("n1", spec{start: func(p *proc) { got = append(got, p.e.Rand().Uint64()) }}, DiskOptions{})
		w.add("n2", spec{start: func(p *proc) { got = append(got, p.e.Rand().Uint64()) }}, DiskOptions{})
		w.start(n)
		w.run(time.Second)
		n.Crash()
		w.start(n)
		w.run(time.Second)
		n.Stop()
		w.run(time.Second)
		w.start(n, w.s.Node("n2"))
		w.run(time.Second)
		require.Equal(t, uint64(3), n.Starts())
		return got
	}
	a := draws(7)
	require.Len(t, a, 4)
	require.NotEqual(t, a[0], a[1], "a restart must not replay the previous incarnation's stream")
	require.NotEqual(t, a[1], a[2])
	require.NotEqual(t, a[0], a[2])
	require.NotEqual(t, a[2], a[3], "two nodes must not share a stream")
	require.Equal(t, a, draws(7), "the same seed must give the same streams")
	b := draws(8)
	require.NotEqual(t, a[0], b[0], "another seed must give other streams")
}

func TestNodeCallOnADownNodeIsDropped(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{}, DiskOptions{})
	called := 0
	w.s.Call(n, func(env.Process) { called++ }) // never started
	w.run(time.Second)
	w.start(n)
	w.run(time.Second)
	n.Crash()
	w.s.Call(n, func(env.Process) { called++ }) // crashed
	w.run(time.Second)
	require.Equal(t, 0, called)

	w.start(n)
	w.s.Call(n, func(p env.Process) {
		require.Same(t, n.Process(), p)
		called++
	})
	w.run(time.Second)
	require.Equal(t, 1, called)
}

// CallInline runs on the spot inside a harness event when the node is up
// and running, costing no event; otherwise it is Call: held while the
// node is paused, dropped while it is down, an event of its own outside
// any event.
func TestNodeCallInline(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{}, DiskOptions{})
	w.start(n)
	w.run(time.Second)
	var got []string
	inline := func(name string) {
		w.s.At(w.s.Now()+Time(ms(1)), func() {
			w.s.CallInline(n, func(env.Process) { got = append(got, name+" "+w.s.Now().String()) })
			got = append(got, name+" returned")
		})
	}
	before := w.s.Events()
	inline("up")
	w.run(time.Second)
	require.Equal(t, []string{"up 1.001s", "up returned"}, got)
	require.Equal(t, uint64(1), w.s.Events()-before, "the harness event only")

	got = nil
	n.Pause()
	inline("paused")
	w.run(ms(10))
	require.Equal(t, []string{"paused returned"}, got)
	n.Resume()
	w.run(ms(10))
	require.Equal(t, []string{"paused returned", "paused 2.01s"}, got)

	got = nil
	n.Crash()
	inline("down")
	w.run(time.Second)
	require.Equal(t, []string{"down returned"}, got)

	got = nil
	w.start(n)
	w.s.CallInline(n, func(env.Process) { got = append(got, "outside") })
	require.Empty(t, got)
	w.run(time.Second)
	require.Equal(t, []string{"outside"}, got)
}

func TestNodeAccessors(t *testing.T) {
	w := newWorld(t, testOptions(1))
	a := w.add("a", spec{}, DiskOptions{CapacityBytes: 7})
	b := w.add("b", spec{}, DiskOptions{})
	_, err := w.s.AddNode("a", func() env.Process { return &proc{} }, DiskOptions{})
	require.Error(t, err)
	_, err = w.s.AddNode("", func() env.Process { return &proc{} }, DiskOptions{})
	require.Error(t, err)
	require.Equal(t, []*Node{a, b}, w.s.Nodes())
	require.Same(t, b, w.s.Node("b"))
	require.Nil(t, w.s.Node("c"))
	require.Equal(t, 1, b.Index())
	require.Equal(t, "b", b.Name())
	require.Equal(t, int64(7), a.Disk().Options().CapacityBytes)
	require.False(t, a.Paused())
	w.start(a)
	a.Pause()
	require.True(t, a.Paused())
	a.Resume()
	require.False(t, a.Paused())
	require.Equal(t, "down", Down.String())
	require.Equal(t, "up", Up.String())
	require.Equal(t, "stopping", Stopping.String())
	w.run(0)
	require.Equal(t, "a", procOf(t, a).e.Name())
	require.Equal(t, DefaultEpoch, procOf(t, a).e.Clock().Now())
}
