package randv1

import (
	"math/rand"
)

func bad(s []int) {
	_ = rand.Int()                          // want `math/rand.Int uses the global random source`
	_ = rand.Intn(3)                        // want `math/rand.Intn uses the global random source`
	_ = rand.Int63()                        // want `math/rand.Int63 uses the global random source`
	_ = rand.Float64()                      // want `math/rand.Float64 uses the global random source`
	_ = rand.Perm(3)                        // want `math/rand.Perm uses the global random source`
	rand.Shuffle(len(s), func(i, j int) {}) // want `math/rand.Shuffle uses the global random source`
	rand.Seed(1)                            // want `math/rand.Seed uses the global random source`
	_, _ = rand.Read(make([]byte, 4))       // want `math/rand.Read uses the global random source`
	_ = rand.Uint64()                       // want `math/rand.Uint64 uses the global random source`
	_ = rand.ExpFloat64()                   // want `math/rand.ExpFloat64 uses the global random source`
	f := rand.Intn                          // want `math/rand.Intn uses the global random source`
	_ = f
}

// Explicitly seeded generators and their methods are deterministic.
func fine(s []int) {
	r := rand.New(rand.NewSource(42))
	_ = r.Intn(3)
	_ = r.Float64()
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	_ = rand.NewZipf(r, 1.5, 1, 10).Uint64()
	var src rand.Source = rand.NewSource(1)
	_ = src.Int63()
	g := r.Intn // a method value on a seeded *rand.Rand
	_ = g(2)
}
