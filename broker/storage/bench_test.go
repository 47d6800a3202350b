package storage

import (
	"testing"

	"github.com/gregor-dst/gregor/sim"
)

// BenchmarkAppend appends 1 KiB batches to a log on the simulated disk
// with the default configuration (1 GiB segments, no fsync on the append
// path): the cost of framing, stamping, writing and indexing.
func BenchmarkAppend(b *testing.B) {
	r := newRig(b, 1, DefaultConfig(), sim.DiskOptions{})
	batch := makeBatch(8, 100, r.nowMs())
	for len(batch) < 1024 {
		batch = makeBatch(8, 100+(1024-len(batch))/8+1, r.nowMs())
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.l.Append(batch, 1, 0); err != nil {
			b.Fatal(err)
		}
		if i%4096 == 4095 {
			// Keep the simulated disk's memory bounded: start over.
			b.StopTimer()
			if err := r.l.TruncateFullyAndStartAt(r.l.EndOffset()); err != nil {
				b.Fatal(err)
			}
			r.settle()
			b.StartTimer()
		}
	}
}
