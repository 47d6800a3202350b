// Package env holds the interfaces through which every simulated process
// (broker, controller, client) does all of its I/O: clock and timers,
// connections, file system, a seeded random stream and a logger.
//
// It is a package of its own, and not part of sim/ or broker/, so that the
// broker can be written against these interfaces without importing the
// simulator, and the simulator can implement them without importing the
// broker. Two runtimes implement it: sim (one goroutine, virtual time) and the
// real runtime (TCP sockets, files with fsync, wall time).
//
// The contract every implementation keeps, and every process may rely on:
//
//   - Single-threaded: all callbacks into a process (timer functions,
//     connection handlers, sync completions, Start and Stop) run one at a time,
//     never concurrently, and never re-entrantly from inside an Env call. A
//     call such as Conn.Send or File.Sync returns before any callback it
//     causes runs.
//   - Nothing blocks: work that takes time (dial, fsync) completes through a
//     callback.
//   - After a crash no callback of the old incarnation runs again: a restarted
//     process gets a fresh Env and sees only what reached durable storage.
//
// Owns: the Env, Clock, Timer, Network, Conn, FS, File and Process interfaces
// and their error values.
// Must not import: any other gregor package (it is the leaf everything
// depends on).
package env
