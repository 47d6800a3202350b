package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// catchLimit runs fn and returns the *LimitError it panics with, if any.
func catchLimit(fn func()) (le *LimitError) {
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if le, ok = r.(*LimitError); !ok {
				panic(r)
			}
		}
	}()
	fn()
	return nil
}

func TestSchedulerOrdersByTimeThenInsertion(t *testing.T) {
	type ev struct {
		at   Time
		name string
	}
	tests := []struct {
		name   string
		events []ev
		want   []string
	}{
		{"empty", nil, nil},
		{"by time", []ev{{30, "c"}, {10, "a"}, {20, "b"}}, []string{"a", "b", "c"}},
		{"same time in insertion order", []ev{{5, "x"}, {5, "y"}, {5, "z"}, {5, "w"}}, []string{"x", "y", "z", "w"}},
		{
			"mixed",
			[]ev{{5, "a"}, {1, "b"}, {5, "c"}, {1, "d"}, {3, "e"}, {5, "f"}, {0, "g"}, {3, "h"}},
			[]string{"g", "b", "d", "e", "h", "a", "c", "f"},
		},
		{
			// Enough to give a 4-ary heap several levels, with many ties.
			"many ties",
			func() []ev {
				var es []ev
				for i := range 200 {
					es = append(es, ev{Time((i * 7919) % 13), fmt.Sprint(i)})
				}
				return es
			}(),
			func() []string {
				var out []string
				for at := range 13 {
					for i := range 200 {
						if (i*7919)%13 == at {
							out = append(out, fmt.Sprint(i))
						}
					}
				}
				return out
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTrace()
			s := NewScheduler(1000, tr)
			var got []string
			var times []Time
			for _, e := range tt.events {
				e := e
				s.Schedule(e.at, Record{Kind: KindUser, Node: -1}, func() {
					got = append(got, e.name)
					times = append(times, s.Now())
				})
			}
			require.Equal(t, len(tt.events), s.Queued())
			for s.Step() {
			}
			require.Equal(t, tt.want, got)
			for i := 1; i < len(times); i++ {
				require.LessOrEqual(t, times[i-1], times[i])
			}
			require.Equal(t, uint64(len(tt.events)), s.Executed())
			require.Equal(t, uint64(len(tt.events)), tr.Count())
			require.Equal(t, 0, s.Queued())
			_, ok := s.Next()
			require.False(t, ok)
		})
	}
}

func TestSchedulerEventsScheduledWhileRunning(t *testing.T) {
	s := NewScheduler(100, newTrace())
	var got []string
	rec := Record{Kind: KindUser, Node: -1}
	add := func(at Time, name string, then func()) {
		s.Schedule(at, rec, func() {
			got = append(got, fmt.Sprintf("%d:%s", s.Now(), name))
			if then != nil {
				then()
			}
		})
	}
	add(10, "a", func() {
		add(10, "now", nil)      // same instant: after what is already queued for it
		add(3, "past", nil)      // in the past: clamped to now
		add(11, "next", nil)     // later
		add(10, "now2", nil)     // insertion order among the new ones
		add(-5, "negative", nil) // clamped too
	})
	add(10, "b", nil)
	add(20, "c", nil)
	for s.Step() {
	}
	require.Equal(t, []string{"10:a", "10:b", "10:now", "10:past", "10:now2", "10:negative", "11:next", "20:c"}, got)
	require.Equal(t, Time(20), s.Now())
}

func TestSchedulerStepUntilAndAdvance(t *testing.T) {
	s := NewScheduler(100, newTrace())
	var got []Time
	for _, at := range []Time{5, 10, 15} {
		s.Schedule(at, Record{Kind: KindUser}, func() { got = append(got, s.Now()) })
	}
	for s.StepUntil(10) {
	}
	require.Equal(t, []Time{5, 10}, got, "events at the limit run, later ones wait")
	next, ok := s.Next()
	require.True(t, ok)
	require.Equal(t, Time(15), next)
	s.AdvanceTo(12)
	require.Equal(t, Time(12), s.Now())
	s.AdvanceTo(3) // never backwards
	require.Equal(t, Time(12), s.Now())
}

