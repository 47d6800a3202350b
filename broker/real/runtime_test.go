package real

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
)

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Options)
	}{
		{"no name", func(o *Options) { o.Name = "" }},
		{"no data dir", func(o *Options) { o.DataDir = "" }},
		{"queue below frame", func(o *Options) { o.FrameBytesMax = 2 << 20; o.SendQueueBytesMax = 1 << 20 }},
		{"receive below frame", func(o *Options) { o.FrameBytesMax = 2 << 20; o.ReceiveQueueBytesMax = 1 << 20 }},
		{"negative frame", func(o *Options) { o.FrameBytesMax = -1 }},
		{"negative timeout", func(o *Options) { o.StopTimeout = -time.Second }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Name: "n1", DataDir: t.TempDir()}
			tc.edit(&o)
			_, err := New(o)
			assert.Error(t, err)
		})
	}
}

// TestTimersFireInOrderOnTheLoop: timers run in deadline order, after the
// callback that armed them, and Stop keeps them from running.
func TestTimersFireInOrderOnTheLoop(t *testing.T) {
	rr := start(t, must(newRuntime(t, nil)), &process{})
	fired := make(chan string, 10)
	var stopBefore, stopAfter bool
	var ranInside bool
	var late env.Timer
	rr.do(t, func() {
		c := rr.Env().Clock()
		for _, d := range []int{30, 10, 20} {
			c.AfterFunc(time.Duration(d)*time.Millisecond, func() { fired <- fmt.Sprint(d) })
		}
		immediate := false
		c.AfterFunc(0, func() { immediate = true; fired <- "0" })
		c.AfterFunc(-time.Second, func() { fired <- "negative" })
		ranInside = immediate
		stopped := c.AfterFunc(5*time.Millisecond, func() { fired <- "stopped" })
		stopBefore = stopped.Stop()
		late = c.AfterFunc(time.Millisecond, func() { fired <- "1" })
	})
	assert.False(t, ranInside, "a timer ran inside the callback that armed it")
	assert.True(t, stopBefore)
	var got []string
	for range 6 {
		select {
		case s := <-fired:
			got = append(got, s)
		case <-time.After(waitMax):
			t.Fatal("timers did not fire")
		}
	}
	assert.Equal(t, []string{"0", "negative", "1", "10", "20", "30"}, got)
	rr.do(t, func() { stopAfter = late.Stop() })
	assert.False(t, stopAfter, "Stop after the timer ran")
	select {
	case s := <-fired:
		t.Fatalf("timer %s fired after the others", s)
	case <-time.After(20 * time.Millisecond):
	}
}

// TestTimerChainDoesNotHoldTheLoop: a timer that re-arms itself with
// AfterFunc(0) runs once per round, so other events still get through.
func TestTimerChainDoesNotHoldTheLoop(t *testing.T) {
	rr := start(t, must(newRuntime(t, nil)), &process{})
	ticks := 0
	stop := false
	rr.do(t, func() {
		var tick func()
		tick = func() {
			ticks++
			if !stop {
				rr.Env().Clock().AfterFunc(0, tick)
			}
		}
		tick()
	})
	for range 100 {
		rr.do(t, func() {})
	}
	var seen int
	rr.do(t, func() { stop = true; seen = ticks })
	assert.Greater(t, seen, 1)
}

// TestTimerStoppedWhileQueued: the wake timer has fired and its closure
// waits for the busy loop; Stop on the loop still wins.
func TestTimerStoppedWhileQueued(t *testing.T) {
	rr := start(t, must(newRuntime(t, nil)), &process{})
	ran := false
	var stopped bool
	rr.do(t, func() {
		tm := rr.Env().Clock().AfterFunc(0, func() { ran = true })
		time.Sleep(20 * time.Millisecond) // the loop is busy; the timer fires and posts
		stopped = tm.Stop()
	})
	time.Sleep(20 * time.Millisecond)
	rr.do(t, func() {})
	assert.True(t, stopped)
	var ranSeen bool
	rr.do(t, func() { ranSeen = ran })
	assert.False(t, ranSeen)
}

func TestClock(t *testing.T) {
	rr := start(t, must(newRuntime(t, nil)), &process{})
	var m1, m2 time.Duration
	var now time.Time
	rr.do(t, func() { m1 = rr.Env().Clock().Mono(); now = rr.Env().Clock().Now() })
	time.Sleep(2 * time.Millisecond)
	rr.do(t, func() { m2 = rr.Env().Clock().Mono() })
	assert.GreaterOrEqual(t, m2-m1, 2*time.Millisecond)
	assert.WithinDuration(t, time.Now(), now, time.Second)
}

