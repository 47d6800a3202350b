package faults

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

func allMix() Mix {
	return Mix{Partitions: true, Crashes: true, Stops: true, Pauses: true, Clocks: true}
}

func genOpts(nodes int) GenOptions {
	return GenOptions{Nodes: nodes, Window: 60 * time.Second, Every: 500 * time.Millisecond, LongestMax: 5 * time.Second, Mix: allMix()}
}

func name(i int) string { return "n" + strconv.Itoa(i) }

// TestGenerateIsDeterministic: the same stream gives the same schedule,
// another seed another one.
func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(rand.New(rand.NewPCG(1, 2)), genOpts(5))
	b := Generate(rand.New(rand.NewPCG(1, 2)), genOpts(5))
	c := Generate(rand.New(rand.NewPCG(3, 4)), genOpts(5))
	require.Equal(t, a, b)
	require.NotEqual(t, a.Format(name), c.Format(name))
	require.NotEmpty(t, a.Faults)
}

// TestGenerateKeepsTheAtlas checks the rules a safe schedule keeps, over
// many seeds: steps in time order within the window; every fault undone
// by a later step; partitions never overlap; a node has one fault at a
// time; at most DownMax nodes down or paused at once.
func TestGenerateKeepsTheAtlas(t *testing.T) {
	for seed := range uint64(200) {
		nodes := 3 + int(seed%3)
		o := genOpts(nodes)
		s := Generate(rand.New(rand.NewPCG(seed, 9)), o)
		downMax := max((nodes-1)/2, 1)
		down := map[int]bool{}
		partitioned := false
		for i, f := range s.Faults {
			require.LessOrEqual(t, f.At, o.Window, "seed %d step %d", seed, i)
			if i > 0 {
				require.LessOrEqual(t, s.Faults[i-1].At, f.At, "seed %d: steps out of order", seed)
			}
			switch f.Kind {
			case Partition:
				require.False(t, partitioned, "seed %d: overlapping partitions at %s", seed, f.At)
				partitioned = true
			case Heal:
				partitioned = false
			case Crash, Stop, Pause:
				require.False(t, down[f.Nodes[0]], "seed %d: node %d faulted twice at %s", seed, f.Nodes[0], f.At)
				down[f.Nodes[0]] = true
				require.LessOrEqual(t, len(down), downMax, "seed %d: too many down at %s", seed, f.At)
			case Restart, Resume:
				delete(down, f.Nodes[0])
			}
		}
		assert.Empty(t, down, "seed %d: faults left undone", seed)
		assert.False(t, partitioned, "seed %d: partition left in place", seed)
		assert.Equal(t, s.Count(Crash)+s.Count(Stop), s.Count(Restart), "seed %d", seed)
		assert.Equal(t, s.Count(Pause), s.Count(Resume), "seed %d", seed)
	}
}

// TestGenerateHonoursTheMix: a mix without a kind never draws it.
func TestGenerateHonoursTheMix(t *testing.T) {
	o := genOpts(3)
	o.Mix = Mix{Pauses: true, Clocks: true}
	s := Generate(rand.New(rand.NewPCG(5, 5)), o)
	for _, f := range s.Faults {
		require.NotContains(t, []Kind{Partition, Heal, Crash, Stop, Restart}, f.Kind, f.Format(name))
	}
	require.Empty(t, Generate(rand.New(rand.NewPCG(5, 5)), GenOptions{Nodes: 3, Window: time.Minute, Every: time.Second, LongestMax: time.Second}).Faults)
}

func TestFormat(t *testing.T) {
	cases := []struct {
		f    Fault
		want string
	}{
		{Fault{At: time.Second, Kind: Partition, Shape: OneWay, Nodes: []int{0, 2}}, "1s partition one-way n0>n2"},
		{Fault{At: time.Second, Kind: Partition, Shape: Halves, Nodes: []int{2, 0, 1}}, "1s partition halves n2 n0 n1"},
		{Fault{At: 2 * time.Second, Kind: Heal}, "2s heal"},
		{Fault{At: 0, Kind: ClockDrift, Nodes: []int{1}, DriftPpm: -20}, "0s clock-drift n1 -20ppm"},
		{Fault{At: 0, Kind: ClockJump, Nodes: []int{1}, Offset: -time.Second}, "0s clock-jump n1 -1s"},
		{Fault{At: 0, Kind: Crash, Nodes: []int{1}}, "0s crash n1"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.f.Format(name))
	}
}

// idle is a process that does nothing, for lifecycle steps.
type idle struct{}

func (idle) Start(env.Env)    {}
func (idle) Stop(done func()) { done() }

func newIdle() env.Process { return idle{} }

// TestInstallPlaysTheSchedule plays a schedule in the simulator: each
// step happens at its time, restarts wait for stopping nodes, HealAll
// leaves every node up and the network whole.
func TestInstallPlaysTheSchedule(t *testing.T) {
	s, err := sim.New(sim.DefaultOptions(1))
	require.NoError(t, err)
	for i := range 3 {
		n, err := s.AddNode(name(i), newIdle, sim.DiskOptions{})
		require.NoError(t, err)
		require.NoError(t, n.Start())
	}
	var notes []string
	tg := Target{Sim: s, Nodes: s.Nodes(), All: s.Nodes(), Note: func(x string) { notes = append(notes, s.Now().String()+" "+x) }}
	sched := Schedule{Faults: []Fault{
		{At: time.Second, Kind: Crash, Nodes: []int{1}},
		{At: time.Second, Kind: Partition, Shape: Isolate, Nodes: []int{2}},
		{At: 2 * time.Second, Kind: Pause, Nodes: []int{0}},
		{At: 3 * time.Second, Kind: Restart, Nodes: []int{1}},
		{At: 3 * time.Second, Kind: Heal},
		{At: 4 * time.Second, Kind: ClockOffset, Nodes: []int{2}, Offset: 5 * time.Second},
	}}
	sched.Install(tg, s.Now())
	require.NoError(t, s.RunFor(1500*time.Millisecond))
	assert.Equal(t, sim.Down, s.Node("n1").State())
	assert.True(t, s.Net().Blocked(s.Node("n2"), s.Node("n0")))
	require.NoError(t, s.RunFor(3*time.Second))
	assert.Equal(t, sim.Up, s.Node("n1").State())
	assert.True(t, s.Node("n0").Paused())
	assert.False(t, s.Net().Blocked(s.Node("n2"), s.Node("n0")))
	tg.HealAll()
	require.NoError(t, s.RunFor(time.Second))
	for _, n := range s.Nodes() {
		assert.Equal(t, sim.Up, n.State())
		assert.False(t, n.Paused())
	}
	assert.True(t, slices.Contains(notes, "1s crash n1"), "%v", notes)
	assert.Contains(t, notes, "3s restart n1")
	assert.Equal(t, "4.5s heal all", notes[len(notes)-1])
}
