package storage

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

func TestAppendReadAcrossSegments(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	for i := range 300 {
		// Sizes vary so that batches straddle index intervals unevenly.
		r.append(makeBatch(1+i%7, 10+(i*37)%300, r.nowMs()), 1)
	}
	l := r.l
	require.Equal(t, r.model[len(r.model)-1].next, l.EndOffset())
	require.Greater(t, l.Segments(), 10, "small segments roll often")
	r.checkLog()

	// Every offset, including those inside a batch, reads from the batch
	// that holds it.
	for _, b := range r.model {
		for off := b.base; off < b.next; off++ {
			data, err := l.Read(off, 1, true)
			require.NoError(t, err)
			require.Equal(t, b.data, data, "offset %d", off)
		}
	}
	data, err := l.Read(l.EndOffset(), 1<<20, true)
	require.NoError(t, err)
	require.Empty(t, data, "reading at the log end returns nothing")

	// The same log after a restart with a surviving page cache, and after
	// a crash with everything flushed.
	r.reopen()
	r.checkLog()
	require.NoError(t, r.flush())
	r.settle()
	r.crash()
	r.checkLog()
	require.Equal(t, r.model[len(r.model)-1].next, r.l.EndOffset())
}

func TestReadBounds(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(5, 4, 100) // 5 batches of 4 records
	size := len(r.model[0].data)
	l := r.l

	tests := []struct {
		name        string
		offset      int64
		maxBytes    int
		minOneBatch bool
		want        []int64 // base offsets returned
		err         error
	}{
		{name: "max bytes holds two batches", offset: 0, maxBytes: 2*size + size/2, want: []int64{0, 4}},
		{name: "exactly two batches", offset: 0, maxBytes: 2 * size, want: []int64{0, 4}},
		{name: "mid-batch offset starts at its batch", offset: 6, maxBytes: size, want: []int64{4}},
		{name: "KIP-74: a first batch above max bytes comes whole", offset: 8, maxBytes: 10, minOneBatch: true, want: []int64{8}},
		{name: "without minOneBatch it does not", offset: 8, maxBytes: 10, want: nil},
		{name: "zero max bytes", offset: 0, maxBytes: 0, minOneBatch: true, want: []int64{0}},
		{name: "to the end", offset: 12, maxBytes: 1 << 20, want: []int64{12, 16}},
		{name: "at the end", offset: 20, maxBytes: 1 << 20, want: nil},
		{name: "past the end", offset: 21, maxBytes: 1 << 20, err: ErrOffsetOutOfRange},
		{name: "negative", offset: -1, maxBytes: 1 << 20, err: ErrOffsetOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := l.Read(tt.offset, tt.maxBytes, tt.minOneBatch)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, bases(t, data))
		})
	}

	require.NoError(t, l.DeleteRecordsBefore(9))
	_, err := l.Read(8, 1<<20, true)
	require.ErrorIs(t, err, ErrOffsetOutOfRange, "below the log start")
	data, err := l.Read(9, 1, true)
	require.NoError(t, err)
	require.Equal(t, []int64{8}, bases(t, data), "the batch holding the log start is still served whole")
}

