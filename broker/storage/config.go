package storage

import (
	"errors"
	"fmt"
	"math"

	"github.com/gregor-dst/gregor/broker/records"
)

// Config is a partition log's configuration. Field names follow Kafka's
// topic configs (segment.bytes → SegmentBytes), with units last.
type Config struct {
	// SegmentBytes (segment.bytes) rolls a segment before an append would
	// take it past this size. At most math.MaxInt32: index positions are
	// 32-bit.
	SegmentBytes int64
	// SegmentMs (segment.ms) rolls a non-empty segment this long after its
	// first append, measured on the monotonic clock.
	SegmentMs int64
	// RetentionMs (retention.ms) deletes a segment once its newest
	// timestamp is this old; -1 keeps data forever.
	RetentionMs int64
	// RetentionBytes (retention.bytes) deletes the oldest segments while
	// the log stays at least this large without them; -1 is no limit.
	RetentionBytes int64
	// FlushMessages (flush.messages) fsyncs once this many messages are
	// unflushed. math.MaxInt64 leaves fsync to the OS and to segment rolls,
	// as Kafka does by default; 1 fsyncs after every append.
	FlushMessages int64
	// FlushMs (flush.ms) fsyncs unflushed data this long after the last
	// flush; math.MaxInt64 disables it.
	FlushMs int64
	// RecoveryCheckpointMs (the broker's
	// log.flush.offset.checkpoint.interval.ms) is how often a flush that
	// moved the recovery point writes its checkpoint; 0 writes it after
	// every such flush. A stale checkpoint only makes recovery after a
	// crash rescan more: it is never ahead of what was flushed.
	RecoveryCheckpointMs int64
	// IndexIntervalBytes (index.interval.bytes) is how many log bytes go
	// between offset index entries.
	IndexIntervalBytes int32
	// SegmentIndexBytesMax (segment.index.bytes) rolls a segment when one of
	// its indexes would grow past this size.
	SegmentIndexBytesMax int32
	// BatchBytesMax bounds one batch on disk. Recovery treats a batch
	// length past it as corruption and cuts the log there, so it must be
	// at least the largest batch the broker can ever have appended: not a
	// topic's max.message.bytes, which can be lowered after the fact, but
	// a broker-wide ceiling. The default is Kafka's
	// socket.request.max.bytes, which no batch can pass. Scans read one
	// batch at a time into a buffer that grows to the largest batch seen.
	BatchBytesMax int32

	_ struct{} // disallow positional literals
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:         1 << 30,
		SegmentMs:            7 * 24 * 3600 * 1000,
		RetentionMs:          7 * 24 * 3600 * 1000,
		RetentionBytes:       -1,
		FlushMessages:        math.MaxInt64,
		FlushMs:              math.MaxInt64,
		RecoveryCheckpointMs: 60_000,
		IndexIntervalBytes:   4096,
		SegmentIndexBytesMax: 10 << 20,
		BatchBytesMax:        100 << 20,
	}
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.SegmentBytes >= 1 && c.SegmentBytes <= math.MaxInt32, "SegmentBytes %d not in [1, 2^31-1]", c.SegmentBytes)
	check(c.SegmentMs >= 1, "SegmentMs %d must be positive", c.SegmentMs)
	check(c.RetentionMs >= -1, "RetentionMs %d must be -1 or more", c.RetentionMs)
	check(c.RetentionBytes >= -1, "RetentionBytes %d must be -1 or more", c.RetentionBytes)
	check(c.FlushMessages >= 1, "FlushMessages %d must be positive", c.FlushMessages)
	check(c.FlushMs >= 0, "FlushMs %d must not be negative", c.FlushMs)
	check(c.RecoveryCheckpointMs >= 0, "RecoveryCheckpointMs %d must not be negative", c.RecoveryCheckpointMs)
	check(c.IndexIntervalBytes >= 0, "IndexIntervalBytes %d must not be negative", c.IndexIntervalBytes)
	check(c.SegmentIndexBytesMax >= timeEntryBytes, "SegmentIndexBytesMax %d below one index entry", c.SegmentIndexBytesMax)
	check(c.BatchBytesMax >= records.HeaderBytes, "BatchBytesMax %d below a batch header", c.BatchBytesMax)
	if len(errs) > 0 {
		return fmt.Errorf("storage: bad config: %w", errors.Join(errs...))
	}
	return nil
}
