package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateAcceptsEveryCodec(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b := mustBuild(t, plainOptions(c), sampleRecords())
			h, err := Validate(b, ValidateOptions{RejectControl: true})
			require.NoError(t, err)
			require.Equal(t, c, h.Codec())
			require.Equal(t, int32(5), h.NumRecords)
			require.Equal(t, len(b), h.Size())
		})
	}
}

// Each kind of corruption yields its own sentinel, with a detail that says
// what was wrong.
func TestValidateRejects(t *testing.T) {
	good := func() []byte { return mustBuild(t, plainOptions(CodecNone), sampleRecords()) }
	edit := func(at int, v ...byte) []byte {
		b := good()
		copy(b[at:], v)
		fixCRC(b)
		return b
	}
	twoGood := bytes.Join([][]byte{rawRecord(goodBody(0)...), rawRecord(goodBody(1)...)}, nil)
	raw := func(numRecords, lastOffsetDelta int32, section ...[]byte) []byte {
		return rawBatch{lastOffsetDelta: lastOffsetDelta, numRecords: numRecords, producerID: -1, baseSequence: -1,
			section: bytes.Join(section, nil)}.bytes()
	}
	one := func(fields ...[]byte) []byte { return raw(1, 0, rawRecord(fields...)) }
	body := func(replace int, with []byte, extra ...[]byte) [][]byte {
		fields := goodBody(0)
		fields[replace] = with
		return append(fields, extra...)
	}
	gzipped, err := Compress(CodecGzip, bytes.Repeat(rawRecord(goodBody(0)...), 1))
	require.NoError(t, err)

	cases := []struct {
		name   string
		batch  []byte
		opts   ValidateOptions
		want   error
		detail string
	}{
		{"header truncated", good()[:60], ValidateOptions{}, ErrShort, "60 of 61 header bytes"},
		{"batch truncated", good()[:len(good())-1], ValidateOptions{}, ErrShort, "bytes"},
		{"trailing byte", append(good(), 0), ValidateOptions{}, ErrBadLength, "followed by 1 more"},
		{"second batch", append(good(), good()...), ValidateOptions{}, ErrBadLength, "a second batch"},
		{"length below header", func() []byte {
			b := good()
			binary.BigEndian.PutUint32(b[8:], 48)
			return b
		}(), ValidateOptions{}, ErrBadLength, "length 48"},
		{"magic 1", edit(16, 1), ValidateOptions{}, ErrBadMagic, "1"},
		{"record byte flipped", func() []byte {
			b := good()
			b[len(b)-1] ^= 0xff
			return b
		}(), ValidateOptions{}, ErrBadCRC, "header says"},
		{"crc field wrong", func() []byte {
			b := good()
			b[20] ^= 1
			return b
		}(), ValidateOptions{}, ErrBadCRC, "bytes give"},
		{"codec 5", edit(22, 5), ValidateOptions{}, ErrBadCodec, "5"},
		{"codec 7", edit(22, 7), ValidateOptions{}, ErrBadCodec, "7"},
		{"control from client", edit(22, Control), ValidateOptions{RejectControl: true}, ErrNotAllowed, "control batch"},
		{"producer id without sequence", rawBatch{numRecords: 1, producerID: 7, baseSequence: -1,
			section: rawRecord(goodBody(0)...)}.bytes(), ValidateOptions{RejectControl: true}, ErrNotAllowed, "producer id 7"},
		{"no records", raw(0, -1), ValidateOptions{}, ErrBadRecords, "0 records"},
		{"last offset delta too small", raw(2, 0, twoGood), ValidateOptions{}, ErrBadRecords, "last offset delta 0"},
		{"last offset delta too large", raw(2, 2, twoGood), ValidateOptions{}, ErrBadRecords, "last offset delta 2"},
		{"fewer records than counted", raw(3, 2, twoGood), ValidateOptions{}, ErrBadRecords, "header counts 3 records, batch holds 2"},
		{"more records than counted", raw(1, 0, twoGood), ValidateOptions{}, ErrBadRecords, "after the 1 records"},
		{"offset delta not the index", raw(2, 1, rawRecord(goodBody(0)...), rawRecord(goodBody(5)...)), ValidateOptions{},
			ErrBadRecords, "record 1: offset delta 5, want 1"},
		{"record length past the end", raw(1, 0, vi(100), []byte{0}), ValidateOptions{}, ErrBadRecords, "record 0: length 100"},
		{"record length negative", raw(1, 0, vi(-1)), ValidateOptions{}, ErrBadRecords, "length -1"},
		{"record length varint 6 bytes", raw(1, 0, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0}), ValidateOptions{}, ErrBadRecords, "length varint"},
		{"record length varint past int32", raw(1, 0, []byte{0xff, 0xff, 0xff, 0xff, 0x7f}), ValidateOptions{}, ErrBadRecords, "length varint"},
		{"empty record", one(), ValidateOptions{}, ErrBadRecords, "attributes missing"},
		{"record ends in timestamp", one([]byte{0}), ValidateOptions{}, ErrBadRecords, "timestamp delta varlong"},
		{"record ends in offset delta", one([]byte{0}, vi(0)), ValidateOptions{}, ErrBadRecords, "offset delta varint"},
		{"key past the record", one(body(3, vi(9))...), ValidateOptions{}, ErrBadRecords, "key length 9"},
		{"key length -2", one(body(3, vi(-2))...), ValidateOptions{}, ErrBadRecords, "key length -2"},
		{"value past the record", one(body(5, vi(9))...), ValidateOptions{}, ErrBadRecords, "value length 9"},
		{"header count missing", one(goodBody(0)[:7]...), ValidateOptions{}, ErrBadRecords, "header count varint"},
		{"header count negative", one(body(7, vi(-1))...), ValidateOptions{}, ErrBadRecords, "header count -1"},
		{"header count past the record", one(body(7, vi(3), vi(1), []byte("h"), vi(-1))...), ValidateOptions{}, ErrBadRecords, "header count 3"},
		{"header null key", one(body(7, vi(1), vi(-1), vi(-1))...), ValidateOptions{}, ErrBadRecords, "header 0 has a null key"},
		{"header value past the record", one(body(7, vi(1), vi(1), []byte("h"), vi(5), []byte("ab"))...), ValidateOptions{}, ErrBadRecords, "header value length 5"},
		{"bytes after the headers", one(append(goodBody(0), []byte{1, 2})...), ValidateOptions{}, ErrBadRecords, "2 bytes past the last header"},
		{"gzip section corrupt", rawBatch{attributes: int16(CodecGzip), numRecords: 1, producerID: -1, baseSequence: -1,
			section: []byte("not gzip at all")}.bytes(), ValidateOptions{}, ErrBadRecords, "gzip"},
		{"gzip section past the limit", rawBatch{attributes: int16(CodecGzip), numRecords: 1, producerID: -1, baseSequence: -1,
			section: gzipped}.bytes(), ValidateOptions{DecompressedBytesMax: 5}, ErrTooLarge, "exceeds 5 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(tc.batch, tc.opts)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.detail)
		})
	}
}

