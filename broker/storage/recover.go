package storage

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
)

// Recovery, run by Open. Kafka's rules, in the order they apply:
//
//  1. Temporary files are leftovers of checkpoint writes a crash
//     interrupted; index files without a segment are leftovers of a
//     deletion. Both are removed.
//  2. Segments wholly below the recovery point were fsynced before the
//     point was written: their indexes are checked, and the batches after
//     the last index entry walked to find where the segment ends. An
//     inconsistency there makes the segment one of the next kind.
//  3. The segment holding the recovery point and every later one are
//     scanned batch by batch (header, CRC, offsets continuing the log); the
//     log is cut at the first batch that fails, and segments after the cut
//     are removed. Their indexes are rebuilt from the scan, and the epoch
//     cache from their batches' epochs.
//  4. The log start offset is the larger of its checkpoint and the first
//     segment's base offset; if the log now ends before it (the data was
//     lost), the log restarts empty there. The recovery point is clamped
//     into [log start, log end].

// loaded is what the checkpoint files said.
type loaded struct {
	logStart   int64
	logStartOK bool
	recovery   int64
	recoveryOK bool
	epochs     []EpochEntry
	epochsOK   bool
}

func (l *Log) recover() error {
	names, err := l.fs.List(l.dir)
	if err != nil && !errors.Is(err, env.ErrNotExist) {
		return err
	}
	present := make(map[string]bool, len(names))
	for _, name := range names {
		present[name] = true
	}
	bases, err := l.sweep(names, present)
	if err != nil {
		return err
	}
	ck := l.readCheckpoints()
	if err := l.openSegments(bases, present); err != nil {
		return err
	}
	if err := l.recoverSegments(ck); err != nil {
		return err
	}
	return l.finishRecovery(ck)
}

// sweep removes leftovers and returns the base offsets of the segments,
// in order (List sorts, and the names sort by offset). present is the set
// of names.
func (l *Log) sweep(names []string, present map[string]bool) ([]int64, error) {
	var bases []int64
	for _, name := range names {
		base, suffix, ok := parseSegmentName(name)
		if ok && suffix == logSuffix {
			bases = append(bases, base)
		}
	}
	for _, name := range names {
		base, suffix, ok := parseSegmentName(name)
		orphan := ok && (suffix == indexSuffix || suffix == timeIndexSuffix) && !present[segFileName(base, logSuffix)]
		if !strings.HasSuffix(name, tmpSuffix) && !orphan {
			continue
		}
		l.log.Info("removing leftover file", "file", name)
		if err := l.fs.Remove(l.dir + "/" + name); err != nil && !errors.Is(err, env.ErrNotExist) {
			return nil, err
		}
		l.dirDirty = true
	}
	return bases, nil
}

func (l *Log) readCheckpoints() loaded {
	var ck loaded
	read := func(file string, decode func([]byte) error) bool {
		data, found, err := readCheckpoint(l.fs, l.dir+"/"+file)
		if err == nil && found {
			err = decode(data)
		}
		if err != nil {
			l.log.Warn("ignoring unreadable checkpoint", "file", file, "err", err)
		}
		return err == nil && found
	}
	ck.logStartOK = read(logStartFile, func(b []byte) (err error) { ck.logStart, err = decodeOffset(b); return err })
	ck.recoveryOK = read(recoveryPointFile, func(b []byte) (err error) { ck.recovery, err = decodeOffset(b); return err })
	ck.epochsOK = read(epochFile, func(b []byte) (err error) { ck.epochs, err = decodeEpochs(b); return err })
	if !ck.logStartOK {
		ck.logStart = 0
	}
	if !ck.recoveryOK {
		ck.recovery = 0
	}
	if !ck.epochsOK {
		ck.epochs = nil
	}
	return ck
}

func (l *Log) openSegments(bases []int64, present map[string]bool) error {
	for _, base := range bases {
		s := &segment{baseOffset: base}
		l.segs = append(l.segs, s)
		var err error
		if s.log, err = l.fs.Open(segmentName(l.dir, base, logSuffix)); err != nil {
			return err
		}
		s.sizeBytes = s.log.Size()
		var created bool
		if s.index.file, created, err = l.openOrCreate(present, base, indexSuffix); err != nil {
			return err
		}
		s.needsRebuild = s.needsRebuild || created
		if s.timeIndex.file, created, err = l.openOrCreate(present, base, timeIndexSuffix); err != nil {
			return err
		}
		s.needsRebuild = s.needsRebuild || created
	}
	return nil
}

