package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

// pair is two nodes, a and b: b listens on port 9, a dials b:9 when it
// starts. With the 1 ms test latency b's end opens at 1ms and a's at 2ms.
// The handlers log as "a" and "b".
type pair struct {
	w    *world
	a, b *Node
}

func newPair(t *testing.T, opts Options) *pair {
	w := newWorld(t, opts)
	p := &pair{w: w}
	p.b = w.add("b", spec{start: func(pr *proc) {
		_, err := pr.e.Net().Listen(9, func(c env.Conn) env.Handler {
			pr.conns["b"] = c
			return &recHandler{w: w, tag: "b"}
		})
		require.NoError(t, err)
	}}, DiskOptions{})
	p.a = w.add("a", spec{start: func(pr *proc) {
		pr.conns["a"] = pr.e.Net().Dial("b:9", &recHandler{w: w, tag: "a"})
	}}, DiskOptions{})
	w.start(p.b, p.a)
	return p
}

// send makes node n send frames on its end at time t, logging failures.
func (p *pair) send(t time.Duration, n *Node, frames ...string) {
	p.w.at(t, n, func(pr *proc) {
		for _, f := range frames {
			if err := pr.conns[n.Name()].Send([]byte(f)); err != nil {
				pr.logf("send %s: %s", f, errName(err))
			}
		}
	})
}

func (p *pair) close(t time.Duration, n *Node) {
	p.w.at(t, n, func(pr *proc) { pr.conns[n.Name()].Close() })
}

