package simcluster

import (
	"errors"
	"fmt"
	"github.com/gregor-dst/gregor/workloads/queue"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/controller"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/faults"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
)

// Config builds a Cluster: the simulated world, its brokers and the
// monitors watching them, without a workload.
type Config struct {
	Seed uint64
	// Brokers is the cluster size; every broker is a quorum voter
	// (combined mode). Default 3.
	Brokers int
	// Static are the brokers' static configs, "key=value" under Kafka's
	// names (min.insync.replicas, default.replication.factor, …).
	Static []string
	// Latency is every link's delay (zero: the simulator's LAN).
	Latency sim.Latency
	// SyncLatency is the brokers' fsync latency (zero: 1–2 ms).
	SyncLatency sim.Latency
	// FsyncLoss tells the monitors that crashes may lose unsynced writes
	// on purpose (a power loss with the default flush policy).
	FsyncLoss bool
	// LossesAllowed: the run asked for faults that lose acknowledged
	// writes (unclean elections, fsync loss). A lost write must then be
	// one the monitors explain (Losses); without it every acknowledged
	// acks=all write must survive.
	LossesAllowed bool
	// LogEvery runs the monitor's log comparisons on every LogEvery-th
	// observation (default 64); the cheap checks run after every event.
	LogEvery int
	// Broker and Controller adjust each broker's config (tests: shorter
	// timeouts, planted bugs).
	Broker     func(*broker.Config)
	Controller func(*controller.Config)
	// Log receives the nodes' log lines at LogLevel; nil discards.
	Log      io.Writer
	LogLevel slog.Level
	// Trace receives every event as a line (sim.Options.Trace).
	Trace io.Writer

	_ struct{}
}

// Cluster is a running simulated cluster with its monitors: every event
// that touches a broker is followed by an observation, so a broken
// invariant is caught with the state that broke it.
type Cluster struct {
	cfg     Config
	static  configs.Set
	s       *sim.Sim
	brokers []*sim.Node
	clients []*sim.Node
	obs     *observer
	wl      *workload
	// rec records the queue workload's history (sends of numeric values,
	// consumer polls, final reads) for the Jepsen analysis and Porcupine.
	rec *queue.Recorder
	// clientStarts is each client's incarnation at its last call.
	clientStarts map[string]uint64
	// failed is the panic or broken bound that stopped the run: the
	// crash verdict.
	failed error
	// stopOnViolation ends RunUntil at the first violation.
	stopOnViolation bool
	// lost counts acknowledged acks=all records not read back.
	lost int
}

// Controller and client listener ports: the sim node name is the host.
const (
	clientPort     = 9092
	controllerPort = 9093
)

// NewCluster builds the world and starts every broker.
func NewCluster(cfg Config) (*Cluster, error) {
	if cfg.Brokers <= 0 {
		cfg.Brokers = 3
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 64
	}
	if cfg.SyncLatency == (sim.Latency{}) {
		cfg.SyncLatency = sim.Latency{Min: time.Millisecond, Mean: 2 * time.Millisecond}
	}
	static, err := configs.ParseStatic(cfg.Static)
	if err != nil {
		return nil, err
	}
	opts := sim.DefaultOptions(cfg.Seed)
	if cfg.Latency != (sim.Latency{}) {
		opts.Net.Latency = cfg.Latency
	}
	opts.Log, opts.LogLevel, opts.Trace = cfg.Log, cfg.LogLevel, cfg.Trace
	s, err := sim.New(opts)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, static: static, s: s}
	c.obs = newObserver(c)
	c.wl = newWorkload(c)
	c.clientStarts = map[string]uint64{}
	c.rec = queue.NewRecorder(func() int64 { return int64(c.s.Now()) })
	if err := c.addBrokers(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) addBrokers() error {
	voters := map[int32]string{}
	for i := range c.cfg.Brokers {
		voters[int32(i)] = BrokerName(i) + ":" + strconv.Itoa(controllerPort)
	}
	for i := range c.cfg.Brokers {
		bc := broker.DefaultConfig()
		bc.NodeID, bc.Voters, bc.Static = int32(i), voters, c.static
		bc.Port, bc.ControllerPort = clientPort, controllerPort
		bc.Controller = c.cfg.Controller
		if c.cfg.Broker != nil {
			c.cfg.Broker(&bc)
		}
		if _, err := broker.New(bc); err != nil {
			return fmt.Errorf("broker %d: %w", i, err)
		}
		n, err := c.s.AddNode(BrokerName(i), func() env.Process {
			b, err := broker.New(bc)
			if err != nil {
				panic(err) // checked above: the config does not change
			}
			return b
			// Torn writes: a crash keeps a prefix of the unsynced writes,
			// cut mid-write, which recovery must find by CRC and cut off.
		}, sim.DiskOptions{SyncLatency: c.cfg.SyncLatency, TornWrites: true})
		if err != nil {
			return err
		}
		c.brokers = append(c.brokers, n)
	}
	for _, n := range c.brokers {
		if err := n.Start(); err != nil {
			return err
		}
	}
	return nil
}

