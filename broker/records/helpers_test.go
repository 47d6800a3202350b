package records

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLz4, CodecZstd}

// crc32c is computed here from the standard library, not from header.go,
// so the tests do not check the package against itself.
func crc32c(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// sampleRecords covers what the record format distinguishes: headers
// (including a null value and an empty key), a null key, a null value,
// empty but present key and value, negative and 64-bit timestamp deltas,
// and a record long enough for multi-byte length varints.
func sampleRecords() []Record {
	return []Record{
		{Key: []byte("k0"), Value: []byte("v0"), Headers: []RecordHeader{
			{Key: "trace", Value: []byte("abc")},
			{Key: "null-value", Value: nil},
			{Key: "", Value: []byte{}},
		}},
		{TimestampDelta: 5, Key: nil, Value: []byte("null key")},
		{TimestampDelta: -3, Key: []byte("null value"), Value: nil},
		{TimestampDelta: 1 << 40, Key: []byte{}, Value: []byte{}},
		{TimestampDelta: 7, Key: bytes.Repeat([]byte("K"), 300), Value: bytes.Repeat([]byte("value "), 1000)},
	}
}

// numbered returns recs with offset deltas 0, 1, … as Build assigns them.
func numbered(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		r.OffsetDelta = int32(i)
		out[i] = r
	}
	return out
}

// plainOptions is what a producer without idempotence sends.
func plainOptions(c Codec) BuildOptions {
	return BuildOptions{
		Codec:                c,
		ProducerID:           NoProducerID,
		ProducerEpoch:        NoProducerEpoch,
		BaseSequence:         NoSequence,
		BaseTimestamp:        1_700_000_000_000,
		PartitionLeaderEpoch: NoPartitionLeaderEpoch,
	}
}

func mustBuild(t testing.TB, opts BuildOptions, recs []Record) []byte {
	t.Helper()
	b, err := Build(opts, recs)
	require.NoError(t, err)
	return b
}

// rawBatch assembles a batch with kmsg from a records section given as
// bytes, so tests can write headers and records Build never would. The
// length and CRC are computed to match unless the test changes them after.
type rawBatch struct {
	attributes      int16
	lastOffsetDelta int32
	numRecords      int32
	producerID      int64
	baseSequence    int32
	section         []byte
}

func (r rawBatch) bytes() []byte {
	kb := kmsg.RecordBatch{
		Length:               int32(HeaderBytes - LogOverheadBytes + len(r.section)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           r.attributes,
		LastOffsetDelta:      r.lastOffsetDelta,
		FirstTimestamp:       1000,
		MaxTimestamp:         1000,
		ProducerID:           r.producerID,
		ProducerEpoch:        -1,
		FirstSequence:        r.baseSequence,
		NumRecords:           r.numRecords,
		Records:              r.section,
	}
	b := kb.AppendTo(nil)
	fixCRC(b)
	return b
}

// fixCRC recomputes the CRC after a test edits covered bytes.
func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:], crc32c(b[21:]))
}

// kmsgRecord encodes one record with kmsg, which wants the length filled
// in: a zero length takes one byte, so the body is what follows it.
func kmsgRecord(i int32, key, value []byte, headers ...kmsg.Header) []byte {
	r := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: i, Key: key, Value: value, Headers: headers}
	r.Length = int32(len(r.AppendTo(nil)) - 1)
	return r.AppendTo(nil)
}

// vi is a zigzag varint, for writing malformed records by hand.
func vi(v int64) []byte { return binary.AppendVarint(nil, v) }

// rawRecord frames fields as one record, its length counting them all.
func rawRecord(fields ...[]byte) []byte {
	body := bytes.Join(fields, nil)
	return append(vi(int64(len(body))), body...)
}

// goodBody is a well-formed record body with offset delta i: attributes,
// timestamp delta, offset delta, key "k", value "v", no headers.
func goodBody(i int64) [][]byte {
	return [][]byte{{0}, vi(0), vi(i), vi(1), []byte("k"), vi(1), []byte("v"), vi(0)}
}
