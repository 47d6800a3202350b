package controller

import (
	"errors"
	"log/slog"
	"time"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/broker/quorum"
	"github.com/gregor-dst/gregor/env"
)

// Controller is one controller node: a voter of the metadata quorum that
// applies the committed metadata log to its Image and, while it is the
// active controller, decides brokers' and clients' requests by writing
// metadata records. It is an env.Process; a broker in combined mode
// embeds it by calling Start and Stop from its own.
type Controller struct {
	cfg Config
	q   *quorum.Node
	e   env.Env
	log *slog.Logger

	// image is the committed metadata, applied in log order; regOffsets
	// the offset of each broker's registration entry (see Apply).
	image      *meta.Image
	regOffsets map[int32]regOffset
	listeners  []func()

	// The active controller's state. gen moves on at every claim and
	// resignation, so callbacks of an older term do nothing; active is
	// set once the claim's barrier entry is applied (see claim).
	gen      uint64
	epoch    int32
	claiming bool
	active   bool
	sessions map[int32]*session
	tick     env.Timer

	queue    []*op  // bounded by OpsQueuedMax
	inFlight *batch // the one proposal not yet decided
	answers  []*answer
	// fencePending: a fencing op is queued; one is enough.
	fencePending bool
	stopped      bool
}

// regOffset is where a broker incarnation's registration entry is: a
// broker that has applied the log up to it may be unfenced.
type regOffset struct {
	epoch  int64
	offset int64
}

// New checks cfg and returns a controller that does nothing until Start.
func New(cfg Config) (*Controller, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = cfg.Quorum.ClusterID
	}
	c := &Controller{cfg: cfg, image: meta.NewImage(), regOffsets: map[int32]regOffset{}}
	qc := cfg.Quorum
	qc.ClusterID, qc.Serve = cfg.ClusterID, c.Handle
	q, err := quorum.New(qc, stateMachine{c})
	if err != nil {
		return nil, err
	}
	c.q = q
	q.OnLeaderChange(c.leaderChanged)
	return c, nil
}

// Start starts the quorum node, which restores the image from the newest
// snapshot and the log and joins the quorum.
func (c *Controller) Start(e env.Env) {
	c.e = e
	c.log = e.Log().With("controller", c.cfg.NodeID)
	c.q.Start(e)
}

// Stop answers every queued request NOT_CONTROLLER and stops the quorum
// node (a leader resigns first); done follows once its log is closed.
func (c *Controller) Stop(done func()) {
	c.stopped = true
	c.resign()
	c.q.Stop(done)
}

// ---- the read side ----

// Image is the committed metadata applied here. It changes only on the
// controller's loop; callers never mutate it.
func (c *Controller) Image() *meta.Image { return c.image }

// OnApply registers fn, called on the loop after each applied entry and
// after each restore of a snapshot.
func (c *Controller) OnApply(fn func()) { c.listeners = append(c.listeners, fn) }

// Quorum is the embedded quorum node.
func (c *Controller) Quorum() *quorum.Node { return c.q }

// Active reports whether this node is the active controller: the
// quorum's leader, whose image holds every entry committed before its
// epoch (so its decisions see every committed record).
func (c *Controller) Active() bool {
	if !c.active {
		return false
	}
	id, epoch, ok := c.q.Leader()
	return ok && id == c.cfg.NodeID && epoch == c.epoch
}

// Leader reports the quorum leader this node knows of (the active
// controller, or the one about to be) and its controller listener
// address; ok is false when none is known.
func (c *Controller) Leader() (id int32, addr string, ok bool) {
	id, _, ok = c.q.Leader()
	if !ok {
		return -1, "", false
	}
	return id, c.ControllerAddr(id), true
}

// ControllerAddr is controller id's listener address, "" for a node that
// is not a controller.
func (c *Controller) ControllerAddr(id int32) string { return c.cfg.Quorum.Voters[id] }

// ---- becoming and ceasing to be the active controller ----

// leaderChanged follows the quorum's leadership. Notifications come from
// callbacks of their own, so one may be stale by the time it runs; claim
// checks the leadership again.
func (c *Controller) leaderChanged(id, epoch int32) {
	if c.stopped {
		return
	}
	if id == c.cfg.NodeID && epoch == c.epoch && (c.claiming || c.active) {
		return
	}
	c.resign()
	if id == c.cfg.NodeID {
		c.epoch = epoch
		c.claim()
	}
}

// claim proposes an empty entry, a barrier: once it is applied, so is
// every entry committed before this epoch (the leader commits them with
// its own), and the image is the whole committed state. Kafka's
// controller waits for the same point before it acts (the listener's
// claim at the epoch's start offset); it is also what Kafka's NoOpRecord
// is for.
func (c *Controller) claim() {
	id, epoch, ok := c.q.Leader()
	if !ok || id != c.cfg.NodeID || epoch != c.epoch {
		return
	}
	c.claiming = true
	gen := c.gen
	data, err := meta.Encode([]meta.Record{})
	if err != nil {
		panic(err) // an empty list always encodes
	}
	c.q.Propose(data, func(_ int64, err error) {
		if gen != c.gen || c.stopped {
			return
		}
		if err != nil {
			c.log.Warn("the controller's barrier entry failed", "epoch", epoch, "err", err)
			c.retryClaim(gen, err)
			return
		}
		c.becomeActive()
	})
}

// retryClaim tries the barrier again after a failure that left this node
// the leader (an append error); any other failure ends the term.
func (c *Controller) retryClaim(gen uint64, err error) {
	if errors.Is(err, quorum.ErrNotLeader) || errors.Is(err, quorum.ErrLeaderChanged) || errors.Is(err, quorum.ErrStopped) {
		c.claiming = false
		return
	}
	c.e.Clock().AfterFunc(time.Duration(c.cfg.Quorum.RetryBackoffMs)*time.Millisecond, func() {
		if gen == c.gen && !c.stopped {
			c.claim()
		}
	})
}

// becomeActive starts every registered broker's session afresh (sessions
// are in memory: a new active controller cannot know when brokers last
// reached its predecessor), elects unclean leaders where topics allow it,
// and serves the queue.
func (c *Controller) becomeActive() {
	c.claiming, c.active = false, true
	c.log.Info("active controller", "epoch", c.epoch, "offset", c.image.Offset)
	c.startSessions()
	c.armTick()
	c.enqueue(c.uncleanElectionOp())
	c.pump()
}

// resign ends this node's term as active controller (or its claim):
// queued operations are answered NOT_CONTROLLER; a proposal in flight is
// answered when the quorum tells its fate.
func (c *Controller) resign() {
	c.gen++
	if c.active {
		c.log.Info("no longer the active controller", "epoch", c.epoch)
	}
	c.claiming, c.active, c.fencePending = false, false, false
	c.sessions = nil
	if c.tick != nil {
		c.tick.Stop()
		c.tick = nil
	}
	queue := c.queue
	c.queue = nil
	for _, o := range queue {
		o.reject(errNotController)
	}
}

func (c *Controller) notifyApplied() {
	for _, fn := range c.listeners {
		fn()
	}
}
