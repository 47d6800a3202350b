// Package faults holds fault schedules as data (partitions of every shape,
// clogs, crash/restart, graceful stop, pauses, clock offsets/drift/jumps,
// fsync loss, torn writes, corruption, slow disk), their generation from a
// seed, the fault atlas that keeps safe modes recoverable, and shrinking.
//
// Must not import: checker, broker. It obeys the determinism rules.
package faults
