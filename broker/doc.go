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
// Status: the wire layer (request decoding, response encoding, the API
// registry and ApiVersions derived from it) is here; the broker process,
// storage and the other APIs come with the single-node broker issue.
package broker
