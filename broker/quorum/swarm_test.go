package quorum

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
)

// The swarm: for each seed, a quorum runs a safety phase of proposals
// under random faults drawn from the seed (every partition shape of
// sim/partition.go, clogs, crashes with or without torn writes, graceful
// stops, pauses, clock offsets, drift and jumps, slow and failing disks),
// then a heal phase that must end with a leader that commits a new
// proposal and every node caught up (liveness). The monitor checks safety
// throughout: one leader per epoch, the same entry at each offset on every
// node, every acknowledged proposal in every node's state machine, and
// logs that agree batch for batch.

const (
	verdictPass        = "pass"
	verdictCrash       = "crash"
	verdictLiveness    = "liveness"
	verdictCorrectness = "correctness"
)

type swarmOpts struct {
	phase time.Duration // the safety phase (default 10s)
	// harsh draws faults 4× as often.
	harsh bool
	trace io.Writer
	log   io.Writer
	bugs  plantedBugs
}

type swarmResult struct {
	seed      uint64
	voters    int
	verdict   string
	problem   string
	traceHash uint64
	events    uint64
	simTime   time.Duration
	proposed  int
	acked     int
	elections int64
	installs  int64
	reboots   int64
	faults    []string
	plan      string
}

func (r swarmResult) summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "seed %d voters %d: %s trace=%016x events=%d sim=%s proposed=%d acked=%d elections=%d installs=%d reboots=%d faults=%d\n  plan: %s",
		r.seed, r.voters, r.verdict, r.traceHash, r.events, r.simTime, r.proposed, r.acked, r.elections, r.installs, r.reboots, len(r.faults), r.plan)
	if r.problem != "" {
		fmt.Fprintf(&sb, "\n  problem: %s\n  faults:\n    %s", r.problem, strings.Join(r.faults, "\n    "))
	}
	return sb.String()
}

// swarmPlan is everything drawn from the seed before the run.
type swarmPlan struct {
	latency       sim.Latency
	syncLatency   sim.Latency
	torn          bool
	proposeEvery  time.Duration
	faultEvery    time.Duration
	snapshotEvery int64
	phase         time.Duration
}

func drawSwarmPlan(r *rand.Rand, o swarmOpts) swarmPlan {
	p := swarmPlan{
		latency:       sim.Latency{Min: time.Duration(20+r.IntN(200)) * time.Microsecond},
		syncLatency:   sim.Latency{Min: 100 * time.Microsecond, Mean: time.Duration(200+r.IntN(3000)) * time.Microsecond},
		torn:          r.IntN(2) == 0,
		proposeEvery:  time.Duration(5+r.IntN(45)) * time.Millisecond,
		faultEvery:    time.Duration(200+r.IntN(1800)) * time.Millisecond,
		snapshotEvery: []int64{0, 50, 200, 1000}[r.IntN(4)],
		phase:         10 * time.Second,
	}
	p.latency.Mean = p.latency.Min * time.Duration(1+r.IntN(5))
	p.latency.Tail, p.latency.TailPercent = 20*time.Millisecond, float64(r.IntN(3))
	if o.phase > 0 {
		p.phase = o.phase
	}
	if o.harsh {
		p.faultEvery /= 4
	}
	return p
}

func (p swarmPlan) String() string {
	return fmt.Sprintf("latency=%s..%s tail=%s@%.0f%% fsync=%s torn=%v propose_every=%s fault_every=%s snapshot_every=%d phase=%s",
		p.latency.Min, p.latency.Mean, p.latency.Tail, p.latency.TailPercent, p.syncLatency.Mean, p.torn,
		p.proposeEvery, p.faultEvery, p.snapshotEvery, p.phase)
}

type swarm struct {
	c        *cluster
	plan     swarmPlan
	rng      *rand.Rand // faults
	proposed int
	faults   []string
}

// swarmTB lets the cluster harness run outside a test: a failed require
// panics with the message, which the runner turns into a verdict.
type swarmTB struct{ testing.TB }

type swarmFailure string