// BrokerName is broker id's node (and host) name.
func BrokerName(id int) string { return "b" + strconv.Itoa(id) }

// Bootstrap lists every broker's client address.
func (c *Cluster) Bootstrap() []string {
	out := make([]string, len(c.brokers))
	for i, n := range c.brokers {
		out[i] = n.Name() + ":" + strconv.Itoa(clientPort)
	}
	return out
}

// AddClient adds a node running a kclient with cfg (its Bootstrap set to
// every broker when empty), started at once.
func (c *Cluster) AddClient(name string, cfg kclient.Config) (*sim.Node, error) {
	if len(cfg.Bootstrap) == 0 {
		cfg.Bootstrap = c.Bootstrap()
	}
	cfg.ClientID = name
	n, err := c.s.AddNode(name, kclient.NewProcess(cfg, nil), sim.DiskOptions{})
	if err != nil {
		return nil, err
	}
	c.clients = append(c.clients, n)
	return n, n.Start()
}

// Sim is the simulated world.
func (c *Cluster) Sim() *sim.Sim { return c.s }

// Brokers are the broker nodes, by node id.
func (c *Cluster) Brokers() []*sim.Node { return c.brokers }

// Broker is broker id's running process, nil when it is down.
func (c *Cluster) Broker(id int) *broker.Broker {
	if id < 0 || id >= len(c.brokers) {
		return nil
	}
	b, _ := c.brokers[id].Process().(*broker.Broker)
	return b
}

// Client is the client running on node name, nil when it is down.
func (c *Cluster) Client(name string) *kclient.Client {
	n := c.s.Node(name)
	if n == nil {
		return nil
	}
	p, _ := n.Process().(*kclient.Process)
	if p == nil {
		return nil
	}
	return p.Client
}

// Target is the fault target: the brokers, isolated from every node.
func (c *Cluster) Target(note func(string)) faults.Target {
	return faults.Target{Sim: c.s, Nodes: c.brokers, All: c.s.Nodes(), Note: note}
}

// Now is the virtual time.
func (c *Cluster) Now() time.Duration { return c.s.Now().Duration() }

// Err is the failure that stopped the world (a panic, a broken bound).
func (c *Cluster) Err() error { return c.failed }

// RunFor runs d of virtual time, observing after every event that
// touches a broker.
func (c *Cluster) RunFor(d time.Duration) error { return c.RunUntil(c.s.Now() + sim.Time(d)) }

// RunUntil runs every event due by t, observing after each that touches a
// broker (or the world: a fault), and ends with the clock at t. It stops
// early at a panic (returned, and kept as Err) and, when asked to, at the
// first violation.
func (c *Cluster) RunUntil(t sim.Time) (err error) {
	if c.failed != nil {
		return c.failed
	}
	defer func() {
		if r := recover(); r != nil {
			var le *sim.LimitError
			if e, ok := r.(error); ok && errors.As(e, &le) {
				c.failed = le
			} else {
				c.failed = &sim.PanicError{Value: r, At: c.s.Now(), Stack: string(debug.Stack())}
			}
			err = c.failed
		}
	}()
	sch := c.s.Scheduler()
	for sch.StepUntil(t) {
		c.obs.after(sch.Last())
		if c.stopOnViolation && len(c.obs.violations) > 0 {
			return nil
		}
	}
	sch.AdvanceTo(t)
	return nil
}

// RunWhile runs in steps of step while cond holds, up to limit; it
// reports whether cond stopped holding.
func (c *Cluster) RunWhile(limit, step time.Duration, cond func() bool) (bool, error) {
	end := c.s.Now() + sim.Time(limit)
	for cond() {
		if c.s.Now() >= end {
			return false, nil
		}
		if err := c.RunUntil(min(c.s.Now()+sim.Time(step), end)); err != nil {
			return false, err
		}
		if c.stopOnViolation && len(c.obs.violations) > 0 {
			return false, nil
		}
	}
	return true, nil
}

// Violations are the invariant violations found so far.
func (c *Cluster) Violations() []Violation { return c.obs.violations }
