package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/gregor-dst/gregor/internal/assert"
)

// The codec libraries keep large per-stream state (gzip and lz4 buffers,
// zstd tables), so it is reused. It lives in sync.Pools rather than in plain
// globals: the simulator calls from one goroutine, but the real runtime may
// validate on several, and a stream must never be shared. Pooled objects are
// interchangeable, so which one a call gets cannot change its output, and
// every one is built so that it starts no goroutines of its own
// (concurrency 1 everywhere), which is what determinism needs.
var (
	gzipReaders  = sync.Pool{New: func() any { return new(gzip.Reader) }}
	gzipWriters  = sync.Pool{New: newGzipWriter}
	lz4Readers   = sync.Pool{New: newLz4Reader}
	lz4Writers   = sync.Pool{New: newLz4Writer}
	zstdReaders  = sync.Pool{New: newZstdReader}
	zstdEncoders = sync.Pool{New: newZstdEncoder}
)

// xerialMagic opens the framing that Java clients' snappy (xerial
// snappy-java's SnappyOutputStream) wraps around snappy blocks. A version
// and a compatible-version int32 follow it, then blocks, each prefixed by
// its big-endian int32 length.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderBytes = 16

// zstdWindowBytesMax is the largest window a zstd frame may declare. The
// decoder keeps a ring of the window's size (reused across calls), so this
// bounds its memory whatever the output limit. Java producers stream
// without a content size and declare 2 MiB at the default level, up to
// 8 MiB at level 19; only the "ultra" levels 20-22 go past it.
const zstdWindowBytesMax = 8 << 20

// zstdRatioMax is the compression ratio up to which a frame's stated
// content size is trusted for sizing the output up front. Real record data
// stays well under it; past it the output grows as it is decoded.
const zstdRatioMax = 64

// Decompress returns src decoded with codec c. It never produces more than
// outBytesMax bytes: past that it stops and returns ErrTooLarge, so a small
// hostile batch cannot make the broker allocate without bound. Corrupt input
// yields ErrBadRecords and an unknown codec ErrBadCodec. For CodecNone the
// result is src itself.
func Decompress(c Codec, src []byte, outBytesMax int) ([]byte, error) {
	assert.That(outBytesMax >= 0, "records: negative outBytesMax")
	switch c {
	case CodecNone:
		if len(src) > outBytesMax {
			return nil, tooLarge(c, outBytesMax)
		}
		return src, nil
	case CodecGzip:
		return decompressGzip(src, outBytesMax)
	case CodecSnappy:
		if bytes.HasPrefix(src, xerialMagic) {
			return decompressXerial(src, outBytesMax)
		}
		return decompressSnappy(src, outBytesMax)
	case CodecLz4:
		return decompressLz4(src, outBytesMax)
	case CodecZstd:
		return decompressZstd(src, outBytesMax)
	}
	return nil, fmt.Errorf("%w: %d", ErrBadCodec, int8(c))
}

// Compress returns src encoded with codec c: gzip at the default level,
// snappy as one raw block (what Java consumers and franz-go both read), lz4
// as a frame of 64 KiB blocks (Java's block size) and zstd at the default
// level. For CodecNone the result is src itself.
func Compress(c Codec, src []byte) ([]byte, error) {
	if c == CodecNone {
		return src, nil
	}
	return appendCompressed(nil, c, src)
}

// appendCompressed appends src encoded with codec c to dst, so that Build
// can compress straight after a batch header.
func appendCompressed(dst []byte, c Codec, src []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		return compressGzip(dst, src)
	case CodecSnappy:
		return compressSnappy(dst, src)
	case CodecLz4:
		return compressLz4(dst, src)
	case CodecZstd:
		enc := zstdEncoders.Get().(*zstd.Encoder)
		defer zstdEncoders.Put(enc)
		return enc.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w: %d", ErrBadCodec, int8(c))
}