func (l *Log) openOrCreate(present map[string]bool, base int64, suffix string) (env.File, bool, error) {
	path := segmentName(l.dir, base, suffix)
	if present[segFileName(base, suffix)] {
		f, err := l.fs.Open(path)
		return f, false, err
	}
	l.log.Info("index missing; rebuilding it", "file", path)
	l.dirDirty = true
	f, err := l.fs.Create(path)
	return f, true, err
}

// recoverSegments applies rules 2 and 3.
func (l *Log) recoverSegments(ck loaded) error {
	firstScanned := len(l.segs) - 1
	for i := 0; i+1 < len(l.segs); i++ {
		if l.segs[i+1].baseOffset > ck.recovery {
			firstScanned = i
			break
		}
	}
	l.epochs.entries = slices.Clone(ck.epochs)
	epochsFromBatches := !ck.epochsOK
	for i := 0; i < len(l.segs); i++ {
		s := l.segs[i]
		if i > 0 && s.baseOffset != l.segs[i-1].nextOffset {
			return l.cutAfter(i-1, fmt.Sprintf("segment %d does not continue the log ending at %d", s.baseOffset, l.segs[i-1].nextOffset))
		}
		if i < firstScanned && !s.needsRebuild {
			err := l.loadSegment(s, epochsFromBatches)
			if err == nil {
				continue
			}
			if !errors.Is(err, errBadIndex) && !errors.Is(err, errBadBatch) {
				return err
			}
			l.log.Warn("segment below the recovery point is inconsistent; scanning it", "segment", s.baseOffset, "err", err)
		}
		if !epochsFromBatches {
			l.epochs.truncateFromEnd(s.baseOffset)
			epochsFromBatches = true
		}
		cut, err := l.recoverSegment(s)
		if err != nil {
			return err
		}
		if cut {
			return l.cutAfter(i, fmt.Sprintf("log cut in segment %d at offset %d", s.baseOffset, s.nextOffset))
		}
	}
	return nil
}

// loadSegment checks a trusted segment's indexes and walks its batches
// after the last index entry to learn where it ends and its newest
// timestamp. withEpochs also walks every batch to rebuild the epoch cache
// (its checkpoint was lost).
func (l *Log) loadSegment(s *segment, withEpochs bool) error {
	size := s.log.Size()
	s.resetStats()
	s.sizeBytes = size
	if err := s.index.load(size); err != nil {
		return err
	}
	tailMax, tailMaxOffset, err := l.measure(s)
	if err != nil {
		return err
	}
	if err := s.timeIndex.load(s.nextOffset - s.baseOffset); err != nil {
		return err
	}
	s.foldTimestamps(tailMax, tailMaxOffset)
	if !withEpochs {
		return nil
	}
	return walkHeaders(s, 0, l.scratch(), l.cfg.BatchBytesMax, func(h records.Header, _ int64) bool {
		l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
		return true
	})
}

// measure walks the batches of s from its last offset index entry to
// s.sizeBytes, and sets where s ends and its index interval counter. It
// returns the newest timestamp among those batches and the first batch
// with it; the time index covers the batches before.
func (l *Log) measure(s *segment) (tailMax, tailMaxOffset int64, err error) {
	start, startRel := int64(0), int32(0)
	if s.index.entries > 0 {
		start, startRel = int64(s.index.lastPos), s.index.lastRel
	}
	tailMax, tailMaxOffset, next := -1, -1, s.baseOffset
	walkErr := walkHeaders(s, start, l.scratch(), l.cfg.BatchBytesMax, func(h records.Header, pos int64) bool {
		if pos == start && h.BaseOffset != s.baseOffset+int64(startRel) {
			err = fmt.Errorf("%w: offset index entry %d names a batch with base offset %d", errBadIndex, startRel, h.BaseOffset)
			return false
		}
		if !s.fits(0, h.LastOffset()) {
			err = fmt.Errorf("%w: offset %d too far from base", errBadBatch, h.LastOffset())
			return false
		}
		if h.MaxTimestamp > tailMax {
			tailMax, tailMaxOffset = h.MaxTimestamp, h.BaseOffset
		}
		next = h.NextOffset()
		return true
	})
	if err = errors.Join(walkErr, err); err != nil {
		return -1, -1, err
	}
	s.nextOffset, s.bytesSinceIndex = next, s.sizeBytes-start
	return tailMax, tailMaxOffset, nil
}