func TestSchedulerQueueBound(t *testing.T) {
	rec := Record{Kind: KindUser, Node: -1}
	noop := func() {}

	t.Run("bound is loud", func(t *testing.T) {
		s := NewScheduler(3, newTrace())
		for i := range 3 {
			s.Schedule(Time(i), rec, noop)
		}
		le := catchLimit(func() { s.Schedule(9, rec, noop) })
		require.NotNil(t, le)
		require.Equal(t, &LimitError{Queued: 3, Max: 3, At: 0}, le)
		require.Contains(t, le.Error(), "over the bound of 3")
		require.Contains(t, le.Error(), "3 events queued")
		require.Equal(t, 3, s.Queued(), "the rejected event is not queued")
	})

	t.Run("stopped timers are compacted away", func(t *testing.T) {
		s := NewScheduler(3, newTrace())
		g := &gate{inc: 1}
		var timers []*timer
		for i := range 3 {
			tm := &timer{}
			timers = append(timers, tm)
			s.scheduleGated(Time(i+1), rec, g, tm, noop)
		}
		require.True(t, timers[0].Stop())
		require.True(t, timers[2].Stop())
		ran := 0
		require.Nil(t, catchLimit(func() {
			s.Schedule(7, rec, func() { ran++ })
			s.Schedule(8, rec, func() { ran++ })
		}))
		require.Equal(t, 3, s.Queued())
		le := catchLimit(func() { s.Schedule(9, rec, noop) })
		require.NotNil(t, le, "three live events fill a bound of three")
		for s.Step() {
		}
		require.Equal(t, 2, ran)
		require.Equal(t, uint64(3), s.Executed(), "the live timer and the two user events")
	})

	t.Run("dead incarnations are compacted away", func(t *testing.T) {
		s := NewScheduler(2, newTrace())
		g := &gate{inc: 1}
		s.scheduleGated(1, rec, g, nil, func() { t.Error("a dead incarnation's event ran") })
		s.scheduleGated(2, rec, g, nil, func() { t.Error("a dead incarnation's event ran") })
		g.inc++
		require.Nil(t, catchLimit(func() { s.Schedule(3, rec, noop) }))
		for s.Step() {
		}
		require.Equal(t, uint64(1), s.Executed())
	})

	t.Run("held events count", func(t *testing.T) {
		s := NewScheduler(2, newTrace())
		g := &gate{inc: 1, paused: true}
		ran := 0
		s.scheduleGated(1, rec, g, nil, func() { ran++ })
		s.scheduleGated(2, rec, g, nil, func() { ran++ })
		for s.Step() {
		}
		require.Equal(t, 0, ran)
		require.Equal(t, 2, s.Queued(), "held events are still queued work")
		require.NotNil(t, catchLimit(func() { s.Schedule(3, rec, noop) }))
		g.paused = false
		s.release(g)
		for s.Step() {
		}
		require.Equal(t, 2, ran)
		require.Equal(t, 0, s.Queued())
	})

	t.Run("non-positive bound", func(t *testing.T) {
		require.Panics(t, func() { NewScheduler(0, newTrace()) })
	})
}

// ---- the run loops of Sim ----

// ticker is a spec whose process logs a tick every period, forever.
func ticker(period time.Duration) spec {
	return spec{start: func(p *proc) {
		var tick func()
		tick = func() { p.logf("tick"); p.e.Clock().AfterFunc(period, tick) }
		p.e.Clock().AfterFunc(period, tick)
	}}
}

func TestRunUntilAndRunFor(t *testing.T) {
	tests := []struct {
		name    string
		run     func(w *world)
		wantLog []string
		wantNow time.Duration
	}{
		{
			name:    "RunUntil ends at the target between events",
			run:     func(w *world) { w.runUntil(ms(2500)) },
			wantLog: []string{"1s n1 tick", "2s n1 tick"},
			wantNow: ms(2500),
		},
		{
			name:    "RunUntil runs events due exactly at the target",
			run:     func(w *world) { w.runUntil(2 * time.Second) },
			wantLog: []string{"1s n1 tick", "2s n1 tick"},
			wantNow: 2 * time.Second,
		},
		{
			name:    "RunFor is relative to now",
			run:     func(w *world) { w.runUntil(ms(1500)); w.take(); w.run(ms(1600)) },
			wantLog: []string{"2s n1 tick", "3s n1 tick"},
			wantNow: ms(3100),
		},
		{
			name:    "RunUntil into the past does nothing",
			run:     func(w *world) { w.runUntil(ms(1500)); w.take(); w.runUntil(time.Second) },
			wantLog: nil,
			wantNow: ms(1500),
		},
		{
			name:    "RunFor(0) runs what is due now only",
			run:     func(w *world) { w.runUntil(time.Second); w.take(); w.run(0) },
			wantLog: nil,
			wantNow: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			w.start(w.add("n1", ticker(time.Second), DiskOptions{}))
			tt.run(w)
			require.Equal(t, tt.wantLog, w.take())
			require.Equal(t, Time(tt.wantNow), w.s.Now())
		})
	}
}

