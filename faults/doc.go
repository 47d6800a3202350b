// Package faults holds fault schedules as data, their generation from a
// seed, the fault atlas that keeps safe modes recoverable, and their
// application to the simulator.
//
//   - schedule.go: Fault (a time, a kind, the nodes, a partition shape or
//     a clock value) and Schedule, printable one step per line.
//   - generate.go: Generate draws a schedule from a random stream: faults
//     of the kinds a Mix allows (partitions of every shape, power-loss
//     crashes, graceful stops, pauses, clock offsets, drift and jumps),
//     each undone within a window. The atlas: partitions never overlap,
//     a node has one fault at a time, and at most a minority of nodes is
//     down or paused at once, so a safe run keeps a majority.
//   - apply.go: Target plays a schedule on sim nodes (Install, Apply) and
//     heals everything at the end of a phase (HealAll).
//
// Not yet: clogs, disk faults (fsync errors, torn writes, corruption,
// slow disks) and shrinking of a failing schedule.
//
// Owns: fault schedules, their generation and application. Must not
// import: checker, broker. It obeys the determinism rules.
package faults
