package records

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzBytesMax keeps each input's work small: the fuzzer must not spend
// its time inflating bombs to the production limit.
const fuzzBytesMax = 1 << 20

var sentinels = []error{ErrShort, ErrBadLength, ErrBadMagic, ErrBadCRC, ErrBadRecords, ErrBadCodec, ErrTooLarge, ErrNotAllowed}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzSeeds are valid batches of every codec, a control batch, and a few
// corruptions of them.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range allCodecs {
		b := mustBuild(t, plainOptions(c), sampleRecords())
		small := mustBuild(t, plainOptions(c), []Record{{Key: []byte("k"), Value: []byte("v")}})
		flipped := bytes.Clone(small)
		flipped[len(flipped)-3] ^= 0x40
		fixCRC(flipped)
		seeds = append(seeds, b, small, flipped, small[:len(small)-1], append(bytes.Clone(small), small...))
	}
	control := plainOptions(CodecNone)
	control.Control, control.ProducerID, control.ProducerEpoch = true, 1, 0
	seeds = append(seeds, mustBuild(t, control, []Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}}))
	return seeds
}

// FuzzValidate feeds Validate, Records and Each arbitrary bytes: none may
// panic, every error must wrap a sentinel, and whatever Validate accepts
// must read back and rebuild to an equal batch. Each input is also tried
// with its CRC repaired, or the fuzzer would rarely get past the CRC check
// into the records.
func FuzzValidate(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkValidate(t, b)
		if len(b) >= HeaderBytes {
			repaired := bytes.Clone(b)
			fixCRC(repaired)
			checkValidate(t, repaired)
		}
		_, _ = Each(b, func(h Header, batch []byte) error {
			if h.Size() != len(batch) {
				t.Fatalf("Each gave %d bytes for a batch of %d", len(batch), h.Size())
			}
			return nil
		})
	})
}

func checkValidate(t *testing.T, b []byte) {
	h, err := Validate(b, ValidateOptions{DecompressedBytesMax: fuzzBytesMax})
	if err != nil {
		if !isSentinel(err) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		return
	}
	recs, err := Records(b, h, fuzzBytesMax)
	if err != nil {
		t.Fatalf("Validate accepted a batch Records refuses: %v", err)
	}
	if len(recs) != int(h.NumRecords) {
		t.Fatalf("%d records, header counts %d", len(recs), h.NumRecords)
	}
	opts := BuildOptions{
		Codec: h.Codec(), ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch,
		BaseSequence: h.BaseSequence, BaseTimestamp: h.BaseTimestamp,
		Transactional: h.IsTransactional(), Control: h.IsControl(), PartitionLeaderEpoch: h.PartitionLeaderEpoch,
	}
	rebuilt, err := Build(opts, recs)
	if err != nil {
		t.Fatalf("rebuilding: %v", err)
	}
	h2, err := Validate(rebuilt, ValidateOptions{DecompressedBytesMax: fuzzBytesMax})
	if err != nil {
		t.Fatalf("rebuilt batch invalid: %v", err)
	}
	again, err := Records(rebuilt, h2, fuzzBytesMax)
	if err != nil {
		t.Fatalf("rebuilt batch unreadable: %v", err)
	}
	if !recordsEqual(recs, again) {
		t.Fatalf("records changed through a rebuild")
	}
}

// recordsEqual compares records keeping null and empty apart.
func recordsEqual(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.OffsetDelta != y.OffsetDelta || x.TimestampDelta != y.TimestampDelta ||
			!nullableEqual(x.Key, y.Key) || !nullableEqual(x.Value, y.Value) || len(x.Headers) != len(y.Headers) {
			return false
		}
		for j := range x.Headers {
			if x.Headers[j].Key != y.Headers[j].Key || !nullableEqual(x.Headers[j].Value, y.Headers[j].Value) {
				return false
			}
		}
	}
	return true
}

func nullableEqual(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// FuzzDecompress feeds every codec, known or not, arbitrary bytes: it must
// not panic, must honour the limit, and every error must wrap a sentinel.
func FuzzDecompress(f *testing.F) {
	in := compressible(5000)
	for _, c := range allCodecs {
		z, err := Compress(c, in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(c), z)
	}
	f.Add(byte(CodecSnappy), xerial(in[:100], in[100:]))
	f.Add(byte(7), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, codec byte, src []byte) {
		const outBytesMax = 64 << 10
		out, err := Decompress(Codec(codec%8), src, outBytesMax)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(out) > outBytesMax {
			t.Fatalf("%d bytes past a limit of %d", len(out), outBytesMax)
		}
	})
}