func TestRunUntilAdvancesAnIdleWorld(t *testing.T) {
	w := newWorld(t, testOptions(1))
	w.runUntil(5 * time.Second)
	require.Equal(t, Time(5*time.Second), w.s.Now())
	w.run(time.Second)
	require.Equal(t, Time(6*time.Second), w.s.Now())
	require.Equal(t, uint64(0), w.s.Events())
}

// Events that will not run (a stopped timer, a paused node's events) at the
// head of the queue must not let RunUntil run an event past its target.
func TestRunUntilDoesNotOvershootSkippedEvents(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world, n *Node)
	}{
		{
			name: "stopped timer at the head",
			setup: func(w *world, n *Node) {
				w.at(0, n, func(p *proc) {
					p.e.Clock().AfterFunc(time.Second, func() { p.logf("stopped timer ran") }).Stop()
					p.e.Clock().AfterFunc(5*time.Second, func() { p.logf("late timer") })
				})
			},
		},
		{
			name: "paused node's timer at the head",
			setup: func(w *world, n *Node) {
				w.at(0, n, func(p *proc) {
					p.e.Clock().AfterFunc(time.Second, func() { p.logf("held timer") })
				})
				w.do(ms(500), n.Pause)
				w.at(ms(100), w.s.Node("n2"), func(p *proc) {
					p.e.Clock().AfterFunc(ms(4900), func() { p.logf("late timer") })
				})
			},
		},
		{
			name: "crashed node's timer at the head",
			setup: func(w *world, n *Node) {
				w.at(0, n, func(p *proc) {
					p.e.Clock().AfterFunc(time.Second, func() { p.logf("dead timer") })
					p.e.Clock().AfterFunc(5*time.Second, func() { p.logf("dead late timer") })
				})
				w.do(ms(500), n.Crash)
				w.at(ms(100), w.s.Node("n2"), func(p *proc) {
					p.e.Clock().AfterFunc(ms(4900), func() { p.logf("late timer") })
				})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			n := w.add("n1", spec{}, DiskOptions{})
			w.start(n, w.add("n2", spec{}, DiskOptions{}))
			tt.setup(w, n)
			w.runUntil(2 * time.Second)
			require.Empty(t, w.take())
			require.Equal(t, Time(2*time.Second), w.s.Now())
			w.runUntil(6 * time.Second)
			require.Len(t, w.log, 1)
			require.Regexp(t, `^5s n[12] late timer$`, w.log[0])
		})
	}
}

func TestRunUntilIdle(t *testing.T) {
	t.Run("idles", func(t *testing.T) {
		w := newWorld(t, testOptions(1))
		w.start(w.add("n1", spec{start: func(p *proc) {
			for i := 1; i <= 3; i++ {
				p.e.Clock().AfterFunc(time.Duration(i)*time.Second, func() { p.logf("t%d", i) })
			}
		}}, DiskOptions{}))
		require.NoError(t, w.s.RunUntilIdle(100))
		require.Equal(t, []string{"1s n1 t1", "2s n1 t2", "3s n1 t3"}, w.take())
		require.Equal(t, Time(3*time.Second), w.s.Now())
		require.Equal(t, uint64(4), w.s.Events(), "start and three timers")
	})
	t.Run("a periodic timer never idles", func(t *testing.T) {
		w := newWorld(t, testOptions(1))
		w.start(w.add("n1", ticker(time.Second), DiskOptions{}))
		err := w.s.RunUntilIdle(10)
		require.Error(t, err)
		require.Contains(t, err.Error(), "not idle after 10 events")
		require.Equal(t, uint64(10), w.s.Events())
		require.Len(t, w.take(), 9, "the start event, then nine ticks")
		require.NoError(t, w.s.Err(), "not idling is not a run failure")
		require.NoError(t, w.s.RunFor(time.Second))
	})
	t.Run("an empty world idles at once", func(t *testing.T) {
		w := newWorld(t, testOptions(1))
		require.NoError(t, w.s.RunUntilIdle(0))
	})
}

