package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// Index files hold fixed-size big-endian entries, as Kafka's do:
//
//	offset index: relative offset uint32, file position uint32
//	time index:   timestamp int64, relative offset uint32
//
// Offsets are relative to the segment's base offset. An offset index entry
// names the position of a batch's first byte by the batch's base offset. A
// time index entry (T, o) says that no batch before the entry was written
// has a max timestamp above T, and that o is the first batch whose max
// timestamp is T. Entries are added every IndexIntervalBytes of log; a
// time entry only when T grew since the last one, so both files are
// strictly increasing in every field.
//
// Lookups binary-search the file through ReadAt rather than keeping the
// entries in memory: a long log has many segments, and their indexes are
// what the page cache is for.
const (
	offsetEntryBytes = 8
	timeEntryBytes   = 12
)

// errBadIndex says an index file is inconsistent; its segment is then
// recovered, which rebuilds it.
var errBadIndex = errors.New("index inconsistent")

// offsetIndex is a segment's offset → position index.
type offsetIndex struct {
	file    env.File
	entries int
	lastRel int32 // valid when entries > 0
	lastPos int32
	buf     [offsetEntryBytes]byte
}

func (x *offsetIndex) sizeBytes() int64 { return int64(x.entries) * offsetEntryBytes }

// full reports whether one more entry would pass maxBytes.
func (x *offsetIndex) full(maxBytes int32) bool {
	return x.sizeBytes()+offsetEntryBytes > int64(maxBytes)
}

func (x *offsetIndex) append(rel, pos int32) error {
	assert.That(x.entries == 0 || (rel > x.lastRel && pos > x.lastPos), "offset index entries must increase")
	binary.BigEndian.PutUint32(x.buf[0:], uint32(rel))
	binary.BigEndian.PutUint32(x.buf[4:], uint32(pos))
	if _, err := x.file.WriteAt(x.buf[:], x.sizeBytes()); err != nil {
		return err
	}
	x.entries++
	x.lastRel, x.lastPos = rel, pos
	return nil
}

func (x *offsetIndex) entry(i int) (rel, pos int32, err error) {
	if _, err := x.file.ReadAt(x.buf[:], int64(i)*offsetEntryBytes); err != nil {
		return 0, 0, fmt.Errorf("read %s entry %d: %w", x.file.Path(), i, err)
	}
	return int32(binary.BigEndian.Uint32(x.buf[0:])), int32(binary.BigEndian.Uint32(x.buf[4:])), nil
}

// lookup returns the position of the last indexed batch starting at or
// before rel, or 0 (the segment's start) if there is none.
func (x *offsetIndex) lookup(rel int32) (entryRel, pos int32, err error) {
	n, err := countBelow(x.entries, func(i int) (bool, error) {
		r, _, err := x.entry(i)
		return r <= rel, err
	})
	if err != nil || n == 0 {
		return 0, 0, err
	}
	return x.entry(n - 1)
}

// truncateBelow keeps the entries whose relative offset is below rel.
func (x *offsetIndex) truncateBelow(rel int32) error {
	n, err := countBelow(x.entries, func(i int) (bool, error) {
		r, _, err := x.entry(i)
		return r < rel, err
	})
	if err != nil {
		return err
	}
	return x.truncateTo(n)
}

func (x *offsetIndex) truncateTo(n int) error {
	if err := x.file.Truncate(int64(n) * offsetEntryBytes); err != nil {
		return err
	}
	x.entries = n
	if n == 0 {
		return nil
	}
	var err error
	x.lastRel, x.lastPos, err = x.entry(n - 1)
	return err
}

// load reads the whole file and checks that its entries are strictly
// increasing and point inside a log of logBytes; errBadIndex otherwise.
func (x *offsetIndex) load(logBytes int64) error {
	size := x.file.Size()
	if size%offsetEntryBytes != 0 {
		return fmt.Errorf("%w: %s is %d bytes", errBadIndex, x.file.Path(), size)
	}
	x.entries = 0
	prevRel, prevPos := int32(-1), int32(-1)
	err := readEntries(x.file, size, offsetEntryBytes, func(e []byte) error {
		rel, pos := int32(binary.BigEndian.Uint32(e[0:])), int32(binary.BigEndian.Uint32(e[4:]))
		if rel <= prevRel || pos <= prevPos || int64(pos) >= logBytes {
			return fmt.Errorf("%w: %s entry %d (%d, %d) after (%d, %d), log %d bytes",
				errBadIndex, x.file.Path(), x.entries, rel, pos, prevRel, prevPos, logBytes)
		}
		prevRel, prevPos = rel, pos
		x.entries++
		return nil
	})
	x.lastRel, x.lastPos = prevRel, prevPos
	return err
}

