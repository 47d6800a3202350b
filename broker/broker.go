package broker

import (
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker/configs"
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

	// Config layers: static (from Config), and the dynamic ones set by
	// AlterConfigs, persisted in the metadata file.
	static, dynBroker, dynCluster configs.Set

	topics   map[string]*topic
	topicIDs map[[16]byte]*topic
	meta     *metaStore

	// nextProducerID is the next idempotent producer id to hand out; the
	// metadata file reserves ids in blocks so a restart never reuses one.
	nextProducerID       int64
	producerIDBlockEnd   int64 // reserved in the metadata being written
	producerIDDurableEnd int64 // reserved in the durable metadata

	waiters *fetchPurgatory
	tick    env.Timer

	// Replication: fetchers by leader id, the client they use, and this
	// incarnation's broker epoch (from registration; 0 without a
	// controller).
	fetchers    map[int32]*fetcher
	peerClient  *peer.Client
	brokerEpoch int64

	stopping bool
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

// Start recovers the metadata and every partition log, then listens.
func (b *Broker) Start(e env.Env) {
	b.e = e
	b.log = e.Log().With("broker", b.cfg.NodeID)
	b.conns = map[uint64]*conn{}
	b.topics = map[string]*topic{}
	b.topicIDs = map[[16]byte]*topic{}
	b.fetchers = map[int32]*fetcher{}
	b.waiters = newFetchPurgatory(b, b.cfg.FetchWaitersMax)
	b.meta = newMetaStore(e.FS(), b.path(metaFileName))
	if err := b.recover(); err != nil {
		// A broker that cannot read its own metadata must not serve:
		// answering from an empty table would look like data loss.
		b.log.Error("recovery failed; not serving", "err", err)
		return
	}
	l, err := e.Net().Listen(b.cfg.Port, b.accept)
	if err != nil {
		b.log.Error("listen failed; not serving", "port", b.cfg.Port, "err", err)
		return
	}
	b.listener = l
	b.log.Info("serving", "addr", l.Addr(), "topics", len(b.topics))
	if b.cfg.Listening != nil {
		b.cfg.Listening(l.Addr())
	}
	b.armTick()
}

// Stop closes the listener and the connections, flushes every log and
// then reports done (SIGTERM in the real runtime).
func (b *Broker) Stop(done func()) {
	if b.stopping {
		done()
		return
	}
	b.stopping = true
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
	b.waiters.clear()
	if b.peerClient != nil {
		b.peerClient.Close()
	}
	b.flushAll(func() {
		b.closeLogs()
		b.stopped = true
		b.log.Info("stopped")
		done()
	})
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
