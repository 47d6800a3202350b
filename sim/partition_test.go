package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

func linkNames(ls []Link) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.From.Name() + ">" + l.To.Name()
	}
	return out
}

// mesh is k nodes n1…nk. Each listens on port 9 and, when it starts, dials
// every other node; on its own dialed connection to nj, ni sends the frame
// "ni>nj" when told to. Received frames and closes are logged.
type mesh struct {
	w     *world
	nodes []*Node
}

func newMesh(t *testing.T, k int) *mesh {
	w := newWorld(t, testOptions(1))
	m := &mesh{w: w}
	for i := 1; i <= k; i++ {
		name := fmt.Sprintf("n%d", i)
		m.nodes = append(m.nodes, w.add(name, spec{start: func(p *proc) {
			_, err := p.e.Net().Listen(9, func(c env.Conn) env.Handler { return &recHandler{w: w, tag: name} })
			require.NoError(t, err)
			for j := 1; j <= k; j++ {
				if j != i {
					peer := fmt.Sprintf("n%d", j)
					p.conns[peer] = p.e.Net().Dial(peer+":9", &recHandler{w: w, tag: name + "(dialer)"})
				}
			}
		}}, DiskOptions{}))
	}
	w.start(m.nodes...)
	w.run(10 * time.Millisecond) // every connection is open by 2ms
	require.Len(t, w.take(), 2*k*(k-1))
	return m
}

// sendAll has every node send "from>to" to every other node.
func (m *mesh) sendAll() {
	for _, n := range m.nodes {
		p := procOf(m.w.t, n)
		for _, peer := range m.nodes {
			if peer != n {
				require.NoError(m.w.t, p.conns[peer.Name()].Send([]byte(n.Name()+">"+peer.Name())))
			}
		}
	}
}

// delivered runs for d and returns the frames received, sorted, failing
// on anything else logged.
func (m *mesh) delivered(d time.Duration) []string {
	m.w.run(d)
	var got []string
	for _, l := range m.w.take() {
		f := strings.Fields(l)
		require.Equal(m.w.t, "recv", f[2], "unexpected: %s", l)
		got = append(got, f[3])
	}
	slices.Sort(got)
	return got
}

// norm makes nil and empty lists compare equal.
func norm(s []string) []string { return append([]string{}, s...) }