func (swarmTB) Helper() {}
func (swarmTB) Errorf(format string, args ...any) {
	panic(swarmFailure(testifyError(fmt.Sprintf(format, args...))))
}
func (swarmTB) FailNow()                          { panic(swarmFailure("FailNow")) }
func (swarmTB) Fatalf(format string, args ...any) { panic(swarmFailure(fmt.Sprintf(format, args...))) }
func (swarmTB) Logf(string, ...any)               {}
func (swarmTB) Name() string                      { return "swarm" }

// testifyError keeps the "Error:" and "Messages:" parts of a testify
// failure, without its trace.
func testifyError(msg string) string {
	var keep []string
	on := false
	for line := range strings.SplitSeq(msg, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "Error:"), strings.HasPrefix(t, "Messages:"):
			on = true
		case strings.HasPrefix(t, "Error Trace:"), strings.HasPrefix(t, "Test:"):
			on = false
		}
		if on && t != "" {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return msg
	}
	return strings.Join(keep, " ")
}

// runSwarm runs one seed. It is deterministic: the same seed, voters and
// options give the same result and trace hash.
func runSwarm(seed uint64, voters int, o swarmOpts) (res swarmResult) {
	seeds := sim.NewSeeds(seed)
	plan := drawSwarmPlan(seeds.Stream("quorum/plan"), o)
	res = swarmResult{seed: seed, voters: voters, plan: plan.String()}
	net := sim.DefaultNetOptions()
	net.Latency = plan.latency
	tweak := func(cfg *Config) {
		cfg.SnapshotEveryEntries = plan.snapshotEvery
		cfg.bugs = o.bugs
		if plan.snapshotEvery > 0 {
			cfg.SegmentBytes, cfg.SnapshotChunkBytes = 4<<10, 2<<10
		}
	}
	c, err := buildCluster(swarmTB{}, clusterOpts{seed: seed, voters: voters, net: &net, tweak: tweak,
		disk: sim.DiskOptions{SyncLatency: plan.syncLatency, TornWrites: plan.torn}, log: o.log, trace: o.trace})
	if err != nil {
		res.verdict, res.problem = verdictCrash, err.Error()
		return res
	}
	w := &swarm{c: c, plan: plan, rng: seeds.Stream("quorum/faults")}
	defer func() {
		res.traceHash, res.events, res.simTime = c.s.TraceHash(), c.s.Events(), c.s.Now().Duration()
		res.proposed, res.acked, res.faults = w.proposed, c.mon.AckedCount(), w.faults
		for _, id := range c.ids {
			st := c.nodes[id].stats
			res.elections += st.Elections
			res.installs += st.SnapshotsInstalled
			res.reboots += st.Reboots
		}
	}()
	res.verdict, res.problem = w.run()
	return res
}

func (w *swarm) run() (verdict, problem string) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(swarmFailure)
			if !ok {
				panic(r)
			}
			verdict, problem = w.classify(string(f))
		}
	}()
	c := w.c
	end := c.s.Now() + sim.Time(w.plan.phase)
	w.scheduleProposals(end)
	w.scheduleFaults(end)
	c.run(w.plan.phase)
	w.healAll()
	if p := w.liveness(30 * time.Second); p != "" {
		return verdictLiveness, p
	}
	c.checkFinal()
	return verdictPass, ""
}

// classify turns a failure of the harness into a verdict: a panic in the
// simulation is a crash, a broken property a correctness failure.
func (w *swarm) classify(msg string) (string, string) {
	var pe *sim.PanicError
	if err := w.c.s.Err(); errors.As(err, &pe) {
		return verdictCrash, fmt.Sprintf("%v\n%s", pe, pe.Stack)
	}
	return verdictCorrectness, msg
}

