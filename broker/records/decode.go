package records

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Record is one record of a v2 batch. Key and Value are nil when the wire
// says null (length -1) and empty but non-nil when it says length 0.
type Record struct {
	// OffsetDelta is the record's offset minus the batch's base offset.
	// Build ignores it and numbers records from 0.
	OffsetDelta int32
	// TimestampDelta is the record's timestamp minus the batch's base
	// timestamp, in milliseconds.
	TimestampDelta int64
	Key, Value     []byte
	Headers        []RecordHeader
}

// RecordHeader is one record header. Kafka forbids a null key; the value
// may be null (nil).
type RecordHeader struct {
	Key   string
	Value []byte
}

// Offset is the record's absolute offset in a batch with header h.
func (r Record) Offset(h Header) int64 { return h.BaseOffset + int64(r.OffsetDelta) }

// Timestamp is the record's timestamp in milliseconds in a batch with
// header h. Under LogAppendTime the broker stamps only the batch's max
// timestamp, and every record takes that (as Kafka's DefaultRecordBatch
// does) instead of its own creation time.
func (r Record) Timestamp(h Header) int64 {
	if h.Attributes&TimestampLogAppend != 0 {
		return h.MaxTimestamp
	}
	return h.BaseTimestamp + r.TimestampDelta
}

// Records decodes every record of the batch at the start of b, whose header
// h ParseHeader returned, decompressing at most outBytesMax bytes. It does
// not check the CRC (Validate does). It accepts what log compaction leaves
// behind, which Validate refuses: records with gaps between their offset
// deltas, or none at all. Keys, values and header values alias b or the
// decompressed buffer.
func Records(b []byte, h Header, outBytesMax int) ([]Record, error) {
	data, err := recordsSection(b, h, outBytesMax)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, min(int(max(h.NumRecords, 0)), len(data)/recordBytesMin))
	err = eachRecord(data, h, false, func(r Record) { recs = append(recs, r) })
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// recordsSection returns the records of the batch at the start of b,
// decompressed. The size check only matters for a header that did not come
// from ParseHeader over these bytes; it turns a slicing panic into an error.
func recordsSection(b []byte, h Header, outBytesMax int) ([]byte, error) {
	if h.Size() < HeaderBytes || h.Size() > len(b) {
		return nil, fmt.Errorf("%w: header says %d bytes, have %d", ErrShort, h.Size(), len(b))
	}
	data := b[HeaderBytes:h.Size()]
	if h.Codec() == CodecNone {
		return data, nil
	}
	return Decompress(h.Codec(), data, outBytesMax)
}

// recordBytesMin is the smallest record on the wire: a one-byte length,
// attributes, and one-byte varints for the timestamp delta, offset delta,
// key length, value length and header count. It bounds how many records a
// section can hold, so a lying NumRecords cannot size an allocation.
const recordBytesMin = 7

// eachRecord parses every record of a batch's records section data and
// calls fn (if not nil) with each. With contiguous set, the i-th record's
// offset delta must be i, as producers write them; without it, offset
// deltas need only increase and stay within the header's LastOffsetDelta,
// as compaction leaves them. Either way the records must fill data exactly
// and number h.NumRecords. Headers are decoded only when fn wants them.
func eachRecord(data []byte, h Header, contiguous bool, fn func(Record)) error {
	count := int32(0)
	lastDelta := int32(-1)
	for len(data) > 0 {
		if count == h.NumRecords {
			return fmt.Errorf("%w: %d bytes after the %d records the header counts", ErrBadRecords, len(data), count)
		}
		body, rest, err := recordBody(data, count)
		if err != nil {
			return err
		}
		r, err := parseRecord(body, count, fn != nil)
		if err != nil {
			return err
		}
		if err := checkOffsetDelta(r.OffsetDelta, count, lastDelta, h, contiguous); err != nil {
			return err
		}
		if fn != nil {
			fn(r)
		}
		lastDelta, data, count = r.OffsetDelta, rest, count+1
	}
	if count != h.NumRecords {
		return fmt.Errorf("%w: header counts %d records, batch holds %d", ErrBadRecords, h.NumRecords, count)
	}
	return nil
}

// recordBody splits the length-prefixed record i off the front of data.
func recordBody(data []byte, i int32) (body, rest []byte, err error) {
	length, n := varint32(data)
	if n == 0 {
		return nil, nil, badRecord(i, "length varint malformed")
	}
	if length < 0 || int(length) > len(data)-n {
		return nil, nil, badRecord(i, fmt.Sprintf("length %d with %d bytes left", length, len(data)-n))
	}
	end := n + int(length)
	return data[n:end], data[end:], nil
}

