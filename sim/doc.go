// Package sim is gregor's deterministic simulator: it runs every node of a
// cluster, and its clients, on one goroutine in virtual time, and implements
// env.Env for them. Same seed, same binary, same options: the same run, byte
// for byte, witnessed by a rolling hash over every event (the trace).
//
// The parts, one file each:
//
//   - scheduler.go: events ordered by (time, insertion sequence) in a 4-ary
//     heap; run until a time, until idle, or while a condition holds; a bound
//     on queued events that fails the run loudly (LimitError).
//   - seed.go: named random streams derived from the run seed, so a new
//     consumer of randomness does not shift the numbers others draw.
//   - clock.go: per-node wall clock (true time × (1+drift) + offset, with
//     jumps) and monotonic clock (drifts, never jumps); timers on the
//     monotonic clock. A zero-delay timer armed inside an event runs right
//     after it, as part of it, costing no event of its own.
//   - network.go, partition.go: TCP-like connections (ordered, reliable while
//     they live), per-link latency distribution, bandwidth and clogs;
//     partitions of every Jepsen shape; stalled connections reset after a
//     timeout; dials refused or timing out as TCP's would.
//   - disk.go: an in-memory file system with page cache and durable state,
//     directory-entry durability, fsync latency, torn writes at a crash, and
//     injected corruption, I/O errors, full disks and slow syncs. Fsyncs a
//     node issues at one instant are one device flush: one latency, one
//     event.
//   - node.go: process lifecycle (start, crash, restart, graceful stop,
//     pause/resume) and the Env each incarnation sees. An incarnation's
//     events die with it; a paused node's events wait. sim.go: the Sim,
//     and calls into a process from the harness (Call, or CallInline from
//     inside a driver's event).
//   - trace.go: the canonical record of each event and the rolling hash.
//   - log.go: slog output stamped with virtual time, never the real clock.
//
// The toy protocol in sim/toy and the stories in testdata/ exercise all of
// it.
//
// Must not import: broker, workloads, checker, faults (they build on sim, not
// the reverse). It obeys the determinism rules checked by internal/detcheck.
package sim
