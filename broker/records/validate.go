package records

import (
	"errors"
	"fmt"
)

// DefaultDecompressedBytesMax is the decompressed size Validate allows when
// ValidateOptions leaves it zero. Kafka sets no such limit, but a produce
// request is at most a few MiB compressed (max.request.size defaults to
// 1 MiB) and real data rarely compresses 30-fold, so 64 MiB refuses only
// bombs.
const DefaultDecompressedBytesMax = 64 << 20

// ValidateOptions tunes Validate. The zero value validates a batch read
// from a log or a replica: control batches allowed, DefaultDecompressedBytesMax.
type ValidateOptions struct {
	// RejectControl applies the checks Kafka makes only on batches from
	// clients (Produce): no control batch, since only transaction
	// coordinators write markers, and no producer id without a sequence.
	// Both fail with ErrNotAllowed (Kafka: INVALID_RECORD).
	RejectControl bool
	// DecompressedBytesMax bounds the records section after decompression;
	// zero means DefaultDecompressedBytesMax.
	DecompressedBytesMax int

	_ struct{} // disallow positional literals
}

// Validate checks that b holds exactly one v2 batch, as Kafka requires of
// a partition's records in a Produce request, and that it is well formed
// down to every record: header, CRC32C, codec, record count against offset
// deltas, then each record's framing after decompression. It returns the
// header, or an error wrapping one of this package's sentinels with what
// was wrong and in which record.
func Validate(b []byte, opts ValidateOptions) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if err := checkBatch(b, h, opts); err != nil {
		return h, err
	}
	outBytesMax := opts.DecompressedBytesMax
	if outBytesMax == 0 {
		outBytesMax = DefaultDecompressedBytesMax
	}
	data, err := recordsSection(b, h, outBytesMax)
	if err != nil {
		return h, err
	}
	return h, eachRecord(data, h, true, nil)
}

// checkBatch makes the checks that need only the header and raw bytes, the
// cheap ones, before anything is decompressed.
func checkBatch(b []byte, h Header, opts ValidateOptions) error {
	if h.Size() != len(b) {
		return fmt.Errorf("%w: batch of %d bytes followed by %d more (a second batch or trailing bytes)",
			ErrBadLength, h.Size(), len(b)-h.Size())
	}
	if crc := ComputeCRC(b, h); crc != h.CRC {
		return fmt.Errorf("%w: header says %08x, bytes give %08x", ErrBadCRC, h.CRC, crc)
	}
	if h.Codec() > CodecZstd {
		return fmt.Errorf("%w: %d", ErrBadCodec, h.Codec())
	}
	if opts.RejectControl {
		if err := checkFromClient(h); err != nil {
			return err
		}
	}
	if h.NumRecords < 1 || h.LastOffsetDelta != h.NumRecords-1 {
		return fmt.Errorf("%w: %d records but last offset delta %d", ErrBadRecords, h.NumRecords, h.LastOffsetDelta)
	}
	return nil
}

func checkFromClient(h Header) error {
	if h.IsControl() {
		return fmt.Errorf("%w: control batch", ErrNotAllowed)
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		return fmt.Errorf("%w: producer id %d with base sequence %d", ErrNotAllowed, h.ProducerID, h.BaseSequence)
	}
	return nil
}

// Each calls fn with the header and bytes of each batch in b, which holds
// batches back to back as a log segment or a Fetch response does. It
// checks only framing (ParseHeader), not CRCs or records. It returns how
// many bytes the whole batches it walked take: a truncated batch at the
// end, which a Fetch response may carry and a crash may leave in a
// segment, stops the walk without an error, so callers compare the count
// with len(b). Any other header error, or an error from fn, stops the walk
// and is returned with the bytes consumed before that batch.
func Each(b []byte, fn func(h Header, batch []byte) error) (int, error) {
	consumed := 0
	for consumed < len(b) {
		h, err := ParseHeader(b[consumed:])
		if errors.Is(err, ErrShort) {
			return consumed, nil
		}
		if err != nil {
			return consumed, fmt.Errorf("batch at byte %d: %w", consumed, err)
		}
		if err := fn(h, b[consumed:consumed+h.Size()]); err != nil {
			return consumed, err
		}
		consumed += h.Size()
	}
	return consumed, nil
}