// A read from the middle of a large segment must find its batch through
// the index, not by walking from the segment start: with a dense index
// every read lands within one interval of its batch.
func TestIndexLookupsInBigSegment(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IndexIntervalBytes = 1024
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	for i := range 2000 {
		r.append(makeBatch(1+i%3, 50+i%200, r.nowMs()+int64(i)), 0)
	}
	l := r.l
	require.Equal(t, 1, l.Segments())
	s := l.active()
	require.Greater(t, s.index.entries, 100)
	require.Equal(t, s.index.entries, s.timeIndex.entries, "timestamps grow with every batch: one time entry per offset entry")

	for i := 0; i < len(r.model); i += 37 {
		b := r.model[i]
		rel, pos, err := s.index.lookup(int32(b.next - 1))
		require.NoError(t, err)
		require.LessOrEqual(t, int64(rel), b.base)
		// The entry names a batch start within one interval (plus one
		// batch) before the batch sought.
		target := int64(0)
		for _, m := range r.model[:i] {
			target += int64(len(m.data))
		}
		require.LessOrEqual(t, int64(pos), target)
		require.Less(t, target-int64(pos), int64(cfg.IndexIntervalBytes)+int64(len(b.data))+300)
		data, err := l.Read(b.next-1, 1, true)
		require.NoError(t, err)
		require.Equal(t, b.data, data)
	}

	// A damaged index after Open is noticed on read and bypassed.
	require.NoError(t, r.n.Disk().Corrupt(r.dir+"/"+segFile(0, indexSuffix), 800, 16))
	for i := 0; i < len(r.model); i += 101 {
		data, err := l.Read(r.model[i].base, 1, true)
		require.NoError(t, err)
		require.Equal(t, r.model[i].data, data)
	}
}

func TestRollBySize(t *testing.T) {
	cfg := smallConfig()
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	r.appendN(100, 1, 1000)
	l := r.l
	for i, s := range l.segs {
		require.LessOrEqual(t, s.sizeBytes, cfg.SegmentBytes, "segment %d", i)
		if i < len(l.segs)-1 {
			next := l.segs[i+1]
			// The segment was rolled because the next batch did not fit.
			require.Greater(t, s.sizeBytes+next.sizeBytes, int64(0))
			require.Equal(t, s.nextOffset, next.baseOffset)
		}
	}
	require.Equal(t, 100/(int(cfg.SegmentBytes)/len(r.model[0].data))+1, l.Segments())
	for _, s := range l.segs {
		_, err := r.n.Disk().ReadFile(segmentName(r.dir, s.baseOffset, logSuffix))
		require.NoError(t, err, "segment files are named by base offset")
	}
	r.checkLog()
}

func TestRollByTime(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentMs = 60_000
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	r.appendN(3, 1, 10)
	r.run(59 * 1e9)
	r.appendN(1, 1, 10)
	require.Equal(t, 1, r.l.Segments(), "not yet a minute since the first append")
	r.run(1e9)
	r.appendN(1, 1, 10)
	require.Equal(t, 2, r.l.Segments(), "a minute after the segment's first append, the next append rolls")

	// Tick rolls an old segment without waiting for an append, and never
	// rolls an empty one.
	r.run(60 * 1e9)
	require.NoError(t, r.l.Tick())
	require.Equal(t, 3, r.l.Segments())
	r.run(60 * 1e9)
	require.NoError(t, r.l.Tick())
	require.Equal(t, 3, r.l.Segments(), "the new active segment is empty")
	r.checkLog()
}

func TestRollByFullIndex(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IndexIntervalBytes = 0 // every batch indexed
	cfg.SegmentIndexBytesMax = 10 * timeEntryBytes
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	for i := range 35 {
		r.append(makeBatch(1, 10, r.nowMs()+int64(i)), 0)
	}
	l := r.l
	require.Equal(t, 4, l.Segments(), "ten time index entries per segment")
	for _, s := range l.segs[:3] {
		require.Equal(t, 10, s.timeIndex.entries)
		require.LessOrEqual(t, s.index.sizeBytes(), int64(cfg.SegmentIndexBytesMax))
	}
	r.checkLog()
}

