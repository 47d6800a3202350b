package storage

import (
	"errors"
	"fmt"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
)

// readable is the check every read starts with. A failed log still
// serves reads, unless it lost its segments.
func (l *Log) readable() error {
	switch {
	case l.closed:
		return fmt.Errorf("log %s: %w", l.dir, env.ErrClosed)
	case len(l.segs) == 0:
		return fmt.Errorf("log %s: %w: %w", l.dir, ErrLogFailed, l.failed)
	}
	return nil
}

// corrupt marks errors that mean the bytes on disk are wrong.
func corrupt(err error) error {
	if errors.Is(err, errBadBatch) || errors.Is(err, errBadIndex) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// Read returns whole batches from one segment, starting with the batch
// that holds offset (which may begin before offset: the reader skips
// records below it, as Kafka consumers do). It stops before passing
// maxBytes, except that with minOneBatch (KIP-74) the first batch is
// returned whole however large. Reading at the log end returns nothing;
// an offset outside [StartOffset, EndOffset] is ErrOffsetOutOfRange. A
// reader wanting more reads again from the end of what it got.
func (l *Log) Read(offset int64, maxBytes int, minOneBatch bool) ([]byte, error) {
	if err := l.readable(); err != nil {
		return nil, err
	}
	if offset < l.logStart || offset > l.leo {
		return nil, fmt.Errorf("%w: offset %d, log holds [%d, %d)", ErrOffsetOutOfRange, offset, l.logStart, l.leo)
	}
	s := l.segmentHolding(offset)
	if s == nil {
		return nil, nil
	}
	h, pos, err := locate(s, offset, l.scratch(), l.cfg.BatchBytesMax)
	if err != nil {
		return nil, corrupt(err)
	}
	return readFrom(s, h, pos, int64(max(maxBytes, 0)), minOneBatch)
}

// segmentHolding returns the segment whose batches include offset, nil at
// the log end.
func (l *Log) segmentHolding(offset int64) *segment {
	for i := max(l.segmentFor(offset), 0); i < len(l.segs); i++ {
		if l.segs[i].nextOffset > offset {
			return l.segs[i]
		}
	}
	return nil
}

// readFrom reads the batches of s from pos (where batch h starts) in one
// read, and cuts the result after the last whole batch within maxBytes.
func readFrom(s *segment, h records.Header, pos, maxBytes int64, minOneBatch bool) ([]byte, error) {
	first := int64(h.Size())
	if first > maxBytes && !minOneBatch {
		return nil, nil
	}
	limit := max(first, min(maxBytes, s.sizeBytes-pos))
	data := make([]byte, limit)
	if _, err := s.log.ReadAt(data, pos); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", s.log.Path(), pos, err)
	}
	end := int64(0)
	for end+records.HeaderBytes <= limit {
		bh, err := parseHeader(data[end:])
		if err != nil || end+int64(bh.Size()) > limit {
			break
		}
		end += int64(bh.Size())
	}
	if end < first {
		return nil, fmt.Errorf("%w: batch at %d of %s changed under the read", ErrCorrupt, pos, s.log.Path())
	}
	return data[:end:end], nil
}

// Batches calls fn on every batch from the one holding from (clamped to
// the log start) to the log end, in order, until fn returns false. Each
// batch's CRC is checked. batch is only valid during the call. The broker
// uses it to rebuild producer state after a restart.
func (l *Log) Batches(from int64, fn func(h records.Header, batch []byte) bool) error {
	buf := make([]byte, 0, 64<<10)
	return l.segmentsFrom(from, func(s *segment, pos int64) (bool, error) {
		for pos < s.sizeBytes {
			h, b, err := readBatch(s.log, pos, s.sizeBytes, buf, l.cfg.BatchBytesMax)
			buf = b[:0]
			if err != nil {
				return false, err
			}
			if !fn(h, b[:h.Size()]) {
				return false, nil
			}
			pos += int64(h.Size())
		}
		return true, nil
	})
}

