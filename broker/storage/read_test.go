package storage

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/broker/records"
)

// The active segment remembers its last batches (positions and headers)
// so that reads near the end skip the header walk. Every read must give
// what the model holds, from every offset, while the memory wraps, after
// a truncation into it and after appends that replace the cut batches,
// and from headers (Headers) as well as data (Read).
func TestRecentBatchesServeReadsExactly(t *testing.T) {
	r := newRig(t, 1, DefaultConfig(), slowSync)
	r.appendN(recentBatchesMax*2+7, 2, 5)
	readEachOffset := func() {
		t.Helper()
		for off := r.l.StartOffset(); off < r.l.EndOffset(); off += 3 {
			data, err := r.l.Read(off, 1, true)
			require.NoError(t, err)
			r.sameBatches(r.modelFrom(off, off+1), data, fmt.Sprintf("read at %d", off))
			var first records.Header
			require.NoError(t, r.l.Headers(off, func(h records.Header) bool { first = h; return false }))
			require.LessOrEqual(t, first.BaseOffset, off)
			require.Greater(t, first.NextOffset(), off)
		}
		r.checkLog()
	}
	readEachOffset()
	cut := r.l.EndOffset() - 41 // a batch boundary: batches hold 2 records
	require.NoError(t, r.l.Truncate(cut+1))
	r.modelCut(cut)
	readEachOffset()
	r.appendN(50, 3, 9)
	readEachOffset()
}