func TestConnections(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(o *Options)
		script func(p *pair)
		runFor time.Duration
		want   []string
	}{
		{
			name:   "both ends open",
			script: func(p *pair) {},
			want:   []string{"1ms b opened", "2ms a opened"},
		},
		{
			name: "frames both ways, in order",
			script: func(p *pair) {
				p.send(ms(10), p.a, "x", "y", "z")
				p.send(ms(10), p.b, "1", "2")
				p.send(ms(10.5), p.a, "w")
			},
			want: []string{
				"1ms b opened", "2ms a opened",
				// Only a direction's head is scheduled, so the two directions
				// interleave at 11ms; each stays in order.
				"11ms b recv x", "11ms a recv 1", "11ms b recv y", "11ms a recv 2", "11ms b recv z", "11.5ms b recv w",
			},
		},
		{
			name: "close by the dialer: peer gets its frames, then Closed(nil)",
			script: func(p *pair) {
				p.send(ms(10), p.a, "x", "y")
				p.close(ms(10), p.a)
				p.send(ms(10), p.a, "late")
				p.close(ms(10), p.a) // twice is harmless
			},
			want: []string{
				"1ms b opened", "2ms a opened",
				"10ms a send late: closed", "10ms a closed nil",
				"11ms b recv x", "11ms b recv y", "11ms b closed nil",
			},
		},
		{
			name: "close by the acceptor",
			script: func(p *pair) {
				p.send(ms(10), p.b, "bye")
				p.close(ms(10), p.b)
				p.send(ms(10.5), p.a, "into the void") // sent before the FIN arrives: dropped
				p.send(ms(12), p.a, "after")
			},
			want: []string{
				"1ms b opened", "2ms a opened",
				"10ms b closed nil", "11ms a recv bye", "11ms a closed nil",
				"12ms a send after: closed",
			},
		},
		{
			name:   "the dialer closes before its SYN arrives: the acceptor never hears of it",
			script: func(p *pair) { p.close(ms(0.5), p.a) },
			want:   []string{"500µs a closed nil"},
		},
		{
			name:   "the dialer closes after the accept, before its own open",
			script: func(p *pair) { p.close(ms(1.5), p.a) },
			want:   []string{"1ms b opened", "1.5ms a closed nil", "3ms b closed nil"},
		},
		{
			name:   "the dialer crashes after the accept, before its own open",
			script: func(p *pair) { p.w.do(ms(1.5), p.a.Crash) },
			want:   []string{"1ms b opened", "2.5ms b closed reset"},
		},
		{
			name:   "the acceptor crashes before the dialer opens: the reset follows the open",
			script: func(p *pair) { p.w.do(ms(1.5), p.b.Crash) },
			want:   []string{"1ms b opened", "2ms a opened", "2.5ms a closed reset"},
		},
		{
			name: "a crash resets the peer after the frames already sent",
			script: func(p *pair) {
				p.send(ms(10), p.a, "x")
				p.w.do(ms(10.1), p.a.Crash)
			},
			want: []string{"1ms b opened", "2ms a opened", "11ms b recv x", "11.1ms b closed reset"},
		},
		{
			name:   "a graceful stop closes in order",
			script: func(p *pair) { p.w.do(ms(10), p.b.Stop) },
			want:   []string{"1ms b opened", "2ms a opened", "10ms b stop called", "11ms a closed nil"},
		},
		{
			name: "frames stuck on a cut link past StallTimeout reset both ends",
			script: func(p *pair) {
				p.w.do(ms(5), func() { p.w.s.Net().Partition(Isolate(p.b, p.w.s.Nodes())) })
				p.send(ms(10), p.a, "x")
				p.send(ms(10), p.b, "y")
				p.send(ms(6000), p.a, "after")
			},
			runFor: 7 * time.Second,
			want: []string{
				"1ms b opened", "2ms a opened",
				"5.011s a closed reset", "5.011s b closed reset",
				"6s a send after: closed",
			},
		},
		{
			name: "one stuck direction is enough to reset both ends",
			script: func(p *pair) {
				p.w.do(ms(5), func() { p.w.s.Net().Partition(OneWay(p.a, p.b)) })
				p.send(ms(10), p.a, "x")
				p.send(ms(10), p.b, "y")
			},
			runFor: 7 * time.Second,
			want: []string{
				"1ms b opened", "2ms a opened", "11ms a recv y",
				"5.011s a closed reset", "5.011s b closed reset",
			},
		},
		{
			name: "an idle connection survives a partition",
			script: func(p *pair) {
				p.w.do(ms(5), func() { p.w.s.Net().Partition(Isolate(p.b, p.w.s.Nodes())) })
				p.w.do(ms(9000), p.w.s.Net().Heal)
				p.send(ms(9500), p.a, "x")
			},
			runFor: 10 * time.Second,
			want:   []string{"1ms b opened", "2ms a opened", "9.501s b recv x"},
		},
		{
			name: "healed before StallTimeout: stuck frames flow in order, nothing resets",
			script: func(p *pair) {
				p.w.do(ms(5), func() { p.w.s.Net().Partition(Isolate(p.b, p.w.s.Nodes())) })
				p.send(ms(10), p.a, "x1", "x2")
				p.send(ms(20), p.a, "x3")
				p.send(ms(10), p.b, "y")
				p.w.do(ms(4000), p.w.s.Net().Heal)
			},
			runFor: 20 * time.Second,
			want: []string{
				"1ms b opened", "2ms a opened",
				"4.001s b recv x1", "4.001s a recv y", "4.001s b recv x2", "4.001s b recv x3",
			},
		},
		{
			name: "a clog delays frames, then they flow",
			script: func(p *pair) {
				p.w.do(ms(5), func() { p.w.s.Net().Clog(p.a, p.b, ms(500)) })
				p.send(ms(10), p.a, "x1")
				p.send(ms(300), p.a, "x2")
				p.send(ms(10), p.b, "y")
				p.send(ms(600), p.a, "x3")
			},
			want: []string{
				"1ms b opened", "2ms a opened", "11ms a recv y",
				"506ms b recv x1", "506ms b recv x2", "601ms b recv x3",
			},
		},
		{
			name: "a clog longer than StallTimeout resets",
			script: func(p *pair) {
				p.w.do(ms(5), func() { p.w.s.Net().Clog(p.a, p.b, 6*time.Second) })
				p.send(ms(10), p.a, "x")
			},
			runFor: 7 * time.Second,
			want:   []string{"1ms b opened", "2ms a opened", "5.011s a closed reset", "5.011s b closed reset"},
		},
		{
			name: "a paused receiver gets its frames on resume, in order, with no reset",
			script: func(p *pair) {
				p.w.do(ms(5), p.b.Pause)
				p.send(ms(10), p.a, "x1", "x2")
				p.send(ms(3000), p.a, "x3")
				p.w.do(ms(8000), p.b.Resume) // paused longer than StallTimeout
				p.send(ms(8000), p.b, "y")
			},
			runFor: 20 * time.Second,
			want: []string{
				"1ms b opened", "2ms a opened",
				"8s b recv x1", "8s b recv x2", "8s b recv x3", "8.001s a recv y",
			},
		},
		{
			name: "a frame arriving at the instant of the resume waits for the held ones",
			script: func(p *pair) {
				p.w.do(ms(5), p.b.Pause)
				p.w.do(ms(1000), p.b.Resume)
				p.send(ms(10), p.a, "x1")
				p.send(ms(999), p.a, "x2") // arrives at 1s, after the resume is queued
			},
			want: []string{"1ms b opened", "2ms a opened", "1s b recv x1", "1s b recv x2"},
		},
		{
			name: "a paused acceptor opens on resume before its first frame",
			script: func(p *pair) {
				// b is paused before a's SYN arrives: the accept is held.
				p.w.do(ms(0.5), p.b.Pause)
				p.w.do(ms(1000), p.b.Resume)
				p.w.at(ms(2), p.a, func(pr *proc) {
					require.NoError(t, pr.conns["a"].Send([]byte("hello")))
				})
				p.send(ms(999), p.a, "x2") // arrives at 1s
			},
			want: []string{"2ms a opened", "1s b opened", "1s b recv hello", "1s b recv x2"},
		},
		{
			name: "a crash while paused loses the held frames",
			script: func(p *pair) {
				p.w.do(ms(5), p.b.Pause)
				p.send(ms(10), p.a, "x")
				p.w.do(ms(100), p.b.Crash)
			},
			want: []string{"1ms b opened", "2ms a opened", "101ms a closed reset"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(1)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			p := newPair(t, opts)
			tt.script(p)
			p.w.run(max(tt.runFor, time.Second))
			require.Equal(t, tt.want, p.w.take())
		})
	}
}

func TestDialFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world, b *Node)
		addr  string
		want  []string
	}{
		{
			name: "unknown host",
			addr: "nosuch:9",
			want: []string{"0s a closed unknown-host"},
		},
		{
			name:  "no listener on an up node: refused after a round trip",
			setup: func(w *world, b *Node) { w.start(b) },
			addr:  "b:10",
			want:  []string{"2ms a closed refused"},
		},
		{
			name: "a node that never started: refused",
			addr: "b:9",
			want: []string{"2ms a closed refused"},
		},
		{
			name:  "a crashed node: refused",
			setup: func(w *world, b *Node) { w.start(b); w.run(0); b.Crash() },
			addr:  "b:9",
			want:  []string{"2ms a closed refused"},
		},
		{
			name: "a closed listener: refused",
			setup: func(w *world, b *Node) {
				w.start(b)
				w.run(0)
				l, err := procOf(w.t, b).e.Net().Listen(10, nil)
				require.NoError(w.t, err)
				l.Close()
			},
			addr: "b:10",
			want: []string{"2ms a closed refused"},
		},
		{
			name: "across a partition: timeout after DialTimeout",
			setup: func(w *world, b *Node) {
				w.start(b)
				w.s.Net().Partition(Isolate(b, w.s.Nodes()))
			},
			addr: "b:9",
			want: []string{"2.001s a closed timeout"},
		},
		{
			name: "across a one-way partition either way: timeout",
			setup: func(w *world, b *Node) {
				w.start(b)
				w.s.Net().Partition(OneWay(b, w.s.Node("a")))
			},
			addr: "b:9",
			want: []string{"2.001s a closed timeout"},
		},
		{
			name:  "the dialer's own host",
			setup: func(w *world, b *Node) { w.start(b) },
			addr:  "a:9",
			want:  []string{"2ms a closed refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			b := w.add("b", spec{start: func(p *proc) {
				_, err := p.e.Net().Listen(9, func(c env.Conn) env.Handler { return &recHandler{w: w, tag: "b"} })
				require.NoError(t, err)
			}}, DiskOptions{})
			a := w.add("a", spec{}, DiskOptions{})
			if tt.setup != nil {
				tt.setup(w, b)
			}
			w.start(a)
			w.at(0, a, func(p *proc) {
				c := p.e.Net().Dial(tt.addr, &recHandler{w: w, tag: "a"})
				require.Equal(t, tt.addr, c.RemoteAddr())
				require.ErrorIs(t, c.Send([]byte("early")), env.ErrClosed, "no sending before the open")
				p.logf("dial returned")
			})
			w.run(5 * time.Second)
			require.Equal(t, append([]string{"0s a dial returned"}, tt.want...), w.take())
		})
	}
}