// liveness waits for a leader that commits a new proposal and for every
// node to apply it.
func (w *swarm) liveness(limit time.Duration) string {
	c := w.c
	end := c.s.Now() + sim.Time(limit)
	var res *result
	for c.s.Now() < end {
		if res == nil || res.done && res.err != nil {
			res = nil
			if l, ok := c.leader(); ok {
				res = c.propose(l, []byte("final"))
			}
		}
		c.run(50 * time.Millisecond)
		if res != nil && res.done && res.err == nil && c.converged() {
			return ""
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "no leader committed a proposal and converged within %s of the heal:", limit)
	for _, id := range c.ids {
		if n := c.node(id); n != nil {
			s := n.Status()
			fmt.Fprintf(&sb, "\n    node %d: %s epoch=%d leader=%d log=[%d,%d) flushed=%d hw=%d applied=%d", id, s.State, s.Epoch, s.LeaderID,
				s.LogStartOffset, s.LogEndOffset, s.FlushedOffset, s.HighWatermark, s.AppliedOffset)
		} else {
			fmt.Fprintf(&sb, "\n    node %d: %s", id, c.hosts[id].State())
		}
	}
	return sb.String()
}

func (w *swarm) note(format string, args ...any) {
	w.faults = append(w.faults, fmt.Sprintf("%s %s", w.c.s.Now(), fmt.Sprintf(format, args...)))
}

// scheduleProposals proposes to whichever node says it leads.
func (w *swarm) scheduleProposals(end sim.Time) {
	c := w.c
	r := c.s.Seeds().Stream("quorum/proposals")
	for t := c.s.Now() + sim.Time(time.Second); t < end; t += sim.Time(w.plan.proposeEvery) + sim.Time(r.Int64N(int64(w.plan.proposeEvery))) {
		c.s.At(t, func() {
			if l, ok := c.leader(); ok {
				w.proposed++
				c.propose(l, fmt.Appendf(nil, "v%d", w.proposed))
			}
		})
	}
}

func (w *swarm) scheduleFaults(end sim.Time) {
	c := w.c
	for t := c.s.Now() + sim.Time(time.Second); t < end; t += sim.Time(w.plan.faultEvery) {
		c.s.At(t, w.fault)
	}
}

func (w *swarm) fault() {
	faults := []func(){w.partition, w.clog, w.crash, w.stop, w.pause, w.clockFault, w.diskFault}
	faults[w.rng.IntN(len(faults))]()
}

func (w *swarm) pick() *sim.Node {
	all := w.c.all()
	return all[w.rng.IntN(len(all))]
}

func (w *swarm) later(most time.Duration, f func()) {
	w.c.s.At(w.c.s.Now()+sim.Time(w.rng.Int64N(int64(most))+1), f)
}

func (w *swarm) partition() {
	all := w.c.all()
	var links []sim.Link
	var shape string
	switch w.rng.IntN(5) {
	case 0:
		n := w.pick()
		links, shape = sim.Isolate(n, all), "isolate "+n.Name()
	case 1:
		shuffled := slices.Clone(all)
		w.rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		links, shape = sim.Halves(shuffled), "halves "+names(shuffled[:len(shuffled)/2])
	case 2:
		links, _ = sim.Bridge(all)
		shape = "bridge"
	case 3:
		var err error
		if links, err = sim.Ring(all); err != nil {
			links = sim.Halves(all)
		}
		shape = "ring"
	default:
		x, y := w.pick(), w.pick()
		if x == y {
			return
		}
		links, shape = sim.OneWay(x, y), fmt.Sprintf("one-way %s>%s", x.Name(), y.Name())
	}
	w.c.s.Net().Partition(links)
	w.note("partition %s", shape)
	w.later(5*time.Second, func() { w.c.s.Net().Heal(); w.note("heal") })
}

func names(ns []*sim.Node) string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name())
	}
	return strings.Join(out, ",")
}

func (w *swarm) clog() {
	x, y := w.pick(), w.pick()
	if x == y {
		return
	}
	d := time.Duration(w.rng.Int64N(int64(3 * time.Second)))
	w.c.s.Net().Clog(x, y, d)
	w.note("clog %s>%s for %s", x.Name(), y.Name(), d)
}

func (w *swarm) crash() {
	n := w.pick()
	n.Crash()
	w.note("crash %s", n.Name())
	w.later(3*time.Second, func() { w.restart(n) })
}

func (w *swarm) stop() {
	n := w.pick()
	n.Stop()
	w.note("stop %s", n.Name())
	w.later(3*time.Second, func() { w.restart(n) })
}

func (w *swarm) restart(n *sim.Node) {
	switch n.State() {
	case sim.Stopping:
		w.later(time.Second, func() { w.restart(n) })
	case sim.Down:
		if n.Start() == nil {
			w.note("restart %s", n.Name())
		}
	}
}

