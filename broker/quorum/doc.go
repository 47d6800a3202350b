// Package quorum is gregor's metadata quorum: a Raft for the KRaft-like
// controller quorum, pull-based as in KIP-595, with snapshots (KIP-630).
// It is gregor's own code because go.etcd.io/raft draws its election
// jitter from crypto/rand and cannot be seeded; here all randomness comes
// from env.Rand, all time from env.Clock, and the node is single-threaded
// and callback-driven like every gregor process (see package env).
//
// # Application API
//
//	cfg := quorum.DefaultConfig(id, map[int32]string{1: "c1:9093", 2: "c2:9093", 3: "c3:9093"})
//	n, err := quorum.New(cfg, sm)  // sm implements quorum.StateMachine
//	n.Start(e)                     // or run n as the node's env.Process
//	n.Propose(data, func(offset int64, err error) { … })  // leader only
//	n.Leader(); n.OnLeaderChange(fn); n.Status()
//	n.Stop(done)                   // a leader resigns (EndQuorumEpoch) first
//
// StateMachine.Apply gets committed entries only, in offset order, once
// per incarnation: after a start, Restore gets the newest snapshot (or
// offset 0 and nil data: "empty"), then Apply resumes from its end as the
// high watermark is learned. Snapshot is asked for every
// SnapshotEveryEntries applied offsets (or once the log passes
// SnapshotEveryBytes); Restore is called again when a snapshot is
// downloaded from the leader. Propose calls done once the entry is
// committed and applied on the leader, or with an error; ErrLeaderChanged
// and ErrStopped mean the entry was appended and its fate is unknown, as
// with any Raft. HandleRequest serves the quorum's requests on a listener
// shared with the broker, if the broker wants that.
//
// # Protocol
//
// Voters are fixed by Config.Voters. Each node is Unattached, Voted,
// Candidate, Leader, Follower or Resigned in an epoch (one file per
// role). The quorum state file (epoch, vote, leader) is replaced
// atomically (temporary file, fsync, rename, directory fsync), and the
// node answers a vote, and acts in a new epoch, only once it is durable.
//
//   - A follower that gets no successful fetch answer for FetchTimeoutMs,
//     and an unattached or voted node after a random election timeout
//     (ElectionTimeoutMs × [1, 2) from env.Rand), stands: it bumps the
//     epoch, votes for itself, and sends Vote with its last epoch and end
//     offset. A voter grants one vote per epoch, to a candidate whose log
//     is at least as up to date (last epoch, then end offset). A Vote in a
//     newer epoch moves the voter there without restarting its election
//     timer, so a candidate with a stale log cannot hold off the others
//     forever. A majority makes a leader; it appends a LeaderChange control
//     entry and tells the voters with BeginQuorumEpoch.
//   - Followers pull: Fetch for __cluster_metadata partition 0 with the
//     fetch offset (their log end) and the last fetched epoch. The leader
//     answers entries, a DivergingEpoch (the follower truncates to where
//     the logs part and fetches again) or the id of a snapshot to download
//     (FetchSnapshot, in SnapshotChunkBytes chunks, checked by CRC and made
//     durable before it is installed). Fetches that find nothing wait up
//     to FetchMaxWaitMs at the leader, which answers them as soon as new
//     entries are appended or the high watermark moves.
//   - Durability: a follower fsyncs before each fetch, so the offset a
//     fetch reports is durable; the leader counts its own fsynced end. The
//     high watermark is the largest offset a majority holds durably, and
//     it moves only once an entry of the leader's epoch is below it. So a
//     committed entry survives any crash of a minority, torn writes
//     included.
//   - Check quorum: a leader that has not heard fetches from a majority
//     for 1.5 × FetchTimeoutMs resigns. A leader stopped gracefully, or
//     one that resigns, sends EndQuorumEpoch naming its preferred
//     successors (most caught up first); the first stands at once.
//   - A node whose metadata log fails (an fsync error, after which Kafka
//     takes the log directory offline) halts and boots again from disk
//     after RebootBackoffMs, restoring its state machine from scratch.
//     Every boot first fsyncs every file and directory under Dir: after a
//     failure without a crash the page cache may hold writes and renames
//     that never became durable, and a vote or a log start read back from
//     them must not be acted on.
//
// # Wire usage and deviations from Kafka's KRaft
//
//   - Versions sent: Fetch v18 (topic id 0…01, ReplicaState, and the
//     follower's high watermark of KIP-1166, which lets the leader answer
//     a parked fetch at once when the follower's watermark is stale),
//     Vote v1, BeginQuorumEpoch v1, EndQuorumEpoch v1, FetchSnapshot v0.
//     Served: Fetch v13–18, Vote v0–1, BeginQuorumEpoch v0–1,
//     EndQuorumEpoch v0–1, DescribeQuorum v0–2, FetchSnapshot v0–1.
//     With Config.Serve set (the controller, broker/controller), the
//     listener decodes every other key at every version kmsg knows and
//     offers it to Serve; a request neither serves closes its connection.
//   - No pre-vote (KIP-996; Vote v2 is not served): a partitioned node
//     that comes back with a higher epoch forces one more election.
//   - Static voters only: no KIP-853 reconfiguration, directory ids are
//     zero, the voters' endpoints are Config.Voters (the *Endpoints fields
//     are left empty), and LeaderChange lists every voter as granting.
//   - The cluster id is checked on every request that carries one (a
//     request naming another cluster gets INCONSISTENT_CLUSTER_ID);
//     requests naming none pass. Voter ids in Vote and BeginQuorumEpoch
//     (v1) must name this node (INCONSISTENT_VOTER_SET otherwise).
//   - Fetches from non-voters (observers, such as brokers following the
//     metadata log) are served but not counted; Fetch's session and rack
//     fields are ignored; no request is throttled.
//   - Answers on a controller connection may come out of order (matched
//     by correlation id), where Kafka serves one request per connection at
//     a time: a Vote is answered while the same peer's fetch is parked.
//   - A snapshot file is gregor's own format (header, the state machine's
//     bytes, CRC32C), not Kafka's record-batch snapshot with
//     SnapshotHeader/Footer control records; FetchSnapshot carries its
//     bytes unchanged.
//   - Entries are record batches with one record per proposal (value =
//     data), as Kafka's BatchAccumulator builds them; control batches are
//     never given to the state machine.
//   - A leader applies, and completes proposals, from committed entries
//     only; it does not support linearizable reads beyond that.
//
// Owns: the metadata quorum's Raft (elections, replication, commitment,
// snapshots, the controller listener) and Monitor, the safety checks
// (K1) that tests and the cluster checker feed with what nodes report.
//
// Must not import: sim (its tests do), workloads, checker, bench, and
// the broker package itself (the broker embeds the quorum; framing comes
// from broker/wire). It obeys the determinism rules checked by
// internal/detcheck.
package quorum