func TestDialBadAddress(t *testing.T) {
	for _, addr := range []string{"b", "b:", "b:x", "b:0", "b:70000", ":9"} {
		w := newWorld(t, testOptions(1))
		w.add("b", spec{}, DiskOptions{})
		a := w.add("a", spec{}, DiskOptions{})
		w.start(a)
		var got error
		w.at(0, a, func(p *proc) {
			p.e.Net().Dial(addr, &recHandler{w: w, tag: "a", closed: func(_ env.Conn, err error) { got = err }})
		})
		w.run(time.Second)
		require.Error(t, got, addr)
		require.Len(t, w.take(), 1, addr)
	}
}

func TestConnAddrsAndIDs(t *testing.T) {
	p := newPair(t, testOptions(1))
	p.w.run(time.Second)
	ca, cb := procOf(t, p.a).conns["a"], procOf(t, p.b).conns["b"]
	require.Equal(t, "b:9", ca.RemoteAddr())
	require.Equal(t, "b:9", cb.LocalAddr())
	require.Equal(t, ca.LocalAddr(), cb.RemoteAddr())
	require.Regexp(t, `^a:\d+$`, ca.LocalAddr())
	require.NotEqual(t, ca.ID(), cb.ID())
}

func TestSendLimits(t *testing.T) {
	tests := []struct {
		name   string
		frames []int // sizes, sent in one callback
		want   []string
	}{
		{"at the frame limit", []int{1000}, []string{"ok", "recv 1000"}},
		{"over the frame limit", []int{1001}, []string{"too-large"}},
		{"empty frame", []int{0}, []string{"ok", "recv 0"}},
		{
			"buffer fills at ConnQueuedBytesMax",
			[]int{1000, 1000, 1000, 1, 500},
			[]string{"ok", "ok", "ok", "buffer-full", "buffer-full", "recv 1000", "recv 1000", "recv 1000"},
		},
		{
			"a refused frame does not count",
			[]int{1000, 1000, 1001, 999, 1},
			[]string{"ok", "ok", "too-large", "ok", "ok", "recv 1000", "recv 1000", "recv 999", "recv 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testOptions(1))
			var got []string
			b := w.add("b", spec{start: func(p *proc) {
				_, err := p.e.Net().Listen(9, func(c env.Conn) env.Handler { return &sizeHandler{got: &got} })
				require.NoError(t, err)
			}}, DiskOptions{})
			a := w.add("a", spec{start: func(p *proc) {
				p.e.Net().Dial("b:9", &recHandler{w: w, tag: "a", opened: func(c env.Conn) {
					for _, n := range tt.frames {
						if err := c.Send(make([]byte, n)); err != nil {
							got = append(got, errName(err))
						} else {
							got = append(got, "ok")
						}
					}
				}})
			}}, DiskOptions{})
			w.start(b, a)
			w.run(time.Second)
			require.Equal(t, tt.want, got)
		})
	}
}

// The send buffer drains as frames arrive: after they do, there is room
// again.
func TestSendBufferDrains(t *testing.T) {
	p := newPair(t, testOptions(1))
	f := func(c string) string { return strings.Repeat(c, 1000) }
	p.send(ms(10), p.a, f("1"), f("2"), f("3"), f("x")) // the fourth does not fit
	p.send(ms(10.5), p.a, f("y"))                       // nor this one: nothing arrived yet
	p.send(ms(12), p.a, f("4"), f("5"))                 // all three arrived at 11ms
	p.w.run(time.Second)
	var got []string
	for _, l := range p.w.take() {
		for _, c := range "12345xy" {
			l = strings.ReplaceAll(l, f(string(c)), string(c)+"×1000")
		}
		got = append(got, l)
	}
	require.Equal(t, []string{
		"1ms b opened", "2ms a opened",
		"10ms a send x×1000: buffer-full", "10.5ms a send y×1000: buffer-full",
		"11ms b recv 1×1000", "11ms b recv 2×1000", "11ms b recv 3×1000",
		"13ms b recv 4×1000", "13ms b recv 5×1000",
	}, got)
}

