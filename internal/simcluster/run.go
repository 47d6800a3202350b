package simcluster

import (
	"errors"
	"fmt"
	"github.com/anishathalye/porcupine"
	"github.com/gregor-dst/gregor/checker/history"
	"github.com/gregor-dst/gregor/checker/queue"
	"github.com/twmb/franz-go/pkg/kerr"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/faults"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
)

// Verdict is a run's outcome, as design §3 names them.
type Verdict string

const (
	Pass Verdict = "pass"
	// Crash: a panic (a broken assertion) or a broken bound.
	Crash Verdict = "crash"
	// Liveness: the cluster did not converge, or a client call did not
	// finish, within the bound after the faults healed.
	Liveness Verdict = "liveness"
	// Correctness: an invariant broke (Violations say which, with a
	// witness).
	Correctness Verdict = "correctness"
)

// Result is the outcome of one run.
type Result struct {
	Seed       uint64
	Options    string
	Verdict    Verdict
	Problem    string // the first violation, the liveness or crash reason
	Violations []Violation
	TraceHash  uint64
	Events     uint64
	SimTime    time.Duration
	Outcomes   Outcomes
	// Lost counts acknowledged acks=all records not read back; Losses are
	// the losses of committed data the monitors recorded as allowed
	// (unsafe modes); Unclean the partitions with unclean elections.
	Lost    int
	Losses  []string
	Unclean []string
	// Faults are the fault steps applied, with their times.
	Faults []string
	// Elections and ISRChanges sum, over the partitions, the leader
	// epochs and partition epochs the run reached: how much the faults
	// moved leaderships and ISRs.
	Elections, ISRChanges int
	// History is the queue workload's history; Anomalies what the Jepsen
	// analysis found in it (those allowed in an unsafe mode included,
	// marked Allowed); Linearizable Porcupine's verdict over every
	// partition ("ok", "illegal: …" or "unknown: …").
	History      []history.Op
	Anomalies    []queue.Anomaly
	Linearizable string
	// Schedule is the fault schedule the run played (drawn or given).
	Schedule faults.Schedule
	// SafetyStart is when the safety phase began, in simulated time since
	// the run's start: the schedule's steps are timed from it. 0 when the
	// run did not get that far.
	SafetyStart time.Duration
}

// Check names what failed, so a shrunk run can be held to the same
// failure: the verdict and the first violated invariant or anomaly kind.
func (r Result) Check() string {
	switch {
	case r.Verdict != Correctness:
		return string(r.Verdict)
	case len(r.Violations) > 0:
		return "correctness:" + r.Violations[0].Invariant
	}
	for _, a := range r.Anomalies {
		if !a.Allowed {
			return "correctness:" + string(a.Kind)
		}
	}
	return "correctness:" + strings.SplitN(r.Problem, ":", 2)[0]
}

// Ops counts the history's calls (invocations).
func (r Result) Ops() int {
	n := 0
	for _, op := range r.History {
		if op.Type == history.Invoke {
			n++
		}
	}
	return n
}

// Summary is the result on one line (and the problem on the next).
func (r Result) Summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "seed %d: %s trace=%016x events=%d sim=%s produced=%d acked=%d failed=%d ambiguous=%d lost=%d faults=%d elections=%d isr_changes=%d",
		r.Seed, r.Verdict, r.TraceHash, r.Events, r.SimTime, r.Outcomes.Produced, r.Outcomes.Acked,
		r.Outcomes.Failed, r.Outcomes.Ambiguous, r.Lost, len(r.Faults), r.Elections, r.ISRChanges)
	if r.Problem != "" {
		fmt.Fprintf(&sb, "\n  %s", r.Problem)
	}
	return sb.String()
}

// Limits of the run's setup steps.
const (
	readyLimit     = 60 * time.Second
	createLimit    = 60 * time.Second
	readBackLimit  = 60 * time.Second
	convergedEvery = 250 * time.Millisecond
)

// runner is one run in progress.
type runner struct {
	o      Options
	c      *Cluster
	topics []string
	faults []string
	r      *rand.Rand
	stopAt sim.Time
	// value is the last value sent: values are unique in the run.
	value        int64
	schedule     faults.Schedule
	anomalies    []queue.Anomaly
	linearizable string
}