// TestCallbacksNeverConcurrent hammers the loop from many connections
// while timers fire and syncs complete. The counter is deliberately not
// synchronised: run with -race, any overlap is a reported race, and the
// busy flag catches it without -race.
func TestCallbacksNeverConcurrent(t *testing.T) {
	const connsN, framesN = 16, 300
	rr := start(t, must(newRuntime(t, func(o *Options) { o.EventsQueuedMax = 8 })), &process{})
	var count, timers, syncs int
	busy := false
	var overlaps atomic.Int32
	enter := func() func() {
		if busy {
			overlaps.Add(1)
		}
		busy = true
		count++
		return func() { busy = false }
	}
	h := &recorder{events: make(chan event, 1<<20)}
	h.onReceived = func(env.Conn, []byte) { defer enter()() }
	addr := listen(t, rr, func(env.Conn) env.Handler { return h })

	stop := false
	var f env.File
	rr.do(t, func() {
		var tick func()
		tick = func() {
			defer enter()()
			timers++
			if !stop {
				rr.Env().Clock().AfterFunc(100*time.Microsecond, tick)
			}
		}
		tick()
		f, _ = rr.Env().FS().Create("hammer")
		var sync func(error)
		sync = func(error) {
			defer enter()()
			syncs++
			if !stop {
				f.Append([]byte("x"))
				f.Sync(sync)
			}
		}
		f.Sync(sync)
	})

	done := make(chan error, connsN)
	for range connsN {
		go func() { done <- hammer(addr, framesN) }()
	}
	for range connsN {
		require.NoError(t, <-done)
	}
	require.Eventually(t, func() bool {
		var received int
		rr.do(t, func() { received = count - timers - syncs })
		return received == connsN*framesN
	}, waitMax, time.Millisecond)
	rr.do(t, func() { stop = true })
	var timersSeen, syncsSeen int
	rr.do(t, func() { timersSeen, syncsSeen = timers, syncs })
	assert.Zero(t, overlaps.Load())
	assert.Positive(t, timersSeen)
	assert.Positive(t, syncsSeen)
}

// hammer sends n small frames on a raw connection, then closes it.
func hammer(addr string, n int) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	for i := range n {
		if _, err := nc.Write(wire.AppendFrameLength(nil, []byte(fmt.Sprint(i)))); err != nil {
			return err
		}
	}
	return nil
}

// TestRunStopsOnCancel: cancelling Run's context calls Stop on the loop;
// Run returns once done is called, with everything closed and no callback
// after. A frame the process sends while stopping still reaches the peer,
// followed by an orderly close.
func TestRunStopsOnCancel(t *testing.T) {
	r, _ := newRuntime(t, nil)
	var addr string
	var peers []env.Conn
	var lateTimerRan atomic.Bool
	p := &process{
		start: func(e env.Env) {
			l, err := e.Net().Listen(0, func(c env.Conn) env.Handler {
				peers = append(peers, c)
				return echoHandler{}
			})
			if err != nil {
				panic(err)
			}
			addr = l.Addr()
			e.Clock().AfterFunc(time.Hour, func() { lateTimerRan.Store(true) })
		},
	}
	p.stop = func(done func()) {
		for _, c := range peers {
			c.Send([]byte("bye"))
		}
		r.Env().Clock().AfterFunc(5*time.Millisecond, done) // done from a later callback
	}
	rr := start(t, r, p)
	var listening string
	rr.do(t, func() { listening = addr })
	nc, err := net.Dial("tcp", listening)
	require.NoError(t, err)
	defer nc.Close()
	require.Eventually(t, func() bool {
		n := 0
		rr.do(t, func() { n = len(peers) })
		return n == 1
	}, waitMax, time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- rr.stop(t) }()
	assert.Equal(t, "bye", string(readFrame(t, nc)))
	_, err = nc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "an orderly close after the last frame")
	nc.Close()
	require.NoError(t, <-stopped)

	assert.False(t, rr.Do(func() {}), "Do after Run returned")
	_, err = net.Dial("tcp", listening)
	assert.Error(t, err, "the listener should be closed")
	assert.False(t, lateTimerRan.Load())
	assert.Error(t, r.Run(context.Background(), &process{}), "Run twice")
}