func TestAppendAsFollower(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	l := r.l
	var batches []byte
	next := int64(0)
	for i := range 10 {
		b := stamped(makeBatch(3, 20, r.nowMs()), next, int32(1+i/4))
		batches = append(batches, b...)
		r.record(b)
		next += 3
	}
	require.NoError(t, l.AppendAsFollower(batches))
	require.Equal(t, int64(30), l.EndOffset())
	require.Equal(t, []EpochEntry{{1, 0}, {2, 12}, {3, 24}}, l.Epochs())
	r.checkLog()

	gap := stamped(makeBatch(1, 10, r.nowMs()), 31, 3)
	require.ErrorIs(t, l.AppendAsFollower(gap), ErrNotContiguous)
	overlap := stamped(makeBatch(1, 10, r.nowMs()), 29, 3)
	require.ErrorIs(t, l.AppendAsFollower(overlap), ErrNotContiguous)
	good := stamped(makeBatch(1, 10, r.nowMs()), 30, 3)
	bad := stamped(makeBatch(1, 10, r.nowMs()), 31, 3)
	bad[len(bad)-1] ^= 0xff
	require.ErrorIs(t, l.AppendAsFollower(append(good, bad...)), ErrBadBatch)
	require.Equal(t, int64(30), l.EndOffset(), "nothing of a rejected fetch is appended")
	require.ErrorIs(t, l.AppendAsFollower(good[:40]), ErrBadBatch)
	r.checkLog()
}

func TestAppendRejectsMalformedBatch(t *testing.T) {
	cfg := smallConfig()
	cfg.BatchBytesMax = 1000
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	b := makeBatch(1, 10, r.nowMs())
	_, err := r.l.Append(b[:len(b)-1], 0, r.nowMs())
	require.ErrorIs(t, err, ErrBadBatch)
	_, err = r.l.Append(append(b, 0), 0, r.nowMs())
	require.ErrorIs(t, err, ErrBadBatch, "trailing bytes")
	_, err = r.l.Append(makeBatch(1, 2000, r.nowMs()), 0, r.nowMs())
	require.ErrorIs(t, err, ErrBadBatch, "past BatchBytesMax")
	require.Equal(t, int64(0), r.l.EndOffset())
}

func TestOffsetForTimestampAndMaxTimestamp(t *testing.T) {
	cfg := smallConfig()
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	l := r.l
	ts, off := l.MaxTimestamp()
	require.Equal(t, [2]int64{-1, -1}, [2]int64{ts, off}, "empty log")
	_, _, ok, err := l.OffsetForTimestamp(0)
	require.NoError(t, err)
	require.False(t, ok)

	// Timestamps mostly rise, with stragglers (producers' clocks differ)
	// and a plateau, so that the time index is sparse in places.
	rng := r.s.Seeds().Stream("test")
	base := int64(1_000_000)
	var maxes []int64
	for i := range 400 {
		maxTs := base + int64(i)*10 - rng.Int64N(200)
		if i > 100 && i < 200 {
			maxTs = base + 1000 // plateau
		}
		r.append(makeBatchTs(2, 30+rng.IntN(200), maxTs-5, maxTs), 1)
		maxes = append(maxes, maxTs)
	}
	check := func(label string) {
		t.Helper()
		want, wantOff := int64(-1), int64(-1)
		for i, m := range maxes {
			if m > want {
				want, wantOff = m, r.model[i].base
			}
		}
		ts, off := r.l.MaxTimestamp()
		require.Equal(t, [2]int64{want, wantOff}, [2]int64{ts, off}, label)
		for q := base - 300; q <= base+4200; q += 7 {
			// Brute force: the first batch whose max timestamp reaches q.
			wantOK := false
			var wantOffset, wantTs int64
			for i, m := range maxes {
				if m >= q && r.model[i].next > r.l.StartOffset() {
					wantOK, wantOffset, wantTs = true, max(r.model[i].base, r.l.StartOffset()), m
					break
				}
			}
			off, ts, ok, err := r.l.OffsetForTimestamp(q)
			require.NoError(t, err)
			require.Equal(t, wantOK, ok, "%s: ts %d", label, q)
			if ok {
				require.Equal(t, [2]int64{wantOffset, wantTs}, [2]int64{off, ts}, "%s: ts %d", label, q)
			}
		}
	}
	check("live")
	r.reopen()
	check("reopened (recovered by scan)")
	require.NoError(t, r.flush())
	r.settle()
	r.reopen()
	check("reopened below the recovery point (loaded from indexes)")
	require.NoError(t, r.l.DeleteRecordsBefore(301))
	check("after DeleteRecords")
	require.NoError(t, r.l.Truncate(600))
	r.modelCut(600)
	maxes = maxes[:len(r.model)]
	check("after truncation")
}

