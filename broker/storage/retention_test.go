package storage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/sim"
)

func TestRetentionByTime(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionMs = 3_600_000
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	// Two hours of traffic, one batch a minute.
	for range 120 {
		r.appendN(1, 2, 500)
		r.run(time.Minute)
	}
	l := r.l
	segs := l.Segments()
	require.Greater(t, segs, 5)
	require.NoError(t, l.Tick())
	require.Less(t, l.Segments(), segs)
	// Every segment left has data newer than an hour; the one deleted
	// before it did not.
	now := r.nowMs()
	for _, s := range l.segs[:len(l.segs)-1] {
		require.LessOrEqual(t, now-s.maxTimestampMs, cfg.RetentionMs)
	}
	require.Equal(t, l.segs[0].baseOffset, l.StartOffset())
	r.checkLog()

	// Once everything is old, the active segment is rolled so that it can
	// go too; the log keeps one empty segment and its end offset.
	end := l.EndOffset()
	r.run(2 * time.Hour)
	require.NoError(t, l.Tick())
	require.Equal(t, 1, l.Segments())
	require.Equal(t, [2]int64{end, end}, [2]int64{l.StartOffset(), l.EndOffset()})
	require.NoError(t, l.Tick())
	require.Equal(t, 1, l.Segments(), "an empty active segment stays")
	r.appendN(1, 1, 10)
	r.checkLog()

	// The deletions and the new start offset survive a crash once
	// checkpointed.
	require.NoError(t, r.flush())
	r.checkpoint()
	r.crash()
	require.Equal(t, end, r.l.StartOffset())
	r.checkLog()
}

func TestRetentionByBytes(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionBytes = 40 << 10
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	r.appendN(300, 1, 500)
	l := r.l
	require.Greater(t, l.Size(), cfg.RetentionBytes*2)
	require.NoError(t, l.EnforceRetention(r.nowMs()))
	require.GreaterOrEqual(t, l.Size(), cfg.RetentionBytes, "never below retention.bytes")
	require.Less(t, l.Size()-l.segs[0].sizeBytes, cfg.RetentionBytes, "the oldest segment left is needed")
	require.Equal(t, l.segs[0].baseOffset, l.StartOffset())
	r.checkLog()
	r.settle()
	require.Len(t, r.list(), 3*l.Segments()+3, "three files per segment left, and the checkpoints")
}

func TestRetentionStopsAtTheHighWatermark(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionBytes = 0 // delete everything it may
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	r.appendN(100, 1, 500)
	l := r.l
	hw := l.segs[3].baseOffset + 1 // inside the fourth segment
	l.SetHighWatermark(hw)
	require.NoError(t, l.EnforceRetention(r.nowMs()))
	require.Equal(t, l.segs[0].baseOffset, l.StartOffset())
	require.Less(t, l.StartOffset(), hw)
	require.Greater(t, l.segs[0].nextOffset, hw, "the segment holding the high watermark stays")
	r.checkLog()
}

func TestDeleteRecordsThenRetentionFreesSegments(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(100, 1, 500)
	l := r.l
	n := l.Segments()
	require.NoError(t, l.DeleteRecordsBefore(l.segs[2].baseOffset+3))
	require.Equal(t, n-2, l.Segments())
	require.NoError(t, l.EnforceRetention(r.nowMs()))
	require.Equal(t, n-2, l.Segments(), "the segment holding the start stays")
	r.checkLog()
}
