package broker

import (
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/controller"
	"github.com/gregor-dst/gregor/broker/peer"
	"github.com/gregor-dst/gregor/env"
)

// Broker is one Kafka broker as an env.Process. Everything it does happens
// in callbacks from its Env (connections, timers, fsync completions), one
// at a time, so it holds no locks.
type Broker struct {
	cfg Config
	e   env.Env
	log *slog.Logger

	listener env.Listener
	conns    map[uint64]*conn
	connIDs  []uint64 // open connections in accept order, for Stop

	// Config layers: static (from Config), and the dynamic ones from the
	// metadata image (AlterConfigs on resource "<id>" and "").
	static, dynBroker, dynCluster configs.Set

	// topics mirror the metadata image: every topic, with a partition for
	// each index that has a replica here (nil elsewhere).
	topics   map[string]*topic
	topicIDs map[[16]byte]*topic

	// ctl is the embedded controller: this node's quorum voter, the
	// metadata image it applies, and, when active, the controller's APIs.
	ctl *controller.Controller

	// Membership (cluster.go): this incarnation's id and broker epoch,
	// whether the controller has it fenced, whether it serves clients yet
	// (requests wait in parked until then).
	incarnation [16]byte
	// reconciledOffset is the metadata image offset last reconciled: an
	// older image is a replay in progress (reconcile.go).
	reconciledOffset int64
	// reopenPending: a replica could not be opened (or its failed log
	// was closed); housekeeping reconciles again to open it.
	reopenPending bool
	// reopened keeps what a closed failed replica knew for its reopening
	// (bounded by the local partitions).
	reopened        map[reopenKey]reopenState
	brokerEpoch     int64
	fenced          bool
	ready           bool
	hbInFlight      bool
	parked          []*request
	shutdownAllowed func()

	// Idempotent producer ids come in blocks from the controller
	// (AllocateProducerIds); waiters queue while a block is requested.
	nextProducerID     int64
	producerIDBlockEnd int64
	producerIDWaiters  []func(int64, error)
	producerIDsAsked   bool

	waiters *fetchPurgatory
	tick    env.Timer

	// Replication: fetchers by leader id and the client they use.
	fetchers   map[int32]*fetcher
	peerClient *peer.Client
	// ctlClient carries the requests to the active controller, with a
	// shorter request timeout (controllerPeers).
	ctlClient *peer.Client

	stopping bool // Stop was called: controlled shutdown, then closing
	closed   bool // no longer serving or replicating
	stopped  bool
}

// New builds a broker process from cfg. The runtime calls Start with the
// broker's Env; nothing happens before that.
func New(cfg Config) (*Broker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	static, err := configs.StaticBroker(cfg.Static)
	if err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, static: static}
	if _, err := configs.BrokerSettingsOf(b.layers(configs.Set{})); err != nil {
		return nil, err
	}
	if _, err := topicSettingsOf(b.layers(configs.Set{})); err != nil {
		return nil, err
	}
	return b, nil
}

// Start opens the embedded controller (its quorum replays the metadata
// log, and the image it applies opens the local replicas), listens, and
// registers. Clients are served once the controller unfences this
// broker.
func (b *Broker) Start(e env.Env) {
	b.e = e
	b.log = e.Log().With("broker", b.cfg.NodeID)
	b.conns = map[uint64]*conn{}
	b.topics = map[string]*topic{}
	b.topicIDs = map[[16]byte]*topic{}
	b.reopened = map[reopenKey]reopenState{}
	b.fetchers = map[int32]*fetcher{}
	b.waiters = newFetchPurgatory(b, b.cfg.FetchWaitersMax)
	b.dynBroker, b.dynCluster = configs.Set{}, configs.Set{}
	r := e.Rand()
	for i := range b.incarnation {
		b.incarnation[i] = byte(r.Uint32())
	}
	ctl, err := controller.New(b.controllerConfig())
	if err != nil {
		b.log.Error("controller config; not serving", "err", err)
		return
	}
	b.ctl = ctl
	ctl.OnApply(b.reconcile)
	ctl.Start(e)
	l, err := e.Net().Listen(b.cfg.Port, b.accept)
	if err != nil {
		b.log.Error("listen failed; not serving", "port", b.cfg.Port, "err", err)
		return
	}
	b.listener = l
	b.armTick()
	b.register()
}

// Stop is a controlled shutdown: leaderships move away first, then the
// listener and connections close, every log is flushed, and the embedded
// controller stops last (a quorum leader resigns), before done.
func (b *Broker) Stop(done func()) {
	if b.stopping || b.ctl == nil {
		done()
		return
	}
	b.stopping = true
	b.controlledShutdown(func() {
		b.closeServing()
		b.flushAll(func() {
			b.closeLogs()
			b.ctl.Stop(func() {
				b.stopped = true
				b.log.Info("stopped")
				done()
			})
		})
	})
}

// closeServing stops taking and serving requests.
func (b *Broker) closeServing() {
	b.closed = true
	if b.tick != nil {
		b.tick.Stop()
	}
	if b.listener != nil {
		b.listener.Close()
	}
	for _, id := range slices.Clone(b.connIDs) {
		if c := b.conns[id]; c != nil {
			c.c.Close()
		}
	}
	b.parked = nil
	b.waiters.clear()
	if b.peerClient != nil {
		b.peerClient.Close()
	}
	if b.ctlClient != nil {
		b.ctlClient.Close()
	}
}

// path joins a name under the data directory.
func (b *Broker) path(name string) string {
	if b.cfg.DataDir == "" {
		return name
	}
	return b.cfg.DataDir + "/" + name
}

// Addr is the address clients are told to use.
func (b *Broker) advertised() (string, int32) {
	host, port := b.cfg.AdvertisedHost, b.cfg.AdvertisedPort
	if b.listener != nil && (host == "" || port == 0) {
		h, p := splitHostPort(b.listener.Addr())
		if host == "" {
			host = h
		}
		if port == 0 {
			port = p
		}
	}
	return host, int32(port)
}

func splitHostPort(addr string) (string, int) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, _ := strconv.Atoi(addr[i+1:])
			return addr[:i], p
		}
	}
	return addr, 0
}

func (b *Broker) armTick() {
	b.tick = b.e.Clock().AfterFunc(time.Duration(b.cfg.TickMs)*time.Millisecond, func() {
		if b.stopping {
			return
		}
		b.housekeeping()
		b.armTick()
	})
}

// nowMs is the broker's wall clock in Kafka's unit. Timestamps and
// retention read it, so clock faults reach them as they do in Kafka.
func (b *Broker) nowMs() int64 { return b.e.Clock().Now().UnixMilli() }

// sortedTopics lists topics by name: output and decisions never follow map
// order.
func (b *Broker) sortedTopics() []*topic {
	names := make([]string, 0, len(b.topics))
	for n := range b.topics { //gregor:unordered-ok sorted below
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*topic, len(names))
	for i, n := range names {
		out[i] = b.topics[n]
	}
	return out
}

// reopenKey names a local replica across its closing and reopening.
type reopenKey struct {
	topicID [16]byte
	index   int32
}

// reopenState is what a replica closed for reopening knew: its high
// watermark and how new its role was.
type reopenState struct {
	hw                          int64
	leaderEpoch, partitionEpoch int32
	// isrPending and isrPendingEpochs are the leader's ISR change in
	// flight when the log failed: its fate is unknown, so the reopened
	// leader keeps counting its members and asks again.
	isrPending       []int32
	isrPendingEpochs map[int32]int64
}
