// Package records reads, validates, builds and stamps Kafka record batches
// (magic 2, KIP-98) held as raw bytes: the batch header, CRC32C, record
// framing and offset deltas, and the five codecs (none, gzip, snappy, lz4,
// zstd).
//
// The broker keeps batches as the bytes clients sent; this package is how
// it looks inside them without copying them into structs.
//
//   - header.go: header layout, ParseHeader, CRC, in-place stamping.
//   - validate.go: Validate (one batch, as Produce requires), Each (batches
//     back to back, as segments and Fetch responses hold them).
//   - decode.go: Records, the record parser shared with Validate.
//   - build.go: Build and AppendBatch, for clients and tests.
//   - codec.go: Compress and Decompress, the latter bounded in output.
//
// Owns: batch header layout, validation, decompression with a size bound,
// batch building. Must not import: sim, workloads, checker, bench; obeys
// the determinism rules (internal/detcheck): the codec libraries are set up
// so that they start no goroutines.
package records
