package simcluster

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
)

// TestScenarios replays the stories in testdata/: a cluster under the
// monitors, driven step by step, each command followed by what it must
// print (any violation the monitors find is printed after the command
// that led to it). Regenerate with -rewrite and read the diff before
// committing it. GREGOR_SCENARIO_LOG=1 sends the brokers' logs to stderr.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		h := &harness{t: t}
		datadriven.RunTest(t, path, h.handle)
	})
}

// The scenario clients: acks=all idempotent, acks=1, and one for admin
// calls, single requests and reading back.
const (
	producerAll = "producer"
	producerOne = "producer1"
	admin       = "admin"
)

// harness runs one scenario file.
type harness struct {
	t *testing.T
	c *Cluster
	// out collects a command's output; seen counts the violations
	// printed; values numbers the records produced (v1, v2, …).
	out    strings.Builder
	seen   int
	values int
}

func (h *harness) handle(t *testing.T, d *datadriven.TestData) string {
	h.out.Reset()
	if err := h.dispatch(d); err != nil {
		fmt.Fprintf(&h.out, "error: %v\n", err)
	}
	if h.c != nil {
		vs := h.c.Violations()
		for _, v := range vs[h.seen:] {
			fmt.Fprintf(&h.out, "VIOLATION %s\n", v)
		}
		h.seen = len(vs)
	}
	return h.out.String()
}

func (h *harness) dispatch(d *datadriven.TestData) error {
	if d.Cmd != "cluster" && h.c == nil {
		return fmt.Errorf("no cluster yet")
	}
	switch d.Cmd {
	case "cluster":
		// cluster brokers=3 seed=1 [rf=3] [min-isr=2] [lag=10s] [session=9s] [flush=every|default] [unclean]
		return h.cluster(d)
	case "create-topic":
		// create-topic t [partitions=1] [min-isr=3] [unclean]
		return h.createTopic(d)
	case "produce":
		// produce t [partition=0] [n=1] [acks=all|1] [wait=10s]: through a producer
		// produce t [partition=0] raw [acks=all|1] [wait=10s]: one request to the leader
		return h.produce(d)
	case "crash", "restart", "stop", "pause", "resume":
		// crash b1 [b2 …]
		return h.lifecycle(d)
	case "partition", "heal":
		// partition isolate=b0 | split=b0[,b1] | oneway=b0>b1 | halves
		return h.network(d)
	case "run-for":
		// run-for 5s
		return h.runFor(d)
	case "state":
		// state [t]: the controller, then per partition the image's view
		// and each replica's own
		return h.state(d)
	case "check":
		// check: the monitors' verdict, the losses they recorded as
		// allowed, and what reading every partition finds of the
		// acknowledged writes
		return h.check()
	}
	return fmt.Errorf("unknown command %q", d.Cmd)
}

// args is a command's key=value arguments; flags have the value "".
func args(d *datadriven.TestData) map[string]string {
	m := map[string]string{}
	for _, a := range d.CmdArgs {
		m[a.Key] = strings.Join(a.Vals, ",")
	}
	return m
}

func durationArg(a map[string]string, key string, dflt time.Duration) (time.Duration, error) {
	v, ok := a[key]
	if !ok {
		return dflt, nil
	}
	return time.ParseDuration(v)
}

func intArg(a map[string]string, key string, dflt int) (int, error) {
	v, ok := a[key]
	if !ok {
		return dflt, nil
	}
	return strconv.Atoi(v)
}

