package records

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/gregor-dst/gregor/internal/assert"
)

// BuildOptions describes the batch Build writes. The zero value is not
// what a plain producer sends: it names producer id 0 with epoch 0 and
// sequence 0. A producer without idempotence sets ProducerID, ProducerEpoch
// and BaseSequence to NoProducerID, NoProducerEpoch and NoSequence, and a
// client leaves PartitionLeaderEpoch at NoPartitionLeaderEpoch for the
// broker to stamp.
type BuildOptions struct {
	Codec                Codec
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	BaseTimestamp        int64 // milliseconds; records carry deltas from it
	Transactional        bool
	Control              bool
	PartitionLeaderEpoch int32

	_ struct{} // disallow positional literals
}

// Build returns a v2 batch holding recs at base offset 0, numbered from
// offset delta 0 (each Record's OffsetDelta is ignored), with the max
// timestamp, lengths and CRC computed. It fails on no records or an
// unknown codec.
func Build(opts BuildOptions, recs []Record) ([]byte, error) {
	return AppendBatch(nil, opts, recs)
}

// AppendBatch is Build appending to dst, for callers that lay several
// batches back to back. On error dst is returned unchanged.
func AppendBatch(dst []byte, opts BuildOptions, recs []Record) ([]byte, error) {
	if len(recs) == 0 || len(recs) > math.MaxInt32 {
		return dst, fmt.Errorf("%w: cannot build a batch of %d records", ErrBadRecords, len(recs))
	}
	if opts.Codec < CodecNone || opts.Codec > CodecZstd {
		return dst, fmt.Errorf("%w: %d", ErrBadCodec, int8(opts.Codec))
	}
	start := len(dst)
	sectionBytes := recordsBytes(recs)
	var out []byte
	var err error
	if opts.Codec == CodecNone {
		out = appendHeader(slices.Grow(dst, HeaderBytes+sectionBytes), opts, recs)
		out = appendRecords(out, recs)
	} else {
		section := appendRecords(make([]byte, 0, sectionBytes), recs)
		out, err = appendCompressed(appendHeader(dst, opts, recs), opts.Codec, section)
		if err != nil {
			return dst, err
		}
	}
	batch := out[start:]
	if len(batch)-LogOverheadBytes > math.MaxInt32 {
		return dst, fmt.Errorf("%w: batch of %d bytes", ErrBadLength, len(batch))
	}
	binary.BigEndian.PutUint32(batch[lengthAt:], uint32(len(batch)-LogOverheadBytes))
	h, err := ParseHeader(batch)
	assert.Thatf(err == nil, "records: built a batch ParseHeader refuses: %v", err)
	binary.BigEndian.PutUint32(batch[crcAt:], ComputeCRC(batch, h))
	if assert.Enabled {
		_, err := Validate(batch, ValidateOptions{DecompressedBytesMax: sectionBytes})
		assert.Thatf(err == nil, "records: built a batch Validate refuses: %v", err)
	}
	return out, nil
}

// appendHeader appends the batch header with the length and CRC left
// zero: both cover bytes not written yet.
func appendHeader(dst []byte, opts BuildOptions, recs []Record) []byte {
	attributes := uint16(opts.Codec)
	if opts.Transactional {
		attributes |= Transactional
	}
	if opts.Control {
		attributes |= Control
	}
	dst = binary.BigEndian.AppendUint64(dst, 0) // base offset: the broker assigns it
	dst = binary.BigEndian.AppendUint32(dst, 0) // length
	dst = binary.BigEndian.AppendUint32(dst, uint32(opts.PartitionLeaderEpoch))
	dst = append(dst, 2)                        // magic
	dst = binary.BigEndian.AppendUint32(dst, 0) // CRC
	dst = binary.BigEndian.AppendUint16(dst, attributes)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(recs)-1)) // last offset delta
	dst = binary.BigEndian.AppendUint64(dst, uint64(opts.BaseTimestamp))
	dst = binary.BigEndian.AppendUint64(dst, uint64(maxTimestamp(opts.BaseTimestamp, recs)))
	dst = binary.BigEndian.AppendUint64(dst, uint64(opts.ProducerID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(opts.ProducerEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(opts.BaseSequence))
	return binary.BigEndian.AppendUint32(dst, uint32(len(recs)))
}

func maxTimestamp(base int64, recs []Record) int64 {
	deltaMax := recs[0].TimestampDelta
	for _, r := range recs[1:] {
		deltaMax = max(deltaMax, r.TimestampDelta)
	}
	return base + deltaMax
}

func appendRecords(dst []byte, recs []Record) []byte {
	for i, r := range recs {
		dst = appendRecord(dst, r, int32(i))
	}
	return dst
}

// appendRecord appends record r as the i-th of its batch. Its length
// prefix counts the bytes after it, so they are sized first rather than
// written twice.
func appendRecord(dst []byte, r Record, i int32) []byte {
	dst = binary.AppendVarint(dst, int64(recordBodyBytes(r, i)))
	dst = append(dst, 0) // attributes: unused by v2 records
	dst = binary.AppendVarint(dst, r.TimestampDelta)
	dst = binary.AppendVarint(dst, int64(i))
	dst = appendNullable(dst, r.Key)
	dst = appendNullable(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for _, hd := range r.Headers {
		dst = binary.AppendVarint(dst, int64(len(hd.Key)))
		dst = append(dst, hd.Key...)
		dst = appendNullable(dst, hd.Value)
	}
	return dst
}

// recordsBytes is the size of recs encoded, so the buffer is sized once.
func recordsBytes(recs []Record) int {
	n := 0
	for i, r := range recs {
		body := recordBodyBytes(r, int32(i))
		n += varintBytes(int64(body)) + body
	}
	return n
}

func recordBodyBytes(r Record, i int32) int {
	n := 1 + varintBytes(r.TimestampDelta) + varintBytes(int64(i))
	n += nullableBytes(r.Key) + nullableBytes(r.Value)
	n += varintBytes(int64(len(r.Headers)))
	for _, hd := range r.Headers {
		n += varintBytes(int64(len(hd.Key))) + len(hd.Key) + nullableBytes(hd.Value)
	}
	return n
}

// appendNullable appends b with its varint length, nil as length -1.
func appendNullable(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(b))), b...)
}

func nullableBytes(b []byte) int {
	if b == nil {
		return 1
	}
	return varintBytes(int64(len(b))) + len(b)
}

// varintBytes is the size of v as a zigzag varint (binary.AppendVarint).
func varintBytes(v int64) int {
	zigzag := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(zigzag|1) + 6) / 7
}
