package sim

import (
	"hash/fnv"
	"math/rand/v2"
)

// Seeds derives independent random streams from one run seed. Each consumer
// of randomness asks for a stream by name, so adding a new consumer (a new
// fault kind, a new client) does not shift the numbers any other consumer
// draws: the existing parts of a run stay as they were.
type Seeds struct {
	root uint64
}

// NewSeeds makes the stream source for a run seed.
func NewSeeds(seed uint64) Seeds { return Seeds{root: seed} }

// Root is the run seed.
func (s Seeds) Root() uint64 { return s.root }

// Stream returns a fresh generator for name. The same (seed, name) always
// gives the same sequence.
func (s Seeds) Stream(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(mix64(s.root), mix64(h.Sum64()^0x9e3779b97f4a7c15)))
}

// mix64 is SplitMix64's finalizer: it spreads nearby seeds (1, 2, 3…) over
// unrelated generator states.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
