package records

import (
	"math/rand/v2"
	"testing"
)

// benchBatch is a 16 KiB batch of 16 records with 1 KiB values of
// text-like data (compresses roughly 3-fold, like JSON payloads), drawn
// from a fixed seed so every run measures the same bytes.
func benchBatch(b *testing.B, c Codec) (batch []byte, recordBytes int) {
	words := []string{"user", "id", "timestamp", "event", "click", "view", "purchase", "session",
		"page", "referrer", "region", "device", "mobile", "desktop", "true", "false"}
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]Record, 16)
	for i := range recs {
		value := make([]byte, 0, 1024)
		for len(value) < 1024 {
			value = append(value, words[rng.IntN(len(words))]...)
			value = append(value, '0'+byte(rng.IntN(10)), ' ')
		}
		recs[i] = Record{Key: []byte{'k', byte('a' + i)}, Value: value[:1024]}
		recordBytes += 2 + 1024
	}
	return mustBuild(b, plainOptions(c), recs), recordBytes
}

// BenchmarkValidate reports MB/s of record payload (keys and values), so
// codecs compare on the same work.
func BenchmarkValidate(b *testing.B) {
	for _, c := range allCodecs {
		b.Run(c.String(), func(b *testing.B) {
			batch, recordBytes := benchBatch(b, c)
			b.SetBytes(int64(recordBytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(batch, ValidateOptions{RejectControl: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(batch)), "batch-bytes")
		})
	}
}

func BenchmarkRecords(b *testing.B) {
	for _, c := range []Codec{CodecNone, CodecLz4, CodecZstd} {
		b.Run(c.String(), func(b *testing.B) {
			batch, recordBytes := benchBatch(b, c)
			h, err := ParseHeader(batch)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(recordBytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Records(batch, h, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, c := range []Codec{CodecNone, CodecLz4, CodecZstd} {
		b.Run(c.String(), func(b *testing.B) {
			batch, recordBytes := benchBatch(b, c)
			h, _ := ParseHeader(batch)
			recs, err := Records(batch, h, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(recordBytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(plainOptions(c), recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