func (h *harness) cluster(d *datadriven.TestData) error {
	a := args(d)
	brokers, err := intArg(a, "brokers", 3)
	if err != nil {
		return err
	}
	seed, err := intArg(a, "seed", 1)
	if err != nil {
		return err
	}
	rf, _ := intArg(a, "rf", min(3, brokers))
	minISR, _ := intArg(a, "min-isr", 2)
	lag, _ := durationArg(a, "lag", 10*time.Second)
	session, _ := durationArg(a, "session", 9*time.Second)
	_, unclean := a["unclean"]
	everyMessage := a["flush"] != "default"
	static := []string{
		fmt.Sprintf("default.replication.factor=%d", rf),
		fmt.Sprintf("min.insync.replicas=%d", minISR),
		fmt.Sprintf("replica.lag.time.max.ms=%d", lag.Milliseconds()),
		fmt.Sprintf("broker.session.timeout.ms=%d", session.Milliseconds()),
		fmt.Sprintf("broker.heartbeat.interval.ms=%d", max(session.Milliseconds()/4, 100)),
		fmt.Sprintf("unclean.leader.election.enable=%t", unclean),
	}
	if everyMessage {
		static = append(static, "log.flush.interval.messages=1")
	}
	cfg := Config{
		Seed: uint64(seed), Brokers: brokers, Static: static,
		FsyncLoss: !everyMessage, LossesAllowed: !everyMessage || unclean,
	}
	if os.Getenv("GREGOR_SCENARIO_LOG") != "" {
		cfg.Log, cfg.LogLevel = os.Stderr, slog.LevelInfo
	}
	c, err := NewCluster(cfg)
	if err != nil {
		return err
	}
	h.c = c
	return h.startClients(brokers)
}

func (h *harness) startClients(brokers int) error {
	cc := kclient.DefaultConfig()
	cc.RequestTimeoutMs, cc.DeliveryTimeoutMs, cc.RetryTimeoutMs, cc.ConnSetupTimeoutMs = 5000, 30_000, 30_000, 2000
	if _, err := h.c.AddProducer(producerAll, -1, cc); err != nil {
		return err
	}
	if _, err := h.c.AddProducer(producerOne, 1, cc); err != nil {
		return err
	}
	if _, err := h.c.AddClient(admin, cc); err != nil {
		return err
	}
	ok, err := h.c.RunWhile(readyLimit, 10*time.Millisecond, func() bool { return !h.c.allServing() })
	if err != nil || !ok {
		return fmt.Errorf("brokers not serving (%v)", err)
	}
	fmt.Fprintf(&h.out, "%d brokers serving; controller %s\n", brokers, h.controller())
	return nil
}

// controller names the active controller (the quorum leader), by the
// brokers' quorum status.
func (h *harness) controller() string {
	for i := range h.c.brokers {
		if b := h.c.Broker(i); b != nil && !h.c.brokers[i].Paused() {
			if st := b.QuorumStatus(); st.LeaderID >= 0 {
				return BrokerName(int(st.LeaderID))
			}
		}
	}
	return "none"
}

func (h *harness) createTopic(d *datadriven.TestData) error {
	a := args(d)
	name := d.CmdArgs[0].Key
	parts, err := intArg(a, "partitions", 1)
	if err != nil {
		return err
	}
	cfgs := map[string]string{}
	if v, ok := a["min-isr"]; ok {
		cfgs["min.insync.replicas"] = v
	}
	if _, ok := a["unclean"]; ok {
		cfgs["unclean.leader.election.enable"] = "true"
	}
	if err := h.c.CreateTopic(admin, name, int32(parts), cfgs, createLimit); err != nil {
		return err
	}
	fmt.Fprintf(&h.out, "created %s\n", name)
	h.printTopic(name, false)
	return nil
}

func (h *harness) produce(d *datadriven.TestData) error {
	a := args(d)
	topic := d.CmdArgs[0].Key
	part, err := intArg(a, "partition", 0)
	if err != nil {
		return err
	}
	wait, err := durationArg(a, "wait", 10*time.Second)
	if err != nil {
		return err
	}
	acks := int16(-1)
	if a["acks"] == "1" {
		acks = 1
	}
	if _, raw := a["raw"]; raw {
		return h.produceOnce(topic, int32(part), acks, wait)
	}
	n, err := intArg(a, "n", 1)
	if err != nil {
		return err
	}
	client := producerAll
	if acks == 1 {
		client = producerOne
	}
	results := make([]*kclient.ProduceResult, n)
	names := make([]string, n)
	for i := range n {
		h.values++
		names[i] = fmt.Sprintf("v%d", h.values)
		h.c.Produce(client, topic, int32(part), names[i], func(r kclient.ProduceResult) { results[i] = &r })
	}
	if _, err := h.c.RunWhile(wait, 5*time.Millisecond, func() bool { return slices.Contains(results, nil) }); err != nil {
		return err
	}
	for i, r := range results {
		fmt.Fprintf(&h.out, "%s: %s\n", names[i], outcomeText(r))
	}
	return nil
}

