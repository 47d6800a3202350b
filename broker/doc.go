// Package broker is gregor's Kafka-protocol broker, written sans-I/O: it
// does all I/O through an env.Env, so the same code runs under the
// simulator and, through the real runtime in broker/real, over TCP.
//
// Owns: the wire protocol (framing, headers, ApiVersions derived from the
// handler registry), one file per Kafka API (00_produce.go, …), log storage,
// replication, the metadata quorum, the group and transaction coordinators
// and producer state.
//
// Must not import: sim (the simulator provides an env.Env; the broker never
// sees more of it), workloads, checker, bench. Outside broker/real it obeys
// the determinism rules checked by internal/detcheck.
//
// Status: a replicated broker in KRaft's combined mode. Every broker
// embeds a controller (broker/controller: a voter of the metadata quorum,
// broker/quorum, applying the metadata log to a broker/meta image); a
// broker alone is a quorum of one. The broker registers and heartbeats
// (cluster.go), serves clients once unfenced, reconciles its replicas and
// their roles from the image (reconcile.go), replicates as leader
// (replica.go: HW over the maximal ISR, acks purgatory, ISR changes through
// AlterPartition) and follower (follower.go: fetch, truncation on
// divergence), and forwards admin requests to the active controller.
// Deviations from Kafka: no broker-only nodes (every broker is a voter, so
// no metadata observers), no dedicated controller processes in `gregor
// cluster`, no HW checkpoint file (a reopened replica starts its HW at the
// log start and learns it again), no previous-epoch clean-shutdown hint
// (KIP-966), so a crashed broker's new incarnation waits out the old
// session as in Kafka. Groups and transactions come with their issues.
// Known gap: kmsg's generated body readers spin on a tagged-field count far
// beyond the frame (see wire.go); frames are bounded, but a hostile client
// can cost CPU.
package broker
