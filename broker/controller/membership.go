package controller

import (
	"slices"
	"time"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker membership as in Kafka's KRaft controller (ClusterControlManager,
// BrokerHeartbeatManager): brokers register, heartbeat, are unfenced
// once they have caught up with the metadata log up to their
// registration, are fenced when their session expires, and shut down
// under control.

// session is a broker incarnation's heartbeat state, kept in memory by
// the active controller only.
type session struct {
	epoch int64
	// last is when the broker was last heard of (monotonic clock).
	last time.Duration
	// offset is the metadata offset the broker last reported, -1 before
	// its first heartbeat to this controller.
	offset int64
	// shutdownOffset is where its controlled shutdown was written, -1
	// when it is not shutting down; shutdownNow, once it was told to
	// shut down.
	shutdownOffset int64
	shutdownNow    bool
}

// brokerState is Kafka's BrokerControlState.
type brokerState uint8

const (
	stateFenced brokerState = iota
	stateUnfenced
	stateControlledShutdown
	stateShutdownNow
)

func (s brokerState) fenced() bool { return s == stateFenced || s == stateShutdownNow }

// startSessions gives every registered broker a fresh session, as a new
// active controller does.
func (c *Controller) startSessions() {
	now := c.e.Clock().Mono()
	c.sessions = map[int32]*session{}
	for _, b := range c.image.SortedBrokers() {
		s := &session{epoch: b.Epoch, last: now, offset: -1, shutdownOffset: -1}
		if b.InControlledShutdown {
			// Its shutdown was written at or before the image's offset.
			s.shutdownOffset = c.image.Offset
		}
		c.sessions[b.ID] = s
	}
}

// touch renews broker id's session for its incarnation epoch, creating
// it for a registered incarnation that has none.
func (c *Controller) touch(id int32, epoch, offset int64) *session {
	if c.sessions == nil {
		return nil
	}
	s := c.sessions[id]
	if s == nil || s.epoch != epoch {
		b := c.image.Brokers[id]
		if b == nil || b.Epoch != epoch {
			return nil
		}
		s = &session{epoch: epoch, offset: -1, shutdownOffset: -1}
		c.sessions[id] = s
	}
	s.last = c.e.Clock().Mono()
	s.offset = max(s.offset, offset)
	return s
}

// expired reports whether broker id's incarnation epoch has no valid
// session.
func (c *Controller) expired(id int32, epoch int64) bool {
	s := c.sessions[id]
	if s == nil || s.epoch != epoch {
		return true
	}
	return c.e.Clock().Mono()-s.last > c.ms(c.cfg.SessionTimeoutMs)
}

func (c *Controller) ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// ---- BrokerRegistration ----

// brokerRegistration admits a broker incarnation (meta.Register) and
// answers its broker epoch once the registration is applied. Like Kafka:
// another cluster's broker gets INCONSISTENT_CLUSTER_ID, and a new
// incarnation of a broker whose previous one is still unfenced with a
// live session gets DUPLICATE_BROKER_REGISTRATION, unless it names that
// incarnation's epoch as its previous one (v3+, a clean restart).
func (c *Controller) brokerRegistration(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.BrokerRegistrationRequest)
	resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	run := func(w *work) func(int64) {
		reg := meta.Registration{ID: r.BrokerID, IncarnationID: r.IncarnationID}
		if len(r.Listeners) > 0 {
			reg.Host, reg.Port = r.Listeners[0].Host, int32(r.Listeners[0].Port)
		}
		if r.Rack != nil {
			reg.Rack = *r.Rack
		}
		old := w.im.Brokers[r.BrokerID]
		switch {
		case c.cfg.ClusterID != "" && r.ClusterID != c.cfg.ClusterID:
			resp.ErrorCode = kerr.InconsistentClusterID.Code
		case r.BrokerID < 0:
			resp.ErrorCode = kerr.InvalidRequest.Code
		case old != nil && old.IncarnationID != r.IncarnationID && !old.Fenced &&
			!c.expired(old.ID, old.Epoch) && r.PreviousBrokerEpoch != old.Epoch:
			resp.ErrorCode = kerr.DuplicateBrokerRegistration.Code
		}
		if resp.ErrorCode != 0 {
			return func(int64) { respond(resp) }
		}
		recs, epoch := meta.Register(w.im, reg, c.unclean(w.im))
		w.emit(recs...)
		resp.BrokerEpoch = epoch
		return func(int64) {
			c.touch(r.BrokerID, epoch, -1)
			respond(resp)
		}
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

// ---- BrokerHeartbeat ----

// brokerHeartbeat renews the broker's session at once (a heartbeat that
// waits behind a batch still counts), then moves the broker through
// Kafka's states (calculateNextBrokerState):
//
//   - fenced: WantShutDown → shut down now; caught up (its metadata
//     offset reached its registration's) and not WantFence → unfenced;
//   - unfenced: WantFence → fenced (or shut down now with WantShutDown);
//     WantShutDown → controlled shutdown if it is in any ISR, else shut
//     down now;
//   - controlled shutdown: WantFence → shut down now; once it leads
//     nothing and every unfenced broker's metadata reached the entry that
//     moved its partitions, shut down now (so the new leaders know before
//     the old one leaves);
//   - shut down now: stays (it is fenced).
//
// The answer says IsCaughtUp, IsFenced and ShouldShutDown for the new
// state. A broker not registered at the given epoch gets
// STALE_BROKER_EPOCH.
func (c *Controller) brokerHeartbeat(req kmsg.Request, respond func(kmsg.Response)) *op {
	r := req.(*kmsg.BrokerHeartbeatRequest)
	c.touch(r.BrokerID, r.BrokerEpoch, r.CurrentMetadataOffset)
	run := func(w *work) func(int64) {
		resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
		b := w.im.Brokers[r.BrokerID]
		if b == nil || b.Epoch != r.BrokerEpoch {
			resp.ErrorCode = kerr.StaleBrokerEpoch.Code
			return func(int64) { respond(resp) }
		}
		reg := c.regOffsets[b.ID]
		caughtUp := reg.epoch == b.Epoch && r.CurrentMetadataOffset >= reg.offset
		cur := c.stateOf(b)
		next := c.nextState(w.im, b, cur, r, caughtUp)
		c.transition(w, b, cur, next)
		resp.IsCaughtUp, resp.IsFenced, resp.ShouldShutdown = caughtUp, next.fenced(), next == stateShutdownNow
		return func(offset int64) {
			if s := c.sessions[b.ID]; s != nil && s.epoch == b.Epoch {
				if next == stateControlledShutdown && cur != next {
					s.shutdownOffset = offset
				}
				s.shutdownNow = s.shutdownNow || next == stateShutdownNow
			}
			respond(resp)
		}
	}
	return &op{run: run, reject: rejectWith(req, respond)}
}

func (c *Controller) stateOf(b *meta.Broker) brokerState {
	s := c.sessions[b.ID]
	switch {
	case s != nil && s.epoch == b.Epoch && s.shutdownNow:
		return stateShutdownNow
	case b.Fenced:
		return stateFenced
	case b.InControlledShutdown:
		return stateControlledShutdown
	}
	return stateUnfenced
}

func (c *Controller) nextState(im *meta.Image, b *meta.Broker, cur brokerState, r *kmsg.BrokerHeartbeatRequest, caughtUp bool) brokerState {
	switch cur {
	case stateFenced:
		switch {
		case r.WantShutdown:
			return stateShutdownNow
		case !r.WantFence && caughtUp && !b.InControlledShutdown:
			return stateUnfenced
		}
	case stateUnfenced:
		switch {
		case r.WantFence && r.WantShutdown:
			return stateShutdownNow
		case r.WantFence:
			return stateFenced
		case r.WantShutdown && inAnyISR(im, b.ID):
			return stateControlledShutdown
		case r.WantShutdown:
			return stateShutdownNow
		}
	case stateControlledShutdown:
		if r.WantFence || c.shutdownDone(im, b) {
			return stateShutdownNow
		}
	}
	return cur
}

// shutdownDone: a broker in controlled shutdown leads nothing, and every
// unfenced broker has applied the entry that moved its partitions
// (Kafka's lowestActiveOffset check).
func (c *Controller) shutdownDone(im *meta.Image, b *meta.Broker) bool {
	s := c.sessions[b.ID]
	if s == nil || s.shutdownOffset < 0 || im.Leads(b.ID) {
		return false
	}
	for _, o := range im.SortedBrokers() {
		if o.Fenced {
			continue
		}
		os := c.sessions[o.ID]
		if os == nil || os.epoch != o.Epoch || os.offset < s.shutdownOffset {
			return false
		}
	}
	return true
}

// transition writes the records of a state change.
func (c *Controller) transition(w *work, b *meta.Broker, cur, next brokerState) {
	if cur == next {
		return
	}
	unclean := c.unclean(w.im)
	switch next {
	case stateUnfenced:
		w.emit(meta.Unfence(w.im, b.ID, b.Epoch, unclean)...)
	case stateFenced, stateShutdownNow:
		w.emit(meta.Fence(w.im, b.ID, unclean)...)
	case stateControlledShutdown:
		w.emit(meta.ControlledShutdown(w.im, b.ID, b.Epoch, unclean)...)
	}
	c.log.Info("broker state", "broker", b.ID, "epoch", b.Epoch, "from", cur, "to", next)
}

func (s brokerState) String() string {
	return [...]string{"fenced", "unfenced", "controlled-shutdown", "shutdown-now"}[s]
}

func inAnyISR(im *meta.Image, id int32) bool {
	for _, t := range im.SortedTopics() {
		for _, p := range t.Partitions {
			if slices.Contains(p.ISR, id) {
				return true
			}
		}
	}
	return false
}

// ---- session expiry ----

// armTick checks sessions every eighth of the session timeout, so a
// silent broker is fenced within 1.125 timeouts.
func (c *Controller) armTick() {
	gen := c.gen
	c.tick = c.e.Clock().AfterFunc(c.ms(max(c.cfg.SessionTimeoutMs/8, 1)), func() {
		if gen != c.gen || c.stopped {
			return
		}
		c.tick = nil
		if !c.fencePending && c.anyExpired(c.image) {
			c.fencePending = true
			c.enqueue(c.fenceOp())
		}
		c.armTick()
	})
}

func (c *Controller) anyExpired(im *meta.Image) bool {
	for _, b := range im.SortedBrokers() {
		if !b.Fenced && c.expired(b.ID, b.Epoch) {
			return true
		}
	}
	return false
}

// fenceOp fences every unfenced broker whose session has expired when
// the op runs (Kafka's maybeFenceStaleBroker).
func (c *Controller) fenceOp() *op {
	run := func(w *work) func(int64) {
		for _, b := range w.im.SortedBrokers() {
			if !b.Fenced && c.expired(b.ID, b.Epoch) {
				c.log.Info("fencing a broker whose session expired", "broker", b.ID, "epoch", b.Epoch)
				w.emit(meta.Fence(w.im, b.ID, c.unclean(w.im))...)
			}
		}
		return func(int64) { c.fencePending = false }
	}
	return &op{run: run, reject: func(rejection) { c.fencePending = false }}
}

// uncleanElectionOp elects leaders from outside the ISR for leaderless
// partitions of topics that allow it (Kafka's
// maybeElectUncleanLeaders), when this node becomes active.
func (c *Controller) uncleanElectionOp() *op {
	run := func(w *work) func(int64) {
		w.emit(meta.ElectUncleanLeaders(w.im, c.unclean(w.im))...)
		return func(int64) {}
	}
	return &op{run: run, reject: func(rejection) {}}
}
