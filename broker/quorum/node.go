package quorum

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/broker/storage"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// StateMachine is the application the quorum replicates. The node calls
// it from its single thread, never concurrently.
type StateMachine interface {
	// Apply applies one committed entry. Entries come in offset order,
	// each once per incarnation of the node; offsets may skip the quorum's
	// own control entries. data is the application's copy.
	Apply(offset int64, epoch int32, data []byte)
	// Snapshot returns the state after every entry applied so far. The
	// node writes it durably and then deletes the log below it.
	Snapshot() []byte
	// Restore replaces the whole state with a snapshot's: the state after
	// every entry below offset. It is called once at every start (with
	// offset 0 and nil data when there is no snapshot, meaning "empty")
	// before any Apply, and when a snapshot is installed from the leader.
	Restore(offset int64, data []byte)
}

// Node is one voter of the metadata quorum. It is an env.Process: run it
// as a node's process, or embed it in one (the broker's) by calling Start
// and Stop from the host process's own.
type Node struct {
	cfg      Config
	sm       StateMachine
	ids      []int32 // voter ids, increasing
	majority int

	e     env.Env
	log   *slog.Logger
	clock env.Clock

	// inc numbers this process's incarnations of the node: a reboot after
	// a log failure, or a stop, moves it on, and every callback armed
	// before checks it and does nothing.
	inc      uint64
	running  bool // booted, serving, not stopped
	stopping bool

	store *stateStore
	snaps *snapshotStore
	mlog  *storage.Log
	tr    *transport

	// The election state; durable once store says so.
	epoch    int32
	leaderID int32
	votedID  int32
	role     role
	// roleGen moves on at every transition; role timers and requests
	// check it, so nothing of an old role runs in a new one.
	roleGen uint64

	// electionAt is when the node stands for election unless something
	// happens first (monotonic clock).
	electionAt time.Duration

	hw           int64 // high watermark: entries below it are committed
	applied      int64 // next offset to apply
	appliedEpoch int32 // epoch of the entry below applied
	applying     bool
	// snapAppliedAt is the applied offset of the last snapshot, for the
	// SnapshotEveryEntries trigger.
	snapAppliedAt int64

	listeners []func(id, epoch int32)
	stats     Stats
}

// New checks cfg and returns a node that does nothing until Start.
func New(cfg Config, sm StateMachine) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if sm == nil {
		return nil, errors.New("quorum: nil StateMachine")
	}
	ids := sortedIDs(cfg.Voters)
	return &Node{cfg: cfg, sm: sm, ids: ids, majority: len(ids)/2 + 1, epoch: 0, leaderID: -1, votedID: -1}, nil
}

// Start recovers the node from its disk (quorum state, snapshot, log),
// restores the state machine, listens on the controller port and joins
// the quorum.
func (n *Node) Start(e env.Env) {
	n.e, n.clock = e, e.Clock()
	n.log = e.Log().With("quorum", n.cfg.NodeID)
	n.boot()
}

// Stop leaves the quorum gracefully: a leader resigns (EndQuorumEpoch to
// the other voters, so they elect a successor without waiting for a
// timeout), then the log is flushed and closed, and done is called.
func (n *Node) Stop(done func()) {
	if n.stopping {
		return
	}
	n.stopping = true
	if !n.running {
		n.inc++
		n.closeStorage()
		done()
		return
	}
	if l, ok := n.role.(*leader); ok {
		l.sendEndQuorumEpoch()
	}
	n.halt(ErrStopped)
	l := n.mlog
	l.Flush(func(err error) {
		if err != nil {
			n.log.Warn("final flush failed", "err", err)
		}
		l.Checkpoint(func(error) {
			n.closeStorage()
			done()
		})
	})
}

// boot makes everything on disk durable, recovers from it and enters the
// role the quorum state file says; on an error it tries again after
// RebootBackoffMs.
//
// The fsync of every file comes first because the node also boots after
// its log failed, without a crash: the page cache may then hold writes,
// renames and removals that never became durable (a failed fsync leaves
// them pending), and acting on them (a vote read back from an unsynced
// state file, a log start moved past an unsynced snapshot) would break
// promises a later crash takes back. PostgreSQL fsyncs its data directory
// at startup for the same reason.
func (n *Node) boot() {
	n.inc++
	inc := n.inc
	n.syncAll(func(err error) {
		if n.inc != inc || n.stopping {
			return
		}
		var st electionState
		if err == nil {
			st, err = n.recover()
		}
		if err == nil {
			n.tr = newTransport(n)
			err = n.tr.start()
		}
		if err != nil {
			n.bootFailed(err)
			return
		}
		n.running = true
		n.enterInitialRole(st)
	})
}

