// Package meta is the cluster's metadata as KRaft keeps it: a log of
// records (broker registrations and fencing, topics, partitions with their
// replicas, ISR, leader and epochs, configs, producer id blocks) and the
// image those records build. The controller quorum (broker/quorum)
// replicates the records; every broker applies them in log order to its
// own Image, so all brokers converge on the same view.
//
// Everything here is pure: applying a record to an image, and the
// controller's decisions (which records to write for a registration, a
// heartbeat timeout, a topic creation, an ISR change), take their inputs as
// arguments and return records. The I/O around them lives in
// broker/controller.
//
// The decisions follow Kafka's KRaft controller. What it has and this
// package does not:
//
//   - Eligible leader replicas (KIP-966, on by default for new clusters
//     since Kafka 4.1). Without ELR the last ISR member is never removed,
//     so a broker that lost its unflushed tail in a crash can come back as
//     the only ISR member and lead ("last replica standing"), and a leader
//     comes only from the ISR unless unclean election is on. ELR needs
//     min.insync.replicas in the controller and the strict min-ISR high
//     watermark rule in the broker first.
//   - Leader recovery state (KIP-704): after an unclean election Kafka
//     marks the partition RECOVERING and refuses an ISR expansion until the
//     leader reports RECOVERED.
//   - Auto leader rebalancing (Kafka's periodic preferred elections,
//     auto.leader.rebalance.enable), UnregisterBroker, racks in
//     placement, DUPLICATE_BROKER_REGISTRATION (the caller checks
//     sessions: broker/controller does).
//
// What it has, in Kafka's way (admin.go): controlled shutdown (a broker
// in controlled shutdown stays unfenced but may not lead or join an ISR;
// MayLead), preferred and unclean elections on request (ElectLeader),
// partition reassignment (Reassign: the target's new replicas are added,
// the reassignment completes once every target replica is in the ISR,
// removing the old ones and bumping the leader epoch; cancelling reverts
// the added ones), and manual replica assignment (CreateTopicAssigned,
// AddPartitionsAssigned). Small differences: a reassignment of a
// leaderless partition of a topic that allows unclean election elects at
// once (Kafka's periodic unclean election would, a little later), and
// the AllowReplicationFactorChange refusal's message is gregor's.
//
// Owns: metadata record types and their encoding, the Image, the
// controller's decision functions.
// Must not import: sim, workloads, checker; obeys the determinism rules.
package meta
