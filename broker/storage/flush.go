package storage

import (
	"errors"
	"fmt"
	"math"

	"github.com/gregor-dst/gregor/env"
)

// flusher runs one flush at a time. A flush fsyncs the dirty segments
// below its target offset (log and index files) and, if entries of the
// directory changed, the directory; then the data below the target is
// durable. Requests while a flush runs are coalesced into one more flush
// after it, whose target is the largest requested.
type flusher struct {
	running bool
	target  int64
	// lowWater is the lowest offset the log was truncated to while the
	// running flush ran: data it synced at or past that was cut away.
	lowWater int64
	segs     []*segment // synced by the running flush, re-dirtied if it fails
	waiters  []func(error)
	// next: a flush is queued, with target nextTarget.
	next        bool
	nextTarget  int64
	nextWaiters []func(error)
	// deferred are files of segments deleted while a flush ran; they
	// close when it ends, so their fsync completes normally.
	deferred []env.File
	// lastDoneMono is when the last flush completed, for flush.ms.
	lastDoneMono int64
}

func (f *flusher) init() { f.lowWater = math.MaxInt64 }

// requested is the highest offset a running or queued flush will cover.
func (f *flusher) requested() int64 {
	switch {
	case f.next:
		return max(f.target, f.nextTarget)
	case f.running:
		return f.target
	}
	return -1
}

func (f *flusher) closeDeferred() error {
	var errs []error
	for _, file := range f.deferred {
		errs = append(errs, file.Close())
	}
	f.deferred = nil
	return errors.Join(errs...)
}

// Flush makes every batch appended so far durable: it fsyncs the segments
// with unflushed data, then the directory if segments were created or
// removed; then it moves the recovery point (calling OnFlushed's
// function), calls done (which may be nil), and writes the recovery point
// checkpoint in the background. done is always called through a
// callback, never before Flush returns. A Flush while another runs waits
// for it and then covers what was written since; one that finds nothing
// appended since the running one began shares it.
func (l *Log) Flush(done func(error)) {
	if err := l.writable(); err != nil {
		l.log.Debug("flush refused", "err", err)
		// Completing through the FS keeps the promise that done runs
		// later, on the process's thread.
		if l.closed {
			call(done, err)
			return
		}
		l.fs.SyncDir(l.dir, func(error) { call(done, err) })
		return
	}
	l.requestFlush(l.leo, done)
}

// requestFlush starts a flush up to target, or queues one.
func (l *Log) requestFlush(target int64, done func(error)) {
	f := &l.flush
	switch {
	case !f.running:
		l.startFlush(target, []func(error){done})
	case target <= f.target && f.lowWater == math.MaxInt64 && !f.next:
		// Nothing was appended since the running flush began: it covers
		// this request.
		if done != nil {
			f.waiters = append(f.waiters, done)
		}
	case f.next:
		f.nextTarget = max(f.nextTarget, target)
		f.nextWaiters = append(f.nextWaiters, done)
	default:
		f.next, f.nextTarget, f.nextWaiters = true, target, []func(error){done}
	}
}

func (l *Log) startFlush(target int64, waiters []func(error)) {
	f := &l.flush
	f.running, f.target, f.lowWater, f.waiters, f.segs = true, target, math.MaxInt64, waiters, f.segs[:0]
	var files []env.File
	for _, s := range l.segs {
		if s.baseOffset >= target || !s.dirty {
			continue
		}
		s.dirty = false
		f.segs = append(f.segs, s)
		files = append(files, s.files()...)
	}
	syncDir := l.dirDirty || len(files) == 0 // a directory fsync also completes an empty flush
	l.dirDirty = false
	pending := len(files)
	var firstErr error
	afterFiles := func() {
		if firstErr != nil || !syncDir {
			l.finishFlush(firstErr, syncDir)
			return
		}
		l.fs.SyncDir(l.dir, func(err error) { l.finishFlush(err, syncDir) })
	}
	if pending == 0 {
		afterFiles()
		return
	}
	for _, file := range files {
		file.Sync(func(err error) {
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("fsync %s: %w", file.Path(), err)
			}
			pending--
			if pending == 0 {
				afterFiles()
			}
		})
	}
}

