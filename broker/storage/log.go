package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// Errors a Log returns. Errors from the file system (env.ErrNoSpace,
// env.ErrIO, …) are returned wrapped; test with errors.Is.
var (
	// ErrOffsetOutOfRange: the offset is outside [StartOffset, EndOffset]
	// (Kafka's OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrCorrupt: bytes on disk are not the batches the log wrote (Kafka's
	// CORRUPT_MESSAGE / KAFKA_STORAGE_ERROR).
	ErrCorrupt = errors.New("log data corrupt")
	// ErrBadBatch: a batch handed to Append or AppendAsFollower is not a
	// whole v2 batch, is larger than Config.BatchBytesMax, or (follower)
	// fails its CRC.
	ErrBadBatch = errors.New("invalid record batch")
	// ErrNotContiguous: a follower's batches do not start at the log end
	// offset or leave gaps.
	ErrNotContiguous = errors.New("batches do not continue the log")
	// ErrLogFailed: an fsync, or an operation that left the files in a
	// state the log cannot describe, failed. Like Kafka, which takes the
	// log directory offline, the log then refuses writes until it is
	// reopened: after a failed fsync the kernel may have dropped the
	// unsynced pages, and a retried fsync would report success for data
	// that never reached the disk.
	ErrLogFailed = errors.New("log failed; reopen it")
)

// Log is one partition's log in a directory of its own. It is not safe for
// concurrent use; the broker calls it from its single thread.
type Log struct {
	fs    env.FS
	clock env.Clock
	log   *slog.Logger
	dir   string
	cfg   Config

	// segs is ordered by base offset; the last is the active segment.
	segs []*segment

	logStart      int64
	leo           int64
	recoveryPoint int64
	// retentionLimit: retention never deletes a segment holding offsets at
	// or past it (the high watermark).
	retentionLimit int64

	epochs epochCache
	// epochsCoveredTo: the durable epoch checkpoint is right for every
	// offset below it (the log end offset when its content was taken,
	// lowered by any rewrite of the cache's tail since). epochsRewrittenAt
	// is the lowest such rewrite since the running write took its content.
	epochsCoveredTo   int64
	epochsRewrittenAt int64

	ckLogStart, ckRecovery, ckEpochs checkpoint
	// ckRecoveryPoint is the recovery point the last checkpoint write
	// began with, at ckRecoveryMs on the monotonic clock.
	ckRecoveryPoint, ckRecoveryMs int64

	flush flusher
	// dirDirty: entries of dir changed since the last directory fsync was
	// issued.
	dirDirty  bool
	onFlushed func(offset int64)

	failed error
	closed bool
	// buf is scratch for one batch, grown up to BatchBytesMax.
	buf []byte
}

// Open opens the log in dir, creating it if it does not exist, and
// recovers it after a crash: see recover.go. The checkpoints it corrects
// are rewritten in the background.
func Open(fs env.FS, clock env.Clock, logger *slog.Logger, dir string, cfg Config) (*Log, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		fs: fs, clock: clock, log: logger.With("dir", dir), dir: dir, cfg: cfg,
		retentionLimit: math.MaxInt64, buf: make([]byte, 0, 64<<10),
	}
	l.ckLogStart = checkpoint{l: l, path: dir + "/" + logStartFile, encode: func() []byte { return encodeOffset(l.logStart) }}
	l.ckRecovery = checkpoint{l: l, path: dir + "/" + recoveryPointFile, encode: func() []byte { return encodeOffset(l.recoveryPointToWrite()) }}
	l.ckEpochs = checkpoint{l: l, path: dir + "/" + epochFile}
	l.ckEpochs.encode = l.encodeEpochs
	l.flush.init()
	if err := l.recover(); err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	l.checkInvariants()
	return l, nil
}

// encodeEpochs snapshots the epoch cache for its checkpoint and notes how
// far that snapshot is right.
func (l *Log) encodeEpochs() []byte {
	covered := l.leo
	l.epochsRewrittenAt = math.MaxInt64
	l.ckEpochs.written = func(uint64) { l.epochsCoveredTo = min(covered, l.epochsRewrittenAt) }
	return encodeEpochs(l.epochs.entries)
}

// epochsChanged notes a change to the epoch cache at offset from: an
// entry added at the log end, or entries dropped or moved at or after
// from.
func (l *Log) epochsChanged(from int64) {
	l.ckEpochs.changed()
	l.epochsCoveredTo = min(l.epochsCoveredTo, from)
	l.epochsRewrittenAt = min(l.epochsRewrittenAt, from)
}