func checkOffsetDelta(delta, i, lastDelta int32, h Header, contiguous bool) error {
	if contiguous && delta != i {
		return badRecord(i, fmt.Sprintf("offset delta %d, want %d", delta, i))
	}
	if delta <= lastDelta || delta > h.LastOffsetDelta {
		return badRecord(i, fmt.Sprintf("offset delta %d after %d, last offset delta %d", delta, lastDelta, h.LastOffsetDelta))
	}
	return nil
}

// parseRecord decodes record i's body, which must be consumed exactly.
func parseRecord(body []byte, i int32, keepHeaders bool) (Record, error) {
	c := cursor{b: body}
	var r Record
	c.int8("attributes") // unused by v2 records
	r.TimestampDelta = c.varint64("timestamp delta")
	r.OffsetDelta = c.varint32("offset delta")
	r.Key = c.nullableBytes("key")
	r.Value = c.nullableBytes("value")
	if c.err != "" {
		return Record{}, badRecord(i, c.err)
	}
	headers, err := parseHeaders(&c, i, keepHeaders)
	if err != nil {
		return Record{}, err
	}
	r.Headers = headers
	if len(c.b) > 0 {
		return Record{}, badRecord(i, fmt.Sprintf("%d bytes past the last header", len(c.b)))
	}
	return r, nil
}

// parseHeaders decodes record i's header count and headers, returning them
// only if keep is set, so Validate allocates nothing per header.
func parseHeaders(c *cursor, i int32, keep bool) ([]RecordHeader, error) {
	count := c.varint32("header count")
	if c.err == "" && (count < 0 || int(count) > len(c.b)/2) {
		// Each header takes at least two bytes (two one-byte lengths).
		return nil, badRecord(i, fmt.Sprintf("header count %d with %d bytes left", count, len(c.b)))
	}
	var headers []RecordHeader
	if keep && count > 0 {
		headers = make([]RecordHeader, 0, count)
	}
	for j := int32(0); j < count && c.err == ""; j++ {
		key := c.nullableBytes("header key")
		if c.err == "" && key == nil {
			return nil, badRecord(i, fmt.Sprintf("header %d has a null key", j))
		}
		value := c.nullableBytes("header value")
		if keep {
			headers = append(headers, RecordHeader{Key: string(key), Value: value})
		}
	}
	if c.err != "" {
		return nil, badRecord(i, c.err)
	}
	return headers, nil
}

func badRecord(i int32, what string) error {
	return fmt.Errorf("%w: record %d: %s", ErrBadRecords, i, what)
}

// cursor reads record fields off the front of b. The first failure is
// kept in err and later reads return zero values, so a parser can read a
// run of fields and check once; nothing here can panic on short input.
type cursor struct {
	b   []byte
	err string
}

func (c *cursor) fail(what string) {
	if c.err == "" {
		c.err = what
	}
	c.b = nil
}

func (c *cursor) int8(field string) int8 {
	if len(c.b) < 1 {
		c.fail(field + " missing")
		return 0
	}
	v := int8(c.b[0])
	c.b = c.b[1:]
	return v
}

func (c *cursor) varint32(field string) int32 {
	v, n := varint32(c.b)
	if n == 0 {
		c.fail(field + " varint malformed")
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) varint64(field string) int64 {
	v, n := binary.Varint(c.b)
	if n <= 0 {
		c.fail(field + " varlong malformed")
		return 0
	}
	c.b = c.b[n:]
	return v
}

// nullableBytes reads a varint length, -1 meaning null, and that many
// bytes.
func (c *cursor) nullableBytes(field string) []byte {
	if c.err != "" {
		return nil
	}
	length, n := varint32(c.b)
	if n == 0 {
		c.fail(field + " length varint malformed")
		return nil
	}
	c.b = c.b[n:]
	switch {
	case length == -1:
		return nil
	case length < -1 || int(length) > len(c.b):
		c.fail(fmt.Sprintf("%s length %d with %d bytes left", field, length, len(c.b)))
		return nil
	}
	v := c.b[:length:length]
	c.b = c.b[length:]
	return v
}

// varint32 decodes a zigzag varint that must fit an int32, as Kafka's
// ByteUtils.readVarint requires: at most five bytes. It returns n == 0 on
// malformed or truncated input.
func varint32(b []byte) (int32, int) {
	u, n := binary.Uvarint(b)
	if n <= 0 || n > 5 || u > math.MaxUint32 {
		return 0, 0
	}
	zigzag := uint32(u)
	return int32(zigzag>>1) ^ -int32(zigzag&1), n
}
