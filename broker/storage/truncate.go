package storage

import (
	"fmt"
	"slices"
)

// Truncate cuts the log so that it ends at offset, for a follower whose
// log diverged from its leader's (KIP-101). The cut falls at a batch
// boundary: if offset is inside a batch, that whole batch goes and the
// log ends before offset (EndOffset tells). Truncating at or past the end
// does nothing. The cut is durable after the next Flush.
func (l *Log) Truncate(offset int64) error {
	if err := l.writable(); err != nil {
		return err
	}
	if offset >= l.leo {
		return nil
	}
	if offset < l.segs[0].baseOffset {
		return l.TruncateFullyAndStartAt(offset)
	}
	i := l.segmentFor(offset)
	s, gone := l.segs[i], slices.Clone(l.segs[i+1:])
	end := s.nextOffset
	if offset < s.nextOffset {
		h, pos, err := locate(s, offset, l.scratch(), l.cfg.BatchBytesMax)
		if err != nil {
			return corrupt(err)
		}
		if err := l.cutSegment(s, pos, h.BaseOffset); err != nil {
			return l.fail(fmt.Errorf("truncate segment %d: %w", s.baseOffset, err))
		}
		end = h.BaseOffset
	}
	l.log.Info("truncating log", "offset", offset, "end", end, "segments_removed", len(gone))
	l.segs = l.segs[:i+1]
	l.setEnd(end)
	err := l.removeSegments(gone)
	l.checkInvariants()
	return err
}

// setEnd moves the log end offset back to end after a truncation.
func (l *Log) setEnd(end int64) {
	l.leo = end
	l.recoveryPoint = min(l.recoveryPoint, end)
	l.flush.lowWater = min(l.flush.lowWater, end)
	if end < l.logStart {
		l.logStart = end
		l.ckLogStart.changed()
		l.ckLogStart.sync(nil)
	}
	if l.epochs.truncateFromEnd(end) {
		l.epochsChanged(end)
	}
	l.kickRecoveryCheckpoint()
}

// cutSegment truncates s at pos, where the batch with base offset next
// starts, and its indexes to match.
func (l *Log) cutSegment(s *segment, pos, next int64) error {
	rel := int32(next - s.baseOffset)
	s.dirty = true
	if err := s.log.Truncate(pos); err != nil {
		return err
	}
	if err := s.index.truncateBelow(rel); err != nil {
		return err
	}
	if err := s.timeIndex.truncateBelow(rel); err != nil {
		return err
	}
	s.resetStats()
	s.forgetFrom(next)
	s.sizeBytes = pos
	tailMax, tailMaxOffset, err := l.measure(s)
	if err != nil {
		return err
	}
	s.foldTimestamps(tailMax, tailMaxOffset)
	if s.empty() {
		s.firstAppendMono = l.clock.Mono()
	}
	return nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset: all
// segments are deleted, a new one starts at offset, and the log start
// offset, recovery point and log end offset all become offset. The epoch
// cache is cleared. A follower does this when the leader's log starts
// past its end.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	if err := l.writable(); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: restart at %d", ErrOffsetOutOfRange, offset)
	}
	l.log.Info("truncating log fully", "start", offset, "old_start", l.logStart, "old_end", l.leo)
	if err := l.replaceAllSegments(offset); err != nil {
		return err
	}
	l.logStart, l.recoveryPoint = offset, offset
	l.flush.lowWater = min(l.flush.lowWater, offset)
	if len(l.epochs.entries) > 0 {
		l.epochs.entries = nil
		l.epochsChanged(0)
	}
	l.ckLogStart.changed()
	l.ckLogStart.sync(nil)
	l.kickRecoveryCheckpoint()
	l.checkInvariants()
	return nil
}

// replaceAllSegments deletes every segment and starts an empty one at
// base.
func (l *Log) replaceAllSegments(base int64) error {
	gone := l.segs
	l.segs = nil
	if err := l.removeSegments(gone); err != nil {
		return err
	}
	s, err := l.newSegment(base)
	if err != nil {
		return l.fail(err)
	}
	l.segs = []*segment{s}
	l.leo = base
	l.dirDirty = true
	return nil
}