func tooLarge(c Codec, outBytesMax int) error {
	return fmt.Errorf("%w: %s output exceeds %d bytes", ErrTooLarge, c, outBytesMax)
}

func corrupt(c Codec, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrBadRecords, c, err)
}

func decompressGzip(src []byte, outBytesMax int) ([]byte, error) {
	zr := gzipReaders.Get().(*gzip.Reader)
	defer gzipReaders.Put(zr)
	if err := zr.Reset(bytes.NewReader(src)); err != nil {
		return nil, corrupt(CodecGzip, err)
	}
	return readBounded(CodecGzip, zr, 2*len(src)+512, outBytesMax)
}

func decompressLz4(src []byte, outBytesMax int) ([]byte, error) {
	zr := lz4Readers.Get().(*lz4.Reader)
	defer lz4Readers.Put(zr)
	defer zr.Reset(nil) // drop src before the reader goes back to the pool
	zr.Reset(bytes.NewReader(src))
	return readBounded(CodecLz4, zr, 2*len(src)+512, outBytesMax)
}

// readBounded reads r to its end, never holding more than outBytesMax+1
// bytes: the buffer doubles from capacity, a guess, but is capped at one
// byte past the limit, which is how a stream one byte too long is told
// from one that fits exactly. It grows by hand because append may round a
// capacity well past the limit.
func readBounded(c Codec, r io.Reader, capacity, outBytesMax int) ([]byte, error) {
	out := make([]byte, 0, max(1, min(capacity, outBytesMax+1)))
	for {
		if len(out) == cap(out) {
			grown := make([]byte, len(out), min(2*cap(out), outBytesMax+1))
			out = grown[:copy(grown, out)]
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > outBytesMax {
			return nil, tooLarge(c, outBytesMax)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, corrupt(c, err)
		}
	}
}

// decompressSnappy decodes one raw snappy block, whose decoded length is
// its first varint: it is checked before anything is allocated.
func decompressSnappy(src []byte, outBytesMax int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, corrupt(CodecSnappy, err)
	}
	if n > outBytesMax {
		return nil, tooLarge(CodecSnappy, outBytesMax)
	}
	out, err := s2.Decode(make([]byte, n), src)
	if err != nil {
		return nil, corrupt(CodecSnappy, err)
	}
	return out, nil
}

