package records

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Byte offsets of the v2 batch header fields (KIP-98). The CRC covers
// everything from attributesAt to the end of the batch.
const (
	baseOffsetAt      = 0
	lengthAt          = 8
	leaderEpochAt     = 12
	magicAt           = 16
	crcAt             = 17
	attributesAt      = 21
	lastOffsetDeltaAt = 23
	baseTimestampAt   = 27
	maxTimestampAt    = 35
	producerIDAt      = 43
	producerEpochAt   = 51
	baseSequenceAt    = 53
	numRecordsAt      = 57

	// HeaderBytes is the size of a v2 batch header; records follow it.
	HeaderBytes = 61
	// LogOverheadBytes is the part of a batch not counted by its length
	// field (base offset and length).
	LogOverheadBytes = 12
)

// Attribute bits.
const (
	CodecMask          = 0x07
	TimestampLogAppend = 0x08
	Transactional      = 0x10
	Control            = 0x20
	DeleteHorizon      = 0x40
)

// Codec is a batch's compression codec (attribute bits 0–2).
type Codec int8

const (
	CodecNone Codec = iota
	CodecGzip
	CodecSnappy
	CodecLz4
	CodecZstd
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLz4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// Header is a decoded v2 batch header.
type Header struct {
	BaseOffset           int64
	Length               int32 // bytes after the length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Size is the whole batch's size in bytes, header included.
func (h Header) Size() int { return LogOverheadBytes + int(h.Length) }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset after the batch.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Codec is the batch's compression codec.
func (h Header) Codec() Codec { return Codec(h.Attributes & CodecMask) }

// IsTransactional, IsControl report the attribute bits.
func (h Header) IsTransactional() bool { return h.Attributes&Transactional != 0 }
func (h Header) IsControl() bool       { return h.Attributes&Control != 0 }

// LastSequence is the sequence number of the batch's last record, wrapping
// at int32 as Kafka's DefaultRecordBatch.incrementSequence does.
func (h Header) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	return IncrementSequence(h.BaseSequence, h.LastOffsetDelta)
}

// IncrementSequence adds delta to seq, wrapping past MaxInt32 to 0.
func IncrementSequence(seq, delta int32) int32 {
	if seq > int32(^uint32(0)>>1)-delta {
		return delta - (int32(^uint32(0)>>1) - seq) - 1
	}
	return seq + delta
}

// Header values that mean "none", as Kafka's RecordBatch defines them. A
// producer without idempotence sends all three producer fields as -1, and a
// client does not know the leader epoch, which the broker stamps.
const (
	NoProducerID           int64 = -1
	NoProducerEpoch        int16 = -1
	NoSequence             int32 = -1
	NoPartitionLeaderEpoch int32 = -1
)

// Errors from ParseHeader, Validate, Records and the codecs. Roughly, Kafka
// answers a batch it cannot frame or checksum (ErrShort, ErrBadLength,
// ErrBadMagic, ErrBadCRC) with CORRUPT_MESSAGE and malformed or forbidden
// contents (ErrBadRecords, ErrNotAllowed) with INVALID_RECORD; the mapping
// is the broker's.
var (
	ErrShort      = errors.New("record batch truncated")
	ErrBadLength  = errors.New("record batch length out of range")
	ErrBadMagic   = errors.New("record batch magic is not 2")
	ErrBadCRC     = errors.New("record batch CRC32C mismatch")
	ErrBadRecords = errors.New("record batch records malformed")
	ErrBadCodec   = errors.New("record batch codec unknown")
	ErrTooLarge   = errors.New("record batch decompresses past the limit")
	ErrNotAllowed = errors.New("record batch not allowed from a client")
)

// ParseHeader decodes the header of the batch at the start of b. It checks
// that the header is complete, that the length is sane and that the whole
// batch is present, and the magic; it does not check the CRC.
func ParseHeader(b []byte) (Header, error) {
	h, err := ParseHeaderOnly(b)
	if err == nil && h.Size() > len(b) {
		return h, fmt.Errorf("%w: %d of %d bytes", ErrShort, len(b), h.Size())
	}
	return h, err
}

// ParseHeaderOnly is ParseHeader for a buffer that may hold only the
// header (storage reads headers alone): the rest of the batch is not
// required. It allocates nothing on success, which matters on the log
// scans of every read.
func ParseHeaderOnly(b []byte) (Header, error) {
	if len(b) < HeaderBytes {
		return Header{}, fmt.Errorf("%w: %d of %d header bytes", ErrShort, len(b), HeaderBytes)
	}
	h := Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[baseOffsetAt:])),
		Length:               int32(binary.BigEndian.Uint32(b[lengthAt:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[leaderEpochAt:])),
		Magic:                int8(b[magicAt]),
		CRC:                  binary.BigEndian.Uint32(b[crcAt:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[attributesAt:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[lastOffsetDeltaAt:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[baseTimestampAt:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[maxTimestampAt:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[producerIDAt:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[producerEpochAt:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[baseSequenceAt:])),
		NumRecords:           int32(binary.BigEndian.Uint32(b[numRecordsAt:])),
	}
	if h.Length < HeaderBytes-LogOverheadBytes {
		return h, fmt.Errorf("%w: length %d", ErrBadLength, h.Length)
	}
	if h.Magic != 2 {
		return h, fmt.Errorf("%w: %d", ErrBadMagic, h.Magic)
	}
	return h, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ComputeCRC is the CRC32C of the batch at the start of b (whose header
// ParseHeader accepted), over attributes to the end.
func ComputeCRC(b []byte, h Header) uint32 {
	return crc32.Checksum(b[attributesAt:h.Size()], castagnoli)
}

// CRCOK reports whether the stored CRC matches the batch's bytes.
func CRCOK(b []byte, h Header) bool { return ComputeCRC(b, h) == h.CRC }

// SetBaseOffset stamps the base offset in place. The CRC does not cover it.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[baseOffsetAt:], uint64(offset))
}

// SetLeaderEpoch stamps the partition leader epoch in place. The CRC does
// not cover it.
func SetLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[leaderEpochAt:], uint32(epoch))
}

// SetMaxTimestamp rewrites the max timestamp and the LogAppendTime bit and
// recomputes the CRC (message.timestamp.type=LogAppendTime).
func SetMaxTimestamp(b []byte, h Header, ts int64, logAppend bool) {
	binary.BigEndian.PutUint64(b[maxTimestampAt:], uint64(ts))
	attrs := uint16(h.Attributes) &^ TimestampLogAppend
	if logAppend {
		attrs |= TimestampLogAppend
	}
	binary.BigEndian.PutUint16(b[attributesAt:], attrs)
	binary.BigEndian.PutUint32(b[crcAt:], ComputeCRC(b, h))
}
