package quorum

// StateKind is a node's state in its epoch (KRaft's QuorumState).
type StateKind uint8

const (
	// Down: not running (before Start, after Stop, while rebooting).
	Down StateKind = iota
	// Unattached: the epoch has no known leader and this node voted for
	// no one in it.
	Unattached
	// Voted: this node voted for a candidate in the epoch.
	Voted
	// Candidate: this node stands for election in the epoch.
	Candidate
	// Leader: this node won the epoch's election.
	Leader
	// Follower: the epoch's leader is known; this node fetches from it.
	Follower
	// Resigned: this node led the epoch and gave up (a stop, a check-quorum
	// failure, a restart); it waits for the next election.
	Resigned
)

func (k StateKind) String() string {
	return [...]string{"down", "unattached", "voted", "candidate", "leader", "follower", "resigned"}[k]
}

// Status is a node's view of the quorum, for monitors and DescribeQuorum.
type Status struct {
	NodeID   int32
	State    StateKind
	Epoch    int32
	LeaderID int32 // -1 when unknown
	VotedID  int32 // -1 when none
	// Offsets of the metadata log: the first held, the end (LEO), the end
	// known durable, the high watermark (commit point) and the next offset
	// to apply.
	LogStartOffset int64
	LogEndOffset   int64
	FlushedOffset  int64
	HighWatermark  int64
	AppliedOffset  int64
	// Snapshot is the newest snapshot's end offset and epoch; End 0 when
	// there is none.
	SnapshotEndOffset int64
	SnapshotEpoch     int32
	// Voters is, on the leader, what each voter last fetched.
	Voters []VoterStatus
	Stats  Stats

	_ struct{} // disallow positional literals
}

// VoterStatus is a voter's replication state as the leader sees it.
type VoterStatus struct {
	ID int32
	// EndOffset is the offset the voter last fetched from (its durable log
	// end), -1 before it fetched in this epoch.
	EndOffset int64
	// LastFetchAgoMs is how long ago its last fetch came, -1 if none.
	LastFetchAgoMs int64
}

// Stats count events since the node was created.
type Stats struct {
	Elections          int64 // times this node stood as candidate
	EpochsLed          int64 // times it became leader
	Truncations        int64 // log truncations after a diverging epoch
	SnapshotsTaken     int64
	SnapshotsInstalled int64 // snapshots downloaded from a leader
	Reboots            int64 // restarts after a log failure
}

// Status reports the node's state now.
func (n *Node) Status() Status {
	s := Status{NodeID: n.cfg.NodeID, Epoch: n.epoch, LeaderID: n.leaderID, VotedID: n.votedID, Stats: n.stats}
	if !n.running || n.role == nil {
		return s
	}
	s.State = n.role.kind()
	s.LogStartOffset, s.LogEndOffset, s.FlushedOffset = n.mlog.StartOffset(), n.mlog.EndOffset(), n.mlog.RecoveryPoint()
	s.HighWatermark, s.AppliedOffset = n.hw, n.applied
	if id, ok := n.snaps.latest(); ok {
		s.SnapshotEndOffset, s.SnapshotEpoch = id.End, id.Epoch
	}
	if l, ok := n.role.(*leader); ok {
		s.Voters = l.voterStatus()
	}
	return s
}

// Leader reports the leader this node knows of in its epoch; ok is false
// when it knows none (or is not running).
func (n *Node) Leader() (id int32, epoch int32, ok bool) {
	if !n.running || n.leaderID < 0 {
		return -1, n.epoch, false
	}
	if n.leaderID == n.cfg.NodeID {
		if _, leading := n.role.(*leader); !leading {
			return -1, n.epoch, false // resigned
		}
	}
	return n.leaderID, n.epoch, true
}

// OnLeaderChange registers fn, called (from a callback of its own) each
// time the known leader or epoch changes, with id -1 when no leader is
// known.
func (n *Node) OnLeaderChange(fn func(id, epoch int32)) {
	n.listeners = append(n.listeners, fn)
}