// decompressXerial decodes xerial-framed snappy in two passes over the
// blocks: the first checks the framing and adds up the decoded lengths
// against outBytesMax, so the second can decode into one exact buffer.
func decompressXerial(src []byte, outBytesMax int) ([]byte, error) {
	total := 0
	err := eachXerialBlock(src, func(block []byte) error {
		n, err := s2.DecodedLen(block)
		if err != nil {
			return corrupt(CodecSnappy, err)
		}
		if n > outBytesMax-total {
			return tooLarge(CodecSnappy, outBytesMax)
		}
		total += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, total)
	err = eachXerialBlock(src, func(block []byte) error {
		decoded, err := s2.Decode(out[len(out):], block)
		if err != nil {
			return corrupt(CodecSnappy, err)
		}
		out = out[:len(out)+len(decoded)]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachXerialBlock calls fn with each snappy block of a xerial frame.
func eachXerialBlock(src []byte, fn func(block []byte) error) error {
	if len(src) < xerialHeaderBytes {
		return corrupt(CodecSnappy, errors.New("xerial header truncated"))
	}
	rest := src[xerialHeaderBytes:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return corrupt(CodecSnappy, fmt.Errorf("xerial block length truncated: %d bytes", len(rest)))
		}
		blockBytes := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(blockBytes) > uint64(len(rest)) {
			return corrupt(CodecSnappy, fmt.Errorf("xerial block of %d bytes with %d left", blockBytes, len(rest)))
		}
		if err := fn(rest[:blockBytes]); err != nil {
			return err
		}
		rest = rest[blockBytes:]
	}
	return nil
}

// decompressZstd decodes as a stream, through readBounded like gzip and
// lz4, rather than with DecodeAll: DecodeAll checks its limit only after
// each block and grows its output by small appends, and its limit also
// caps the declared window, so it cannot be both tight and accept Java's
// 2 MiB windows. When the frame states its content size (franz-go's and
// single-shot encoders do), an oversized frame is refused before any work,
// and a believable size is allocated at once: the +1 leaves room to read
// the end, and the ratio cap keeps a few bytes of garbage claiming many
// MiB from costing that much before they fail to decode.
func decompressZstd(src []byte, outBytesMax int) ([]byte, error) {
	capacity := 2*len(src) + 512
	var frame zstd.Header
	if frame.Decode(src) == nil && frame.HasFCS {
		if frame.FrameContentSize > uint64(outBytesMax) {
			return nil, tooLarge(CodecZstd, outBytesMax)
		}
		capacity = min(int(frame.FrameContentSize)+1, zstdRatioMax*len(src)+64<<10)
	}
	zr := zstdReaders.Get().(*zstd.Decoder)
	defer zstdReaders.Put(zr)
	defer zr.Reset(nil) // drop src before the decoder goes back to the pool
	if err := zr.Reset(bytes.NewReader(src)); err != nil {
		return nil, corrupt(CodecZstd, err)
	}
	out, err := readBounded(CodecZstd, zr, capacity, outBytesMax)
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, fmt.Errorf("%w: zstd window over %d bytes", ErrTooLarge, zstdWindowBytesMax)
	}
	return out, err
}

func newZstdReader() any {
	// Concurrency 1: the stream is then decoded on the caller's goroutine
	// (more would start three goroutines per stream). In stream mode the
	// memory limit caps the window.
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(zstdWindowBytesMax),
		zstd.WithDecoderMaxWindow(zstdWindowBytesMax))
	assert.Thatf(err == nil, "records: zstd decoder: %v", err)
	return dec
}

func newZstdEncoder() any {
	// Concurrency 1 for the same reason; EncodeAll never starts the
	// streaming workers.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	assert.Thatf(err == nil, "records: zstd encoder: %v", err)
	return enc
}

func compressSnappy(dst, src []byte) ([]byte, error) {
	if s2.MaxEncodedLen(len(src)) < 0 {
		return dst, fmt.Errorf("%w: %d bytes is too much for one snappy block", ErrTooLarge, len(src))
	}
	return append(dst, s2.EncodeSnappy(nil, src)...), nil
}

// appender is an io.Writer that appends to a slice, so stream encoders
// can write after a batch header without an intermediate buffer.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func compressGzip(dst, src []byte) ([]byte, error) {
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	out := &appender{b: dst}
	zw.Reset(out)
	if _, err := zw.Write(src); err != nil {
		return dst, err
	}
	if err := zw.Close(); err != nil {
		return dst, err
	}
	return out.b, nil
}

func compressLz4(dst, src []byte) ([]byte, error) {
	zw := lz4Writers.Get().(*lz4.Writer)
	defer lz4Writers.Put(zw)
	out := &appender{b: dst}
	zw.Reset(out)
	if _, err := zw.Write(src); err != nil {
		return dst, err
	}
	if err := zw.Close(); err != nil {
		return dst, err
	}
	return out.b, nil
}

func newGzipWriter() any {
	zw, err := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	assert.Thatf(err == nil, "records: gzip writer: %v", err)
	return zw
}

func newLz4Reader() any {
	zr := lz4.NewReader(nil)
	err := zr.Apply(lz4.ConcurrencyOption(1))
	assert.Thatf(err == nil, "records: lz4 reader: %v", err)
	return zr
}

func newLz4Writer() any {
	zw := lz4.NewWriter(nil)
	err := zw.Apply(lz4.ConcurrencyOption(1), lz4.BlockSizeOption(lz4.Block64Kb))
	assert.Thatf(err == nil, "records: lz4 writer: %v", err)
	return zw
}