func (m *mesh) allPairs() []string {
	var out []string
	for _, a := range m.nodes {
		for _, b := range m.nodes {
			if a != b {
				out = append(out, a.Name()+">"+b.Name())
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestPartitionShapes(t *testing.T) {
	tests := []struct {
		name  string
		nodes int
		shape func(ns []*Node) ([]Link, error)
		cut   []string
	}{
		{
			name: "isolate", nodes: 5,
			shape: func(ns []*Node) ([]Link, error) { return Isolate(ns[2], ns), nil },
			cut:   []string{"n1>n3", "n2>n3", "n3>n1", "n3>n2", "n3>n4", "n3>n5", "n4>n3", "n5>n3"},
		},
		{
			name: "isolate of two", nodes: 2,
			shape: func(ns []*Node) ([]Link, error) { return Isolate(ns[0], ns), nil },
			cut:   []string{"n1>n2", "n2>n1"},
		},
		{
			name: "split", nodes: 5,
			shape: func(ns []*Node) ([]Link, error) { return Split([]*Node{ns[3], ns[0]}, ns), nil },
			cut: []string{
				"n1>n2", "n1>n3", "n1>n5", "n2>n1", "n2>n4", "n3>n1",
				"n3>n4", "n4>n2", "n4>n3", "n4>n5", "n5>n1", "n5>n4",
			},
		},
		{
			name: "split of everyone cuts nothing", nodes: 3,
			shape: func(ns []*Node) ([]Link, error) { return Split(ns, ns), nil },
			cut:   []string{},
		},
		{
			name: "halves of five: the smaller half first", nodes: 5,
			shape: func(ns []*Node) ([]Link, error) { return Halves(ns), nil },
			cut: []string{
				"n1>n3", "n1>n4", "n1>n5", "n2>n3", "n2>n4", "n2>n5",
				"n3>n1", "n3>n2", "n4>n1", "n4>n2", "n5>n1", "n5>n2",
			},
		},
		{
			name: "halves of four", nodes: 4,
			shape: func(ns []*Node) ([]Link, error) { return Halves(ns), nil },
			cut:   []string{"n1>n3", "n1>n4", "n2>n3", "n2>n4", "n3>n1", "n3>n2", "n4>n1", "n4>n2"},
		},
		{
			name: "halves in the given order", nodes: 4,
			shape: func(ns []*Node) ([]Link, error) { return Halves([]*Node{ns[3], ns[0], ns[2], ns[1]}), nil },
			cut:   []string{"n1>n2", "n1>n3", "n2>n1", "n2>n4", "n3>n1", "n3>n4", "n4>n2", "n4>n3"},
		},
		{
			name: "bridge of five: n3 bridges {n1,n2} and {n4,n5}", nodes: 5,
			shape: Bridge,
			cut:   []string{"n1>n4", "n1>n5", "n2>n4", "n2>n5", "n4>n1", "n4>n2", "n5>n1", "n5>n2"},
		},
		{
			name: "bridge of three", nodes: 3,
			shape: Bridge,
			cut:   []string{"n1>n3", "n3>n1"},
		},
		{
			name: "ring of five: each talks to its two neighbours", nodes: 5,
			shape: Ring,
			cut: []string{
				"n1>n3", "n1>n4", "n2>n4", "n2>n5", "n3>n1",
				"n3>n5", "n4>n1", "n4>n2", "n5>n2", "n5>n3",
			},
		},
		{
			name: "ring of four", nodes: 4,
			shape: Ring,
			cut:   []string{"n1>n3", "n2>n4", "n3>n1", "n4>n2"},
		},
		{
			name: "one way n1>n2", nodes: 3,
			shape: func(ns []*Node) ([]Link, error) { return OneWay(ns[0], ns[1]), nil },
			cut:   []string{"n1>n2"},
		},
		{
			name: "one way n2>n1", nodes: 3,
			shape: func(ns []*Node) ([]Link, error) { return OneWay(ns[1], ns[0]), nil },
			cut:   []string{"n2>n1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMesh(t, tt.nodes)
			nw := m.w.s.Net()
			links, err := tt.shape(m.nodes)
			require.NoError(t, err)
			require.Equal(t, tt.cut, linkNames(links), "the cut links, sorted")

			nw.Partition(links)
			cut := map[string]bool{}
			for _, l := range tt.cut {
				cut[l] = true
			}
			var flows []string
			for _, a := range m.nodes {
				for _, b := range m.nodes {
					if a == b {
						require.False(t, nw.Blocked(a, b), "a node always reaches itself")
						continue
					}
					name := a.Name() + ">" + b.Name()
					require.Equal(t, cut[name], nw.Blocked(a, b), name)
					if !cut[name] {
						flows = append(flows, name)
					}
				}
			}
			slices.Sort(flows)

			// End to end: exactly the frames on uncut links arrive, well
			// within StallTimeout; the rest wait.
			m.sendAll()
			require.Equal(t, norm(flows), norm(m.delivered(time.Second)))

			// After a heal the held frames arrive and nothing was reset.
			nw.Heal()
			for _, a := range m.nodes {
				for _, b := range m.nodes {
					require.False(t, nw.Blocked(a, b))
				}
			}
			require.Equal(t, norm(tt.cut), norm(m.delivered(time.Second)))
			// Again, past StallTimeout (5s) since the frames stalled: no
			// connection was reset and all of them carry frames.
			m.sendAll()
			require.Equal(t, m.allPairs(), m.delivered(5*time.Second))
		})
	}
}

// The asymmetric partition on one connection: OneWay(from, to) stalls
// from's frames while to's still arrive, and the reverse.
func TestOneWayPartitionBothDirections(t *testing.T) {
	tests := []struct {
		name string
		cut  func(p *pair) []Link
		want []string
	}{
		{
			name: "a>b cut: b still reaches a",
			cut:  func(p *pair) []Link { return OneWay(p.a, p.b) },
			want: []string{"11ms a recv from-b", "2s b recv from-a"},
		},
		{
			name: "b>a cut: a still reaches b",
			cut:  func(p *pair) []Link { return OneWay(p.b, p.a) },
			want: []string{"11ms b recv from-a", "2s a recv from-b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, testOptions(1))
			p.w.run(5 * time.Millisecond)
			require.Len(t, p.w.take(), 2)
			links := tt.cut(p)
			p.w.s.Net().Partition(links)
			require.True(t, p.w.s.Net().Blocked(links[0].From, links[0].To))
			require.False(t, p.w.s.Net().Blocked(links[0].To, links[0].From))
			p.send(ms(10), p.a, "from-a")
			p.send(ms(10), p.b, "from-b")
			p.w.do(ms(1999), p.w.s.Net().Heal)
			p.w.runUntil(4 * time.Second)
			require.Equal(t, tt.want, p.w.take())
		})
	}
}

func TestPartitionShapesNeedEnoughNodes(t *testing.T) {
	w := newWorld(t, testOptions(1))
	var ns []*Node
	for i := range 3 {
		ns = append(ns, w.add(fmt.Sprintf("n%d", i+1), spec{}, DiskOptions{}))
	}
	for k := range 3 {
		_, err := Bridge(ns[:k])
		require.Error(t, err, "bridge of %d", k)
		require.Contains(t, err.Error(), fmt.Sprintf("have %d", k))
	}
	for k := range 4 {
		_, err := Ring(ns[:min(k, 3)])
		require.Error(t, err, "ring of %d", k)
	}
	_, err := Bridge(ns)
	require.NoError(t, err)
	require.Empty(t, Halves(ns[:1]), "one node has no one to be cut from")
	require.Empty(t, Isolate(ns[0], ns[:1]))
}

func TestCutPartitionHealAndClog(t *testing.T) {
	w := newWorld(t, testOptions(1))
	var ns []*Node
	for i := range 3 {
		ns = append(ns, w.add(fmt.Sprintf("n%d", i+1), spec{}, DiskOptions{}))
	}
	nw := w.s.Net()
	blocked := func() []string {
		var out []string
		for _, a := range ns {
			for _, b := range ns {
				if nw.Blocked(a, b) {
					out = append(out, a.Name()+">"+b.Name())
				}
			}
		}
		return out
	}
	nw.Cut(OneWay(ns[0], ns[1]))
	nw.Cut(OneWay(ns[2], ns[0]))
	require.Equal(t, []string{"n1>n2", "n3>n1"}, blocked(), "Cut adds")
	nw.Partition(OneWay(ns[1], ns[2]))
	require.Equal(t, []string{"n2>n3"}, blocked(), "Partition replaces")
	nw.Clog(ns[0], ns[2], time.Second)
	require.Equal(t, []string{"n1>n3", "n2>n3"}, blocked())
	w.runUntil(ms(999))
	require.Equal(t, []string{"n1>n3", "n2>n3"}, blocked())
	w.runUntil(time.Second)
	require.Equal(t, []string{"n2>n3"}, blocked(), "a clog ends by itself")
	nw.Clog(ns[0], ns[2], 10*time.Second)
	nw.Clog(ns[0], ns[2], time.Second) // a shorter clog does not shorten it
	w.runUntil(5 * time.Second)
	require.Equal(t, []string{"n1>n3", "n2>n3"}, blocked())
	nw.Partition(nil)
	require.Equal(t, []string{"n1>n3"}, blocked(), "Partition leaves clogs")
	nw.Heal()
	require.Empty(t, blocked(), "Heal clears cuts and clogs")
}
