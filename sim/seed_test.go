package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

func draw(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func TestSeedsSameSeedAndNameSameSequence(t *testing.T) {
	tests := []struct {
		seed uint64
		name string
	}{
		{0, ""}, {1, "net"}, {1, "disk/n1"}, {2, "net"}, {1 << 63, "node/n1/1"}, {42, "a much longer stream name / with spaces"},
	}
	for _, tt := range tests {
		a := draw(NewSeeds(tt.seed).Stream(tt.name), 64)
		b := draw(NewSeeds(tt.seed).Stream(tt.name), 64)
		require.Equal(t, a, b, "seed %d stream %q", tt.seed, tt.name)
		require.Equal(t, tt.seed, NewSeeds(tt.seed).Root())
	}
}

func TestSeedsDistinctStreams(t *testing.T) {
	// Every (seed, name) here must give its own sequence: names that differ
	// by one character, nearby seeds, and the same name under other seeds.
	keys := []struct {
		seed uint64
		name string
	}{
		{1, "net"}, {1, "neu"}, {1, "net "}, {1, ""}, {1, "disk/n1"}, {1, "disk/n2"},
		{1, "node/n1/1"}, {1, "node/n1/2"}, {2, "net"}, {3, "net"}, {0, "net"}, {2, "disk/n1"},
	}
	seen := map[uint64]int{}
	for i, k := range keys {
		first := NewSeeds(k.seed).Stream(k.name).Uint64()
		if j, dup := seen[first]; dup {
			t.Fatalf("streams %v and %v start alike", keys[j], k)
		}
		seen[first] = i
		// Not just the first draw: the sequences differ throughout.
		for j := range i {
			a := draw(NewSeeds(k.seed).Stream(k.name), 16)
			b := draw(NewSeeds(keys[j].seed).Stream(keys[j].name), 16)
			same := 0
			for x := range a {
				if a[x] == b[x] {
					same++
				}
			}
			require.Zero(t, same, "%v and %v share draws", k, keys[j])
		}
	}
}

func TestSeedsStreamsAreIndependent(t *testing.T) {
	s := NewSeeds(99)
	alone := draw(s.Stream("a"), 100)

	// The same stream, with another stream drawn from heavily in between,
	// and a third created half-way: a new consumer perturbs no one.
	a, b := s.Stream("a"), s.Stream("b")
	var mixed []uint64
	for i := range 100 {
		mixed = append(mixed, a.Uint64())
		for range i % 7 {
			b.Uint64()
		}
		if i == 50 {
			c := s.Stream("c")
			c.Float64()
			c.IntN(10)
		}
	}
	require.Equal(t, alone, mixed)

	// The Sim hands out the same streams as its Seeds.
	sm, err := New(DefaultOptions(99))
	require.NoError(t, err)
	require.Equal(t, uint64(99), sm.Seed())
	require.Equal(t, alone, draw(sm.Seeds().Stream("a"), 100))
}

// A world whose network latency is random: its trace hash is a function of
// the seed alone.
func jitterRun(t *testing.T, seed uint64, extraNode bool) (hash uint64, events uint64, log []string) {
	opts := testOptions(seed)
	opts.Net.Latency = Latency{Min: ms(1), Mean: ms(5), Tail: ms(20), TailPercent: 10}
	w := newWorld(t, opts)
	b := w.add("b", spec{start: func(p *proc) {
		_, err := p.e.Net().Listen(9, func(c env.Conn) env.Handler { return &recHandler{w: p.w, tag: "b"} })
		require.NoError(t, err)
	}}, DiskOptions{})
	a := w.add("a", spec{start: func(p *proc) {
		p.e.Net().Dial("b:9", &recHandler{w: p.w, tag: "a", opened: func(c env.Conn) {
			for i := range 5 {
				require.NoError(t, c.Send([]byte{byte('0' + i)}))
			}
		}})
	}}, DiskOptions{})
	w.start(b, a)
	if extraNode {
		// A node that draws from its own streams but talks to no one.
		x := w.add("x", spec{start: func(p *proc) { p.e.Rand().Uint64() }}, DiskOptions{})
		w.start(x)
	}
	w.run(time.Second)
	return w.s.TraceHash(), w.s.Events(), w.take()
}

func TestSeedsRunIsAFunctionOfTheSeed(t *testing.T) {
	h1, e1, l1 := jitterRun(t, 5, false)
	h2, e2, l2 := jitterRun(t, 5, false)
	require.Equal(t, h1, h2)
	require.Equal(t, e1, e2)
	require.Equal(t, l1, l2)
	require.Len(t, l1, 7, "both ends open, five frames")

	h3, _, l3 := jitterRun(t, 6, false)
	require.NotEqual(t, h1, h3, "another seed, another run")
	require.NotEqual(t, l1, l3, "another seed, other latencies")

	// A node that only uses its own streams shifts nothing the others see.
	_, _, l4 := jitterRun(t, 5, true)
	require.Equal(t, l1, l4)
}