func (n *Node) bootFailed(err error) {
	n.log.Warn("starting the quorum node failed; retrying", "err", err)
	if n.tr != nil {
		n.tr.close()
		n.tr = nil
	}
	n.closeStorage()
	inc := n.inc
	n.clock.AfterFunc(n.ms(n.cfg.RebootBackoffMs), func() {
		if n.inc == inc && !n.stopping {
			n.boot()
		}
	})
}

// syncAll fsyncs every file under Dir, then every directory, and calls
// done from a callback of its own.
func (n *Node) syncAll(done func(error)) {
	fs := n.e.FS()
	var files, dirs []string
	for stack := []string{n.cfg.Dir}; len(stack) > 0; {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		names, err := fs.List(dir)
		if errors.Is(err, env.ErrNotExist) {
			continue
		}
		if err != nil {
			n.failLater(done, err)
			return
		}
		dirs = append(dirs, dir)
		for _, name := range names {
			if sub, ok := strings.CutSuffix(name, "/"); ok {
				stack = append(stack, dir+"/"+sub)
			} else {
				files = append(files, dir+"/"+name)
			}
		}
	}
	n.syncEach(files, false, func(err error) {
		if err != nil {
			done(err)
			return
		}
		n.syncEach(dirs, true, done)
	})
}

// syncEach fsyncs the files (or directories) at paths together and calls
// done, from a callback of its own, with the first error once all are
// done.
func (n *Node) syncEach(paths []string, dirs bool, done func(error)) {
	fs := n.e.FS()
	pending := len(paths) + 1
	var first error
	one := func(err error) {
		if err != nil && first == nil {
			first = err
		}
		pending--
		if pending == 0 {
			done(first)
		}
	}
	for _, p := range paths {
		if dirs {
			fs.SyncDir(p, one)
			continue
		}
		f, err := fs.Open(p)
		if err != nil {
			n.failLater(one, err)
			continue
		}
		f.Sync(func(err error) {
			f.Close()
			one(err)
		})
	}
	n.failLater(one, nil)
}

// recover loads the quorum state, the newest snapshot and the log,
// reconciles them and restores the state machine.
func (n *Node) recover() (electionState, error) {
	n.store, n.snaps = newStateStore(n), newSnapshotStore(n)
	st, err := n.store.load()
	if err != nil {
		return st, err
	}
	data, sid, hasSnap, err := n.snaps.load()
	if err != nil {
		return st, err
	}
	l, err := storage.Open(n.e.FS(), n.clock, n.log, n.cfg.Dir+"/"+logDirName, n.storageConfig())
	if err != nil {
		return st, err
	}
	n.mlog = l
	if err := n.reconcile(sid, hasSnap); err != nil {
		return st, err
	}
	inc := n.inc
	l.OnFlushed(func(int64) {
		if n.inc == inc && n.running {
			n.onFlushed()
		}
	})
	start := max(l.StartOffset(), sid.End)
	n.sm.Restore(sid.End, data)
	n.applied, n.appliedEpoch, n.hw, n.snapAppliedAt = start, sid.Epoch, start, start
	n.epoch, n.leaderID, n.votedID = st.LeaderEpoch, st.LeaderID, st.VotedID
	n.log.Info("recovered", "epoch", st.LeaderEpoch, "leader", st.LeaderID, "voted", st.VotedID,
		"log_start", l.StartOffset(), "log_end", l.EndOffset(), "snapshot", sid.End)
	return st, nil
}

// reconcile makes the log start where the newest snapshot ends. The
// snapshot is written durably before the log start moves, so a crash can
// leave a log reaching below the snapshot (trimmed here), or, on a
// follower that installed a snapshot, an old log that does not hold the
// snapshot's last entry (replaced by an empty log at its end).
func (n *Node) reconcile(sid snapshotID, hasSnap bool) error {
	l := n.mlog
	switch {
	case !hasSnap && l.StartOffset() > 0:
		return fmt.Errorf("quorum: the log starts at %d but no snapshot covers what is below", l.StartOffset())
	case !hasSnap || l.StartOffset() == sid.End:
		return nil
	case l.StartOffset() > sid.End:
		return fmt.Errorf("quorum: the log starts at %d, past the newest snapshot %v", l.StartOffset(), sid)
	case l.EndOffset() < sid.End:
		return l.TruncateFullyAndStartAt(sid.End)
	}
	epoch, err := epochOf(l, sid.End-1)
	if err != nil {
		return err
	}
	if epoch != sid.Epoch {
		n.log.Info("the log does not hold the snapshot's last entry; replacing it", "snapshot", sid.End, "epoch", epoch)
		return l.TruncateFullyAndStartAt(sid.End)
	}
	return l.DeleteRecordsBefore(sid.End)
}

