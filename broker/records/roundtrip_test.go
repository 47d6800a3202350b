package records

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Build → Validate → Records gives back the records, for every codec,
// keeping null and empty keys, values and header values apart.
func TestRoundTrip(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			opts := BuildOptions{
				Codec: c, ProducerID: 77, ProducerEpoch: 3, BaseSequence: 1000,
				BaseTimestamp: 1_700_000_000_000, Transactional: true, PartitionLeaderEpoch: 12,
			}
			b := mustBuild(t, opts, sampleRecords())
			h, err := Validate(b, ValidateOptions{RejectControl: true})
			require.NoError(t, err)
			require.Equal(t, Header{
				BaseOffset: 0, Length: int32(len(b) - LogOverheadBytes), PartitionLeaderEpoch: 12, Magic: 2,
				CRC: crc32c(b[21:]), Attributes: int16(c) | Transactional, LastOffsetDelta: 4,
				BaseTimestamp: opts.BaseTimestamp, MaxTimestamp: opts.BaseTimestamp + 1<<40,
				ProducerID: 77, ProducerEpoch: 3, BaseSequence: 1000, NumRecords: 5,
			}, h)
			require.Equal(t, int32(1004), h.LastSequence())

			got, err := Records(b, h, 1<<20)
			require.NoError(t, err)
			require.Equal(t, numbered(sampleRecords()), got)
			require.Nil(t, got[1].Key)
			require.NotNil(t, got[3].Key)
			require.Empty(t, got[3].Key)
			require.Nil(t, got[0].Headers[1].Value)
			require.NotNil(t, got[0].Headers[2].Value)
		})
	}
}

func TestRecordOffsetAndTimestamp(t *testing.T) {
	b := mustBuild(t, plainOptions(CodecNone), sampleRecords())
	SetBaseOffset(b, 500)
	h, err := Validate(b, ValidateOptions{})
	require.NoError(t, err)
	recs, err := Records(b, h, 1<<20)
	require.NoError(t, err)
	require.Equal(t, int64(502), recs[2].Offset(h))
	require.Equal(t, h.BaseTimestamp-3, recs[2].Timestamp(h))

	// Under LogAppendTime every record reads the broker's stamp.
	SetMaxTimestamp(b, h, 42, true)
	h, err = Validate(b, ValidateOptions{})
	require.NoError(t, err)
	recs, err = Records(b, h, 1<<20)
	require.NoError(t, err)
	for _, r := range recs {
		require.Equal(t, int64(42), r.Timestamp(h))
	}
}

// Compaction keeps a batch's header but drops records, leaving gaps in the
// offset deltas or no records at all: Records reads such batches and
// Validate, for producers, does not.
func TestRecordsAfterCompaction(t *testing.T) {
	gappy := rawBatch{lastOffsetDelta: 9, numRecords: 2, producerID: -1, baseSequence: -1,
		section: append(rawRecord(goodBody(3)...), rawRecord(goodBody(9)...)...)}.bytes()
	h, err := ParseHeader(gappy)
	require.NoError(t, err)
	recs, err := Records(gappy, h, 1<<20)
	require.NoError(t, err)
	require.Equal(t, []int32{3, 9}, []int32{recs[0].OffsetDelta, recs[1].OffsetDelta})
	_, err = Validate(gappy, ValidateOptions{})
	require.ErrorIs(t, err, ErrBadRecords)

	empty := rawBatch{lastOffsetDelta: 4, numRecords: 0, producerID: 5, baseSequence: 0}.bytes()
	h, err = ParseHeader(empty)
	require.NoError(t, err)
	recs, err = Records(empty, h, 1<<20)
	require.NoError(t, err)
	require.Empty(t, recs)

	for _, tc := range []struct {
		name        string
		secondDelta int64
	}{
		{"deltas going back", 2},
		{"delta repeated", 3},
		{"delta past last", 10},
	} {
		section := append(rawRecord(goodBody(3)...), rawRecord(goodBody(tc.secondDelta)...)...)
		b := rawBatch{lastOffsetDelta: 9, numRecords: 2, producerID: -1, baseSequence: -1, section: section}.bytes()
		h, err := ParseHeader(b)
		require.NoError(t, err)
		_, err = Records(b, h, 1<<20)
		require.ErrorIs(t, err, ErrBadRecords, tc.name)
	}
}

// A NumRecords far beyond what the bytes can hold must not size an
// allocation.
func TestRecordsLyingCount(t *testing.T) {
	b := rawBatch{lastOffsetDelta: 1<<31 - 2, numRecords: 1<<31 - 1, producerID: -1, baseSequence: -1,
		section: rawRecord(goodBody(0)...)}.bytes()
	h, err := ParseHeader(b)
	require.NoError(t, err)
	alloc := totalAllocBytes(func() { _, err = Records(b, h, 1<<20) })
	require.ErrorIs(t, err, ErrBadRecords)
	require.Less(t, alloc, uint64(64<<10))
}

func TestBuildRejects(t *testing.T) {
	_, err := Build(plainOptions(CodecNone), nil)
	require.ErrorIs(t, err, ErrBadRecords)
	opts := plainOptions(CodecNone)
	opts.Codec = 5
	_, err = Build(opts, sampleRecords())
	require.ErrorIs(t, err, ErrBadCodec)

	dst := []byte("keep")
	out, err := AppendBatch(dst, opts, sampleRecords())
	require.Error(t, err)
	require.Equal(t, []byte("keep"), out)
}

