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
//     ParseMix reads a Mix as its String writes it ("partitions+crashes",
//     "none").
//   - apply.go: Target plays a schedule on sim nodes (Install, Apply) and
//     heals everything at the end of a phase (HealAll).
//   - text.go: ParseFault and ParseSchedule read steps back from the text
//     Format writes ("1.5s partition isolate b0"), for scenario files.
//   - shrink.go: Shrink reduces a failing schedule by delta debugging
//     (drop steps in halving chunks, then one by one) and then moves each
//     remaining step earlier, keeping every candidate that still fails.
//
// ATLAS.md lists every fault kind, whether the safe swarm uses it and
// why the guarantees survive it, and the unsafe modes. Torn writes come
// with every crash (the simulator's disk option); disk errors and full
// disks (disk-faults) are in the safe mix.
//
// Owns: fault schedules, their generation, text form, shrinking and
// application. Must not import: checker, broker. It obeys the determinism
// rules.
package faults