func TestTruncate(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	for i := range 200 {
		r.append(makeBatch(4, 100, r.nowMs()), int32(1+i/50)) // epochs 1..4, 200 offsets each
	}
	l := r.l
	require.Equal(t, []EpochEntry{{1, 0}, {2, 200}, {3, 400}, {4, 600}}, l.Epochs())
	segsBefore := l.Segments()

	require.NoError(t, l.Truncate(1000))
	require.Equal(t, int64(800), l.EndOffset(), "truncating past the end does nothing")

	require.NoError(t, l.Truncate(702)) // inside the batch [700, 704)
	require.Equal(t, int64(700), l.EndOffset(), "the batch holding the offset goes whole")
	r.modelCut(700)
	r.checkLog()

	require.NoError(t, l.Truncate(410)) // into an earlier segment
	require.Equal(t, int64(408), l.EndOffset())
	require.Less(t, l.Segments(), segsBefore)
	require.Equal(t, []EpochEntry{{1, 0}, {2, 200}, {3, 400}}, l.Epochs())
	r.modelCut(408)
	r.checkLog()
	require.LessOrEqual(t, l.RecoveryPoint(), int64(408))

	// Appends continue from the cut, in a new epoch, and everything
	// survives a flush and a crash.
	for range 30 {
		r.append(makeBatch(2, 300, r.nowMs()), 7)
	}
	require.Equal(t, []EpochEntry{{1, 0}, {2, 200}, {3, 400}, {7, 408}}, l.Epochs())
	require.NoError(t, r.flush())
	r.settle()
	r.crash()
	r.checkLog()
	require.Equal(t, []EpochEntry{{1, 0}, {2, 200}, {3, 400}, {7, 408}}, r.l.Epochs())

	// A truncation to a segment boundary leaves an empty active segment.
	l = r.l
	b := l.segs[len(l.segs)-1].baseOffset
	require.NoError(t, l.Truncate(b))
	require.Equal(t, b, l.EndOffset())
	require.True(t, l.active().empty())
	r.modelCut(b)
	r.checkLog()

	// Before the first segment: the log restarts there.
	require.NoError(t, l.DeleteRecordsBefore(300))
	r.settle()
	require.NoError(t, l.Truncate(5))
	require.Equal(t, [3]int64{5, 5, 5}, [3]int64{l.StartOffset(), l.EndOffset(), l.RecoveryPoint()})
	require.Empty(t, l.Epochs())
	require.Equal(t, 1, l.Segments())
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(100, 2, 300)
	require.NoError(t, r.l.TruncateFullyAndStartAt(5000))
	l := r.l
	require.Equal(t, [4]int64{5000, 5000, 5000, 1}, [4]int64{l.StartOffset(), l.EndOffset(), l.RecoveryPoint(), int64(l.Segments())})
	r.model = nil
	r.append(makeBatch(1, 10, r.nowMs()), 3)
	require.Equal(t, int64(5001), l.EndOffset())
	r.settle()
	require.NoError(t, r.flush())
	r.crash()
	require.Equal(t, int64(5000), r.l.StartOffset())
	r.checkLog()
	require.Equal(t, []string{"00000000000000005000.index", "00000000000000005000.log", "00000000000000005000.timeindex",
		"leader-epoch-checkpoint", "log-start-offset", "recovery-point"}, r.list())
}

func (r *rig) list() []string {
	r.t.Helper()
	names, err := r.env().FS().List(r.dir)
	require.NoError(r.t, err)
	return names
}