func TestAppendBatchBackToBack(t *testing.T) {
	var set []byte
	var err error
	for _, c := range allCodecs {
		set, err = AppendBatch(set, plainOptions(c), sampleRecords())
		require.NoError(t, err)
	}
	var codecs []Codec
	n, err := Each(set, func(h Header, batch []byte) error {
		codecs = append(codecs, h.Codec())
		_, err := Validate(batch, ValidateOptions{})
		return err
	})
	require.NoError(t, err)
	require.Equal(t, len(set), n)
	require.Equal(t, allCodecs, codecs)
}

// A batch assembled by franz-go's kmsg, records and all, compressed by
// kgo's own compressor, validates and reads back.
func TestValidatesKmsgBatch(t *testing.T) {
	kgoCodecs := []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(),
		kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	var section []byte
	section = append(section, kmsgRecord(0, []byte("k"), []byte("v"), kmsg.Header{Key: "h", Value: []byte("x")})...)
	section = append(section, kmsgRecord(1, nil, []byte("null key"))...)
	section = append(section, kmsgRecord(2, []byte("null value"), nil, kmsg.Header{Key: "n", Value: nil})...)
	want := []Record{
		{OffsetDelta: 0, TimestampDelta: 0, Key: []byte("k"), Value: []byte("v"), Headers: []RecordHeader{{Key: "h", Value: []byte("x")}}},
		{OffsetDelta: 1, TimestampDelta: 1, Value: []byte("null key")},
		{OffsetDelta: 2, TimestampDelta: 2, Key: []byte("null value"), Headers: []RecordHeader{{Key: "n"}}},
	}
	for i, kc := range kgoCodecs {
		c := allCodecs[i]
		t.Run(c.String(), func(t *testing.T) {
			compressed := section
			if c != CodecNone {
				compressor, err := kgo.DefaultCompressor(kc)
				require.NoError(t, err)
				var codec kgo.CompressionCodecType
				compressed, codec = compressor.Compress(new(bytes.Buffer), section)
				require.Equal(t, int8(c), int8(codec))
			}
			b := rawBatch{attributes: int16(c), lastOffsetDelta: 2, numRecords: 3, producerID: 4, baseSequence: 10,
				section: compressed}.bytes()
			h, err := Validate(b, ValidateOptions{RejectControl: true})
			require.NoError(t, err)
			got, err := Records(b, h, 1<<20)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

// A batch we build reads back through kmsg.RecordBatch.ReadFrom with the
// same header and CRC, and its records through kgo's decompressor and
// kmsg.Record.ReadFrom.
func TestKmsgReadsOurBatch(t *testing.T) {
	decompressor := kgo.DefaultDecompressor()
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			opts := BuildOptions{Codec: c, ProducerID: 5, ProducerEpoch: 1, BaseSequence: 7,
				BaseTimestamp: 1_700_000_000_000, PartitionLeaderEpoch: -1}
			b := mustBuild(t, opts, sampleRecords())
			var kb kmsg.RecordBatch
			require.NoError(t, kb.ReadFrom(b))
			require.Equal(t, crc32c(b[21:]), uint32(kb.CRC))
			require.Equal(t, int32(len(b)-12), kb.Length)
			require.Equal(t, int8(2), kb.Magic)
			require.Equal(t, int16(c), kb.Attributes)
			require.Equal(t, int32(4), kb.LastOffsetDelta)
			require.Equal(t, int32(5), kb.NumRecords)
			require.Equal(t, opts.BaseTimestamp+1<<40, kb.MaxTimestamp)
			require.Equal(t, int64(5), kb.ProducerID)
			require.Equal(t, int32(7), kb.FirstSequence)

			section, err := decompressor.Decompress(kb.Records, kgo.CompressionCodecType(c))
			require.NoError(t, err)
			got := kmsgRecords(t, section)
			want := numbered(sampleRecords())
			require.Len(t, got, len(want))
			for i, kr := range got {
				require.Equal(t, want[i].OffsetDelta, kr.OffsetDelta)
				require.Equal(t, want[i].TimestampDelta, kr.TimestampDelta64)
				require.Equal(t, want[i].Key, kr.Key)
				require.Equal(t, want[i].Value, kr.Value)
				require.Len(t, kr.Headers, len(want[i].Headers))
				for j, hd := range kr.Headers {
					require.Equal(t, want[i].Headers[j].Key, hd.Key)
					require.Equal(t, want[i].Headers[j].Value, hd.Value)
				}
			}
		})
	}
}

// kmsgRecords splits a records section by its length varints and has kmsg
// decode each record.
func kmsgRecords(t *testing.T, section []byte) []kmsg.Record {
	t.Helper()
	var out []kmsg.Record
	for len(section) > 0 {
		length, n := binary.Varint(section)
		require.Positive(t, n)
		end := n + int(length)
		var r kmsg.Record
		require.NoError(t, r.ReadFrom(section[:end]))
		require.Equal(t, int32(length), r.Length)
		out = append(out, r)
		section = section[end:]
	}
	return out
}

// A header that does not belong to the bytes is an error, not a panic.
func TestRecordsForeignHeader(t *testing.T) {
	big := mustBuild(t, plainOptions(CodecNone), sampleRecords())
	small := mustBuild(t, plainOptions(CodecNone), sampleRecords()[:1])
	h, err := ParseHeader(big)
	require.NoError(t, err)
	_, err = Records(small, h, 1<<20)
	require.ErrorIs(t, err, ErrShort)
	_, err = Records(small, Header{}, 1<<20)
	require.ErrorIs(t, err, ErrShort)
}
