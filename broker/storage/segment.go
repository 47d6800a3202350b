package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// File name suffixes, as Kafka names them.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	tmpSuffix       = ".tmp"
	baseDigits      = 20
)

// segmentName is the file name of a segment's part: the base offset in 20
// zero-padded digits, so names sort by offset.
func segmentName(dir string, base int64, suffix string) string {
	return dir + "/" + segFileName(base, suffix)
}

func segFileName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentName returns the base offset of a name such as
// "00000000000000000042.log" and its suffix.
func parseSegmentName(name string) (base int64, suffix string, ok bool) {
	i := strings.IndexByte(name, '.')
	if i != baseDigits {
		return 0, "", false
	}
	base, err := strconv.ParseInt(name[:i], 10, 64)
	if err != nil || base < 0 {
		return 0, "", false
	}
	return base, name[i:], true
}

// errBadBatch says the bytes at some position are not a whole, valid
// batch that continues the log: recovery cuts the log there.
var errBadBatch = errors.New("bad batch")

// segment is one segment file and its indexes.
type segment struct {
	baseOffset int64
	log        env.File
	index      offsetIndex
	timeIndex  timeIndex
	sizeBytes  int64
	nextOffset int64
	// maxTimestampMs is the largest batch max timestamp in the segment (-1
	// when none), offsetOfMaxTimestamp the base offset of the first batch
	// that carries it.
	maxTimestampMs       int64
	offsetOfMaxTimestamp int64
	// bytesSinceIndex counts log bytes since the last indexed batch's
	// start (or the segment's start); a batch is indexed when it reaches
	// IndexIntervalBytes. Appends and rebuilds follow the same rule, so a
	// rebuilt index equals the one appends wrote.
	bytesSinceIndex int64
	// firstAppendMono is when the segment got its first batch (or was
	// recovered non-empty), on the monotonic clock: segment.ms counts from
	// it.
	firstAppendMono time.Duration
	// lastAppendMs is the wall time of the last append, the segment's age
	// for retention when no batch carries a timestamp.
	lastAppendMs int64
	// dirty: written (log or indexes) since the last fsync was issued.
	dirty bool
	// needsRebuild: Open found an index file missing.
	needsRebuild bool
	// recent are the headers and positions of the last batches appended
	// to the active segment, contiguous, at most recentBatchesMax: reads
	// near the end (followers, consumers, the simulator's monitors) find
	// their batch without walking headers from the last index entry.
	recent []batchAt
}

// batchAt is a batch's header and its position in the segment.
type batchAt struct {
	h   records.Header
	pos int64
}

// recentBatchesMax bounds segment.recent; when full, its older half goes.
const recentBatchesMax = 256

// remember notes a batch just appended at pos.
func (s *segment) remember(h records.Header, pos int64) {
	if n := len(s.recent); n > 0 && s.recent[n-1].h.NextOffset() != h.BaseOffset {
		s.recent = s.recent[:0] // not contiguous: start over
	}
	if len(s.recent) == recentBatchesMax {
		s.recent = s.recent[:copy(s.recent, s.recent[recentBatchesMax/2:])]
	}
	s.recent = append(s.recent, batchAt{h, pos})
}

// forgetFrom drops the remembered batches from offset on (a truncation).
func (s *segment) forgetFrom(offset int64) {
	i, _ := slices.BinarySearchFunc(s.recent, offset, func(b batchAt, o int64) int { return cmp.Compare(b.h.BaseOffset, o) })
	s.recent = s.recent[:i]
}

// recentHolding is the index in recent of the batch holding offset, or
// -1.
func (s *segment) recentHolding(offset int64) int {
	i := sort.Search(len(s.recent), func(i int) bool { return s.recent[i].h.NextOffset() > offset })
	if i < len(s.recent) && s.recent[i].h.BaseOffset <= offset {
		return i
	}
	return -1
}

// recentAt is the index in recent of the batch at pos, or -1.
func (s *segment) recentAt(pos int64) int {
	i, found := slices.BinarySearchFunc(s.recent, pos, func(b batchAt, p int64) int { return cmp.Compare(b.pos, p) })
	if !found {
		return -1
	}
	return i
}