func TestDeleteRecordsBeforePersists(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{SyncLatency: sim.Latency{Min: 2e6, Mean: 2e6}})
	r.appendN(200, 2, 200)
	require.NoError(t, r.flush())
	segs := r.l.Segments()
	require.ErrorIs(t, r.l.DeleteRecordsBefore(r.l.EndOffset()+1), ErrOffsetOutOfRange)
	require.NoError(t, r.l.DeleteRecordsBefore(151))
	require.Equal(t, int64(151), r.l.StartOffset())
	require.Less(t, r.l.Segments(), segs, "segments wholly below the start are deleted")
	require.NoError(t, r.l.DeleteRecordsBefore(100), "moving the start back is a no-op")
	require.Equal(t, int64(151), r.l.StartOffset())
	r.checkpoint()
	r.crash()
	require.Equal(t, int64(151), r.l.StartOffset())
	_, err := r.l.Read(150, 1000, true)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	r.checkLog()

	// Up to the log end: the active segment stays, empty of readable data.
	require.NoError(t, r.l.DeleteRecordsBefore(r.l.EndOffset()))
	require.Equal(t, 1, r.l.Segments())
	data, err := r.l.Read(r.l.EndOffset(), 1000, true)
	require.NoError(t, err)
	require.Empty(t, data)
	r.appendN(1, 1, 10)
	r.checkLog()
}

func TestEpochCacheThroughTheLog(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	l := r.l
	epoch, ok := l.LatestEpoch()
	require.False(t, ok)
	require.Equal(t, UndefinedEpoch, epoch)
	for _, e := range []int32{2, 2, 5, 5, 5, 9} {
		r.append(makeBatch(10, 10, r.nowMs()), e)
	}
	epoch, ok = l.LatestEpoch()
	require.True(t, ok)
	require.Equal(t, int32(9), epoch)
	for _, q := range []struct {
		req, epoch int32
		end        int64
	}{{1, 1, 0}, {2, 2, 20}, {3, 2, 20}, {5, 5, 50}, {8, 5, 50}, {9, 9, 60}, {10, -1, -1}, {-1, -1, -1}} {
		e, end := l.EndOffsetForEpoch(q.req)
		require.Equal(t, [2]int64{int64(q.epoch), q.end}, [2]int64{int64(e), end}, "epoch %d", q.req)
	}
	// The cache survives restarts: from its checkpoint below the recovery
	// point, from the batches above it.
	require.NoError(t, r.flush())
	r.settle()
	r.append(makeBatch(10, 10, r.nowMs()), 11)
	r.reopen()
	require.Equal(t, []EpochEntry{{2, 0}, {5, 20}, {9, 50}, {11, 60}}, r.l.Epochs())
	// A lost checkpoint is rebuilt from the batches.
	require.NoError(t, r.env().FS().Remove(r.dir+"/"+epochFile))
	r.reopen()
	require.Equal(t, []EpochEntry{{2, 0}, {5, 20}, {9, 50}, {11, 60}}, r.l.Epochs())
	r.settle()
	_, err := r.n.Disk().ReadFile(r.dir + "/" + epochFile)
	require.NoError(t, err, "and rewritten")
}

func TestCloseAndDelete(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(50, 2, 300)
	done := false
	r.l.Flush(func(err error) {
		require.ErrorIs(t, err, env.ErrClosed)
		done = true
	})
	require.NoError(t, r.l.Close())
	require.ErrorIs(t, r.l.Close(), env.ErrClosed)
	_, err := r.l.Append(makeBatch(1, 1, 0), 0, 0)
	require.ErrorIs(t, err, env.ErrClosed)
	r.settle()
	require.True(t, done, "a flush cut short by Close still completes")

	var deleted error = errors.New("pending")
	require.NoError(t, Delete(r.env().FS(), r.dir, func(err error) { deleted = err }))
	r.settle()
	require.NoError(t, deleted)
	require.Empty(t, r.n.Disk().Files())
	r.crash() // the removal was durable: the log opens empty
	require.Equal(t, int64(0), r.l.EndOffset())
}

func TestConfigValidation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = math.MaxInt32 + 1
	cfg.FlushMessages = 0
	_, err := Open(nil, nil, nil, "x", cfg)
	require.ErrorContains(t, err, "SegmentBytes")
	require.ErrorContains(t, err, "FlushMessages")
}
