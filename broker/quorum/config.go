package quorum

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config is what a quorum node is built with. Names follow KRaft's
// controller.quorum.* settings where one exists, with units last. Every
// queue and table the node keeps has its bound here, checked by New.
type Config struct {
	// NodeID is this node's id (node.id); it must be one of Voters.
	NodeID int32
	// Voters maps every voter's id to its controller listener address,
	// "host:port" (controller.quorum.voters). The set is static: KIP-853
	// reconfiguration is not implemented.
	Voters map[int32]string
	// ClusterID is sent in every request and checked in every request
	// received; "" turns the check off.
	ClusterID string
	// Port is the controller listener's port in the node's network (0:
	// the runtime picks one; only for a quorum of one)
	// (default 9093).
	Port int
	// Dir is the directory in the node's env.FS holding the quorum state
	// file, the metadata log and its snapshots (default "quorum").
	Dir string

	// ElectionTimeoutMs is the base election timeout; each wait is drawn
	// from [ElectionTimeoutMs, 2×ElectionTimeoutMs) with env.Rand
	// (controller.quorum.election.timeout.ms, default 1000).
	ElectionTimeoutMs int64
	// ElectionBackoffMaxMs bounds the random wait before a candidate whose
	// vote was rejected, or a voter told that the leader resigned, stands
	// (controller.quorum.election.backoff.max.ms, default 1000).
	ElectionBackoffMaxMs int64
	// FetchTimeoutMs is how long a follower goes without a successful
	// fetch before it stands for election; a leader that has not heard
	// from a majority in 1.5× this resigns (check quorum)
	// (controller.quorum.fetch.timeout.ms, default 2000).
	FetchTimeoutMs int64
	// FetchMaxWaitMs is how long the leader holds a fetch that finds no
	// new data (default 500): long polls carry new entries and high
	// watermarks to followers as soon as they exist.
	FetchMaxWaitMs int64
	// RequestTimeoutMs bounds every request to a peer (a fetch gets its
	// FetchMaxWaitMs on top) (controller.quorum.request.timeout.ms,
	// default 2000).
	RequestTimeoutMs int64
	// RetryBackoffMs is the wait before retrying a failed request, and the
	// first reconnect backoff (controller.quorum.retry.backoff.ms,
	// default 20).
	RetryBackoffMs int64
	// ReconnectBackoffMaxMs caps the exponential reconnect backoff
	// (default 1000).
	ReconnectBackoffMaxMs int64
	// RebootBackoffMs is the wait before the node restarts itself after
	// its log failed (an fsync error, which Kafka answers by taking the
	// log directory offline) (default 1000).
	RebootBackoffMs int64
	// LingerMs is how long the leader gathers proposals into one batch
	// (controller.quorum.append.linger.ms; default 0: the batch closes at
	// the end of the current callback).
	LingerMs int64

	// SnapshotEveryEntries asks the state machine for a snapshot once
	// this many offsets were applied since the last one; 0 never asks
	// (metadata.log.max.record.bytes.between.snapshots, counted in
	// entries; default 20000).
	SnapshotEveryEntries int64
	// SnapshotEveryBytes asks for one once the log holds this many bytes;
	// 0 never asks by size (default 0).
	SnapshotEveryBytes int64
	// SnapshotChunkBytes bounds one FetchSnapshot answer (default 64 KiB).
	SnapshotChunkBytes int32
	// SnapshotBytesMax bounds a snapshot this node writes or downloads
	// (default 64 MiB).
	SnapshotBytesMax int64
	// SegmentBytes is the metadata log's segment size; the log is deleted
	// a segment at a time below a snapshot (default 1 MiB).
	SegmentBytes int64

	// EntryBytesMax bounds one proposal (default 1 MiB).
	EntryBytesMax int
	// BatchEntriesMax bounds the entries of one batch (default 1000).
	BatchEntriesMax int
	// BatchBytesMax bounds one batch (default 8 MiB, at least
	// EntryBytesMax plus overhead).
	BatchBytesMax int32
	// FetchMaxBytes bounds one fetch answer (default 1 MiB; one batch is
	// always sent whole).
	FetchMaxBytes int32
	// ProposalsPendingMax bounds proposals not yet committed; past it
	// Propose fails with ErrBusy (default 10000).
	ProposalsPendingMax int
	// InFlightPerPeerMax bounds requests queued or sent on one peer
	// connection (default 16).
	InFlightPerPeerMax int
	// AcceptedConnsMax bounds connections accepted on the controller
	// listener (default 64).
	AcceptedConnsMax int
	// RequestsPerConnMax bounds the requests one accepted connection may
	// have unanswered (parked fetches, answers waiting for fsync) before
	// it is closed (default 16).
	RequestsPerConnMax int
	// ParkedFetchesMax bounds fetches the leader holds (default 64).
	ParkedFetchesMax int
	// DurableWaitersMax bounds actions waiting for the quorum state file
	// to be fsynced (default 1024).
	DurableWaitersMax int

	// Serve, if set, is offered every request on the controller listener
	// that the quorum does not serve itself (another API key, or a version
	// or partition HandleRequest refuses), so that a controller can answer
	// brokers' requests (BrokerRegistration, BrokerHeartbeat, CreateTopics,
	// …) on the same port, as KRaft's controller listener does. With Serve
	// set, the listener decodes every key and version kmsg knows. Serve
	// reports false for a request it does not serve either (the connection
	// is then closed, as for any unserved request); otherwise it calls
	// respond exactly once, now or later, on the node's loop.
	Serve func(req kmsg.Request, respond func(kmsg.Response)) bool

	// bugs break the protocol on purpose; only this package's tests set
	// them, to show that the swarm and the monitor catch what they must.
	bugs plantedBugs

	_ struct{} // disallow positional literals
}

