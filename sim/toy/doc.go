// Package toy is a small primary-backup replicated log used to exercise the
// simulator: it touches every part of env (timers, both clocks,
// connections, files, fsync, recovery) the way the broker will, in a few
// hundred lines whose behaviour a scenario file can spell out line by line.
//
// The protocol (text frames, one message per frame):
//
//	backup → primary  hello <last>            sent on connect: "I hold 1..last"
//	primary → backup  entry <seq> <ms> <val>  an entry, in order from last+1
//	backup → primary  ack <seq>               appended (not yet synced!)
//	primary → backup  hb <ms>                 heartbeat with the primary's wall time
//
// The primary is the first node; it fsyncs an entry before replicating it
// and counts it committed once a majority (itself included) acked it.
// Backups ack on append and fsync only every SyncInterval, so a backup
// crash can lose acked entries: scenarios use that to show lost unsynced
// writes. On start every replica recovers its log file, truncating a torn
// or corrupt tail.
//
// Owns: the toy Replica process and its busy-scenario driver. Must not
// import: anything but env, sim (for the driver) and the standard library.
package toy