type sizeHandler struct{ got *[]string }

func (h *sizeHandler) Opened(env.Conn) {}
func (h *sizeHandler) Received(_ env.Conn, f []byte) {
	*h.got = append(*h.got, fmt.Sprintf("recv %d", len(f)))
}
func (h *sizeHandler) Closed(env.Conn, error) {}

func TestListen(t *testing.T) {
	w := newWorld(t, testOptions(1))
	n := w.add("n1", spec{}, DiskOptions{})
	w.start(n)
	w.run(0)
	nw := procOf(t, n).e.Net()
	l, err := nw.Listen(9, func(env.Conn) env.Handler { return nil })
	require.NoError(t, err)
	require.Equal(t, "n1:9", l.Addr())
	_, err = nw.Listen(9, func(env.Conn) env.Handler { return nil })
	require.ErrorIs(t, err, env.ErrAddrInUse)
	_, err = nw.Listen(10, func(env.Conn) env.Handler { return nil })
	require.NoError(t, err, "another port is free")
	for _, port := range []int{0, -1, 65536} {
		_, err = nw.Listen(port, func(env.Conn) env.Handler { return nil })
		require.Error(t, err, "port %d", port)
	}
	l.Close()
	l.Close()
	l2, err := nw.Listen(9, func(env.Conn) env.Handler { return nil })
	require.NoError(t, err, "free again after Close")
	l.Close() // closing the old listener leaves the new one alone
	_, err = nw.Listen(9, func(env.Conn) env.Handler { return nil })
	require.ErrorIs(t, err, env.ErrAddrInUse)
	l2.Close()

	// A restart starts with no listeners.
	_, err = nw.Listen(9, func(env.Conn) env.Handler { return nil })
	require.NoError(t, err)
	n.Crash()
	require.NoError(t, n.Start())
	w.run(0)
	_, err = procOf(t, n).e.Net().Listen(9, func(env.Conn) env.Handler { return nil })
	require.NoError(t, err)
}

// Frames on one connection arrive in the order sent even when each one's
// latency is drawn from a wide distribution, wide enough that later frames
// would often overtake earlier ones.
func TestOrderedDeliveryUnderJitter(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		opts := testOptions(seed)
		opts.Net.Latency = Latency{Min: 0, Mean: ms(20), Tail: ms(50), TailPercent: 5}
		opts.Net.ConnQueuedBytesMax = 1 << 20
		w := newWorld(t, opts)
		var got []int
		var at, sent []Time
		b := w.add("b", spec{start: func(p *proc) {
			_, err := p.e.Net().Listen(9, func(c env.Conn) env.Handler { return &seqHandler{w: w, got: &got, at: &at} })
			require.NoError(t, err)
		}}, DiskOptions{})
		a := w.add("a", spec{start: func(p *proc) {
			p.e.Net().Dial("b:9", &recHandler{w: w, tag: "a", opened: func(c env.Conn) {
				// A burst, then one frame every 5ms.
				for i := range 100 {
					require.NoError(t, c.Send([]byte(fmt.Sprint(i))))
					sent = append(sent, w.s.Now())
				}
				i := 100
				var next func()
				next = func() {
					require.NoError(t, c.Send([]byte(fmt.Sprint(i))))
					sent = append(sent, w.s.Now())
					if i++; i < 400 {
						p.e.Clock().AfterFunc(ms(5), next)
					}
				}
				next()
			}})
		}}, DiskOptions{})
		w.start(b, a)
		w.run(5 * time.Second)
		want := make([]int, 400)
		for i := range want {
			want[i] = i
		}
		require.Equal(t, want, got, "seed %d", seed)
		// Frames that arrive together with the one before although sent
		// later were held back behind it: their own latency would have
		// brought them first. There must be many, or the test shows nothing.
		heldBack, distinct := 0, map[Time]bool{}
		for i := range at {
			distinct[at[i]] = true
			if i > 0 && sent[i] > sent[i-1] && at[i] == at[i-1] {
				heldBack++
			}
		}
		require.Greater(t, heldBack, 20, "seed %d", seed)
		require.Greater(t, len(distinct), 50, "seed %d: the latencies should vary", seed)
	}
}

