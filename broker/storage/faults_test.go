package storage

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

func TestNoSpaceLeavesTheLogConsistent(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{CapacityBytes: 100 << 10})
	l := r.l
	var err error
	for err == nil {
		b := makeBatch(2, 400, r.nowMs())
		if _, err = l.Append(b, 1, r.nowMs()); err == nil {
			r.record(b)
		}
	}
	require.ErrorIs(t, err, env.ErrNoSpace)
	end := l.EndOffset()
	require.Equal(t, r.model[len(r.model)-1].next, end, "a failed append leaves LEO unchanged")
	for range 5 {
		_, err := l.Append(makeBatch(2, 400, r.nowMs()), 1, r.nowMs())
		require.ErrorIs(t, err, env.ErrNoSpace)
	}
	require.Equal(t, end, l.EndOffset())
	r.checkLog()
	require.NoError(t, r.flush(), "the log still flushes")

	// Freeing space (DeleteRecords, then the segments go) lets appends
	// through again.
	require.NoError(t, l.DeleteRecordsBefore(end/2))
	r.appendN(10, 2, 400)
	r.checkLog()
	require.NoError(t, r.flush())
	r.settle()
	r.crash()
	r.checkLog()
}

// Appends, flushes, truncations and retention under random write errors
// and a disk that fills and empties: every operation either happens or
// leaves the log as it was, and the log always reads back as the model.
func TestRandomWriteFaults(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cfg := smallConfig()
			cfg.RetentionBytes = 64 << 10
			r := newRig(t, seed, cfg, sim.DiskOptions{CapacityBytes: 96 << 10})
			rng := r.s.Seeds().Stream("test")
			failures := 0
			for range 300 {
				opts := r.n.Disk().Options()
				opts.WriteErrorPercent = float64(rng.IntN(3)) * 10
				r.n.Disk().SetOptions(opts)
				switch k := rng.IntN(20); {
				case k < 15:
					b := makeBatch(1+rng.IntN(3), rng.IntN(900), r.nowMs())
					if _, err := r.l.Append(b, int32(rng.IntN(3)), r.nowMs()); err != nil {
						require.True(t, errors.Is(err, env.ErrNoSpace) || errors.Is(err, env.ErrIO), "%v", err)
						failures++
						if errors.Is(err, ErrLogFailed) {
							r.recoverFromFailure(b, opts.CapacityBytes)
						}
						break
					}
					r.record(b)
				case k < 16:
					r.l.Flush(nil)
				case k < 17:
					err := r.l.EnforceRetention(r.nowMs())
					require.NoError(t, err, "removing files does not fail in the sim")
				case k < 18 && r.l.EndOffset() > r.l.StartOffset():
					to := r.l.EndOffset() - rng.Int64N(min(20, r.l.EndOffset()-r.l.StartOffset())+1)
					if err := r.l.Truncate(to); err != nil {
						require.ErrorIs(t, err, ErrLogFailed)
						r.recoverFromFailure(nil, opts.CapacityBytes)
						failures++
					}
					r.modelCut(r.l.EndOffset())
				}
				r.run(0)
				require.NoError(t, r.l.Err())
				r.checkLog()
			}
			require.Greater(t, failures, 0)
		})
	}
}

// recoverFromFailure reopens a failed log without write faults. The batch
// whose append failed may come back: its bytes reached the file and the
// cut-back failed (the append's outcome was ambiguous, as Kafka's is when
// it takes a log directory offline).
func (r *rig) recoverFromFailure(failed []byte, capacityBytes int64) {
	r.t.Helper()
	r.n.Disk().SetOptions(sim.DiskOptions{CapacityBytes: capacityBytes})
	end := r.l.EndOffset()
	r.reopen()
	if failed == nil {
		return // a truncation: the log is cut, or not yet
	}
	if r.l.EndOffset() > end {
		r.record(failed)
	}
	modelEnd := r.l.StartOffset()
	if len(r.model) > 0 {
		modelEnd = max(modelEnd, r.model[len(r.model)-1].next)
	}
	require.Equal(r.t, modelEnd, r.l.EndOffset())
}

// TestFollowerAppendCutShortFlushesItsPrefix: a follower append whose
// third batch finds the disk full keeps the first two, and with
// flush.messages=1 their flush starts as after any append. (Before, it
// did not, and a follower waiting for that fsync never fetched again.)
func TestFollowerAppendCutShortFlushesItsPrefix(t *testing.T) {
	cfg := smallConfig()
	cfg.FlushMessages = 1
	r := newRig(t, 1, cfg, sim.DiskOptions{})
	r.n.Disk().SetOptions(sim.DiskOptions{CapacityBytes: r.n.Disk().UsedBytes() + 2*1200 + 600})
	var flushed int64
	r.l.OnFlushed(func(o int64) { flushed = o })
	var data []byte
	for i := range 3 {
		data = append(data, stamped(makeBatch(2, 500, r.nowMs()), int64(2*i), 1)...)
	}
	err := r.l.AppendAsFollower(data)
	require.ErrorIs(t, err, env.ErrNoSpace)
	require.Equal(t, int64(4), r.l.EndOffset(), "the two batches that fit stay")
	r.run(time.Second)
	require.Equal(t, int64(4), flushed, "their flush ran")
	require.Equal(t, int64(4), r.l.RecoveryPoint())
}
