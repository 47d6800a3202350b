package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

func TestClockWallAndMono(t *testing.T) {
	type step struct {
		at time.Duration // true (virtual) time
		do func(n *Node) // a clock fault applied at that time, or nil
		// wall is the node's wall clock minus the epoch; mono its
		// monotonic clock, both read right after do.
		wall, mono time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no fault: both follow true time", []step{
			{at: 0, wall: 0, mono: 0},
			{at: ms(1), wall: ms(1), mono: ms(1)},
			{at: 10 * time.Second, wall: 10 * time.Second, mono: 10 * time.Second},
		}},
		{"drift +1000 ppm runs both fast", []step{
			{at: 0, do: drift(1000), wall: 0, mono: 0},
			{at: time.Second, wall: ms(1001), mono: ms(1001)},
			{at: 10 * time.Second, wall: ms(10010), mono: ms(10010)},
		}},
		{"drift -200000 ppm runs both slow", []step{
			{at: 0, do: drift(-200000), wall: 0, mono: 0},
			{at: 10 * time.Second, wall: 8 * time.Second, mono: 8 * time.Second},
		}},
		{"drift is exact to the nanosecond", []step{
			{at: 0, do: drift(1), wall: 0, mono: 0},
			{at: 999_999, wall: 999_999, mono: 999_999}, // 0.999999 ns gained: none yet
			{at: 1_000_000, wall: 1_000_001, mono: 1_000_001},
			{at: 3_500_000, wall: 3_500_003, mono: 3_500_003},
		}},
		{"drift set later keeps the clocks continuous", []step{
			{at: 0, do: drift(1000), wall: 0, mono: 0},
			{at: 10 * time.Second, do: drift(-1000), wall: ms(10010), mono: ms(10010)},
			{at: 20 * time.Second, wall: 20 * time.Second, mono: 20 * time.Second},
			{at: 30 * time.Second, do: drift(0), wall: ms(29990), mono: ms(29990)},
			{at: 40 * time.Second, wall: ms(39990), mono: ms(39990)},
		}},
		{"offset moves only wall", []step{
			{at: time.Second, do: offset(5 * time.Second), wall: 6 * time.Second, mono: time.Second},
			{at: 3 * time.Second, wall: 8 * time.Second, mono: 3 * time.Second},
			{at: 4 * time.Second, do: offset(-500 * time.Millisecond), wall: ms(3500), mono: 4 * time.Second},
			{at: 5 * time.Second, do: offset(0), wall: 5 * time.Second, mono: 5 * time.Second},
		}},
		{"offset with drift: wall = true + offset at the change, then drifts", []step{
			{at: 0, do: drift(100000), wall: 0, mono: 0},
			{at: 10 * time.Second, wall: 11 * time.Second, mono: 11 * time.Second},
			{at: 10 * time.Second, do: offset(-time.Second), wall: 9 * time.Second, mono: 11 * time.Second},
			{at: 20 * time.Second, wall: 20 * time.Second, mono: 22 * time.Second},
		}},
		{"jump forward and back moves wall, never mono", []step{
			{at: time.Second, do: jump(10 * time.Second), wall: 11 * time.Second, mono: time.Second},
			{at: 2 * time.Second, wall: 12 * time.Second, mono: 2 * time.Second},
			{at: 2 * time.Second, do: jump(-20 * time.Second), wall: -8 * time.Second, mono: 2 * time.Second},
			{at: 3 * time.Second, wall: -7 * time.Second, mono: 3 * time.Second},
		}},
		{"jump then offset: offset replaces the jump", []step{
			{at: time.Second, do: jump(time.Hour), wall: time.Hour + time.Second, mono: time.Second},
			{at: 2 * time.Second, do: offset(time.Second), wall: 3 * time.Second, mono: 2 * time.Second},
		}},
		{"jump with drift", []step{
			{at: 0, do: drift(500000), wall: 0, mono: 0},
			{at: 2 * time.Second, do: jump(-time.Second), wall: 2 * time.Second, mono: 3 * time.Second},
			{at: 4 * time.Second, wall: 5 * time.Second, mono: 6 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			n := w.add("n1", spec{}, DiskOptions{})
			other := w.add("n2", spec{}, DiskOptions{})
			w.start(n, other)
			for i, st := range tt.steps {
				w.runUntil(st.at)
				if st.do != nil {
					st.do(n)
				}
				require.Equal(t, DefaultEpoch.Add(st.wall), n.WallClock(), "step %d: wall", i)
				require.Equal(t, st.mono, n.MonoClock(), "step %d: mono", i)
				// The process sees the same through its Env.
				c := procOf(t, n).e.Clock()
				require.Equal(t, DefaultEpoch.Add(st.wall), c.Now(), "step %d: env wall", i)
				require.Equal(t, st.mono, c.Mono(), "step %d: env mono", i)
				require.Equal(t, time.UTC, c.Now().Location())
				// Faults on n leave other nodes' clocks alone.
				require.Equal(t, DefaultEpoch.Add(st.at), other.WallClock())
				require.Equal(t, st.at, other.MonoClock())
			}
		})
	}
}

