package cryptorand

import _ "crypto/rand" // want `crypto/rand produces unreproducible randomness`