// epochOf is the epoch of the entry at offset, read from its batch (the
// epoch cache may have been moved past it already, when a crash lost the
// log start checkpoint that a snapshot had moved).
func epochOf(l *storage.Log, offset int64) (int32, error) {
	data, err := l.Read(offset, 1, true)
	if err != nil {
		return -1, err
	}
	h, err := records.ParseHeader(data)
	if err != nil {
		return -1, err
	}
	return h.PartitionLeaderEpoch, nil
}

func (n *Node) enterInitialRole(st electionState) {
	self := n.cfg.NodeID
	switch {
	case st.LeaderID == self:
		// Our unflushed entries may be gone: never resume leadership.
		n.becomeResigned()
	case st.LeaderID >= 0 && n.isVoter(st.LeaderID):
		n.becomeFollower(st.LeaderEpoch, st.LeaderID)
	case st.VotedID >= 0:
		n.becomeVoted(st.LeaderEpoch, st.VotedID)
	default:
		n.becomeUnattached(st.LeaderEpoch)
	}
}

// halt ends the running incarnation: the role's work is failed with
// reason, connections close. Storage stays open for the caller.
func (n *Node) halt(reason error) {
	if n.role != nil {
		n.role.leave(reason)
		n.role = nil
		n.roleGen++
	}
	n.running = false
	if n.tr != nil {
		n.tr.close()
	}
	if n.leaderID >= 0 {
		n.notifyLeader(-1, n.epoch)
	}
	n.inc++
}

// fatal handles a failed log, as Kafka takes the log directory offline:
// the node halts and boots again from disk after RebootBackoffMs.
func (n *Node) fatal(err error) {
	if !n.running {
		return
	}
	n.log.Error("metadata log failed; restarting the quorum node", "err", err)
	n.stats.Reboots++
	n.halt(ErrStopped)
	n.closeStorage()
	inc := n.inc
	n.clock.AfterFunc(n.ms(n.cfg.RebootBackoffMs), func() {
		if n.inc == inc && !n.stopping {
			n.boot()
		}
	})
}

func (n *Node) closeStorage() {
	if n.mlog != nil {
		if err := n.mlog.Close(); err != nil && !errors.Is(err, env.ErrClosed) {
			n.log.Warn("closing the metadata log", "err", err)
		}
		n.mlog = nil
	}
	if n.snaps != nil {
		n.snaps.close()
	}
}

// ---- transitions ----

// role is the node's state in the current epoch; each has its own file.
type role interface {
	kind() StateKind
	// leave stops the role's timers and fails its pending work with
	// reason; the node is entering another role.
	leave(reason error)
}

// transition leaves the current role for r with the given election state,
// which is persisted if it changed. The caller then runs r's entry.
func (n *Node) transition(r role, epoch, leaderID, votedID int32) {
	assert.Thatf(epoch >= n.epoch, "quorum %d: epoch going back from %d to %d", n.cfg.NodeID, n.epoch, epoch)
	if n.role != nil {
		n.role.leave(ErrLeaderChanged)
	}
	n.roleGen++
	changed := epoch != n.epoch || leaderID != n.leaderID || votedID != n.votedID
	oldLeader, oldEpoch := n.leaderID, n.epoch
	n.epoch, n.leaderID, n.votedID, n.role = epoch, leaderID, votedID, r
	if changed {
		n.store.changed()
	}
	n.log.Info("transition", "state", r.kind().String(), "epoch", epoch, "leader", leaderID, "voted", votedID)
	if oldLeader != leaderID || oldEpoch != epoch {
		n.notifyLeader(leaderID, epoch)
	}
	n.checkInvariants()
}

// observe acts on a leader and epoch learned from any message: a newer
// epoch moves the node there (following its leader if one is named), and
// a leader named for the current epoch ends an election in it. It reports
// whether the node changed state.
func (n *Node) observe(leaderID, epoch int32) bool {
	self := n.cfg.NodeID
	known := leaderID >= 0 && leaderID != self && n.isVoter(leaderID)
	switch {
	case epoch > n.epoch && known:
		n.becomeFollower(epoch, leaderID)
	case epoch > n.epoch:
		n.becomeUnattached(epoch)
	case epoch == n.epoch && known && n.leaderID < 0:
		n.becomeFollower(epoch, leaderID)
	default:
		if epoch == n.epoch && known && n.leaderID != leaderID {
			assert.Thatf(false, "quorum %d: epoch %d has two leaders, %d and %d", self, epoch, n.leaderID, leaderID)
		}
		return false
	}
	return true
}

// notifyLeader tells the listeners, each from a callback of its own so
// that a listener may call into the node (Propose) once the transition is
// complete. A stopped node tells no one.
func (n *Node) notifyLeader(id, epoch int32) {
	for _, fn := range n.listeners {
		n.clock.AfterFunc(0, func() {
			if !n.stopping {
				fn(id, epoch)
			}
		})
	}
}