// Headers walks the batch headers from the batch holding from, as Batches
// does, without reading the batches' bodies: for monitors that compare
// replicas by offsets, epoch and CRC after nearly every simulated event.
func (l *Log) Headers(from int64, fn func(h records.Header) bool) error {
	return l.segmentsFrom(from, func(s *segment, pos int64) (bool, error) {
		more := true
		err := walkHeaders(s, pos, l.scratch(), l.cfg.BatchBytesMax, func(h records.Header, _ int64) bool {
			more = fn(h)
			return more
		})
		return more, err
	})
}

// segmentsFrom calls walk on each segment from the one holding from
// (clamped to the log start), with the position of the batch holding from
// in the first and 0 in the rest, until walk returns false or an error
// (reported as corruption).
func (l *Log) segmentsFrom(from int64, walk func(s *segment, pos int64) (bool, error)) error {
	if err := l.readable(); err != nil {
		return err
	}
	from = max(from, l.logStart)
	if from > l.leo {
		return fmt.Errorf("%w: offset %d, log holds [%d, %d)", ErrOffsetOutOfRange, from, l.logStart, l.leo)
	}
	for i := max(l.segmentFor(from), 0); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.nextOffset <= from {
			continue
		}
		pos := int64(0)
		if from > s.baseOffset {
			_, p, err := locate(s, from, l.scratch(), l.cfg.BatchBytesMax)
			if err != nil {
				return corrupt(err)
			}
			pos = p
		}
		more, err := walk(s, pos)
		if err != nil {
			return corrupt(err)
		}
		if !more {
			return nil
		}
	}
	return nil
}

// OffsetForTimestamp answers ListOffsets for a timestamp: the first batch
// at or after the log start whose max timestamp is at least ts. The answer
// is at batch granularity: offset is the batch's base offset (or the log
// start, if that is inside the batch) and timestamp its max timestamp, so
// records at the start of the batch may be older than ts; Kafka returns
// the exact record, which needs the records decoded. ok is false when no
// batch reaches ts.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, ok bool, err error) {
	if err := l.readable(); err != nil {
		return -1, -1, false, err
	}
	for _, s := range l.segs {
		if s.nextOffset <= l.logStart || s.maxTimestampMs < ts {
			continue
		}
		h, found, err := l.findTimestamp(s, ts)
		if err != nil {
			return -1, -1, false, corrupt(err)
		}
		if found {
			return max(h.BaseOffset, l.logStart), h.MaxTimestamp, true, nil
		}
	}
	return -1, -1, false, nil
}

// findTimestamp walks s from where its time index says batches reach ts.
func (l *Log) findTimestamp(s *segment, ts int64) (records.Header, bool, error) {
	rel, indexed, err := s.timeIndex.lookupBelow(ts)
	if err != nil {
		return records.Header{}, false, err
	}
	pos := int64(0)
	if indexed {
		if _, pos, err = locate(s, s.baseOffset+int64(rel), l.scratch(), l.cfg.BatchBytesMax); err != nil {
			return records.Header{}, false, err
		}
	}
	var found records.Header
	ok := false
	err = walkHeaders(s, pos, l.scratch(), l.cfg.BatchBytesMax, func(h records.Header, _ int64) bool {
		ok = h.MaxTimestamp >= ts && h.NextOffset() > l.logStart
		found = h
		return !ok
	})
	return found, ok, err
}

// MaxTimestamp answers ListOffsets MAX_TIMESTAMP (KIP-734): the largest
// timestamp in the log and the base offset of the first batch carrying
// it (at batch granularity, as OffsetForTimestamp). An empty log answers
// (-1, -1).
func (l *Log) MaxTimestamp() (ts int64, offset int64) {
	ts, offset = -1, -1
	for _, s := range l.segs {
		if s.nextOffset > l.logStart && s.maxTimestampMs > ts {
			ts, offset = s.maxTimestampMs, max(s.offsetOfMaxTimestamp, l.logStart)
		}
	}
	return ts, offset
}