// Run runs the cluster under the options' faults and checks it: the
// brokers start, the topics are created through a client's admin calls,
// idempotent acks=all producers write while the faults drawn from the seed
// hit (the safety phase); then every fault heals, the cluster must
// converge within the liveness bound, and every partition is read back.
// The replication and quorum monitors watch after every event that
// touches a broker. Run is deterministic: the same options give the same
// result and trace hash.
func Run(o Options) Result {
	o = o.withDefaults()
	res := Result{Seed: o.Seed, Options: o.String()}
	c, err := NewCluster(o.clusterConfig())
	if err != nil {
		res.Verdict, res.Problem = Crash, err.Error()
		return res
	}
	c.stopOnViolation = true
	rn := &runner{o: o, c: c, r: c.s.Seeds().Stream("simcluster/workload")}
	res.Verdict, res.Problem = rn.run()
	res.Violations = c.Violations()
	res.TraceHash, res.Events, res.SimTime = c.s.TraceHash(), c.s.Events(), c.Now()
	res.Outcomes = c.Outcomes()
	res.Lost = c.lost
	for _, l := range c.Losses() {
		res.Losses = append(res.Losses, formatLoss(l))
	}
	res.Unclean = c.UncleanElections()
	if im := c.obs.image(); im != nil {
		for _, t := range im.SortedTopics() {
			for _, p := range t.Partitions {
				res.Elections += int(p.LeaderEpoch)
				res.ISRChanges += int(p.PartitionEpoch)
			}
		}
	}
	res.Faults = rn.faults
	res.History = c.History()
	res.Anomalies, res.Linearizable = rn.anomalies, rn.linearizable
	res.Schedule = rn.schedule
	res.SafetyStart = max(0, rn.stopAt.Duration()-o.Safety) // safety() set stopAt to its start + Safety
	return res
}

func (o Options) clusterConfig() Config {
	return Config{
		Seed: o.Seed, Brokers: o.Brokers, Static: o.static(), Latency: o.Latency,
		FsyncLoss: o.FsyncLoss || o.Faults.Crashes, LossesAllowed: o.FsyncLoss || o.Unclean,
		Broker: o.Broker, Log: o.Log, LogLevel: o.LogLevel, Trace: o.Trace,
	}
}

// run plays the phases; it returns the verdict and what went wrong.
func (rn *runner) run() (Verdict, string) {
	if p := rn.setup(); p != "" {
		return rn.verdict(Liveness, p)
	}
	rn.safety()
	if err := rn.c.RunFor(rn.o.Safety); err != nil || len(rn.c.Violations()) > 0 {
		return rn.verdict(Pass, "")
	}
	rn.target().HealAll()
	ok, err := rn.c.RunWhile(rn.o.Liveness, convergedEvery, func() bool { return rn.c.Converged() != "" })
	if err != nil || len(rn.c.Violations()) > 0 {
		return rn.verdict(Pass, "")
	}
	if !ok {
		return rn.verdict(Liveness, fmt.Sprintf("not converged %s after healing: %s", rn.o.Liveness, rn.c.Converged()))
	}
	rn.c.checkConverged()
	logs, err := rn.c.ReadAll("reader", readBackLimit)
	if err != nil {
		return rn.verdict(Liveness, err.Error())
	}
	rn.c.lost = rn.c.checkReadBack(logs)
	if p := rn.checkHistory(); p != "" {
		return Correctness, p
	}
	return rn.verdict(Pass, "")
}