func (w *swarm) pause() {
	n := w.pick()
	n.Pause()
	w.note("pause %s", n.Name())
	w.later(4*time.Second, func() { n.Resume(); w.note("resume %s", n.Name()) })
}

func (w *swarm) clockFault() {
	n := w.pick()
	switch w.rng.IntN(3) {
	case 0:
		d := time.Duration(w.rng.Int64N(int64(20*time.Second))) - 10*time.Second
		n.SetClockOffset(d)
		w.note("clock %s offset %s", n.Name(), d)
	case 1:
		ppm := w.rng.Int64N(2001) - 1000
		n.SetClockDrift(ppm)
		w.note("clock %s drift %dppm", n.Name(), ppm)
	default:
		d := time.Duration(w.rng.Int64N(int64(4*time.Second))) - 2*time.Second
		n.JumpClock(d)
		w.note("clock %s jump %s", n.Name(), d)
	}
}

// diskFault makes a disk slow, or fail writes or fsyncs for a while. A
// failed fsync fails the metadata log, and the node restarts itself.
func (w *swarm) diskFault() {
	n := w.pick()
	d := n.Disk()
	o := d.Options()
	switch w.rng.IntN(4) {
	case 0:
		o.WriteErrorPercent = float64(1 + w.rng.IntN(10))
		w.note("disk %s write errors %.0f%%", n.Name(), o.WriteErrorPercent)
	case 1:
		o.ReadErrorPercent = float64(1 + w.rng.IntN(10))
		w.note("disk %s read errors %.0f%%", n.Name(), o.ReadErrorPercent)
	case 2:
		o.SyncErrorPercent = float64(1 + w.rng.IntN(10))
		w.note("disk %s sync errors %.0f%%", n.Name(), o.SyncErrorPercent)
	default:
		o.SlowFactor = 10 + w.rng.Int64N(90)
		w.note("disk %s slow x%d", n.Name(), o.SlowFactor)
	}
	d.SetOptions(o)
	w.later(3*time.Second, func() {
		o := d.Options()
		o.ReadErrorPercent, o.WriteErrorPercent, o.SyncErrorPercent, o.SlowFactor = 0, 0, 0, 0
		d.SetOptions(o)
		w.note("disk %s healed", n.Name())
	})
}

// healAll ends the safety phase: network healed, every node up and
// running, clocks true, disks faultless.
func (w *swarm) healAll() {
	c := w.c
	c.s.Net().Heal()
	for _, n := range c.all() {
		n.Resume()
		n.SetClockDrift(0)
		n.SetClockOffset(0)
		o := n.Disk().Options()
		o.ReadErrorPercent, o.WriteErrorPercent, o.SyncErrorPercent, o.SlowFactor = 0, 0, 0, 0
		n.Disk().SetOptions(o)
	}
	// A node stopping gracefully goes down within its stop timeout.
	c.runUntil(40*time.Second, func() bool {
		for _, n := range c.all() {
			if n.State() == sim.Stopping {
				return false
			}
		}
		return true
	})
	for _, n := range c.all() {
		if n.State() == sim.Down {
			_ = n.Start()
		}
	}
	w.note("heal all")
}

// ---- tests ----

// envSwarmOpts reads GREGOR_QUORUM_PHASE (a duration) and
// GREGOR_QUORUM_HARSH=1 for longer or harsher runs.
func envSwarmOpts(t *testing.T) swarmOpts {
	var o swarmOpts
	if s := os.Getenv("GREGOR_QUORUM_PHASE"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "GREGOR_QUORUM_PHASE")
		o.phase = d
	}
	o.harsh = os.Getenv("GREGOR_QUORUM_HARSH") == "1"
	return o
}

// swarmSeeds is how many seeds per voter count: GREGOR_QUORUM_SEEDS, or
// the default.
func swarmSeeds(t *testing.T, def int) int {
	if s := os.Getenv("GREGOR_QUORUM_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "GREGOR_QUORUM_SEEDS")
		return n
	}
	if testing.Short() {
		return def / 4
	}
	return def
}