type seqHandler struct {
	w   *world
	got *[]int
	at  *[]Time
}

func (h *seqHandler) Opened(env.Conn) {}
func (h *seqHandler) Received(_ env.Conn, f []byte) {
	var i int
	fmt.Sscan(string(f), &i)
	*h.got = append(*h.got, i)
	*h.at = append(*h.at, h.w.s.Now())
}
func (h *seqHandler) Closed(env.Conn, error) {}

func TestBandwidthSpreadsABurst(t *testing.T) {
	opts := testOptions(1)
	opts.Net.BandwidthBytesPerSecond = 100_000 // 1000 bytes take 10ms
	opts.Net.ConnQueuedBytesMax = 10_000
	p := newPair(t, opts)
	frame := func(c byte, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = c
		}
		return string(b)
	}
	p.send(ms(10), p.a, frame('x', 1000), frame('y', 1000), frame('z', 500), frame('w', 1000))
	p.send(ms(10), p.b, frame('r', 1000)) // the other direction has its own wire
	p.send(ms(200), p.a, frame('v', 100)) // the wire is idle again by then
	p.w.run(time.Second)
	var got []string
	for _, l := range p.w.take() {
		var at, tag, verb, body string
		fmt.Sscan(l, &at, &tag, &verb, &body)
		if verb == "recv" {
			got = append(got, fmt.Sprintf("%s %s %c×%d", at, tag, body[0], len(body)))
		}
	}
	require.Equal(t, []string{
		"21ms b x×1000",
		"21ms a r×1000",
		"31ms b y×1000",
		"36ms b z×500",
		"46ms b w×1000",
		"202ms b v×100",
	}, got)
}

// A Latency's samples: Min, then an exponential tail of mean Mean−Min, and
// with TailPercent an extra uniform delay of up to Tail.
func TestLatencySample(t *testing.T) {
	r := NewSeeds(1).Stream("latency")
	require.Equal(t, Time(0), Latency{}.sample(r))
	require.Equal(t, Time(ms(3)), Latency{Min: ms(3), Mean: ms(3)}.sample(r))
	const n = 20000
	var sum, tails int64
	for range n {
		d := Latency{Min: ms(1), Mean: ms(5)}.sample(r)
		require.GreaterOrEqual(t, d, Time(ms(1)))
		sum += int64(d)
		tail := Latency{Min: ms(1), Mean: ms(1), Tail: ms(100), TailPercent: 10}
		if tail.sample(r) > Time(ms(1)) {
			tails++
		}
	}
	mean := time.Duration(sum / n)
	require.InDelta(t, float64(ms(5)), float64(mean), float64(ms(0.2)))
	require.InDelta(t, 0.10, float64(tails)/n, 0.01)
}

func TestNewValidatesNetOptions(t *testing.T) {
	tests := []struct {
		name string
		mod  func(o *NetOptions)
	}{
		{"dial timeout", func(o *NetOptions) { o.DialTimeout = 0 }},
		{"stall timeout", func(o *NetOptions) { o.StallTimeout = -1 }},
		{"frame limit", func(o *NetOptions) { o.FrameBytesMax = 0 }},
		{"queue below frame", func(o *NetOptions) { o.ConnQueuedBytesMax = 999 }},
		{"latency min", func(o *NetOptions) { o.Latency.Min = -1 }},
		{"latency mean below min", func(o *NetOptions) { o.Latency.Mean = 0 }},
		{"bandwidth", func(o *NetOptions) { o.BandwidthBytesPerSecond = -1 }},
	}
	for _, tt := range tests {
		o := testOptions(1)
		tt.mod(&o.Net)
		_, err := New(o)
		require.Error(t, err, tt.name)
	}
	_, err := New(testOptions(1))
	require.NoError(t, err)
}