// TestShutdownResetsStubbornPeers: a peer that never closes its end holds
// Run for CloseTimeout at most. The test's own connection is identified by
// a frame it sends: under a loaded CI machine another package's test may
// dial a recycled port, and such a stray connection must not stand in for
// ours.
func TestShutdownResetsStubbornPeers(t *testing.T) {
	r, logs := newRuntime(t, func(o *Options) { o.CloseTimeout = 100 * time.Millisecond })
	rr := start(t, r, &process{})
	h := newRecorder()
	addr := listen(t, rr, func(env.Conn) env.Handler { return h })
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(wire.AppendFrameLength(nil, []byte("mine")))
	require.NoError(t, err)
	var mine env.Conn
	for mine == nil {
		if e := h.next(t); e.kind == "received" && string(e.frame) == "mine" {
			mine = e.conn
		}
	}
	began := time.Now()
	require.NoError(t, rr.stop(t))
	assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond,
		"shutdown must wait CloseTimeout for a peer that keeps its end open")
	assert.Less(t, time.Since(began), waitMax)
	assert.Contains(t, logs.String(), "connections still open after the close timeout")
	for len(h.events) > 0 {
		e := <-h.events
		assert.NotSame(t, mine, e.conn, "no %s callback after Run returned", e.kind)
	}
}

// TestStopTimeout: a process that never calls done is abandoned after
// StopTimeout.
func TestStopTimeout(t *testing.T) {
	r, _ := newRuntime(t, func(o *Options) { o.StopTimeout = 50 * time.Millisecond })
	rr := start(t, r, &process{stop: func(func()) {}})
	rr.do(t, func() {})
	began := time.Now()
	err := rr.stop(t)
	assert.ErrorIs(t, err, ErrStopTimeout)
	assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
	assert.Less(t, time.Since(began), waitMax)
}

// TestNoGoroutinesLeft: after Run returns, the runtime's goroutines are
// gone, whatever was in flight: open connections both ways, a dial that
// never completes, syncs, timers.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		r, _ := newRuntime(t, nil)
		rr := start(t, r, &process{})
		addr := echoServer(t, rr)
		hs := []*recorder{newRecorder(), newRecorder(), newRecorder(), newRecorder()}
		rr.do(t, func() {
			e := rr.Env()
			for _, h := range hs {
				e.Net().Dial(addr, h).Send([]byte("ping"))
			}
			e.Net().Dial(nonRoutable, newRecorder()) // hangs until the dial timeout
			f, _ := e.FS().Create("a/b")
			f.Append([]byte("data"))
			f.Sync(func(error) {})
			e.FS().SyncDir("a", func(error) {})
			e.Clock().AfterFunc(time.Hour, func() {})
		})
		for _, h := range hs {
			h.expect(t, "opened")
			h.expect(t, "received")
		}
		t.Logf("goroutines: %d before, %d while running", before, runtime.NumGoroutine())
		require.NoError(t, rr.stop(t))
	}()
	// Polled by hand: assert.Eventually runs its condition on goroutines
	// of its own, which would count.
	for deadline := time.Now().Add(waitMax); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nonRoutable is an address whose SYNs go unanswered on most networks (a
// TEST-NET-3 address); where the network refuses it at once, the test
// still passes.
const nonRoutable = "203.0.113.1:9092"

// TestDo runs on the loop and reports whether it could.
func TestDo(t *testing.T) {
	r, _ := newRuntime(t, nil)
	ran := make(chan bool, 1)
	go func() { ran <- r.Do(func() {}) }() // before Run: waits for it
	rr := start(t, r, &process{})
	select {
	case ok := <-ran:
		assert.True(t, ok)
	case <-time.After(waitMax):
		t.Fatal("Do before Run never ran")
	}
	require.NoError(t, rr.stop(t))
	assert.False(t, r.Do(func() {}))
}

// TestEnv: name, seeded randomness, the node attribute on log lines.
func TestEnv(t *testing.T) {
	r1, logs := newRuntime(t, func(o *Options) { o.Seed = 42 })
	r2, _ := newRuntime(t, func(o *Options) { o.Seed = 42 })
	assert.Equal(t, "n1", r1.Env().Name())
	assert.Equal(t, r1.Env().Rand().Uint64(), r2.Env().Rand().Uint64())
	r1.Env().Log().Info("hello")
	assert.True(t, strings.Contains(logs.String(), "node=n1"), logs.String())
}