func outcomeText(r *kclient.ProduceResult) string {
	switch {
	case r == nil:
		return "no outcome yet"
	case r.Outcome == kclient.Acked:
		return fmt.Sprintf("acked at %s-%d offset %d", r.Topic, r.Partition, r.Offset)
	}
	return fmt.Sprintf("%s (%s)", r.Outcome, errorText(r.Err))
}

// errorText is an error's Kafka code name when it carries one.
func errorText(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return err.Error()
}

func (h *harness) produceOnce(topic string, part int32, acks int16, wait time.Duration) error {
	h.values++
	value := fmt.Sprintf("v%d", h.values)
	leader := "none"
	if im := h.c.obs.image(); im != nil && im.Topics[topic] != nil && int(part) < len(im.Topics[topic].Partitions) {
		if l := im.Topics[topic].Partitions[part].Leader; l >= 0 {
			leader = BrokerName(int(l))
		}
	}
	answered := false
	h.c.ProduceOnce(admin, topic, part, acks, value, func(code int16, offset int64, err error) {
		answered = true
		switch {
		case err != nil:
			fmt.Fprintf(&h.out, "%s: %s did not answer: %s\n", value, leader, errorText(err))
		case code != 0:
			fmt.Fprintf(&h.out, "%s: %s answered %s\n", value, leader, errorText(kerr.ErrorForCode(code)))
		default:
			fmt.Fprintf(&h.out, "%s: %s answered offset %d\n", value, leader, offset)
		}
	})
	if _, err := h.c.RunWhile(wait, 5*time.Millisecond, func() bool { return !answered }); err != nil {
		return err
	}
	if !answered {
		fmt.Fprintf(&h.out, "%s: no answer from %s within %s\n", value, leader, wait)
	}
	return nil
}

func (h *harness) node(name string) (*sim.Node, error) {
	if n := h.c.s.Node(name); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("no node %q", name)
}