// checkHistory runs the Jepsen queue analysis and the Porcupine model over
// the history; it returns the first failure. In the unsafe modes every
// kind is allowed (reported, not failing): losses there are expected, and
// the replication monitors judge whether each one is explained.
func (rn *runner) checkHistory() string {
	ops := rn.c.History()
	var opts queue.Options
	switch {
	case rn.c.cfg.LossesAllowed:
		opts.Allowed = queue.Kinds()
	case rn.o.Acks != -1 || rn.o.NonIdempotent:
		// A producer without idempotence retries into duplicates and
		// reorderings, as Kafka documents. With acks=1 its acknowledged
		// sends are recorded as info (not durable), so losses are not in
		// question; with acks=all they are, and lost writes still fail.
		// An idempotent value twice still fails the read-back check.
		opts.Allowed = append(queue.DefaultAllowed(), queue.Duplicate, queue.NonmonotonicSend, queue.IntNonmonotonicSend, queue.IntSendSkip)
	}
	res, err := queue.Analyze(ops, opts)
	if err != nil {
		return fmt.Sprintf("history: %v", err)
	}
	rn.anomalies = res.Anomalies
	if rn.o.PorcupineTimeout < 0 {
		rn.linearizable = "not checked"
		return rn.firstAnomaly(res)
	}
	keys, err := queue.CheckLinearizable(ops, rn.o.PorcupineTimeout)
	if err != nil {
		return fmt.Sprintf("history: %v", err)
	}
	rn.linearizable = "ok"
	for _, k := range keys {
		switch k.Result {
		case porcupine.Illegal:
			rn.linearizable = fmt.Sprintf("illegal: %s", k.Key)
		case porcupine.Unknown:
			if rn.linearizable == "ok" {
				rn.linearizable = fmt.Sprintf("unknown: %s (search cut at %s)", k.Key, rn.o.PorcupineTimeout)
			}
		}
		if k.Result == porcupine.Illegal {
			break
		}
	}
	if p := rn.firstAnomaly(res); p != "" {
		return p
	}
	if strings.HasPrefix(rn.linearizable, "illegal") && !rn.c.cfg.LossesAllowed {
		return "porcupine: " + rn.linearizable
	}
	return ""
}

func (rn *runner) firstAnomaly(res queue.Result) string {
	for _, a := range res.Anomalies {
		if !a.Allowed {
			return fmt.Sprintf("%s on %s: %s", a.Kind, a.Key, a.Explanation)
		}
	}
	return ""
}

