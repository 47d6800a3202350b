package bench

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OMB's key pool: 10,000 random 7-byte keys, base64url without padding.
const (
	keyPoolSize  = 10_000
	keyRandBytes = 7
)

// payloads builds the payloads producers send and says where they came
// from. As in OMB: with useRandomizedPayloads, a pool of payloads whose
// first randomBytesRatio is random and the rest zeros (to exercise
// compression); otherwise the payloadFile, whose length must be
// messageSize. A payloadFile that cannot be found (the embedded workloads
// name OMB's files, which gregor does not ship) is replaced by random hex
// text of messageSize bytes, which compresses like OMB's files.
func payloads(w Workload, rng *rand.Rand) ([][]byte, string, error) {
	if w.UseRandomizedPayloads {
		randomBytes := int(float64(w.MessageSize) * w.RandomBytesRatio)
		pool := make([][]byte, w.RandomizedPayloadPoolSize)
		for i := range pool {
			p := make([]byte, w.MessageSize)
			fillRandom(rng, p[:randomBytes])
			pool[i] = p
		}
		return pool, fmt.Sprintf("%d randomized payloads of %d bytes, %d random then zeros",
			len(pool), w.MessageSize, randomBytes), nil
	}
	if file, ok := findPayloadFile(w); ok {
		p, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("payloadFile: %w", err)
		}
		if len(p) != w.MessageSize {
			return nil, "", fmt.Errorf("payloadFile %s: length %d, but messageSize is %d", file, len(p), w.MessageSize)
		}
		return [][]byte{p}, "file " + file, nil
	}
	const hexDigits = "0123456789abcdef"
	p := make([]byte, w.MessageSize)
	for i := range p {
		p[i] = hexDigits[rng.IntN(len(hexDigits))]
	}
	source := fmt.Sprintf("generated: %d bytes of random hex text", w.MessageSize)
	if w.PayloadFile != "" {
		source += fmt.Sprintf(" (payloadFile %q not found)", w.PayloadFile)
	}
	return [][]byte{p}, source, nil
}

// findPayloadFile looks for the payload file as given, then against the
// workload file's directory.
func findPayloadFile(w Workload) (string, bool) {
	if w.PayloadFile == "" {
		return "", false
	}
	candidates := []string{w.PayloadFile}
	if w.Source != "" && !strings.HasPrefix(w.Source, "embedded:") && !filepath.IsAbs(w.PayloadFile) {
		candidates = append([]string{filepath.Join(filepath.Dir(w.Source), w.PayloadFile)}, candidates...)
	}
	for _, c := range candidates {
		if info, err := os.Stat(c); err == nil && info.Mode().IsRegular() {
			return c, true
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return c, true // let the read report it
		}
	}
	return "", false
}

func fillRandom(rng *rand.Rand, p []byte) {
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
}

// keyPool is OMB's pool of random keys.
func keyPool(rng *rand.Rand) [][]byte {
	keys := make([][]byte, keyPoolSize)
	raw := make([]byte, keyRandBytes)
	for i := range keys {
		fillRandom(rng, raw)
		keys[i] = []byte(base64.RawURLEncoding.EncodeToString(raw))
	}
	return keys
}

// keyGen hands out one producer's keys. It is not safe for concurrent use:
// each producer goroutine has its own.
type keyGen struct {
	kind KeyDistributor
	pool [][]byte
	next int
}

func (k *keyGen) key(now time.Duration) []byte {
	switch k.kind {
	case KeyRoundRobin:
		key := k.pool[k.next]
		k.next = (k.next + 1) % len(k.pool)
		return key
	case KeyRandomNano:
		return k.pool[int(now.Nanoseconds()%int64(len(k.pool)))]
	default:
		return nil
	}
}