func (h *harness) lifecycle(d *datadriven.TestData) error {
	for _, a := range d.CmdArgs {
		n, err := h.node(a.Key)
		if err != nil {
			return err
		}
		switch d.Cmd {
		case "crash":
			n.Crash()
		case "restart":
			err = n.Start()
		case "stop":
			n.Stop()
		case "pause":
			n.Pause()
		case "resume":
			n.Resume()
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(&h.out, "%s %s\n", d.Cmd, n.Name())
	}
	// Let the step itself happen (a crash is an event at the current
	// time) before the next command looks.
	return h.c.RunFor(0)
}

func (h *harness) network(d *datadriven.TestData) error {
	nw := h.c.s.Net()
	if d.Cmd == "heal" {
		nw.Heal()
		fmt.Fprintln(&h.out, "healed")
		return h.c.RunFor(0)
	}
	if len(d.CmdArgs) != 1 {
		return fmt.Errorf("partition takes one shape")
	}
	a := d.CmdArgs[0]
	var links []sim.Link
	switch a.Key {
	case "isolate":
		n, err := h.node(a.Vals[0])
		if err != nil {
			return err
		}
		links = sim.Isolate(n, h.c.s.Nodes())
	case "split":
		// The named brokers from the other brokers; clients reach all.
		var group []*sim.Node
		for _, v := range a.Vals {
			n, err := h.node(v)
			if err != nil {
				return err
			}
			group = append(group, n)
		}
		links = sim.Split(group, h.c.brokers)
	case "oneway":
		from, to, _ := strings.Cut(a.Vals[0], ">")
		x, err := h.node(from)
		if err != nil {
			return err
		}
		y, err := h.node(to)
		if err != nil {
			return err
		}
		links = sim.OneWay(x, y)
	case "halves":
		links = sim.Halves(h.c.brokers)
	default:
		return fmt.Errorf("unknown shape %q", a.Key)
	}
	nw.Partition(links)
	parts := make([]string, len(links))
	for i, l := range links {
		parts[i] = l.From.Name() + ">" + l.To.Name()
	}
	fmt.Fprintf(&h.out, "cut %s\n", strings.Join(parts, " "))
	return h.c.RunFor(0)
}

func (h *harness) runFor(d *datadriven.TestData) error {
	if len(d.CmdArgs) != 1 {
		return fmt.Errorf("run-for takes a duration")
	}
	dur, err := time.ParseDuration(d.CmdArgs[0].Key)
	if err != nil {
		return err
	}
	return h.c.RunFor(dur)
}

func (h *harness) state(d *datadriven.TestData) error {
	fmt.Fprintf(&h.out, "controller %s\n", h.controller())
	im := h.c.obs.image()
	if im == nil {
		return fmt.Errorf("no metadata image")
	}
	for _, t := range im.SortedTopics() {
		if len(d.CmdArgs) > 0 && d.CmdArgs[0].Key != t.Name {
			continue
		}
		h.printTopic(t.Name, true)
	}
	return nil
}

// printTopic prints each partition as the image has it and, with
// replicas, as each replica sees itself.
func (h *harness) printTopic(name string, replicas bool) {
	t := h.c.obs.image().Topics[name]
	for _, p := range t.Partitions {
		leader := "none"
		if p.Leader >= 0 {
			leader = BrokerName(int(p.Leader))
		}
		fmt.Fprintf(&h.out, "%s-%d: replicas %s leader %s epoch %d isr %s\n", name, p.Index, names(p.Replicas), leader, p.LeaderEpoch, names(p.ISR))
		if !replicas {
			continue
		}
		for _, r := range p.Replicas {
			fmt.Fprintf(&h.out, "  %s: %s\n", BrokerName(int(r)), h.replicaText(int(r), name, p.Index))
		}
	}
}

func (h *harness) replicaText(id int, topic string, part int32) string {
	n, b := h.c.brokers[id], h.c.Broker(id)
	switch {
	case b == nil:
		return "down"
	case n.Paused():
		return "paused"
	}
	ps, ok := replicaState(b.State(), topic, part)
	if !ok {
		return "no replica (not registered yet)"
	}
	role := "follower"
	if ps.Leader == int32(id) {
		role = "leader"
	}
	s := fmt.Sprintf("%s epoch %d hw %d leo %d", role, ps.LeaderEpoch, ps.HW, ps.LEO)
	if ps.Leader == int32(id) {
		s += " isr " + names(ps.ISR)
	}
	// The leader epoch cache: which epoch wrote from which offset.
	epochs := make([]string, len(ps.Epochs))
	for i, e := range ps.Epochs {
		epochs[i] = fmt.Sprintf("%d@%d", e.Epoch, e.StartOffset)
	}
	return s + " epochs [" + strings.Join(epochs, " ") + "]"
}

func names(ids []int32) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = BrokerName(int(id))
	}
	return "[" + strings.Join(out, " ") + "]"
}

func (h *harness) check() error {
	h.c.obs.rescan()
	if len(h.c.Violations()) == h.seen {
		fmt.Fprintln(&h.out, "monitors: no violations")
	}
	losses := h.c.Losses()
	if len(losses) == 0 {
		fmt.Fprintln(&h.out, "losses: none")
	}
	for _, l := range losses {
		fmt.Fprintf(&h.out, "loss: %s\n", formatLoss(l))
	}
	logs, err := h.c.ReadAll(admin, readBackLimit)
	if err != nil {
		return err
	}
	acked := 0
	var lost []string
	for _, a := range h.c.wl.acked {
		if a.acks != -1 {
			continue
		}
		acked++
		if recordAt(logs[a.key], a.offset) != a.value {
			lost = append(lost, fmt.Sprintf("%s@%d", a.value, a.offset))
		}
	}
	h.c.checkReadBack(logs)
	o := h.c.Outcomes()
	fmt.Fprintf(&h.out, "outcomes: produced %d, acked %d, failed %d, ambiguous %d, unfinished %d\n", o.Produced, o.Acked, o.Failed, o.Ambiguous, o.Unfinished)
	fmt.Fprintf(&h.out, "acked (acks=all) %d, read back %d, lost %d %s\n", acked, acked-len(lost), len(lost), strings.Join(lost, " "))
	if u := h.c.UncleanElections(); len(u) > 0 {
		fmt.Fprintf(&h.out, "unclean elections: %s\n", strings.Join(u, " "))
	}
	return nil
}
