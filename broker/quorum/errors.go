package quorum

import (
	"errors"
	"fmt"
)

// Errors Propose reports. Test with errors.Is.
var (
	// ErrNotLeader: this node is not the leader. The error is a
	// *NotLeaderError carrying the leader it knows of.
	ErrNotLeader = errors.New("quorum: not the leader")
	// ErrLeaderChanged: the node stopped being leader after the entry was
	// appended and before it committed. The outcome is ambiguous: the next
	// leader may or may not commit the entry.
	ErrLeaderChanged = errors.New("quorum: leadership lost before commit (outcome unknown)")
	// ErrBusy: ProposalsPendingMax proposals are waiting already.
	ErrBusy = errors.New("quorum: too many pending proposals")
	// ErrTooLarge: the entry exceeds EntryBytesMax.
	ErrTooLarge = errors.New("quorum: entry too large")
	// ErrStopped: the node stopped (or restarted itself) before the entry
	// committed; like ErrLeaderChanged, the outcome is unknown if it had
	// been appended.
	ErrStopped = errors.New("quorum: node stopped")
	// ErrAppend: the leader could not write the entry to its log (a disk
	// error); the entry was not appended.
	ErrAppend = errors.New("quorum: append failed")
)

// NotLeaderError is ErrNotLeader with the leader this node knows of, as a
// hint for where to propose instead.
type NotLeaderError struct {
	// LeaderID is the known leader, -1 if none is known.
	LeaderID int32
	// Epoch is this node's current epoch.
	Epoch int32
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID < 0 {
		return fmt.Sprintf("%v (epoch %d, leader unknown)", ErrNotLeader, e.Epoch)
	}
	return fmt.Sprintf("%v (epoch %d, leader %d)", ErrNotLeader, e.Epoch, e.LeaderID)
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Transport errors, internal: a request that got no answer.
var (
	errBusy       = errors.New("quorum: too many requests in flight to peer")
	errTimeout    = errors.New("quorum: request timed out")
	errConnLost   = errors.New("quorum: connection lost")
	errBadMessage = errors.New("quorum: malformed message")
)