// forSeeds runs fn for seeds 1..count on every CPU, and returns the
// results in seed order.
func forSeeds(count int, fn func(seed uint64) swarmResult) []swarmResult {
	out := make([]swarmResult, count)
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, runtimeCPUs()) {
		wg.Go(func() {
			for i := range next {
				out[i] = fn(uint64(i + 1))
			}
		})
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// TestSwarm runs 200 seeds (GREGOR_QUORUM_SEEDS to change) for 3 and for
// 5 voters; every seed must pass.
func TestSwarm(t *testing.T) {
	count := swarmSeeds(t, 200)
	for _, voters := range []int{3, 5} {
		t.Run(fmt.Sprintf("voters=%d", voters), func(t *testing.T) {
			start := time.Now()
			o := envSwarmOpts(t)
			results := forSeeds(count, func(seed uint64) swarmResult { return runSwarm(seed, voters, o) })
			var events uint64
			var acked, elections, installs, reboots int64
			for _, r := range results {
				require.Equal(t, verdictPass, r.verdict, r.summary())
				events += r.events
				acked += int64(r.acked)
				elections += r.elections
				installs += r.installs
				reboots += r.reboots
			}
			t.Logf("%d seeds in %s: %d events, %d acked, %d elections, %d snapshot installs, %d log-failure reboots",
				count, time.Since(start).Round(time.Millisecond), events, acked, elections, installs, reboots)
		})
	}
}

// TestSwarmDeterminism runs a sample of seeds twice and compares trace
// hashes and event counts.
func TestSwarmDeterminism(t *testing.T) {
	count := 10
	for _, voters := range []int{3, 5} {
		a := forSeeds(count, func(seed uint64) swarmResult { return runSwarm(seed*7919, voters, swarmOpts{}) })
		b := forSeeds(count, func(seed uint64) swarmResult { return runSwarm(seed*7919, voters, swarmOpts{}) })
		for i := range a {
			require.Equal(t, a[i].traceHash, b[i].traceHash, "seed %d voters %d: trace hashes differ\n%s\n%s", a[i].seed, voters, a[i].summary(), b[i].summary())
			require.Equal(t, a[i].events, b[i].events)
			require.Equal(t, a[i].faults, b[i].faults)
			require.Equal(t, a[i].verdict, b[i].verdict)
			require.NotEmpty(t, a[i].faults)
		}
	}
}

// TestPlantedBugsAreCaught: the swarm and its monitor must notice a
// quorum that breaks Raft's rules: one that votes without comparing logs,
// and one that counts entries towards commitment before they are fsynced.
func TestPlantedBugsAreCaught(t *testing.T) {
	for _, bug := range []struct {
		name string
		bugs plantedBugs
	}{
		{"vote-any-log", plantedBugs{voteAnyLog: true}},
		{"count-unflushed", plantedBugs{countUnflushed: true}},
	} {
		t.Run(bug.name, func(t *testing.T) {
			count := 100
			if testing.Short() {
				count = 25
			}
			results := forSeeds(count, func(seed uint64) swarmResult {
				return runSwarm(seed, 3, swarmOpts{bugs: bug.bugs})
			})
			caught := map[string]int{}
			first := ""
			for _, r := range results {
				caught[r.verdict]++
				if r.verdict != verdictPass && first == "" {
					first = r.summary()
				}
			}
			t.Logf("%s: %v; first: %s", bug.name, caught, first)
			require.Positive(t, caught[verdictCorrectness]+caught[verdictCrash], "no seed caught the planted bug")
		})
	}
}

// TestSwarmSeed replays one seed with its log: GREGOR_QUORUM_SEED=<seed>
// GREGOR_QUORUM_VOTERS=<n>.
func TestSwarmSeed(t *testing.T) {
	s := os.Getenv("GREGOR_QUORUM_SEED")
	if s == "" {
		t.Skip("set GREGOR_QUORUM_SEED to replay a seed")
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err)
	voters := 3
	if v := os.Getenv("GREGOR_QUORUM_VOTERS"); v != "" {
		voters, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	var logs strings.Builder
	o := envSwarmOpts(t)
	o.log = &logs
	r := runSwarm(seed, voters, o)
	t.Log(logs.String())
	t.Log(r.summary())
	require.Equal(t, verdictPass, r.verdict)
}

var _ env.Process = (*Node)(nil)

func runtimeCPUs() int { return runtime.GOMAXPROCS(0) }