// plantedBugs are deliberate protocol breaks for the checker's own tests.
type plantedBugs struct {
	// voteAnyLog grants votes without comparing logs, so a candidate
	// missing committed entries can win.
	voteAnyLog bool
	// countUnflushed counts log ends that are not fsynced yet: the
	// leader's own, and followers fetch before their fsync.
	countUnflushed bool
}

// DefaultConfig returns KRaft's defaults for node id with the given voters.
func DefaultConfig(id int32, voters map[int32]string) Config {
	return Config{
		NodeID: id, Voters: voters, Port: 9093, Dir: "quorum",
		ElectionTimeoutMs: 1000, ElectionBackoffMaxMs: 1000, FetchTimeoutMs: 2000,
		FetchMaxWaitMs: 500, RequestTimeoutMs: 2000, RetryBackoffMs: 20,
		ReconnectBackoffMaxMs: 1000, RebootBackoffMs: 1000,
		SnapshotEveryEntries: 20000, SnapshotChunkBytes: 64 << 10, SnapshotBytesMax: 64 << 20,
		SegmentBytes: 1 << 20, EntryBytesMax: 1 << 20, BatchEntriesMax: 1000, BatchBytesMax: 8 << 20,
		FetchMaxBytes: 1 << 20, ProposalsPendingMax: 10000, InFlightPerPeerMax: 16,
		AcceptedConnsMax: 64, RequestsPerConnMax: 16, ParkedFetchesMax: 64, DurableWaitersMax: 1024,
	}
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	_, self := c.Voters[c.NodeID]
	check(len(c.Voters) > 0 && self, "NodeID %d is not among the %d voters", c.NodeID, len(c.Voters))
	for _, id := range sortedIDs(c.Voters) {
		check(id >= 0, "voter id %d is negative", id)
		check(validAddr(c.Voters[id]), "voter %d: address %q is not host:port", id, c.Voters[id])
	}
	// Port 0 lets the runtime choose, which only a quorum of one can
	// afford: nobody else needs to know where it listens.
	check(c.Port > 0 && c.Port <= 65535 || c.Port == 0 && len(c.Voters) == 1, "Port %d out of range", c.Port)
	check(c.Dir != "" && !strings.HasSuffix(c.Dir, "/"), "Dir %q must be a relative path without a trailing slash", c.Dir)
	check(c.ElectionTimeoutMs > 0 && c.FetchTimeoutMs > 0 && c.RequestTimeoutMs > 0, "timeouts must be positive")
	check(c.FetchMaxWaitMs >= 0 && c.FetchMaxWaitMs < c.FetchTimeoutMs, "FetchMaxWaitMs %d must be in [0, FetchTimeoutMs)", c.FetchMaxWaitMs)
	check(c.ElectionBackoffMaxMs > 0 && c.RetryBackoffMs > 0 && c.RebootBackoffMs > 0, "backoffs must be positive")
	check(c.ReconnectBackoffMaxMs >= c.RetryBackoffMs, "ReconnectBackoffMaxMs below RetryBackoffMs")
	check(c.LingerMs >= 0, "LingerMs %d negative", c.LingerMs)
	check(c.SnapshotEveryEntries >= 0 && c.SnapshotEveryBytes >= 0, "snapshot triggers must not be negative")
	check(c.SnapshotChunkBytes > 0 && c.SnapshotBytesMax > 0, "snapshot bounds must be positive")
	check(c.SegmentBytes >= 1<<10, "SegmentBytes %d below 1 KiB", c.SegmentBytes)
	check(c.EntryBytesMax > 0 && c.BatchEntriesMax > 0, "entry bounds must be positive")
	check(int64(c.BatchBytesMax) >= int64(c.EntryBytesMax)+batchOverheadBytes, "BatchBytesMax %d cannot hold one entry of EntryBytesMax", c.BatchBytesMax)
	check(c.FetchMaxBytes > 0, "FetchMaxBytes must be positive")
	check(c.ProposalsPendingMax > 0 && c.InFlightPerPeerMax > 0 && c.AcceptedConnsMax > 0, "queue bounds must be positive")
	check(c.RequestsPerConnMax > 0 && c.ParkedFetchesMax > 0 && c.DurableWaitersMax > 0, "queue bounds must be positive")
	if len(errs) > 0 {
		return fmt.Errorf("quorum: bad config: %w", errors.Join(errs...))
	}
	return nil
}

// batchOverheadBytes is what a one-record batch adds to its value: the
// batch header and the record's framing.
const batchOverheadBytes = 128

func validAddr(addr string) bool {
	host, port, ok := strings.Cut(addr, ":")
	p, err := strconv.Atoi(port)
	return ok && host != "" && err == nil && p > 0 && p <= 65535
}

// sortedIDs lists the voter ids in increasing order: the one order the
// node ever walks its voters in.
func sortedIDs(voters map[int32]string) []int32 {
	ids := make([]int32, 0, len(voters))
	for id := range voters { //gregor:unordered-ok sorted below
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
