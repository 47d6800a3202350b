package storage

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// Append writes one batch, which the caller has validated, at the log
// end. It stamps the batch's base offset (the log end offset) and leader
// epoch in place, rolls the active segment first if the batch does not
// belong in it, and returns the base offset. A failed append (a full disk,
// an I/O error) leaves the log as it was, LEO unchanged.
//
// appendTimeMs is the broker's wall time, the segment's age for retention
// when its batches carry no timestamps.
func (l *Log) Append(batch []byte, leaderEpoch int32, appendTimeMs int64) (int64, error) {
	if err := l.writable(); err != nil {
		return -1, err
	}
	h, err := l.checkBatch(batch)
	if err != nil {
		return -1, err
	}
	base := l.leo
	records.SetBaseOffset(batch, base)
	records.SetLeaderEpoch(batch, leaderEpoch)
	h.BaseOffset, h.PartitionLeaderEpoch = base, leaderEpoch
	if err := l.appendBatch(batch, h, appendTimeMs); err != nil {
		return -1, err
	}
	l.maybeFlushMessages()
	return base, nil
}

// AppendAsFollower writes batches fetched from the leader, which carry
// their offsets and epochs already. They must start at the log end offset
// and follow each other without gaps, and each must pass its CRC; all are
// checked before any is written. If a write fails part way, the batches
// before it stay appended: EndOffset says where the log ends.
func (l *Log) AppendAsFollower(batches []byte) error {
	if err := l.writable(); err != nil {
		return err
	}
	if err := l.checkFollowerBatches(batches); err != nil {
		return err
	}
	now := l.clock.Now().UnixMilli()
	for off := 0; off < len(batches); {
		h, _ := records.ParseHeader(batches[off:])
		if err := l.appendBatch(batches[off:off+h.Size()], h, now); err != nil {
			// The batches before this one are in the log, and their flush
			// is due as after any append: a follower that fsyncs every
			// message waits for it before it fetches again.
			l.maybeFlushMessages()
			return err
		}
		off += h.Size()
	}
	l.maybeFlushMessages()
	return nil
}

func (l *Log) checkFollowerBatches(batches []byte) error {
	next := l.leo
	for off := 0; off < len(batches); {
		h, err := l.checkBatch(batches[off:])
		switch {
		case err != nil:
			return err
		case !records.CRCOK(batches[off:], h):
			return fmt.Errorf("%w: batch at offset %d: %w", ErrBadBatch, h.BaseOffset, records.ErrBadCRC)
		case h.BaseOffset != next:
			return fmt.Errorf("%w: batch with base offset %d where %d was due", ErrNotContiguous, h.BaseOffset, next)
		}
		next = h.NextOffset()
		off += h.Size()
	}
	return nil
}

// checkBatch checks what the log relies on: a whole v2 batch at the start
// of b (the caller validated the rest). Append passes exactly one batch.
func (l *Log) checkBatch(b []byte) (records.Header, error) {
	h, err := records.ParseHeader(b)
	switch {
	case err != nil:
		return h, fmt.Errorf("%w: %w", ErrBadBatch, err)
	case h.Size() > int(l.cfg.BatchBytesMax):
		return h, fmt.Errorf("%w: %d bytes, limit %d", ErrBadBatch, h.Size(), l.cfg.BatchBytesMax)
	case h.LastOffsetDelta < 0:
		return h, fmt.Errorf("%w: last offset delta %d", ErrBadBatch, h.LastOffsetDelta)
	}
	return h, nil
}

