package storage

import (
	"fmt"
	"slices"
)

// EnforceRetention deletes the oldest segments while one of these holds
// for the oldest: it lies wholly below the log start offset; its newest
// timestamp is older than nowMs−retention.ms; or the log without it is
// still at least retention.bytes. It never deletes a segment holding
// offsets at or past the high watermark (SetHighWatermark). If every
// segment qualifies, the active one is rolled first so it can go, as
// Kafka does; an empty active segment stays. The log start offset moves to
// the first segment left.
func (l *Log) EnforceRetention(nowMs int64) error {
	if err := l.writable(); err != nil {
		return err
	}
	total, n := l.Size(), 0
	for ; n < len(l.segs); n++ {
		s, last := l.segs[n], n == len(l.segs)-1
		if (last && s.empty()) || s.nextOffset > l.retentionLimit || !l.expired(s, last, nowMs, total) {
			break
		}
		total -= s.sizeBytes
	}
	if n == 0 {
		return nil
	}
	if n == len(l.segs) {
		if err := l.roll(); err != nil {
			return err
		}
	}
	l.log.Info("retention deleting segments", "segments", n, "first", l.segs[0].baseOffset, "next_start", l.segs[n].baseOffset)
	return l.dropOldest(n)
}

func (l *Log) expired(s *segment, last bool, nowMs, total int64) bool {
	switch {
	case !last && s.nextOffset <= l.logStart:
		return true
	case l.cfg.RetentionMs >= 0 && nowMs-s.retentionTimeMs() > l.cfg.RetentionMs:
		return true
	case l.cfg.RetentionBytes >= 0 && total-s.sizeBytes >= l.cfg.RetentionBytes:
		return true
	}
	return false
}

// DeleteRecordsBefore moves the log start offset up to offset (Kafka's
// DeleteRecords; the caller keeps it at or below the high watermark) and
// deletes the segments wholly below it. The new start offset is
// checkpointed in the background; Checkpoint waits for it.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	if err := l.writable(); err != nil {
		return err
	}
	if offset < 0 || offset > l.leo {
		return fmt.Errorf("%w: delete before %d, log holds [%d, %d)", ErrOffsetOutOfRange, offset, l.logStart, l.leo)
	}
	if offset <= l.logStart {
		return nil
	}
	l.advanceStart(offset)
	l.checkInvariants()
	return l.deleteBelowStart()
}

// deleteBelowStart deletes the segments, never the active one, that lie
// wholly below the log start offset.
func (l *Log) deleteBelowStart() error {
	n := 0
	for n+1 < len(l.segs) && l.segs[n+1].baseOffset <= l.logStart {
		n++
	}
	return l.dropOldest(n)
}

// dropOldest deletes the first n segments.
func (l *Log) dropOldest(n int) error {
	if n == 0 {
		return nil
	}
	gone := slices.Clone(l.segs[:n])
	l.segs = slices.Delete(l.segs, 0, n)
	l.advanceStart(l.segs[0].baseOffset)
	err := l.removeSegments(gone)
	l.checkInvariants()
	return err
}

// advanceStart moves the log start offset forward to offset.
func (l *Log) advanceStart(offset int64) {
	if offset <= l.logStart {
		return
	}
	l.logStart = offset
	l.recoveryPoint = max(l.recoveryPoint, offset)
	if l.epochs.truncateFromStart(offset) {
		// Entries only moved up to the log start: an older epoch
		// checkpoint is still right above it, so coverage stays.
		l.ckEpochs.changed()
		l.ckEpochs.sync(nil)
	}
	l.ckLogStart.changed()
	l.ckLogStart.sync(nil)
}

// removeSegments removes the files of segments the log no longer holds,
// the log file first (index files without one are leftovers Open
// removes), and fsyncs the directory in the background.
func (l *Log) removeSegments(gone []*segment) error {
	var firstErr error
	for _, s := range gone {
		for _, f := range s.files() {
			if err := l.fs.Remove(f.Path()); err != nil && firstErr == nil {
				firstErr = err
			}
			if l.flush.running {
				l.flush.deferred = append(l.flush.deferred, f)
			} else {
				f.Close()
			}
		}
	}
	if len(gone) > 0 {
		l.syncDirAsync()
	}
	if firstErr != nil {
		return l.fail(fmt.Errorf("remove segment: %w", firstErr))
	}
	return nil
}