// recoveryPointToWrite is the recovery point the checkpoint may claim:
// Open trusts the epoch checkpoint below it, so it must not pass what the
// durable epoch checkpoint covers.
func (l *Log) recoveryPointToWrite() int64 {
	if l.ckEpochs.clean() {
		return l.recoveryPoint
	}
	return max(min(l.recoveryPoint, l.epochsCoveredTo), 0)
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// StartOffset is the log start offset: the first offset a read may ask
// for.
func (l *Log) StartOffset() int64 { return l.logStart }

// EndOffset is the log end offset (LEO): the offset the next append gets.
func (l *Log) EndOffset() int64 { return l.leo }

// RecoveryPoint is the offset below which every batch is known to be
// fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint }

// Size is the total size of the segment files in bytes.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.segs {
		n += s.sizeBytes
	}
	return n
}

// Segments is the number of segments.
func (l *Log) Segments() int { return len(l.segs) }

// Err is the failure (a write or fsync error) that stopped the log taking
// writes, nil while it works.
func (l *Log) Err() error { return l.failed }

// LatestEpoch is the newest leader epoch in the epoch cache; ok is false
// when the cache is empty.
func (l *Log) LatestEpoch() (epoch int32, ok bool) {
	e, ok := l.epochs.latest()
	if !ok {
		return UndefinedEpoch, false
	}
	return e.Epoch, true
}

// Epochs returns a copy of the leader epoch cache, oldest first.
func (l *Log) Epochs() []EpochEntry { return append([]EpochEntry(nil), l.epochs.entries...) }

// EpochCount and EpochAt read the leader epoch cache without copying it
// (Epochs copies), for a monitor that compares it on every event.
func (l *Log) EpochCount() int { return len(l.epochs.entries) }

// EpochAt is the i-th entry of the leader epoch cache, 0 ≤ i < EpochCount.
func (l *Log) EpochAt(i int) EpochEntry { return l.epochs.entries[i] }

// EndOffsetForEpoch answers OffsetForLeaderEpoch (KIP-101/279): the
// largest epoch at or below epoch and the offset where it ends. See
// epochCache.endOffsetFor for the cases, which follow Kafka's.
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.epochs.endOffsetFor(epoch, l.leo)
}

// OnFlushed sets a function called with the new recovery point whenever
// a flush moves it forward: data below it is durable. The broker uses it
// to hold acknowledgements until fsync.
func (l *Log) OnFlushed(fn func(offset int64)) { l.onFlushed = fn }

// SetHighWatermark tells the log its high watermark: retention never
// deletes a segment that holds offsets at or above it, so data ages out
// only once committed, as in Kafka. Until the first call there is no such
// limit.
func (l *Log) SetHighWatermark(offset int64) { l.retentionLimit = offset }

// Config is the log's current configuration.
func (l *Log) Config() Config { return l.cfg }

// SetConfig changes the configuration (a topic's AlterConfigs). It applies
// from the next append, flush or Tick; existing segments and indexes stay
// as they are (a smaller segment.bytes rolls the active segment at the
// next append). A lower flush.messages may start a flush at once.
func (l *Log) SetConfig(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	l.cfg = cfg
	if l.writable() == nil {
		l.maybeFlushMessages()
	}
	return nil
}

// Checkpoint writes the three checkpoint files (log start offset, leader
// epochs, recovery point) and calls done once they are durable. Kafka
// writes them periodically; the log writes them when they change too, so
// the broker need only call this before a clean shutdown.
func (l *Log) Checkpoint(done func(error)) {
	if l.closed {
		call(done, fmt.Errorf("checkpoint %s: %w", l.dir, env.ErrClosed))
		return
	}
	var errs []error
	l.ckLogStart.sync(func(err error) {
		errs = append(errs, err)
		l.ckEpochs.sync(func(err error) {
			errs = append(errs, err)
			l.ckRecovery.changed()
			l.ckRecovery.sync(func(err error) { call(done, errors.Join(append(errs, err)...)) })
		})
	})
}

// Close closes the log's files. It does not flush: call Flush, and
// Checkpoint, first for a clean shutdown. Callbacks still pending complete
// with env.ErrClosed.
func (l *Log) Close() error {
	if l.closed {
		return fmt.Errorf("close log %s: %w", l.dir, env.ErrClosed)
	}
	l.closed = true
	return l.closeFiles()
}

func (l *Log) closeFiles() error {
	var errs []error
	for _, s := range l.segs {
		for _, f := range s.files() {
			if f != nil {
				errs = append(errs, f.Close())
			}
		}
	}
	l.segs = nil
	if !l.flush.running {
		errs = append(errs, l.flush.closeDeferred())
	}
	return errors.Join(errs...)
}