// ---- helpers ----

func (n *Node) isVoter(id int32) bool {
	_, ok := n.cfg.Voters[id]
	return ok
}

func (n *Node) ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// after arms a timer whose function runs only if this incarnation still
// runs then.
func (n *Node) after(d time.Duration, f func()) env.Timer {
	inc := n.inc
	return n.clock.AfterFunc(d, func() {
		if n.inc == inc && n.running {
			f()
		}
	})
}

// failLater calls done(err) from a callback of its own, never on the
// caller's stack, in this incarnation only.
func (n *Node) failLater(done func(error), err error) {
	inc := n.inc
	n.clock.AfterFunc(0, func() {
		if n.inc == inc {
			done(err)
		}
	})
}

// electionTimeout draws a wait from [ElectionTimeoutMs, 2×ElectionTimeoutMs).
func (n *Node) electionTimeout() time.Duration {
	base := n.cfg.ElectionTimeoutMs
	return n.ms(base + n.e.Rand().Int64N(base))
}

// armElection arms tm to stand for election after d, and notes when.
func (n *Node) armElection(tm *timer, d time.Duration) {
	n.electionAt = n.clock.Mono() + d
	n.arm(tm, d, n.becomeCandidate)
}

// timer is a role's timer slot: re-arming replaces the previous timer.
type timer struct{ t env.Timer }

// arm sets tm to run f after d, if the node is still in the role it is in
// now.
func (n *Node) arm(tm *timer, d time.Duration, f func()) {
	tm.stop()
	gen := n.roleGen
	tm.t = n.after(d, func() {
		if n.roleGen == gen {
			f()
		}
	})
}

func (tm *timer) stop() {
	if tm.t != nil {
		tm.t.Stop()
		tm.t = nil
	}
}

// inRole wraps a callback so it runs only while the node stays in the
// role it is in now (same incarnation, no transition since).
func (n *Node) inRole(f func()) func() {
	gen, inc := n.roleGen, n.inc
	return func() {
		if n.inc == inc && n.running && n.roleGen == gen {
			f()
		}
	}
}

// electionState is what the quorum state file holds now.
func (n *Node) electionState() electionState {
	return electionState{LeaderID: n.leaderID, LeaderEpoch: n.epoch, VotedID: n.votedID, Voters: n.ids}
}

// inRoleResp is inRole for a response callback.
func (n *Node) inRoleResp(f func(kmsg.Response, error)) func(kmsg.Response, error) {
	gen, inc := n.roleGen, n.inc
	return func(resp kmsg.Response, err error) {
		if n.inc == inc && n.running && n.roleGen == gen {
			f(resp, err)
		}
	}
}

// inRoleErr is inRole for a completion callback.
func (n *Node) inRoleErr(f func(error)) func(error) {
	gen, inc := n.roleGen, n.inc
	return func(err error) {
		if n.inc == inc && n.running && n.roleGen == gen {
			f(err)
		}
	}
}

// voterIndex is id's position in ids, -1 for a non-voter.
func (n *Node) voterIndex(id int32) int {
	i, ok := slices.BinarySearch(n.ids, id)
	if !ok {
		return -1
	}
	return i
}

// checkInvariants asserts what holds between callbacks: the role agrees
// with the election state, and the offsets are in order. The walk over a
// leader's pending proposals runs under the invariants build tag only.
func (n *Node) checkInvariants() {
	if !n.running || n.role == nil {
		return
	}
	self, k := n.cfg.NodeID, n.role.kind()
	ok := k == Leader && n.leaderID == self || k == Resigned && n.leaderID == self ||
		k == Follower && n.leaderID >= 0 && n.leaderID != self ||
		k == Candidate && n.leaderID < 0 && n.votedID == self ||
		k == Voted && n.leaderID < 0 && n.votedID >= 0 || k == Unattached && n.leaderID < 0 && n.votedID < 0
	if !ok {
		assert.Thatf(false, "quorum %d: %s with leader %d and vote %d", self, k, n.leaderID, n.votedID)
	}
	l := n.mlog
	if !(l.StartOffset() <= n.applied && n.applied <= n.hw && n.hw <= l.EndOffset() && l.RecoveryPoint() <= l.EndOffset()) {
		assert.Thatf(false, "quorum %d: want log start %d <= applied %d <= hw %d <= log end %d, flushed %d",
			self, l.StartOffset(), n.applied, n.hw, l.EndOffset(), l.RecoveryPoint())
	}
	if r, leading := n.role.(*leader); leading && assert.Enabled {
		r.checkInvariants()
	}
}