func TestRunWhile(t *testing.T) {
	w := newWorld(t, testOptions(1))
	w.start(w.add("n1", ticker(time.Second), DiskOptions{}))
	checks := 0
	require.NoError(t, w.s.RunWhile(func() bool {
		checks++
		return len(w.log) < 4
	}))
	require.Equal(t, []string{"1s n1 tick", "2s n1 tick", "3s n1 tick", "4s n1 tick"}, w.take())
	require.Equal(t, Time(4*time.Second), w.s.Now(), "the clock stays at the last event run")
	require.Equal(t, 6, checks, "checked before each of five events and once more")

	// RunWhile also ends when the queue drains.
	w2 := newWorld(t, testOptions(1))
	w2.start(w2.add("n1", spec{}, DiskOptions{}))
	require.NoError(t, w2.s.RunWhile(func() bool { return true }))
	require.Equal(t, uint64(1), w2.s.Events())
}

func TestRunFailsLoudlyPastTheQueueBound(t *testing.T) {
	opts := testOptions(1)
	opts.QueuedEventsMax = 64
	w := newWorld(t, opts)
	// Every timer arms two more: the queue doubles each millisecond.
	w.start(w.add("n1", spec{start: func(p *proc) {
		var boom func()
		boom = func() {
			p.e.Clock().AfterFunc(time.Millisecond, boom)
			p.e.Clock().AfterFunc(time.Millisecond, boom)
		}
		boom()
	}}, DiskOptions{}))
	err := w.s.RunFor(time.Second)
	require.Error(t, err)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, 64, le.Max)
	require.Equal(t, 64, le.Queued)
	require.Equal(t, Time(6*time.Millisecond), le.At)
	require.Contains(t, err.Error(), "over the bound of 64")
	require.Contains(t, err.Error(), "t=6ms")
	require.Same(t, le, w.s.Err())
	// The run is over: further runs report the same failure.
	require.Same(t, le, w.s.RunFor(time.Second))
	require.Same(t, le, w.s.RunUntilIdle(10))
}

func TestStoppedTimersDoNotCountTowardsTheBound(t *testing.T) {
	opts := testOptions(1)
	opts.QueuedEventsMax = 64
	w := newWorld(t, opts)
	fired := 0
	w.start(w.add("n1", spec{start: func(p *proc) {
		// 5 rounds of 50 armed-then-stopped timers, far more than the bound,
		// then 60 live ones.
		for range 5 {
			for range 50 {
				require.True(t, p.e.Clock().AfterFunc(time.Second, func() { t.Error("a stopped timer fired") }).Stop())
			}
		}
		for range 60 {
			p.e.Clock().AfterFunc(time.Second, func() { fired++ })
		}
	}}, DiskOptions{}))
	require.NoError(t, w.s.RunFor(2*time.Second))
	require.Equal(t, 60, fired)
}

func TestPanicInAProcessBecomesPanicError(t *testing.T) {
	tests := []struct {
		name  string
		at    time.Duration
		value any
	}{
		{"in a timer", ms(1500), "boom"},
		{"in start", 0, 42},
		{"error value", ms(3), errors.New("bad state")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			w.start(w.add("n1", spec{start: func(p *proc) {
				if tt.at == 0 {
					panic(tt.value)
				}
				p.e.Clock().AfterFunc(tt.at, func() { panic(tt.value) })
				p.e.Clock().AfterFunc(tt.at+time.Millisecond, func() { p.logf("after the panic") })
			}}, DiskOptions{}))
			err := w.s.RunFor(10 * time.Second)
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tt.value, pe.Value)
			require.Equal(t, Time(tt.at), pe.At)
			require.Contains(t, pe.Error(), fmt.Sprintf("panic at t=%s: %v", Time(tt.at), tt.value))
			require.True(t, strings.Contains(pe.Stack, "node_test.go") || strings.Contains(pe.Stack, "scheduler_test.go"),
				"the stack names the panicking code:\n%s", pe.Stack)
			require.Empty(t, w.take(), "nothing runs after the panic")
			require.Same(t, pe, w.s.Err())
			require.Same(t, pe, w.s.RunFor(time.Second))
		})
	}
}
