package storage

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/sim"
)

// checkPrefix asserts what every crash must leave: a log that is a prefix
// of what was appended, ending at a batch boundary at or after floor.
func (r *rig) checkPrefix(floor int64) {
	r.t.Helper()
	l := r.l
	require.GreaterOrEqual(r.t, l.EndOffset(), floor, "the log lost data below its recovery point")
	if l.EndOffset() == l.StartOffset() {
		// Empty, perhaps restarted at a checkpointed start offset whose
		// data was lost, perhaps inside a batch: nothing to compare.
		r.model = nil
		return
	}
	atBoundary := l.EndOffset() == 0
	for _, b := range r.model {
		atBoundary = atBoundary || b.next == l.EndOffset()
	}
	require.True(r.t, atBoundary || l.EndOffset() == l.StartOffset(), "log ends at %d, not a batch boundary", l.EndOffset())
	r.modelCut(l.EndOffset())
	r.checkLog()
}

func TestDefaultPolicyLosesUnsyncedAppendsOnCrash(t *testing.T) {
	r := newRig(t, 1, DefaultConfig(), sim.DiskOptions{})
	r.appendN(20, 2, 100)
	require.NoError(t, r.flush())
	flushed := r.l.RecoveryPoint()
	require.Equal(t, int64(40), flushed)
	r.appendN(20, 2, 100)
	r.run(time.Hour) // no timer flushes: nothing reaches the disk
	require.Equal(t, flushed, r.l.RecoveryPoint())
	r.crash()
	require.Equal(t, flushed, r.l.EndOffset(), "Kafka's default leaves fsync to the OS: acknowledged appends are lost")
	r.checkPrefix(flushed)
}

func TestTornTailIsCutAtTheLastWholeBatch(t *testing.T) {
	cuts := 0
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cfg := smallConfig()
			cfg.SegmentBytes = 1 << 20 // one segment: its tail is what tears
			r := newRig(t, seed, cfg, sim.DiskOptions{TornWrites: true})
			r.appendN(30, 3, 150)
			require.NoError(t, r.flush())
			flushed := r.l.RecoveryPoint()
			r.appendN(30, 3, 150)
			r.crash()
			r.checkPrefix(flushed)
			if strings.Contains(r.logs.String(), "truncating log after a crash") {
				cuts++
			}
			// The recovered log takes appends and survives another crash.
			r.appendN(5, 1, 10)
			require.NoError(t, r.flush())
			end := r.l.EndOffset()
			r.crash()
			require.Equal(t, end, r.l.EndOffset())
			r.checkLog()
		})
	}
	require.Greater(t, cuts, 5, "some seeds tear a batch")
}

func TestCorruptBatchCutsTheLog(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(100, 2, 300)
	require.Greater(t, r.l.Segments(), 3)
	// Damage a batch in the middle of the second segment, above the
	// recovery point (nothing was flushed), then restart the process.
	victim := r.l.segs[1]
	mid := victim.baseOffset + (victim.nextOffset-victim.baseOffset)/2
	h, pos, err := locate(victim, mid, r.l.scratch(), r.l.cfg.BatchBytesMax)
	require.NoError(t, err)
	require.NoError(t, r.n.Disk().Corrupt(victim.log.Path(), pos+40, 4))
	r.reopen()
	require.Equal(t, h.BaseOffset, r.l.EndOffset(), "the log ends before the damaged batch")
	require.Equal(t, 2, r.l.Segments(), "segments after the cut are removed")
	require.Contains(t, r.logs.String(), "reason=")
	require.Contains(t, r.logs.String(), "CRC32C mismatch")
	r.checkPrefix(0)
	require.NotContains(t, r.list(), segFile(r.model[len(r.model)-1].base, logSuffix))
}

func TestCorruptHeaderLengthIsCut(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(10, 1, 100)
	s := r.l.active()
	_, pos, err := locate(s, 5, r.l.scratch(), r.l.cfg.BatchBytesMax)
	require.NoError(t, err)
	require.NoError(t, r.n.Disk().Corrupt(s.log.Path(), pos+8, 4)) // the length field
	r.reopen()
	require.Equal(t, int64(5), r.l.EndOffset())
	r.checkPrefix(0)
}

