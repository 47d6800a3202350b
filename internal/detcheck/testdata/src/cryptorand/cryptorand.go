package cryptorand

import (
	crand "crypto/rand" // want `crypto/rand produces unreproducible randomness`
	"math/rand/v2"
)

func key() []byte {
	b := make([]byte, 16)
	_, _ = crand.Read(b)
	return b
}

func fine() int { return rand.New(rand.NewPCG(1, 2)).IntN(5) }
