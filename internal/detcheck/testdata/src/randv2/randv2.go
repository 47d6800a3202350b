package randv2

import (
	"math/rand/v2"
)

func bad(s []int) {
	_ = rand.IntN(3)                        // want `math/rand/v2.IntN uses the global random source`
	_ = rand.Int()                          // want `math/rand/v2.Int uses the global random source`
	_ = rand.Float64()                      // want `math/rand/v2.Float64 uses the global random source`
	_ = rand.Uint64()                       // want `math/rand/v2.Uint64 uses the global random source`
	_ = rand.Perm(3)                        // want `math/rand/v2.Perm uses the global random source`
	rand.Shuffle(len(s), func(i, j int) {}) // want `math/rand/v2.Shuffle uses the global random source`
	_ = rand.N(10)                          // want `math/rand/v2.N uses the global random source`
	_ = rand.N[int64](10)                   // want `math/rand/v2.N uses the global random source`
	_ = rand.Uint32N(7)                     // want `math/rand/v2.Uint32N uses the global random source`
}

// Explicitly seeded generators and their methods are deterministic.
func fine() {
	_ = rand.New(rand.NewPCG(1, 2)).IntN(3)
	var seed [32]byte
	r := rand.New(rand.NewChaCha8(seed))
	_ = r.Float64()
	_ = rand.NewZipf(r, 1.5, 1, 10).Uint64()
	pcg := rand.NewPCG(3, 4)
	pcg.Seed(5, 6) // a method, not the global Seed
	_ = pcg.Uint64()
}