// trim cuts the files back to the sizes the segment records, after a
// failed append.
func (s *segment) trim() error {
	cuts := []struct {
		f    env.File
		size int64
	}{{s.log, s.sizeBytes}, {s.index.file, s.index.sizeBytes()}, {s.timeIndex.file, s.timeIndex.sizeBytes()}}
	for _, c := range cuts {
		if c.f.Size() == c.size {
			continue
		}
		if err := c.f.Truncate(c.size); err != nil {
			return err
		}
	}
	return nil
}

func (s *segment) files() []env.File { return []env.File{s.log, s.index.file, s.timeIndex.file} }

func (s *segment) empty() bool { return s.sizeBytes == 0 }

// retentionTimeMs is the time retention.ms ages the segment by: its newest
// timestamp, as Kafka's largestTimestamp.
func (s *segment) retentionTimeMs() int64 {
	if s.maxTimestampMs >= 0 {
		return s.maxTimestampMs
	}
	return s.lastAppendMs
}

func (s *segment) resetStats() {
	s.sizeBytes, s.nextOffset, s.bytesSinceIndex = 0, s.baseOffset, 0
	s.maxTimestampMs, s.offsetOfMaxTimestamp = -1, -1
}

// foldTimestamps sets the segment's newest timestamp from its time index
// and from the batches after the last index entry (measure's result).
func (s *segment) foldTimestamps(tailMax, tailMaxOffset int64) {
	if s.timeIndex.entries > 0 {
		s.maxTimestampMs, s.offsetOfMaxTimestamp = s.timeIndex.lastTs, s.baseOffset+int64(s.timeIndex.lastRel)
	}
	if tailMax > s.maxTimestampMs {
		s.maxTimestampMs, s.offsetOfMaxTimestamp = tailMax, tailMaxOffset
	}
}

// observe folds a batch the segment now holds into its statistics.
func (s *segment) observe(h records.Header) {
	if h.MaxTimestamp > s.maxTimestampMs {
		s.maxTimestampMs, s.offsetOfMaxTimestamp = h.MaxTimestamp, h.BaseOffset
	}
	s.sizeBytes += int64(h.Size())
	s.bytesSinceIndex += int64(h.Size())
	s.nextOffset = h.NextOffset()
}

// indexBatch adds the index entries for batch h at pos if the interval
// says so; it runs after observe.
func (s *segment) indexBatch(h records.Header, pos int64, intervalBytes int32) error {
	if s.bytesSinceIndex-int64(h.Size()) < int64(intervalBytes) {
		return nil
	}
	rel := int32(h.BaseOffset - s.baseOffset)
	if err := s.index.append(rel, int32(pos)); err != nil {
		return err
	}
	s.bytesSinceIndex = int64(h.Size())
	if s.timeIndex.entries > 0 && s.maxTimestampMs <= s.timeIndex.lastTs {
		return nil
	}
	return s.timeIndex.append(s.maxTimestampMs, int32(s.offsetOfMaxTimestamp-s.baseOffset))
}

// fits reports whether a batch of size bytes ending at lastOffset can go
// into the segment without passing a format limit: 32-bit positions and
// relative offsets.
func (s *segment) fits(size int, lastOffset int64) bool {
	return s.sizeBytes+int64(size) <= math.MaxInt32 && lastOffset-s.baseOffset <= math.MaxInt32
}

// readHeader reads the header of the batch at pos, whose bytes must end by
// end. Bad or incomplete data is errBadBatch; a failed read is returned
// as is.
func readHeader(f env.File, pos, end int64, buf []byte, batchBytesMax int32) (records.Header, error) {
	if end-pos < records.HeaderBytes {
		return records.Header{}, fmt.Errorf("%w: %d bytes at %d, short of a header", errBadBatch, end-pos, pos)
	}
	if cap(buf) < records.HeaderBytes {
		buf = make([]byte, records.HeaderBytes)
	}
	buf = buf[:records.HeaderBytes]
	if _, err := f.ReadAt(buf, pos); err != nil {
		if errors.Is(err, io.EOF) {
			return records.Header{}, fmt.Errorf("%w: end of file in header at %d", errBadBatch, pos)
		}
		return records.Header{}, fmt.Errorf("read %s at %d: %w", f.Path(), pos, err)
	}
	h, err := parseHeader(buf)
	if err != nil {
		return h, fmt.Errorf("%w: at %d: %w", errBadBatch, pos, err)
	}
	if h.Size() > int(batchBytesMax) || int64(h.Size()) > end-pos {
		return h, fmt.Errorf("%w: batch of %d bytes at %d, %d bytes left, limit %d", errBadBatch, h.Size(), pos, end-pos, batchBytesMax)
	}
	return h, nil
}

