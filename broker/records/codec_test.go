package records

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// compressible is text-like data: words from a small vocabulary.
func compressible(n int) []byte {
	words := []string{"kafka ", "record ", "batch ", "offset ", "leader ", "epoch ", "replica ", "fetch "}
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[(i*7+i/3)%len(words)])
	}
	return b.Bytes()[:n]
}

func TestCodecRoundTrip(t *testing.T) {
	inputs := []struct {
		name string
		in   []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{42}},
		{"text 100 KiB", compressible(100 << 10)},
		{"zeros 1 MiB", make([]byte, 1<<20)},
	}
	for _, c := range allCodecs {
		for _, input := range inputs {
			in := input.in
			t.Run(c.String()+"/"+input.name, func(t *testing.T) {
				z, err := Compress(c, in)
				require.NoError(t, err)
				out, err := Decompress(c, z, len(in))
				require.NoError(t, err)
				require.Equal(t, len(in), len(out))
				require.True(t, bytes.Equal(in, out))
				if len(in) > 0 {
					_, err = Decompress(c, z, len(in)-1)
					require.ErrorIs(t, err, ErrTooLarge, "one byte over the limit")
				}
			})
		}
	}
}

func TestCodecUnknown(t *testing.T) {
	for _, c := range []Codec{5, 6, 7, -1} {
		_, err := Decompress(c, []byte{1}, 10)
		require.ErrorIs(t, err, ErrBadCodec)
		_, err = Compress(c, []byte{1})
		require.ErrorIs(t, err, ErrBadCodec)
	}
}

func TestCodecCorrupt(t *testing.T) {
	for _, c := range allCodecs[1:] {
		t.Run(c.String(), func(t *testing.T) {
			z, err := Compress(c, compressible(10000))
			require.NoError(t, err)
			for _, bad := range [][]byte{z[:len(z)/2], append(bytes.Clone(z[:len(z)-8]), 1, 2, 3, 4, 5, 6, 7, 8), []byte("garbage")} {
				_, err := Decompress(c, bad, 1<<20)
				require.ErrorIs(t, err, ErrBadRecords, "%x", bad[:min(len(bad), 16)])
			}
		})
	}
}

// franz-go's kgo compresses and decompresses with the same libraries by
// its own code; each side must read what the other writes.
func TestCodecAgreesWithKgo(t *testing.T) {
	kgoCodecs := map[Codec]kgo.CompressionCodec{
		CodecGzip:   kgo.GzipCompression(),
		CodecSnappy: kgo.SnappyCompression(),
		CodecLz4:    kgo.Lz4Compression(),
		CodecZstd:   kgo.ZstdCompression(),
	}
	in := compressible(200 << 10)
	decompressor := kgo.DefaultDecompressor()
	for _, c := range allCodecs[1:] {
		t.Run(c.String(), func(t *testing.T) {
			compressor, err := kgo.DefaultCompressor(kgoCodecs[c])
			require.NoError(t, err)
			theirs, codec := compressor.Compress(new(bytes.Buffer), in)
			require.Equal(t, int8(c), int8(codec))
			out, err := Decompress(c, theirs, len(in))
			require.NoError(t, err)
			require.True(t, bytes.Equal(in, out))

			ours, err := Compress(c, in)
			require.NoError(t, err)
			out, err = decompressor.Decompress(ours, kgo.CompressionCodecType(c))
			require.NoError(t, err)
			require.True(t, bytes.Equal(in, out))
		})
	}
}

// xerial builds the framing Java's snappy-java writes, by hand: magic,
// version 1, compatible version 1, then length-prefixed snappy blocks.
func xerial(chunks ...[]byte) []byte {
	b := append([]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}, 0, 0, 0, 1, 0, 0, 0, 1)
	for _, chunk := range chunks {
		block := s2.EncodeSnappy(nil, chunk)
		b = binary.BigEndian.AppendUint32(b, uint32(len(block)))
		b = append(b, block...)
	}
	return b
}

func TestXerialSnappy(t *testing.T) {
	in := compressible(100 << 10)
	framed := xerial(in[:32<<10], in[32<<10:64<<10], in[64<<10:])
	out, err := Decompress(CodecSnappy, framed, len(in))
	require.NoError(t, err)
	require.True(t, bytes.Equal(in, out))

	theirs, err := kgo.DefaultDecompressor().Decompress(framed, kgo.CodecSnappy)
	require.NoError(t, err)
	require.True(t, bytes.Equal(theirs, out), "kgo reads the hand-made frame the same way")

	_, err = Decompress(CodecSnappy, framed, len(in)-1)
	require.ErrorIs(t, err, ErrTooLarge, "the limit counts all blocks")

	empty, err := Decompress(CodecSnappy, xerial(), 10)
	require.NoError(t, err)
	require.Empty(t, empty)

	for _, bad := range []struct {
		name  string
		frame []byte
	}{
		{"header truncated", framed[:12]},
		{"block length cut", append(xerial([]byte("abc")), 0, 0)},
		{"block past the end", framed[:len(framed)-1]},
		{"block not snappy", append(xerial(), 0, 0, 0, 2, 0xff, 0xff)},
		{"block length negative", append(xerial(), 0xff, 0xff, 0xff, 0xff)},
	} {
		_, err := Decompress(CodecSnappy, bad.frame, 1<<20)
		require.ErrorIs(t, err, ErrBadRecords, bad.name)
	}
}

