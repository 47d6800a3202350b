// Package controller is gregor's KRaft-like active controller: a voter
// of the metadata quorum (broker/quorum) whose state machine is the
// metadata image (broker/meta), and which, while it is the quorum's
// leader, decides the cluster's membership and topology and writes its
// decisions as metadata records.
//
// # Reading and writing
//
// Every controller applies the committed log to its Image, in order
// (Image, OnApply). The active one (Active: the quorum leader, once an
// empty barrier entry of its own epoch is applied, so its image holds
// everything committed before it) serves the controller's requests
// (Handle): on the quorum's controller listener for remote brokers
// (quorum.Config.Serve), or called directly by a broker that embeds it.
// Any other node answers NOT_CONTROLLER, and Leader tells where the
// active one is.
//
// Requests become operations in a bounded queue. Operations are decided
// one after another on a copy of the applied image that holds every
// earlier operation's records, a batch of them is written as one
// metadata entry, and the next batch is decided only once that entry is
// applied (or failed). Every answer waits for its batch's entry to be
// committed and applied here; if the entry's fate is unknown (the
// quorum lost its leader, or the node stopped) the answer is
// NOT_CONTROLLER and the client retries with the next active
// controller, which decides again on what was committed.
//
// # Membership
//
// As in Kafka: BrokerRegistration writes a registration at the next
// broker epoch (meta.Register), the broker starting fenced. Heartbeats
// renew a session held in memory by the active controller (a new active
// controller starts every session afresh); a broker whose metadata
// offset reached its registration's is unfenced; one whose session
// expires (SessionTimeoutMs) is fenced, its leaderships moving away
// (unclean only where the topic's unclean.leader.election.enable, as
// resolved from the topic, the dynamic cluster default and Static,
// allows it). A heartbeat with WantShutDown starts a controlled
// shutdown (meta.ControlledShutdown) and is answered ShouldShutDown once
// the broker leads nothing and every unfenced broker has caught up with
// that change. Stale broker epochs get STALE_BROKER_EPOCH.
//
// # Deviations from Kafka's QuorumController
//
//   - One batch in flight: Kafka pipelines many; here throughput is one
//     metadata entry per commit round trip (batches hold up to
//     BatchOpsMax operations).
//   - The barrier entry at every claim is an empty record list, where
//     Kafka's controller waits for the epoch's start offset (and writes
//     NoOpRecords periodically, KIP-835, which gregor does not).
//   - Request deadlines (TimeoutMillis) are ignored; a full queue answers
//     REQUEST_TIMED_OUT.
//   - Registration offsets are not in snapshots: a broker registered
//     before the newest snapshot must catch up to the snapshot's end.
//   - No ELR (KIP-966), leader recovery state (KIP-704), racks,
//     UnregisterBroker, features, log directories, quotas, ACLs, client
//     metrics or KIP-853 voter changes; broker listeners beyond the first
//     are not kept.
//
// Owns: the active controller: the operation queue, broker sessions and
// their fencing, the answers to the controller's requests, the quorum
// node it embeds.
//
// Must not import: sim (its tests do), workloads, checker, bench, and the
// broker package itself (the broker embeds the controller). It obeys the
// determinism rules checked by internal/detcheck.
package controller
