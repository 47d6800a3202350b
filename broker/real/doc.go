// Package real is gregor's real runtime: it implements env.Env with TCP
// sockets speaking Kafka's length-prefixed framing, files under a data
// directory with real fsync, the wall clock and a seeded random stream, so
// that the process the simulator checks is the process real clients talk
// to.
//
// One event loop per node (the goroutine that calls Runtime.Run) runs every
// callback into the process one at a time: Start, Stop, timer functions,
// Handler.Opened/Received/Closed and Sync/SyncDir completions. I/O
// goroutines (a reader and a writer per connection, a dialer per dial, an
// acceptor per listener, a syncer per file or directory with syncs pending,
// and the one behind the timer heap's time.Timer) never call the process;
// they post closures to the loop through a bounded channel, so a reader
// blocks, and stops reading its socket, when the loop falls behind. This is
// how the node sees the single-threaded world env's contract promises,
// exactly as under the simulator.
//
// The parts, one file each:
//
//   - options.go: Options, their defaults and limits.
//   - runtime.go: the Runtime, its loop, posting to it, shutdown.
//   - clock.go: wall and monotonic time; timers in a heap on the loop,
//     fired in deadline order as under the simulator.
//   - net.go, conn.go: listeners, dials, connections and their reader and
//     writer goroutines; budget.go bounds the bytes read but not yet
//     delivered.
//   - fs.go, file.go, syncer.go: the data directory as an env.FS, open
//     files, and fsyncs off the loop.
//   - errors.go: OS and net errors mapped onto env's error values.
//
// Behaviour kept identical to the simulator where env leaves room, so that
// code tested under sim behaves the same here:
//
//   - List of a missing or empty directory fails with env.ErrNotExist, and
//     directories are not entries (Open, Stat, Remove and Rename of one
//     fail with env.ErrNotExist); they are made as files need them and
//     removed with their last entry, and SyncDir also syncs the parents of
//     directories made since, so a synced entry survives a crash as the
//     simulator's does.
//   - Timers fire in (deadline, arming order); a stopped timer never runs.
//   - A handler gets no Received after it called Close; a peer's orderly
//     close ends the connection on both sides; when Run ends, peers read
//     what was queued for them and then an orderly close, as from a
//     stopped simulated node.
//
// Where the real runtime is more permissive: a frame sent on a dialed
// connection before Opened is queued and written once the dial completes
// (the simulator refuses it with env.ErrClosed).
//
// Owns: the real runtime. Must not import: sim, workloads, checker, faults,
// bench (the product does not link the simulator or its test harness). It is
// exempt from the determinism analyzer (internal/detcheck: path element
// "real"), since goroutines and the wall clock are its job.
package real