// totalAllocBytes is how much f allocates, all goroutines included; the
// tests that use it run nothing else at the same time.
func totalAllocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// streamZeros compresses n zero bytes through w a MiB at a time, so the
// test never holds the bomb's payload.
func streamZeros(t *testing.T, w io.WriteCloser, n int) {
	t.Helper()
	chunk := make([]byte, 1<<20)
	for written := 0; written < n; written += len(chunk) {
		_, err := w.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
}

// A small input that expands far past the limit stops with ErrTooLarge
// having allocated about the limit, not the expansion.
func TestDecompressionBombs(t *testing.T) {
	const bombBytes = 256 << 20
	const limitBytes = 1 << 20
	bombs := []struct {
		name     string
		codec    Codec
		build    func() []byte
		maxAlloc uint64
	}{
		{"gzip", CodecGzip, func() []byte {
			var b bytes.Buffer
			streamZeros(t, gzip.NewWriter(&b), bombBytes)
			return b.Bytes()
		}, 4 * limitBytes},
		{"lz4", CodecLz4, func() []byte {
			var b bytes.Buffer
			streamZeros(t, lz4.NewWriter(&b), bombBytes)
			return b.Bytes()
		}, 4*limitBytes + 8<<20}, // plus the frame's 4 MiB block buffers
		{"zstd without content size", CodecZstd, func() []byte {
			var b bytes.Buffer
			w, err := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
			require.NoError(t, err)
			streamZeros(t, w, bombBytes)
			return b.Bytes()
		}, 4*limitBytes + zstdWindowBytesMax + 1<<20}, // plus the window ring
		{"zstd with content size", CodecZstd, func() []byte {
			z, err := Compress(CodecZstd, make([]byte, 64<<20))
			require.NoError(t, err)
			return z
		}, limitBytes},
		{"snappy", CodecSnappy, func() []byte {
			return s2.EncodeSnappy(nil, make([]byte, 64<<20))
		}, limitBytes},
		{"snappy length lies", CodecSnappy, func() []byte {
			return append(binary.AppendUvarint(nil, 1<<31), 0, 0, 0)
		}, limitBytes},
		{"xerial many blocks", CodecSnappy, func() []byte {
			chunk := make([]byte, 1<<20)
			chunks := make([][]byte, 64)
			for i := range chunks {
				chunks[i] = chunk
			}
			return xerial(chunks...)
		}, limitBytes},
	}
	for _, bomb := range bombs {
		t.Run(bomb.name, func(t *testing.T) {
			src := bomb.build()
			require.Less(t, len(src), 4<<20, "the bomb is small")
			var err error
			alloc := totalAllocBytes(func() { _, err = Decompress(bomb.codec, src, limitBytes) })
			require.ErrorIs(t, err, ErrTooLarge)
			require.Less(t, alloc, bomb.maxAlloc, "allocated %d bytes", alloc)
			t.Logf("%d-byte input: %d bytes allocated before ErrTooLarge", len(src), alloc)
		})
	}
}

// The codecs run on the caller's goroutine: the simulator has only one.
func TestCodecsStartNoGoroutines(t *testing.T) {
	in := compressible(300 << 10)
	before := runtime.NumGoroutine()
	for range 3 {
		for _, c := range allCodecs {
			z, err := Compress(c, in)
			require.NoError(t, err)
			_, err = Decompress(c, z, len(in))
			require.NoError(t, err)
		}
	}
	require.Equal(t, before, runtime.NumGoroutine())
}

// The same records and options always give the same bytes, whatever codec
// state the pools hand out: replays depend on it.
func TestBuildDeterministic(t *testing.T) {
	for _, c := range allCodecs {
		first := mustBuild(t, plainOptions(c), sampleRecords())
		for range 3 {
			require.Equal(t, first, mustBuild(t, plainOptions(c), sampleRecords()), "%s", c)
		}
	}
}

// A zstd frame that states a large content size but holds garbage fails
// before the stated size is allocated.
func TestZstdStatedSizeNotTrusted(t *testing.T) {
	z, err := Compress(CodecZstd, make([]byte, 32<<20))
	require.NoError(t, err)
	var frame zstd.Header
	require.NoError(t, frame.Decode(z))
	require.True(t, frame.HasFCS)
	lying := append(bytes.Clone(z[:frame.HeaderSize]), bytes.Repeat([]byte{0xa5}, 64)...)
	alloc := totalAllocBytes(func() { _, err = Decompress(CodecZstd, lying, 64<<20) })
	require.ErrorIs(t, err, ErrBadRecords)
	require.Less(t, alloc, uint64(1<<20), "allocated %d bytes", alloc)
}