// recoverSegment scans s from its start, checking every batch, rebuilds
// its indexes and the epoch cache from the batches, and cuts the file at
// the first bad batch. It reports whether it cut.
func (l *Log) recoverSegment(s *segment) (bool, error) {
	size := s.log.Size()
	if err := s.index.truncateTo(0); err != nil {
		return false, err
	}
	if err := s.timeIndex.reset(); err != nil {
		return false, err
	}
	s.resetStats()
	s.dirty, s.needsRebuild = true, false
	var reason error
	for pos := int64(0); pos < size; pos = s.sizeBytes {
		h, buf, err := readBatch(s.log, pos, size, l.scratch(), l.cfg.BatchBytesMax)
		l.buf = buf[:0]
		if err == nil && h.BaseOffset != s.nextOffset {
			err = fmt.Errorf("%w: batch at %d has base offset %d, want %d", errBadBatch, pos, h.BaseOffset, s.nextOffset)
		}
		if err == nil && !s.fits(h.Size(), h.LastOffset()) {
			err = fmt.Errorf("%w: batch at %d does not fit the segment's 32-bit index", errBadBatch, pos)
		}
		if errors.Is(err, errBadBatch) {
			reason = err
			break
		}
		if err != nil {
			return false, err
		}
		s.observe(h)
		if err := s.indexBatch(h, pos, l.cfg.IndexIntervalBytes); err != nil {
			return false, err
		}
		l.epochs.assign(h.PartitionLeaderEpoch, h.BaseOffset)
	}
	if reason == nil {
		return false, nil
	}
	l.log.Warn("truncating log after a crash", "segment", s.baseOffset, "offset", s.nextOffset,
		"position", s.sizeBytes, "dropped_bytes", size-s.sizeBytes, "reason", reason)
	return true, s.log.Truncate(s.sizeBytes)
}

// cutAfter removes the segments after index i: the log ends in segment i.
func (l *Log) cutAfter(i int, reason string) error {
	gone := slices.Clone(l.segs[i+1:])
	l.segs = l.segs[:i+1]
	for _, s := range gone {
		l.log.Warn("removing segment past the end of the log", "segment", s.baseOffset, "bytes", s.log.Size(), "reason", reason)
	}
	return l.removeSegments(gone)
}

// finishRecovery applies rule 4 and schedules the checkpoint writes that
// recovery made necessary.
func (l *Log) finishRecovery(ck loaded) error {
	if len(l.segs) == 0 {
		s, err := l.newSegment(ck.logStart)
		if err != nil {
			return err
		}
		l.segs = []*segment{s}
	}
	l.leo = l.active().nextOffset
	l.logStart = max(ck.logStart, l.segs[0].baseOffset)
	if l.logStart > l.leo {
		l.log.Warn("log ends before its start offset; restarting it empty", "log_start", l.logStart, "end", l.leo)
		if err := l.replaceAllSegments(l.logStart); err != nil {
			return err
		}
	}
	l.epochs.truncateFromEnd(l.leo)
	l.epochs.truncateFromStart(l.logStart)
	l.recoveryPoint = min(max(ck.recovery, l.logStart), l.leo)
	now, mono := l.clock.Now().UnixMilli(), l.clock.Mono()
	for _, s := range l.segs {
		s.lastAppendMs, s.firstAppendMono = now, mono
	}
	l.flush.lastDoneMono = monoMs(mono)
	l.ckRecoveryPoint, l.ckRecoveryMs = ck.recovery, monoMs(mono)
	l.dirDirty = true
	if err := l.deleteBelowStart(); err != nil {
		return err
	}
	epochsSame := ck.epochsOK && slices.Equal(ck.epochs, l.epochs.entries)
	l.epochsCoveredTo, l.epochsRewrittenAt = l.leo, math.MaxInt64
	if !epochsSame {
		l.epochsCoveredTo = l.logStart
		l.ckEpochs.changed()
	}
	if !ck.logStartOK || ck.logStart != l.logStart {
		l.ckLogStart.changed()
		l.ckLogStart.sync(nil)
	}
	if !epochsSame || !ck.recoveryOK || ck.recovery != l.recoveryPoint {
		l.kickRecoveryCheckpoint()
	}
	l.log.Info("opened log", "segments", len(l.segs), "log_start", l.logStart, "end", l.leo, "recovery_point", l.recoveryPoint)
	return nil
}