func drift(ppm int64) func(*Node)        { return func(n *Node) { n.SetClockDrift(ppm) } }
func offset(d time.Duration) func(*Node) { return func(n *Node) { n.SetClockOffset(d) } }
func jump(d time.Duration) func(*Node)   { return func(n *Node) { n.JumpClock(d) } }

func TestClockDriftBelowMinusOneMillionPanics(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{}, DiskOptions{})
	require.Panics(t, func() { n.SetClockDrift(-1_000_000) })
	require.NotPanics(t, func() { n.SetClockDrift(-999_999) })
}

func TestClockEpochOption(t *testing.T) {
	opts := testOptions(1)
	opts.Epoch = time.Date(2000, 2, 3, 4, 5, 6, 7, time.UTC)
	w := newWorld(t, opts)
	w.runUntil(time.Second)
	n := w.add("late", spec{}, DiskOptions{}) // added at t=1s: its clock is in step anyway
	require.Equal(t, opts.Epoch.Add(time.Second), n.WallClock())
	require.Equal(t, time.Second, n.MonoClock())
}

// Timers run on the monotonic clock: with drift they fire when the node's
// own clock has advanced by d, at the first nanosecond it has.
func TestTimersRunOnTheMonotonicClock(t *testing.T) {
	tests := []struct {
		name    string
		ppm     int64
		d       time.Duration
		wantAt  Time
		wantMon time.Duration
	}{
		{"no drift", 0, time.Second, Time(time.Second), time.Second},
		// 1s / 1.1 = 909.0909…ms, rounded up to the nanosecond.
		{"+100000 ppm fires early in true time", 100000, time.Second, 909_090_910, 1_000_000_001},
		{"-500000 ppm fires late", -500000, time.Second, Time(2 * time.Second), time.Second},
		{"+1 ppm", 1, time.Second, 999_999_001, 1_000_000_000},
		{"+100000 ppm, tiny span", 100000, 1, 1, 1},
		{"zero delay fires now", 100000, 0, 0, 0},
		{"negative delay fires now", 0, -time.Second, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			var firedAt []Time
			var mono []time.Duration
			n := w.add("n1", spec{start: func(p *proc) {
				p.e.Clock().AfterFunc(tt.d, func() {
					firedAt = append(firedAt, w.s.Now())
					mono = append(mono, p.e.Clock().Mono())
				})
				p.logf("armed")
			}}, DiskOptions{})
			n.SetClockDrift(tt.ppm)
			w.start(n)
			w.run(3 * time.Second)
			require.Equal(t, []Time{tt.wantAt}, firedAt)
			require.Equal(t, []time.Duration{tt.wantMon}, mono)
			require.GreaterOrEqual(t, mono[0], max(tt.d, 0), "never early by the node's own clock")
			if tt.wantAt > 0 {
				// One nanosecond earlier the node's clock had not got there.
				require.Less(t, time.Duration(scalePpm(int64(tt.wantAt)-1, tt.ppm)), tt.d)
			}
		})
	}
}

func TestTimerFiresAfterTheCallbackThatArmedIt(t *testing.T) {
	w := newWorld(t, testOptions(1))
	w.start(w.add("n1", spec{start: func(p *proc) {
		p.e.Clock().AfterFunc(0, func() { p.logf("zero") })
		p.e.Clock().AfterFunc(-time.Hour, func() { p.logf("negative") })
		p.e.Clock().AfterFunc(1, func() { p.logf("one ns") })
		p.logf("start returns")
	}}, DiskOptions{}))
	w.run(time.Second)
	require.Equal(t, []string{"0s n1 start returns", "0s n1 zero", "0s n1 negative", "1ns n1 one ns"}, w.take())
}

// A zero-delay timer armed inside an event runs right after it, as part
// of it: before other events due at the same instant, in the order armed
// (nested ones after), not at all once stopped, and with no event of its
// own in the trace.
func TestZeroDelayTimersRunWithTheEventThatArmedThem(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{start: func(p *proc) {
		p.e.Clock().AfterFunc(ms(10), func() { p.logf("other timer") })
		p.e.Clock().AfterFunc(ms(10), func() {
			p.logf("armer")
			p.e.Clock().AfterFunc(0, func() {
				p.logf("zero 1")
				p.e.Clock().AfterFunc(0, func() { p.logf("nested") })
			})
			stopped := p.e.Clock().AfterFunc(0, func() { p.logf("stopped") })
			p.e.Clock().AfterFunc(0, func() { p.logf("zero 2") })
			require.True(t, stopped.Stop())
		})
	}}, DiskOptions{})
	w.start(n)
	w.run(ms(5))
	before := w.s.Events()
	w.run(time.Second)
	require.Equal(t, []string{"10ms n1 other timer", "10ms n1 armer", "10ms n1 zero 1", "10ms n1 zero 2", "10ms n1 nested"}, w.take())
	require.Equal(t, uint64(2), w.s.Events()-before, "the two 10ms timers only")
}