// parseHeader decodes a header from b, which may hold only the header.
func parseHeader(b []byte) (records.Header, error) {
	h, err := records.ParseHeaderOnly(b)
	if err == nil && h.LastOffsetDelta < 0 {
		err = fmt.Errorf("negative last offset delta %d", h.LastOffsetDelta)
	}
	return h, err
}

// readBatch reads the whole batch at pos into buf (grown as needed) and
// checks its CRC.
func readBatch(f env.File, pos, end int64, buf []byte, batchBytesMax int32) (records.Header, []byte, error) {
	h, err := readHeader(f, pos, end, buf[:cap(buf)], batchBytesMax)
	if err != nil {
		return h, buf, err
	}
	if cap(buf) < h.Size() {
		buf = make([]byte, h.Size())
	}
	b := buf[:h.Size()]
	if _, err := f.ReadAt(b, pos); err != nil {
		return h, buf, fmt.Errorf("read %s at %d: %w", f.Path(), pos, err)
	}
	if !records.CRCOK(b, h) {
		return h, buf, fmt.Errorf("%w: at %d: %w", errBadBatch, pos, records.ErrBadCRC)
	}
	return h, buf, nil
}

// walkHeaders calls fn on each batch header of s from pos to the end of
// the segment, until fn returns false. Each batch must continue the one
// before it.
func walkHeaders(s *segment, pos int64, buf []byte, batchBytesMax int32, fn func(h records.Header, pos int64) bool) error {
	expect := int64(-1)
	if i := s.recentAt(pos); i >= 0 {
		for _, b := range s.recent[i:] {
			if !fn(b.h, b.pos) {
				return nil
			}
		}
		last := s.recent[len(s.recent)-1]
		pos, expect = last.pos+int64(last.h.Size()), last.h.NextOffset()
	}
	for pos < s.sizeBytes {
		h, err := readHeader(s.log, pos, s.sizeBytes, buf, batchBytesMax)
		if err != nil {
			return err
		}
		if expect >= 0 && h.BaseOffset != expect {
			return fmt.Errorf("%w: batch at %d has base offset %d, want %d", errBadBatch, pos, h.BaseOffset, expect)
		}
		if !fn(h, pos) {
			return nil
		}
		expect = h.NextOffset()
		pos += int64(h.Size())
	}
	return nil
}

// locate finds the batch of s holding offset (which must be in
// [s.baseOffset, s.nextOffset)): its header and position. The index
// gives a nearby start; an index entry that does not name a batch start
// (the index was damaged after Open) falls back to the segment's start.
func locate(s *segment, offset int64, buf []byte, batchBytesMax int32) (records.Header, int64, error) {
	assert.That(offset >= s.baseOffset && offset < s.nextOffset, "locate: offset outside the segment")
	if i := s.recentHolding(offset); i >= 0 {
		b := s.recent[i]
		if assert.Enabled {
			// A read error (an injected one) says nothing either way.
			h, err := readHeader(s.log, b.pos, s.sizeBytes, buf, batchBytesMax)
			assert.That(err != nil || h == b.h, "locate: a remembered batch differs from the file")
		}
		return b.h, b.pos, nil
	}
	rel, pos, err := s.index.lookup(int32(offset - s.baseOffset))
	if err != nil {
		return records.Header{}, 0, err
	}
	if pos > 0 {
		h, err := readHeader(s.log, int64(pos), s.sizeBytes, buf, batchBytesMax)
		if err != nil || h.BaseOffset != s.baseOffset+int64(rel) {
			pos = 0
		}
	}
	return scanTo(s, int64(pos), offset, buf, batchBytesMax)
}

// scanTo walks from pos to the batch whose offsets include offset.
func scanTo(s *segment, pos int64, offset int64, buf []byte, batchBytesMax int32) (records.Header, int64, error) {
	var found records.Header
	at := int64(-1)
	err := walkHeaders(s, pos, buf, batchBytesMax, func(h records.Header, p int64) bool {
		if h.NextOffset() > offset {
			found, at = h, p
			return false
		}
		return true
	})
	if err == nil && (at < 0 || found.BaseOffset > offset) {
		err = fmt.Errorf("%w: no batch holds offset %d in segment %d", errBadBatch, offset, s.baseOffset)
	}
	return found, at, err
}