// timeIndex is a segment's timestamp → offset index.
type timeIndex struct {
	file    env.File
	entries int
	lastTs  int64 // valid when entries > 0
	lastRel int32
	buf     [timeEntryBytes]byte
}

func (x *timeIndex) sizeBytes() int64 { return int64(x.entries) * timeEntryBytes }

func (x *timeIndex) full(maxBytes int32) bool {
	return x.sizeBytes()+timeEntryBytes > int64(maxBytes)
}

func (x *timeIndex) append(ts int64, rel int32) error {
	assert.That(x.entries == 0 || (ts > x.lastTs && rel > x.lastRel), "time index entries must increase")
	binary.BigEndian.PutUint64(x.buf[0:], uint64(ts))
	binary.BigEndian.PutUint32(x.buf[8:], uint32(rel))
	if _, err := x.file.WriteAt(x.buf[:], x.sizeBytes()); err != nil {
		return err
	}
	x.entries++
	x.lastTs, x.lastRel = ts, rel
	return nil
}

func (x *timeIndex) entry(i int) (ts int64, rel int32, err error) {
	if _, err := x.file.ReadAt(x.buf[:], int64(i)*timeEntryBytes); err != nil {
		return 0, 0, fmt.Errorf("read %s entry %d: %w", x.file.Path(), i, err)
	}
	return int64(binary.BigEndian.Uint64(x.buf[0:])), int32(binary.BigEndian.Uint32(x.buf[8:])), nil
}

// lookupBelow returns the relative offset of the last entry whose
// timestamp is below ts: every batch before it has a max timestamp below
// ts, so a search for the first batch reaching ts may start there.
// ok is false when no entry is below ts (search from the segment start).
func (x *timeIndex) lookupBelow(ts int64) (rel int32, ok bool, err error) {
	n, err := countBelow(x.entries, func(i int) (bool, error) {
		t, _, err := x.entry(i)
		return t < ts, err
	})
	if err != nil || n == 0 {
		return 0, false, err
	}
	_, rel, err = x.entry(n - 1)
	return rel, err == nil, err
}

func (x *timeIndex) reset() error {
	if err := x.file.Truncate(0); err != nil {
		return err
	}
	x.entries = 0
	return nil
}

func (x *timeIndex) truncateBelow(rel int32) error {
	n, err := countBelow(x.entries, func(i int) (bool, error) {
		_, r, err := x.entry(i)
		return r < rel, err
	})
	if err != nil {
		return err
	}
	if err := x.file.Truncate(int64(n) * timeEntryBytes); err != nil {
		return err
	}
	x.entries = n
	if n > 0 {
		x.lastTs, x.lastRel, err = x.entry(n - 1)
	}
	return err
}

// load reads and checks the file as offsetIndex.load does; relEnd bounds
// the relative offsets (the segment's next offset, relative).
func (x *timeIndex) load(relEnd int64) error {
	size := x.file.Size()
	if size%timeEntryBytes != 0 {
		return fmt.Errorf("%w: %s is %d bytes", errBadIndex, x.file.Path(), size)
	}
	x.entries = 0
	prevTs, prevRel := int64(math.MinInt64), int32(-1)
	err := readEntries(x.file, size, timeEntryBytes, func(e []byte) error {
		ts, rel := int64(binary.BigEndian.Uint64(e[0:])), int32(binary.BigEndian.Uint32(e[8:]))
		if ts <= prevTs || rel <= prevRel || int64(rel) >= relEnd {
			return fmt.Errorf("%w: %s entry %d (%d, %d) after (%d, %d), %d offsets",
				errBadIndex, x.file.Path(), x.entries, ts, rel, prevTs, prevRel, relEnd)
		}
		prevTs, prevRel = ts, rel
		x.entries++
		return nil
	})
	x.lastTs, x.lastRel = prevTs, prevRel
	return err
}

// readEntries calls fn on every entry of f, reading a bounded chunk at a
// time.
func readEntries(f env.File, size int64, entryBytes int, fn func(e []byte) error) error {
	chunk := make([]byte, min(size, int64(entryBytes*512)))
	for off := int64(0); off < size; {
		n := min(int64(len(chunk)), size-off)
		if _, err := f.ReadAt(chunk[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", f.Path(), err)
		}
		for i := int64(0); i < n; i += int64(entryBytes) {
			if err := fn(chunk[i : i+int64(entryBytes)]); err != nil {
				return err
			}
		}
		off += n
	}
	return nil
}

// countBelow returns how many of the first n entries satisfy below, which
// holds for a prefix of them (a binary search that carries read errors).
func countBelow(n int, below func(i int) (bool, error)) (int, error) {
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		ok, err := below(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}
