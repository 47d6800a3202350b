package storage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

var slowSync = sim.DiskOptions{SyncLatency: sim.Latency{Min: 5 * time.Millisecond, Mean: 5 * time.Millisecond}}

// Flushes requested while one runs share the next one.
func TestFlushesCoalesce(t *testing.T) {
	r := newRig(t, 1, DefaultConfig(), slowSync)
	l := r.l
	var doneAt []time.Duration
	var reported []int64
	l.OnFlushed(func(offset int64) { reported = append(reported, offset) })
	record := func(err error) {
		require.NoError(t, err)
		doneAt = append(doneAt, time.Duration(r.s.Now()))
	}
	start := time.Duration(r.s.Now())
	r.appendN(1, 1, 10)
	l.Flush(record) // A: covers offset 0
	l.Flush(record) // B: nothing appended since A began: A covers it
	r.appendN(1, 1, 10)
	l.Flush(record) // C: waits for A, then covers offset 1
	r.appendN(1, 1, 10)
	l.Flush(record) // D: joins C
	r.settle()
	require.Len(t, doneAt, 4)
	// A flush is the file syncs then, the segment being new, the
	// directory sync: 10 ms.
	require.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond, 15 * time.Millisecond},
		[]time.Duration{doneAt[0] - start, doneAt[1] - start, doneAt[2] - start, doneAt[3] - start})
	require.Equal(t, []int64{1, 3}, reported)
	require.Equal(t, int64(3), l.RecoveryPoint())
}

func TestFlushWithNothingToDoStillCallsBack(t *testing.T) {
	r := newRig(t, 1, DefaultConfig(), slowSync)
	require.NoError(t, r.flush())
	called := false
	r.l.Flush(func(err error) { called = err == nil })
	require.False(t, called, "done never runs inside Flush")
	r.settle()
	require.True(t, called)
}

func TestFlushMs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FlushMs, cfg.RecoveryCheckpointMs = 1000, 0
	r := newRig(t, 1, cfg, slowSync)
	r.appendN(3, 1, 10)
	r.run(500 * time.Millisecond)
	require.NoError(t, r.l.Tick())
	r.settle()
	require.Equal(t, int64(0), r.l.RecoveryPoint(), "not yet")
	r.run(600 * time.Millisecond)
	require.NoError(t, r.l.Tick())
	r.settle()
	require.Equal(t, int64(3), r.l.RecoveryPoint())
	// The recovery point reached its checkpoint.
	r.crash()
	require.Equal(t, int64(3), r.l.RecoveryPoint())
}

// The recovery point's checkpoint is written on a timer: a flush moves
// the recovery point at once, but a crash before the interval has passed
// finds the older checkpoint and recovers the flushed data by scanning;
// after it, Tick (or the next flush) writes the checkpoint.
func TestRecoveryCheckpointInterval(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RecoveryCheckpointMs = 10_000
	r := newRig(t, 1, cfg, slowSync)
	r.run(20 * time.Second) // the first checkpoint write is due at once
	r.appendN(3, 1, 10)
	require.NoError(t, r.flush())
	r.settle()
	require.Equal(t, int64(3), r.l.RecoveryPoint())
	r.appendN(2, 1, 10)
	require.NoError(t, r.flush())
	require.Equal(t, int64(5), r.l.RecoveryPoint())
	r.crash()
	require.Equal(t, int64(3), r.l.RecoveryPoint(), "the checkpoint of the first flush")
	require.Equal(t, int64(5), r.l.EndOffset(), "flushed data past the checkpoint survives by recovery")

	r.appendN(1, 1, 10)
	require.NoError(t, r.flush())
	r.run(5 * time.Second)
	require.NoError(t, r.l.Tick())
	r.settle()
	r.crash()
	require.Less(t, r.l.RecoveryPoint(), int64(6), "not written before the interval")
	r.appendN(1, 1, 10)
	require.NoError(t, r.flush())
	r.run(11 * time.Second)
	require.NoError(t, r.l.Tick())
	r.settle()
	r.crash()
	require.Equal(t, int64(7), r.l.RecoveryPoint(), "written by Tick once the interval passed")
}

func TestFlushMessages(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FlushMessages = 10
	r := newRig(t, 1, cfg, slowSync)
	r.appendN(4, 2, 10) // 8 messages
	r.settle()
	require.Equal(t, int64(0), r.l.RecoveryPoint())
	r.appendN(1, 2, 10) // 10
	r.settle()
	require.Equal(t, int64(10), r.l.RecoveryPoint())
}

// A roll flushes the segments before the new one in the background, as
// Kafka does, so the recovery point moves even with fsync left to the OS.
func TestRollFlushesPreviousSegments(t *testing.T) {
	r := newRig(t, 1, smallConfig(), slowSync)
	r.appendN(100, 1, 500)
	r.settle()
	l := r.l
	rp := l.RecoveryPoint()
	require.Equal(t, l.active().baseOffset, rp)
	require.Greater(t, rp, int64(0))
	r.crash()
	require.Equal(t, rp, r.l.EndOffset(), "the rolled segments survive; the active one's data was never synced")
}

// A failed fsync fails the log: the pages it covered may be gone, so a
// later fsync proves nothing. Reopening recovers from what is on disk.
func TestFailedFsyncFailsTheLog(t *testing.T) {
	r := newRig(t, 1, DefaultConfig(), sim.DiskOptions{})
	r.appendN(3, 1, 10)
	require.NoError(t, r.flush())
	r.appendN(3, 1, 10)
	r.n.Disk().SetOptions(sim.DiskOptions{SyncErrorPercent: 100})
	err := r.flush()
	require.ErrorIs(t, err, env.ErrIO)
	require.ErrorIs(t, err, ErrLogFailed)
	_, err = r.l.Append(makeBatch(1, 1, 0), 0, 0)
	require.ErrorIs(t, err, ErrLogFailed)
	require.ErrorIs(t, r.flush(), ErrLogFailed)
	require.Error(t, r.l.Err())
	r.checkLog() // reads still work
	r.n.Disk().SetOptions(sim.DiskOptions{})
	r.reopen()
	r.appendN(1, 1, 10)
	require.NoError(t, r.flush())
	r.checkLog()
}

func TestSetConfig(t *testing.T) {
	r := newRig(t, 1, DefaultConfig(), slowSync)
	r.appendN(5, 2, 100)
	cfg := r.l.Config()
	cfg.FlushMessages = 0
	require.Error(t, r.l.SetConfig(cfg))
	cfg.FlushMessages = 4
	cfg.SegmentBytes = 1000
	require.NoError(t, r.l.SetConfig(cfg))
	r.settle()
	require.Equal(t, int64(10), r.l.RecoveryPoint(), "10 unflushed messages pass the new flush.messages")
	r.appendN(1, 1, 100)
	require.Equal(t, 2, r.l.Segments(), "the smaller segment.bytes rolls the active segment")
	r.checkLog()
}