// Delete removes a partition's directory: every file in it, then the
// directory entries are fsynced, and done (which may be nil) gets the
// result. Close the Log first.
func Delete(fs env.FS, dir string, done func(error)) error {
	names, err := fs.List(dir)
	if errors.Is(err, env.ErrNotExist) {
		call(done, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete log %s: %w", dir, err)
	}
	// Segment files go first, so that a crash halfway leaves a log that
	// Open still reads as a (shorter or empty) log, never orphaned indexes
	// in front of data.
	sort.SliceStable(names, func(i, j int) bool { return deleteRank(names[i]) < deleteRank(names[j]) })
	for _, name := range names {
		if name[len(name)-1] == '/' {
			continue
		}
		if err := fs.Remove(dir + "/" + name); err != nil && !errors.Is(err, env.ErrNotExist) {
			return fmt.Errorf("delete log %s: %w", dir, err)
		}
	}
	fs.SyncDir(dir, func(err error) { call(done, err) })
	return nil
}

func deleteRank(name string) int {
	if _, suffix, ok := parseSegmentName(name); ok && suffix == logSuffix {
		return 0
	}
	return 1
}

// writable is the check every write starts with.
func (l *Log) writable() error {
	switch {
	case l.closed:
		return fmt.Errorf("log %s: %w", l.dir, env.ErrClosed)
	case l.failed != nil:
		return fmt.Errorf("log %s: %w: %w", l.dir, ErrLogFailed, l.failed)
	}
	return nil
}

// Fail stops the log taking writes, as a write error does, for a caller
// that found it unusable; it returns the error to report.
func (l *Log) Fail(err error) error { return l.fail(err) }

// fail stops the log taking writes and returns the error to report.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = err
		l.log.Error("log failed; refusing writes until reopened", "err", err)
	}
	return fmt.Errorf("log %s: %w: %w", l.dir, ErrLogFailed, err)
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// segmentFor returns the index of the segment whose range starts at or
// before offset, -1 if offset is before the first segment.
func (l *Log) segmentFor(offset int64) int {
	return sort.Search(len(l.segs), func(i int) bool { return l.segs[i].baseOffset > offset }) - 1
}

// monoMs converts a monotonic duration to whole milliseconds.
func monoMs(d time.Duration) int64 { return d.Milliseconds() }

// checkInvariants asserts what must hold between operations; the
// per-segment walk runs under the invariants build tag only.
func (l *Log) checkInvariants() {
	if l.closed {
		return
	}
	// The cheap checks run on every append: format only on failure, so
	// that they allocate nothing.
	if l.logStart > l.recoveryPoint || l.recoveryPoint > l.leo {
		assert.Thatf(false, "log %s: want logStart %d <= recoveryPoint %d <= LEO %d", l.dir, l.logStart, l.recoveryPoint, l.leo)
	}
	assert.That(len(l.segs) > 0, "a log has an active segment")
	if end := l.active().nextOffset; end != l.leo {
		assert.Thatf(false, "log %s: active segment ends at %d, LEO %d", l.dir, end, l.leo)
	}
	if !assert.Enabled {
		return
	}
	for i, s := range l.segs {
		exact := l.failed == nil
		assert.Thatf(s.nextOffset >= s.baseOffset && (s.sizeBytes == s.log.Size() || !exact),
			"log %s: segment %d: next %d, size %d, file %d", l.dir, s.baseOffset, s.nextOffset, s.sizeBytes, s.log.Size())
		assert.Thatf(s.index.sizeBytes() == s.index.file.Size() && s.timeIndex.sizeBytes() == s.timeIndex.file.Size() || !exact,
			"log %s: segment %d: index sizes disagree with files", l.dir, s.baseOffset)
		if i > 0 {
			prev := l.segs[i-1]
			assert.Thatf(s.baseOffset > prev.baseOffset && s.baseOffset == prev.nextOffset,
				"log %s: segment %d does not continue segment %d ending at %d", l.dir, s.baseOffset, prev.baseOffset, prev.nextOffset)
		}
	}
	for i := 1; i < len(l.epochs.entries); i++ {
		a, b := l.epochs.entries[i-1], l.epochs.entries[i]
		assert.Thatf(a.Epoch < b.Epoch && a.StartOffset < b.StartOffset, "log %s: epoch cache out of order: %v", l.dir, l.epochs.entries)
	}
	if e, ok := l.epochs.latest(); ok {
		// At LEO only when DeleteRecords moved it to an empty log's end.
		assert.Thatf(e.StartOffset <= l.leo, "log %s: epoch %v starts past LEO %d", l.dir, e, l.leo)
	}
}

// scratch returns the batch buffer with room for a header at least.
func (l *Log) scratch() []byte {
	if cap(l.buf) < records.HeaderBytes {
		l.buf = make([]byte, 0, records.HeaderBytes)
	}
	return l.buf[:0]
}