// Indexes are caches: missing, damaged or torn ones are rebuilt from
// their segment, byte for byte what appends wrote.
func TestDamagedIndexIsRebuilt(t *testing.T) {
	tests := []struct {
		name   string
		damage func(r *rig, base int64)
	}{
		{"offset index missing", func(r *rig, base int64) {
			require.NoError(r.t, r.env().FS().Remove(r.dir+"/"+segFile(base, indexSuffix)))
		}},
		{"time index missing", func(r *rig, base int64) {
			require.NoError(r.t, r.env().FS().Remove(r.dir+"/"+segFile(base, timeIndexSuffix)))
		}},
		{"offset index garbage", func(r *rig, base int64) {
			require.NoError(r.t, r.n.Disk().Corrupt(r.dir+"/"+segFile(base, indexSuffix), 12, 6))
		}},
		{"time index garbage", func(r *rig, base int64) {
			require.NoError(r.t, r.n.Disk().Corrupt(r.dir+"/"+segFile(base, timeIndexSuffix), 14, 6))
		}},
		{"offset index torn", func(r *rig, base int64) {
			f, err := r.env().FS().Open(r.dir + "/" + segFile(base, indexSuffix))
			require.NoError(r.t, err)
			require.NoError(r.t, f.Truncate(f.Size()-3))
		}},
		{"last offset entry names the wrong batch", func(r *rig, base int64) {
			f, err := r.env().FS().Open(r.dir + "/" + segFile(base, indexSuffix))
			require.NoError(r.t, err)
			rel, pos, err := r.l.segs[1].index.entry(r.l.segs[1].index.entries - 1)
			require.NoError(r.t, err)
			var e [8]byte
			e[3], e[7] = byte(rel+1), byte(pos) // a later offset at the same place
			_, err = f.WriteAt(e[:], f.Size()-8)
			require.NoError(r.t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
			for i := range 100 {
				r.append(makeBatch(2, 300, r.nowMs()+int64(i)), 1)
			}
			require.NoError(t, r.flush())
			r.settle()
			base := r.l.segs[1].baseOffset // below the recovery point: trusted, unless inconsistent
			index, timeIndex := r.fileBytes(segFile(base, indexSuffix)), r.fileBytes(segFile(base, timeIndexSuffix))
			require.NotEmpty(t, index)
			require.NotEmpty(t, timeIndex)
			tt.damage(r, base)
			r.reopen()
			require.Equal(t, index, r.fileBytes(segFile(base, indexSuffix)))
			require.Equal(t, timeIndex, r.fileBytes(segFile(base, timeIndexSuffix)))
			r.checkPrefix(r.model[len(r.model)-1].next)
		})
	}
}

func TestLeftoversAreRemoved(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(10, 1, 10)
	fs := r.env().FS()
	for _, name := range []string{"recovery-point.tmp", segFile(999, indexSuffix), segFile(999, timeIndexSuffix)} {
		f, err := fs.Create(r.dir + "/" + name)
		require.NoError(t, err)
		_, err = f.Append([]byte("junk"))
		require.NoError(t, err)
	}
	r.reopen()
	require.Equal(t, []string{segFile(0, indexSuffix), segFile(0, logSuffix), segFile(0, timeIndexSuffix)}, r.list()[:3])
	r.settle()
	require.Equal(t, []string{segFile(0, indexSuffix), segFile(0, logSuffix), segFile(0, timeIndexSuffix),
		epochFile, logStartFile, recoveryPointFile}, r.list(), "Open writes the checkpoints it lacked")
	r.checkLog()
}

func TestDamagedCheckpoints(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	for i := range 100 {
		r.append(makeBatch(2, 300, r.nowMs()), int32(i/30))
	}
	require.NoError(t, r.flush())
	require.NoError(t, r.l.DeleteRecordsBefore(50))
	r.checkpoint()
	epochs := r.l.Epochs()
	for _, name := range []string{recoveryPointFile, epochFile, logStartFile} {
		require.NoError(t, r.n.Disk().Corrupt(r.dir+"/"+name, 0, 3))
	}
	r.reopen()
	require.Contains(t, r.logs.String(), "ignoring unreadable checkpoint")
	require.Equal(t, r.l.segs[0].baseOffset, r.l.StartOffset(), "without its checkpoint the start is the first segment's")
	epochs[0].StartOffset = r.l.StartOffset()
	require.Equal(t, epochs, r.l.Epochs(), "the epoch cache is rebuilt from the batches")
	require.Equal(t, r.l.StartOffset(), r.l.RecoveryPoint())
	r.checkPrefix(0)
}

// With flush.messages=1 an append is acknowledged once OnFlushed passes
// it; no crash, torn writes included, loses an acknowledged append.
func TestFlushEveryMessageSurvivesCrashes(t *testing.T) {
	cfg := smallConfig()
	cfg.FlushMessages = 1
	disk := sim.DiskOptions{TornWrites: true, SyncLatency: sim.Latency{Min: 500 * time.Microsecond, Mean: 2 * time.Millisecond}}
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := newRig(t, seed, cfg, disk)
			rng := r.s.Seeds().Stream("test")
			acked := int64(0)
			for round := range 4 {
				r.l.OnFlushed(func(offset int64) { acked = max(acked, offset) })
				for range 10 + rng.IntN(30) {
					r.appendN(1, 1+rng.IntN(4), rng.IntN(400))
					r.run(time.Duration(rng.IntN(3000)) * time.Microsecond)
				}
				require.Greater(t, acked, int64(0), "round %d", round)
				r.crash()
				r.checkPrefix(acked)
			}
		})
	}
}