// appendBatch writes a stamped batch at the log end, rolling first if
// needed, and updates LEO and the epoch cache.
func (l *Log) appendBatch(batch []byte, h records.Header, appendTimeMs int64) error {
	if len(batch) != h.Size() {
		return fmt.Errorf("%w: %d bytes hold a batch of %d", ErrBadBatch, len(batch), h.Size())
	}
	if l.shouldRoll(h) {
		if err := l.roll(); err != nil {
			return err
		}
	}
	s := l.active()
	wasEmpty := s.empty()
	if err := l.writeBatch(s, batch, h); err != nil {
		return err
	}
	if wasEmpty {
		s.firstAppendMono = l.clock.Mono()
	}
	s.lastAppendMs = appendTimeMs
	l.leo = h.NextOffset()
	if l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset) {
		l.epochsChanged(h.BaseOffset)
		l.ckEpochs.sync(nil)
	}
	l.checkInvariants()
	return nil
}

// shouldRoll reports whether the batch must go into a new segment: the
// active one is full by size or by index, too old (segment.ms), or the
// batch's offsets would not fit its 32-bit relative offsets. An empty
// segment takes any batch.
func (l *Log) shouldRoll(h records.Header) bool {
	s := l.active()
	if s.empty() {
		return false
	}
	return s.sizeBytes+int64(h.Size()) > l.cfg.SegmentBytes ||
		s.index.full(l.cfg.SegmentIndexBytesMax) || s.timeIndex.full(l.cfg.SegmentIndexBytesMax) ||
		!s.fits(h.Size(), h.LastOffset()) ||
		monoMs(l.clock.Mono()-s.firstAppendMono) >= l.cfg.SegmentMs
}

// roll starts a new active segment at the log end and, as Kafka does,
// flushes the segments before it in the background.
func (l *Log) roll() error {
	prev := l.active()
	s, err := l.newSegment(l.leo)
	if err != nil {
		return err
	}
	assert.That(s.baseOffset > prev.baseOffset, "a rolled segment starts after the previous one")
	l.segs = append(l.segs, s)
	prev.recent = nil // only the active segment keeps its recent batches
	l.dirDirty = true
	l.log.Debug("rolled segment", "segment", s.baseOffset, "previous_bytes", prev.sizeBytes)
	l.requestFlush(s.baseOffset, nil)
	return nil
}

// newSegment creates the three files of an empty segment at base.
func (l *Log) newSegment(base int64) (*segment, error) {
	s := &segment{baseOffset: base, firstAppendMono: l.clock.Mono(), lastAppendMs: l.clock.Now().UnixMilli()}
	s.resetStats()
	targets := []*env.File{&s.log, &s.index.file, &s.timeIndex.file}
	for i, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		f, err := l.fs.Create(segmentName(l.dir, base, suffix))
		if err != nil {
			for _, made := range targets[:i] {
				l.discard(*made)
			}
			return nil, fmt.Errorf("create segment %d: %w", base, err)
		}
		*targets[i] = f
	}
	return s, nil
}

// discard removes and closes a file the log gives up on.
func (l *Log) discard(f env.File) {
	if err := l.fs.Remove(f.Path()); err != nil && !errors.Is(err, env.ErrNotExist) {
		l.log.Warn("removing file", "file", f.Path(), "err", err)
	}
	f.Close()
}

// writeBatch appends the batch to s and indexes it. On failure it cuts the
// files back and leaves s as it was; if even that fails, the files hold
// bytes the log does not describe (a whole batch, perhaps, that recovery
// would take for a real one), and the log fails, as Kafka takes the log
// directory offline on an I/O error.
func (l *Log) writeBatch(s *segment, batch []byte, h records.Header) error {
	saved := *s
	pos := s.sizeBytes
	_, err := s.log.WriteAt(batch, pos)
	if err == nil {
		s.observe(h)
		err = s.indexBatch(h, pos, l.cfg.IndexIntervalBytes)
	}
	s.dirty = true
	if err == nil {
		s.remember(h, pos)
		return nil
	}
	*s = saved
	s.dirty = true
	err = fmt.Errorf("append at offset %d: %w", h.BaseOffset, err)
	if terr := s.trim(); terr != nil {
		return l.fail(errors.Join(err, fmt.Errorf("cutting back the failed append: %w", terr)))
	}
	return err
}
