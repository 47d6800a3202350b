package real

import (
	"errors"
	"sync"
)

// syncer runs fsyncs of one file or directory off the loop, one at a
// time, and posts their completions back. Syncs requested while one runs
// are coalesced into the next: every write issued before a Sync call
// happened before that fsync started, so one fsync covers them all. A
// syncer has a goroutine only while it has work.
type syncer struct {
	r     *Runtime
	fsync func() error

	mu      sync.Mutex
	waiting []func(error)
	running bool
	onIdle  func() // run once when the queue is empty (a deferred close)
}

func newSyncer(r *Runtime, fsync func() error) *syncer {
	return &syncer{r: r, fsync: fsync}
}

var errSyncStopped = errors.New("runtime stopped before the sync ran")

// sync queues done for the next fsync. Loop only.
func (s *syncer) sync(done func(error)) {
	s.mu.Lock()
	s.waiting = append(s.waiting, done)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start && !s.r.spawn(s.work) {
		// Shutting down: no callback runs any more, so done is dropped.
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}
}

// deferIfBusy arranges for f to run after the last pending fsync and
// reports true, or reports false if nothing is pending (the caller runs f
// itself). Loop only: no sync can start between the check and the call.
func (s *syncer) deferIfBusy(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		s.onIdle = f
	}
	return s.running
}

func (s *syncer) work() {
	for {
		s.mu.Lock()
		batch := s.waiting
		s.waiting = nil
		if len(batch) == 0 {
			s.running = false
			idle := s.onIdle
			s.onIdle = nil
			s.mu.Unlock()
			if idle != nil {
				idle()
			}
			return
		}
		s.mu.Unlock()
		err := s.r.syncSlot(s.fsync)
		s.r.post(func() {
			for _, done := range batch {
				done(err)
			}
		})
	}
}

// syncSlot runs fsync within the bound on concurrent fsyncs.
func (r *Runtime) syncSlot(fsync func() error) error {
	select {
	case r.syncSlots <- struct{}{}:
	case <-r.stopped:
		return errSyncStopped
	}
	defer func() { <-r.syncSlots }()
	return fsync()
}
