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
// Status: a single-node broker (replication factor 1): the APIs listed in
// the NN_*.go files, log storage (broker/storage), Kafka's configs
// (broker/configs), idempotent producers. Replication, the controller
// quorum, groups and transactions come with their issues. Known gap: kmsg's
// generated body readers spin on a tagged-field count far beyond the frame
// (see wire.go); frames are bounded, but a hostile client can cost CPU.
package broker