func (l *Log) finishFlush(err error, syncedDir bool) {
	f := &l.flush
	f.running = false
	waiters := f.waiters
	f.waiters = nil
	if cerr := f.closeDeferred(); cerr != nil {
		l.log.Warn("closing deleted segment files", "err", cerr)
	}
	if l.closed {
		l.failFlushWaiters(waiters, fmt.Errorf("flush %s: %w", l.dir, env.ErrClosed))
		return
	}
	if err != nil {
		for _, s := range f.segs {
			s.dirty = true
		}
		l.dirDirty = l.dirDirty || syncedDir
		err = l.fail(err)
		l.failFlushWaiters(waiters, err)
		return
	}
	f.lastDoneMono = monoMs(l.clock.Mono())
	if flushed := min(f.target, f.lowWater, l.leo); flushed > l.recoveryPoint {
		l.recoveryPoint = flushed
		l.checkInvariants()
		l.maybeCheckpointRecovery()
		if l.onFlushed != nil {
			l.onFlushed(flushed)
		}
	}
	for _, w := range waiters {
		call(w, nil)
	}
	if f.next && !f.running {
		next, nextWaiters := f.nextTarget, f.nextWaiters
		f.next, f.nextWaiters = false, nil
		l.startFlush(next, nextWaiters)
	}
}

// failFlushWaiters fails the running flush's waiters and the queued ones:
// a log that failed flushes no more.
func (l *Log) failFlushWaiters(waiters []func(error), err error) {
	f := &l.flush
	waiters = append(waiters, f.nextWaiters...)
	f.next, f.nextWaiters = false, nil
	for _, w := range waiters {
		call(w, err)
	}
}

// Tick does the log's periodic work, reading the clock: it rolls an active
// segment older than segment.ms, starts a flush when flush.ms has passed
// since the last one, and enforces retention. The broker calls it every
// so often (Kafka checks retention every 5 minutes); the log arms no
// timers of its own.
func (l *Log) Tick() error {
	if err := l.writable(); err != nil {
		return err
	}
	mono := l.clock.Mono()
	if s := l.active(); !s.empty() && monoMs(mono-s.firstAppendMono) >= l.cfg.SegmentMs {
		if err := l.roll(); err != nil {
			return err
		}
	}
	if l.leo > max(l.recoveryPoint, l.flush.requested()) && monoMs(mono)-l.flush.lastDoneMono >= l.cfg.FlushMs {
		l.requestFlush(l.leo, nil)
	}
	l.maybeCheckpointRecovery()
	return l.EnforceRetention(l.clock.Now().UnixMilli())
}

// maybeCheckpointRecovery writes the recovery point checkpoint if it is
// behind the recovery point and RecoveryCheckpointMs has passed since the
// last write began (Kafka checkpoints recovery points on a timer, not per
// flush: each write is two fsyncs).
func (l *Log) maybeCheckpointRecovery() {
	nowMs := monoMs(l.clock.Mono())
	if l.ckRecoveryPoint == l.recoveryPoint || nowMs-l.ckRecoveryMs < l.cfg.RecoveryCheckpointMs {
		return
	}
	l.kickRecoveryCheckpoint()
}

// kickRecoveryCheckpoint writes the recovery point checkpoint, after the
// epoch checkpoint when that has changes: Open trusts the epoch
// checkpoint for everything below the recovery point.
func (l *Log) kickRecoveryCheckpoint() {
	l.ckRecoveryPoint, l.ckRecoveryMs = l.recoveryPoint, monoMs(l.clock.Mono())
	write := func(error) {
		if l.closed {
			return
		}
		l.ckRecovery.changed()
		l.ckRecovery.sync(nil)
	}
	if l.ckEpochs.clean() {
		write(nil)
		return
	}
	l.ckEpochs.sync(write)
}

// maybeFlushMessages starts a flush when flush.messages messages are not
// yet covered by a flush.
func (l *Log) maybeFlushMessages() {
	covered := max(l.recoveryPoint, l.flush.requested())
	if l.leo-covered >= l.cfg.FlushMessages {
		l.requestFlush(l.leo, nil)
	}
}

// syncDirAsync makes directory changes (removed segments) durable in the
// background.
func (l *Log) syncDirAsync() {
	l.dirDirty = false
	l.fs.SyncDir(l.dir, func(err error) {
		if err != nil && !l.closed {
			l.dirDirty = true
			l.log.Warn("directory fsync failed", "err", err)
		}
	})
}
