// Package storage is a partition's log on disk, Kafka style: record
// batches kept as the raw bytes the producer sent, in segment files named
// by their base offset, each with an offset index and a time index, plus
// three checkpoint files (log start offset, recovery point, leader epochs).
//
// It is written sans-I/O like the rest of the broker: every file operation
// goes through an env.FS, time comes from an env.Clock, fsyncs complete
// through callbacks, and it arms no timers: the broker calls Tick. One Log
// is used from the process's single thread only.
//
// What a crash can do to a log, and what Open does about it:
//
//   - Writes that were not fsynced may be lost, whole or torn. Open scans
//     every segment from the one holding the recovery point onwards,
//     checking each batch (header, CRC32C, contiguous offsets), and cuts the
//     log at the first bad one. Everything before the recovery point was
//     fsynced before the point was written, so it is trusted and only its
//     indexes are checked.
//   - Indexes are caches of the log: a missing or inconsistent index is
//     rebuilt from the segment it indexes.
//   - Checkpoints are replaced atomically (temporary file, fsync, rename,
//     directory fsync), so each is either the old or the new version.
//
// Durability follows Kafka: by default nothing is fsynced on the append
// path (flush.messages and flush.ms are infinite) and the log is flushed
// when a segment rolls, so an acknowledged append can be lost by a power
// failure; flush.messages=1 fsyncs every append. OnFlushed reports the
// offset below which data is durable, for "acks wait for fsync".
//
// Owns: segment files, the offset and time indexes, recovery, retention,
// truncation, the leader epoch cache and the checkpoint files.
//
// Must not import: sim (only its tests may, to get a crashable disk),
// workloads, checker, bench. It obeys the determinism rules checked by
// internal/detcheck.
package storage