// A crash at any moment, torn writes included, leaves a log that is a
// prefix of what was appended and holds everything below the recovery
// point that was reported, with the log start offset that was
// checkpointed; the log then carries on.
func TestRandomCrashes(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 8 << 10
	for seed := range uint64(60) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			disk := sim.DiskOptions{TornWrites: true, SyncLatency: sim.Latency{Min: time.Millisecond, Mean: 3 * time.Millisecond}}
			c := cfg
			if seed%3 == 0 {
				c.FlushMessages = 5
			}
			r := newRig(t, seed, c, disk)
			rng := r.s.Seeds().Stream("test")
			for range 5 {
				flushed := int64(0)
				r.l.OnFlushed(func(offset int64) { flushed = max(flushed, offset) })
				startDurable := r.l.StartOffset()
				for range 20 + rng.IntN(60) {
					switch k := rng.IntN(20); {
					case k < 14:
						r.appendN(1, 1+rng.IntN(5), rng.IntN(700))
					case k < 16:
						r.l.Flush(nil)
					case k < 17 && r.l.EndOffset() > r.l.StartOffset():
						to := r.l.StartOffset() + rng.Int64N(r.l.EndOffset()-r.l.StartOffset()+1)
						require.NoError(t, r.l.DeleteRecordsBefore(to))
					case k < 18:
						done := false
						r.l.Checkpoint(func(err error) { done = err == nil })
						r.wait(func() bool { return done })
						startDurable = r.l.StartOffset()
					}
					r.run(time.Duration(rng.IntN(4000)) * time.Microsecond)
				}
				r.crash()
				require.GreaterOrEqual(t, r.l.StartOffset(), startDurable)
				r.checkPrefix(max(flushed, r.l.StartOffset()))
			}
		})
	}
}

// A log start offset past the recovered end (the data was lost, the
// checkpoint was not) restarts the log empty at the start offset.
func TestStartOffsetPastRecoveredEnd(t *testing.T) {
	r := newRig(t, 1, smallConfig(), sim.DiskOptions{})
	r.appendN(10, 1, 10)
	require.NoError(t, r.flush())
	r.appendN(10, 1, 10)
	require.NoError(t, r.l.DeleteRecordsBefore(15))
	r.settle() // the checkpoint is durable; offsets 10..19 are not
	r.crash()
	require.Equal(t, [3]int64{15, 15, 15}, [3]int64{r.l.StartOffset(), r.l.EndOffset(), r.l.RecoveryPoint()})
	require.Contains(t, r.logs.String(), "log ends before its start offset")
	r.model = nil
	r.appendN(3, 1, 10)
	r.checkLog()
}
