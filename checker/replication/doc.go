// Package replication holds the invariant monitors for Kafka replication,
// R1–R9 of the reference invariants. The simulator calls Monitor.Observe
// between events with every broker's broker.State, a way to read its
// batches, and the committed metadata image; the workload reports
// acknowledged writes through Monitor.Acked.
//
// The monitor keeps what one observation cannot show: who led each leader
// epoch, the highest watermarks each replica reached, the batches already
// compared (for every (base offset, epoch) the batch before it; the
// committed batches by offset) and the acknowledged writes. The cheap
// checks run on every observation in O(partitions × replicas); the log
// comparisons read only the batches appended since the previous pass, and
// run every Config.LogEvery observations, on ObserveLogs, or from every
// log start on Rescan.
//
// What is checked:
//
//   - R1: one leader per (partition, epoch) over the run, by the states
//     and the controller; a node never leads an epoch below one it held;
//     no batch or epoch-cache entry carries an epoch above every epoch a
//     leader or the controller had; one epoch never writes two different
//     batches at a base offset; an epoch begins at the same offset in
//     every replica's epoch cache.
//   - R2: replicas holding the same (base offset, epoch) batch hold the
//     same batch before it, hence identical logs down to the higher log
//     start.
//   - R3: with a controller image, every member of its ISR holds every
//     offset below the HW of its leader (the node it names, once that node
//     has taken the epoch), with the committed batches there. Without an
//     image, the same against the highest-epoch leader's cached ISR is
//     WeakIsr, informational (Monitor.Infos).
//   - R4: LogStart ≤ HW ≤ LEO; a leader's HW never falls within its epoch
//     and incarnation; a follower's HW is not above its leader's in the
//     same epoch, except for the HW it entered the epoch with.
//   - R5: no acks=all write is acknowledged with fewer in-sync replicas
//     than min.insync.replicas (from Acked).
//   - R6: every acks=all write acknowledged with enough in-sync replicas
//     is in the current leader's log at its offsets with its CRC, until
//     retention removes it.
//   - R7: ISR within the replicas and holding the leader (controller and
//     cached views); a member joins only with LEO at or past the leader's
//     HW and the start of its epoch; the controller elects from the ISR.
//   - R8: a replica's LEO never falls below a HW it showed; after a
//     restart, below what it had committed (and flushed, under FsyncLoss).
//   - R9: no offset is committed (below the HW of a replica holding it)
//     as two different batches, nor acknowledged as two different writes.
//
// Faults that may lose data are declared in Allowances: unclean
// elections, crashes that drop unflushed writes, eligible leader replicas
// (KIP-966). A loss they explain is recorded (Losses), not reported, so a
// must-lose scenario can assert that the monitor saw it.
//
// Limits. The checks see only what observations show: a state that lives
// and dies between two observations is missed (call Observe after every
// event for the cheap checks). The incremental log pass notices a rewrite
// by a lower LEO or a changed epoch cache; a rewrite that keeps both is
// found by Rescan. A restart is noticed by an observation while down, a
// new NodeView.Incarnation or a new broker epoch; without any of them a
// lossy restart looks like a truncation (R8). Not checked: the
// broker-epoch part of KIP-841/903, the lag-time rule for leaving the ISR
// (a liveness matter), that followers truncate exactly to the end of the
// shared epoch (only its consequence, R8). The history grows with the
// batches written: sized for simulation runs.
//
// Owns: the replication monitors, their witnesses, the record of allowed
// losses.
//
// Must not import: broker internals beyond broker.State and
// broker.BatchInfo, or broker/meta beyond its Image; sim, workloads,
// faults. It obeys the determinism rules (internal/detcheck).
package replication
