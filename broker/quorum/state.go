package quorum

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// The quorum state file is KRaft's quorum-state: the epoch, the vote cast
// in it and the leader known for it. Raft's safety rests on it: a voter
// that forgot its vote could vote twice in one epoch, and a node that
// forgot its epoch could go back to an older one. So the node acts on a
// new epoch or vote (answers a Vote, sends Fetch or Vote requests in the
// epoch) only once the file saying so is durable.
//
// It is replaced atomically: a temporary file is written and fsynced,
// renamed over the old one, and the directory fsynced. A crash leaves the
// old or the new version, never a mix.

const stateFileName = "quorum-state"

// electionState is the content of the file, with Kafka's field names.
type electionState struct {
	LeaderID    int32   `json:"leaderId"`
	LeaderEpoch int32   `json:"leaderEpoch"`
	VotedID     int32   `json:"votedId"`
	Voters      []int32 `json:"currentVoters"`
	DataVersion int     `json:"data_version"`
}

// stateStore writes electionState snapshots one at a time. Each change
// gets a sequence number; waiters run once a write covering their number
// is durable, in the order they were registered.
type stateStore struct {
	n       *Node
	path    string
	dir     string
	seq     uint64 // the latest change
	durable uint64 // the latest change known durable
	writing bool
	waiters []stateWaiter
}

type stateWaiter struct {
	seq uint64
	fn  func()
}

func newStateStore(n *Node) *stateStore {
	return &stateStore{n: n, dir: n.cfg.Dir, path: n.cfg.Dir + "/" + stateFileName}
}

// load reads the file; a missing file is a node that never voted.
func (s *stateStore) load() (electionState, error) {
	fresh := electionState{LeaderID: -1, VotedID: -1}
	f, err := s.n.e.FS().Open(s.path)
	if errors.Is(err, env.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return fresh, err
	}
	defer f.Close()
	buf := make([]byte, f.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return fresh, err
	}
	var st electionState
	if err := json.Unmarshal(buf, &st); err != nil {
		return fresh, fmt.Errorf("quorum state file %s: %w", s.path, err)
	}
	if st.LeaderEpoch < 0 {
		return fresh, fmt.Errorf("quorum state file %s: negative epoch %d", s.path, st.LeaderEpoch)
	}
	return st, nil
}

// changed notes that the node's election state changed and starts (or
// queues) a write of it.
func (s *stateStore) changed() {
	s.seq++
	if !s.writing {
		s.write()
	}
}

// whenDurable runs fn once the state as it is now is durable: at once if
// it is already. Past DurableWaitersMax the action is dropped (it is an
// answer or a request the peer will time out and retry).
func (s *stateStore) whenDurable(fn func()) {
	if s.durable >= s.seq {
		fn()
		return
	}
	if len(s.waiters) >= s.n.cfg.DurableWaitersMax {
		s.n.log.Warn("too many actions waiting for the quorum state fsync; dropping one")
		return
	}
	s.waiters = append(s.waiters, stateWaiter{seq: s.seq, fn: fn})
}

func (s *stateStore) write() {
	s.writing = true
	seq := s.seq
	data, err := json.Marshal(s.n.electionState())
	assert.Thatf(err == nil, "quorum: encoding election state: %v", err)
	inc := s.n.inc
	s.writeFile(data, func(err error) {
		if s.n.inc != inc {
			return // the node rebooted; the new incarnation has its own store
		}
		s.writing = false
		if err != nil {
			s.n.log.Warn("writing the quorum state failed; retrying", "err", err)
			s.writing = true
			s.n.after(time.Duration(s.n.cfg.RetryBackoffMs)*time.Millisecond, s.write)
			return
		}
		s.durable = max(s.durable, seq)
		s.runWaiters()
		if s.seq > s.durable && !s.writing {
			s.write()
		}
	})
}

func (s *stateStore) runWaiters() {
	n := 0
	for n < len(s.waiters) && s.waiters[n].seq <= s.durable {
		n++
	}
	ready := s.waiters[:n:n]
	s.waiters = append([]stateWaiter(nil), s.waiters[n:]...)
	for _, w := range ready {
		w.fn()
	}
}

// writeFile replaces the file with data: temporary file, fsync, rename,
// directory fsync.
func (s *stateStore) writeFile(data []byte, done func(error)) {
	fs := s.n.e.FS()
	tmp := s.path + ".tmp"
	if err := fs.Remove(tmp); err != nil && !errors.Is(err, env.ErrNotExist) {
		s.n.failLater(done, err)
		return
	}
	f, err := fs.Create(tmp)
	if err != nil {
		s.n.failLater(done, err)
		return
	}
	if _, err := f.Append(data); err != nil {
		f.Close()
		s.n.failLater(done, err)
		return
	}
	f.Sync(func(err error) {
		f.Close()
		if err != nil {
			done(err)
			return
		}
		if err := fs.Rename(tmp, s.path); err != nil {
			done(err)
			return
		}
		fs.SyncDir(s.dir, done)
	})
}