// Control batches and producer ids without sequences are client errors
// only: a log or a replica holds them legitimately.
func TestValidateClientOnlyChecks(t *testing.T) {
	opts := plainOptions(CodecNone)
	opts.Control, opts.ProducerID, opts.ProducerEpoch = true, 9, 0
	marker := mustBuild(t, opts, []Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 3}}})
	h, err := Validate(marker, ValidateOptions{})
	require.NoError(t, err)
	require.True(t, h.IsControl())
	_, err = Validate(marker, ValidateOptions{RejectControl: true})
	require.ErrorIs(t, err, ErrNotAllowed)
}

func TestValidateDefaultLimit(t *testing.T) {
	// 65 MiB of zeros compress to almost nothing; the zero options refuse
	// them by DefaultDecompressedBytesMax.
	value := make([]byte, DefaultDecompressedBytesMax+1<<20)
	b := mustBuild(t, plainOptions(CodecZstd), []Record{{Value: value}})
	require.Less(t, len(b), 1<<20)
	_, err := Validate(b, ValidateOptions{})
	require.ErrorIs(t, err, ErrTooLarge)
	_, err = Validate(b, ValidateOptions{DecompressedBytesMax: 2 * DefaultDecompressedBytesMax})
	require.NoError(t, err)
}

func TestEach(t *testing.T) {
	var log []byte
	var sizes []int
	for i, c := range allCodecs {
		batch := mustBuild(t, plainOptions(c), sampleRecords()[:i+1])
		SetBaseOffset(batch, int64(10*i))
		sizes = append(sizes, len(batch))
		log = append(log, batch...)
	}
	walk := func(b []byte) ([]int64, int, error) {
		var bases []int64
		n, err := Each(b, func(h Header, batch []byte) error {
			require.Equal(t, h.Size(), len(batch))
			require.True(t, CRCOK(batch, h))
			bases = append(bases, h.BaseOffset)
			return nil
		})
		return bases, n, err
	}

	bases, n, err := walk(log)
	require.NoError(t, err)
	require.Equal(t, []int64{0, 10, 20, 30, 40}, bases)
	require.Equal(t, len(log), n)

	// A torn tail, inside the last batch or inside its header, ends the
	// walk at the last whole batch without an error.
	whole := len(log) - sizes[4]
	for _, cut := range []int{len(log) - 1, whole + HeaderBytes, whole + 5, whole} {
		bases, n, err = walk(log[:cut])
		require.NoError(t, err, "cut at %d", cut)
		require.Equal(t, []int64{0, 10, 20, 30}, bases, "cut at %d", cut)
		require.Equal(t, whole, n, "cut at %d", cut)
	}

	// A bad magic is corruption, not a torn tail.
	bad := bytes.Clone(log)
	bad[sizes[0]+16] = 1
	bases, n, err = walk(bad)
	require.ErrorIs(t, err, ErrBadMagic)
	require.Equal(t, []int64{0}, bases)
	require.Equal(t, sizes[0], n)

	// fn's error stops the walk before the batch it refused.
	stop := errors.New("stop")
	n, err = Each(log, func(h Header, _ []byte) error {
		if h.BaseOffset == 20 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, sizes[0]+sizes[1], n)

	n, err = Each(nil, func(Header, []byte) error { return nil })
	require.NoError(t, err)
	require.Zero(t, n)
}