func TestTimerStop(t *testing.T) {
	tests := []struct {
		name string
		// stopAt is when Stop is called (relative to the start); the timer
		// is armed for 100ms.
		stopAt   []time.Duration
		wantStop []bool
		fired    bool
	}{
		{"stop before firing", []time.Duration{ms(50)}, []bool{true}, false},
		{"stop twice", []time.Duration{ms(50), ms(60)}, []bool{true, false}, false},
		{"stop after firing", []time.Duration{ms(150)}, []bool{false}, true},
		{"stop in the same instant, before it runs", []time.Duration{ms(100)}, []bool{true}, false},
		{"never stopped", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			var tm env.Timer
			var stops []bool
			n := w.add("n1", spec{start: func(p *proc) {
				// Stops are armed first so that at 100ms the Stop runs
				// before the timer does.
				for _, at := range tt.stopAt {
					p.e.Clock().AfterFunc(at, func() { stops = append(stops, tm.Stop()) })
				}
				tm = p.e.Clock().AfterFunc(ms(100), func() { p.logf("fired") })
			}}, DiskOptions{})
			w.start(n)
			w.run(time.Second)
			require.Equal(t, tt.wantStop, stops)
			if tt.fired {
				require.Equal(t, []string{"100ms n1 fired"}, w.take())
			} else {
				require.Empty(t, w.take())
			}
		})
	}
}

func TestTimersDieWithTheirIncarnation(t *testing.T) {
	tests := []struct {
		name      string
		kill      func(n *Node)
		restartAt time.Duration
	}{
		{"crash then restart later", (*Node).Crash, ms(600)},
		{"crash and restart in the same instant", (*Node).Crash, ms(500)},
		{"graceful stop", (*Node).Stop, ms(600)},
		{"crash while paused", func(n *Node) { n.Pause(); n.Crash() }, ms(600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			n := w.add("n1", spec{start: func(p *proc) {
				inc := p.w.s.Node("n1").Starts()
				p.e.Clock().AfterFunc(time.Second, func() { p.logf("inc %d fired", inc) })
				p.e.Clock().AfterFunc(ms(300), func() { p.logf("inc %d early", inc) })
			}}, DiskOptions{})
			w.start(n)
			w.do(ms(500), func() { tt.kill(n) })
			w.do(tt.restartAt, func() { require.NoError(t, n.Start()) })
			w.run(3 * time.Second)
			log := w.take()
			if tt.name == "graceful stop" {
				require.Equal(t, "500ms n1 stop called", log[1])
				log = append(log[:1], log[2:]...)
			}
			restart := Time(tt.restartAt)
			require.Equal(t, []string{
				"300ms n1 inc 1 early",
				fmt.Sprintf("%s n1 inc 2 early", restart+Time(ms(300))),
				fmt.Sprintf("%s n1 inc 2 fired", restart+Time(time.Second)),
			}, log)
		})
	}
}

// A paused node's clock keeps going; its timers due during the pause fire
// at the resume, in the order they were due, before anything else of the
// node.
func TestTimersDueDuringAPauseFireAtResume(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{start: func(p *proc) {
		for _, d := range []time.Duration{ms(300), ms(200), ms(50), ms(1000), ms(1200)} {
			p.e.Clock().AfterFunc(d, func() {
				p.logf("timer %s mono=%s", d, p.e.Clock().Mono())
			})
		}
	}}, DiskOptions{})
	w.start(n)
	// The resume is scheduled before the start runs, so it precedes the
	// 1s timer in insertion order: the held timers must still come first.
	w.do(ms(100), n.Pause)
	w.do(time.Second, n.Resume)
	w.runUntil(ms(999))
	require.Equal(t, []string{"50ms n1 timer 50ms mono=50ms"}, w.take())
	require.True(t, n.Paused())
	require.Equal(t, ms(999), n.MonoClock(), "the clock kept going")
	w.run(time.Second)
	require.Equal(t, []string{
		"1s n1 timer 200ms mono=1s",
		"1s n1 timer 300ms mono=1s",
		"1s n1 timer 1s mono=1s",
		"1.2s n1 timer 1.2s mono=1.2s",
	}, w.take())
}

func TestTimersPauseResumeFromTheHarness(t *testing.T) {
	// Pause and resume called between runs rather than from events.
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{start: func(p *proc) {
		for _, d := range []time.Duration{ms(200), ms(300), ms(700)} {
			p.e.Clock().AfterFunc(d, func() { p.logf("timer %s", d) })
		}
	}}, DiskOptions{})
	w.start(n)
	w.runUntil(ms(100))
	n.Pause()
	n.Pause() // twice is harmless
	w.runUntil(ms(500))
	require.Empty(t, w.take())
	n.Resume()
	n.Resume()
	w.runUntil(ms(500))
	require.Equal(t, []string{"500ms n1 timer 200ms", "500ms n1 timer 300ms"}, w.take())
	w.runUntil(time.Second)
	require.Equal(t, []string{"700ms n1 timer 700ms"}, w.take())
}