// verdict ranks what happened: a crash, then violations, then the
// liveness problem found, else pass.
func (rn *runner) verdict(v Verdict, problem string) (Verdict, string) {
	var pe *sim.PanicError
	switch err := rn.c.Err(); {
	case errors.As(err, &pe):
		return Crash, fmt.Sprintf("%v\n%s", pe, firstLines(pe.Stack, 12))
	case err != nil:
		return Crash, err.Error()
	}
	if v == Liveness {
		// A cluster that did not converge may be stuck on a broken
		// invariant the sampled log checks have not looked at yet: a full
		// comparison first, so correctness outranks liveness.
		rn.c.obs.rescan()
	}
	if vs := rn.c.Violations(); len(vs) > 0 {
		return Correctness, vs[0].String()
	}
	return v, problem
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func (rn *runner) note(s string) {
	rn.faults = append(rn.faults, fmt.Sprintf("%s %s", rn.c.s.Now(), s))
}

// setup adds the clients, waits for the brokers to serve and creates the
// topics.
func (rn *runner) setup() string {
	c, o := rn.c, rn.o
	pc := kclient.DefaultConfig()
	pc.RequestTimeoutMs, pc.DeliveryTimeoutMs, pc.RetryTimeoutMs = 5000, 30_000, 30_000
	pc.ConnSetupTimeoutMs, pc.BatchRecordsMax = 2000, o.BatchRecordsMax
	producer := pc
	producer.Idempotent = !o.NonIdempotent
	for i := range o.Producers {
		if _, err := c.AddProducer(clientName(slotProducer, i), o.Acks, producer); err != nil {
			return err.Error()
		}
	}
	for i := range o.Acks0Producers {
		if _, err := c.AddProducer(clientName(slotAcks0, i), 0, pc); err != nil {
			return err.Error()
		}
	}
	if _, err := c.AddClient("reader", pc); err != nil {
		return err.Error()
	}
	for i := range o.Consumers {
		if _, err := c.AddClient(clientName(slotConsumer, i), pc); err != nil {
			return err.Error()
		}
	}
	if ok, err := c.RunWhile(readyLimit, 10*time.Millisecond, func() bool { return !c.allServing() }); err != nil || !ok {
		return fmt.Sprintf("brokers not serving %s after start (%v)", readyLimit, err)
	}
	for i := range o.Topics {
		name := fmt.Sprintf("t%d", i)
		if err := c.CreateTopic("p0", name, o.Partitions, nil, createLimit); err != nil {
			return err.Error()
		}
		rn.topics = append(rn.topics, name)
	}
	return ""
}

// target is where the schedule plays: the brokers, then the clients in
// their slots (names.go).
func (rn *runner) target() faults.Target {
	t := rn.c.Target(rn.note)
	nodes := slices.Clone(t.Nodes)
	for _, i := range rn.o.faultClients() {
		for len(nodes) <= i {
			nodes = append(nodes, nil)
		}
		nodes[i] = rn.c.s.Node(rn.o.nodeName(i))
	}
	t.Nodes = nodes
	return t
}

// allServing reports whether every broker serves clients.
func (c *Cluster) allServing() bool {
	for i := range c.brokers {
		if b := c.Broker(i); b == nil || !b.Serving() {
			return false
		}
	}
	return true
}

// safety schedules the producers and the faults of the safety phase.
func (rn *runner) safety() {
	c, o := rn.c, rn.o
	start := c.s.Now()
	rn.stopAt = start + sim.Time(o.Safety)
	for i := range o.Producers {
		rn.produceLoop(clientName(slotProducer, i), start)
	}
	for i := range o.Acks0Producers {
		rn.produceLoop(clientName(slotAcks0, i), start)
	}
	for i := range o.Consumers {
		rn.pollLoop(clientName(slotConsumer, i), start)
	}
	sched := faults.Generate(c.s.Seeds().Stream("simcluster/faults"), faults.GenOptions{
		Nodes: o.Brokers, Clients: o.faultClients(), Window: o.Safety, Every: o.FaultEvery, LongestMax: o.FaultMax, Mix: o.Faults,
	})
	if o.Schedule != nil {
		sched = *o.Schedule
	}
	rn.schedule = sched
	sched.Install(rn.target(), start)
}

// produceLoop has a producer write one record about every 1/rate,
// round-robin over the partitions, until the safety phase ends.
func (rn *runner) produceLoop(client string, start sim.Time) {
	every := time.Second / time.Duration(rn.o.RecordsPerSecond)
	n := 0
	var tick func()
	tick = func() {
		if rn.c.s.Now() >= rn.stopAt {
			return
		}
		parts := len(rn.topics) * int(rn.o.Partitions)
		k := n % parts
		topic, part := rn.topics[k/int(rn.o.Partitions)], int32(k%int(rn.o.Partitions))
		rn.value++
		rn.c.Produce(client, topic, part, strconv.FormatInt(rn.value, 10), nil)
		n++
		jitter := time.Duration(rn.r.Int64N(int64(every)))
		rn.c.s.At(rn.c.s.Now()+sim.Time(every/2+jitter), tick)
	}
	rn.c.s.At(start+sim.Time(rn.r.Int64N(int64(every))), tick)
}

// pollLoop has a consumer fetch one partition about every PollEvery,
// round-robin, from where it last read (assign mode), until the safety
// phase ends. A fetch that fails leaves the position; one out of range
// moves it to the log start (the Jepsen analysis sees the skip).
func (rn *runner) pollLoop(client string, start sim.Time) {
	every := rn.o.PollEvery
	positions := map[partKey]int64{}
	n, inFlight := 0, false
	node := rn.c.s.Node(client)
	starts := node.Starts()
	var tick func()
	tick = func() {
		if rn.c.s.Now() >= rn.stopAt {
			return
		}
		if node.Starts() != starts {
			// A restarted consumer is a new one: its fetch in flight died
			// with the old incarnation, and it reads from the start again.
			starts, inFlight = node.Starts(), false
			clear(positions)
		}
		if !inFlight {
			parts := len(rn.topics) * int(rn.o.Partitions)
			k := n % parts
			key := partKey{rn.topics[k/int(rn.o.Partitions)], int32(k % int(rn.o.Partitions))}
			n++
			inFlight = true
			rn.c.Poll(client, key.topic, key.part, positions[key], false, func(r kclient.FetchResult) {
				inFlight = false
				switch {
				case r.Err == nil && len(r.Records) > 0:
					positions[key] = r.Records[len(r.Records)-1].Offset + 1
				case errors.Is(r.Err, kerr.OffsetOutOfRange) && r.LogStartOffset >= 0:
					positions[key] = r.LogStartOffset
				}
			})
		}
		jitter := time.Duration(rn.r.Int64N(int64(every)))
		rn.c.s.At(rn.c.s.Now()+sim.Time(every/2+jitter), tick)
	}
	rn.c.s.At(start+sim.Time(rn.r.Int64N(int64(every))), tick)
}
