package toy

import (
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

// Verdicts of a busy run, as the simulator reports them.
const (
	Pass        = "pass"
	Crash       = "crash"       // a panic or a broken bound
	Liveness    = "liveness"    // the cluster did not converge after the faults healed
	Correctness = "correctness" // replicas disagree, or a committed entry was lost
)

// BusyOptions shape a busy run. Zero fields are drawn from the seed.
type BusyOptions struct {
	Nodes    int           // replicas (3–5 from the seed)
	Duration time.Duration // the safety phase with faults (default 30s)
	// Unsafe also corrupts the primary's synced log, which this protocol
	// cannot survive: it is how to see a correctness failure.
	Unsafe bool
	// Extra adds nodes running other processes beside the replicas (tests
	// use it to plant a misbehaving node).
	Extra []ExtraNode
	Trace io.Writer // one line per event, if set
	Log   io.Writer // the nodes' log lines, if set

	_ struct{}
}

// ExtraNode is a node outside the toy cluster.
type ExtraNode struct {
	Name    string
	Factory func() env.Process
}

// BusyResult is the outcome of one seed.
type BusyResult struct {
	Seed      uint64
	Verdict   string
	Problem   string // what failed, for a verdict other than pass
	TraceHash uint64
	Events    uint64
	SimTime   time.Duration
	Puts      int
	Committed int
	Faults    []string // the faults injected, in order, with their times
	Options   string   // the options drawn from the seed
}

// busyPlan is everything drawn from the seed before the run starts.
type busyPlan struct {
	nodes          int
	latency        sim.Latency
	putEvery       time.Duration
	faultEvery     time.Duration
	torn           bool
	diskErrPercent float64
	phase          time.Duration
}

func drawPlan(r *rand.Rand, o BusyOptions) busyPlan {
	p := busyPlan{
		nodes:          3 + r.IntN(3),
		latency:        sim.Latency{Min: time.Duration(20+r.IntN(200)) * time.Microsecond},
		putEvery:       time.Duration(5+r.IntN(50)) * time.Millisecond,
		faultEvery:     time.Duration(200+r.IntN(1800)) * time.Millisecond,
		torn:           r.IntN(2) == 0,
		diskErrPercent: float64(r.IntN(3)),
		phase:          30 * time.Second,
	}
	p.latency.Mean = p.latency.Min * time.Duration(1+r.IntN(5))
	p.latency.Tail, p.latency.TailPercent = 20*time.Millisecond, float64(r.IntN(3))
	if o.Nodes > 0 {
		p.nodes = o.Nodes
	}
	if o.Duration > 0 {
		p.phase = o.Duration
	}
	return p
}

func (p busyPlan) String() string {
	return fmt.Sprintf("nodes=%d latency=%s..%s tail=%s@%.0f%% put_every=%s fault_every=%s torn=%v disk_err=%.0f%% phase=%s",
		p.nodes, p.latency.Min, p.latency.Mean, p.latency.Tail, p.latency.TailPercent,
		p.putEvery, p.faultEvery, p.torn, p.diskErrPercent, p.phase)
}

// busy is one run in progress.
type busy struct {
	s         *sim.Sim
	plan      busyPlan
	opts      BusyOptions
	rng       *rand.Rand // faults
	replicas  []*sim.Node
	puts      int
	committed map[int]string // seq → value, as the primary committed it
	faults    []string
}

// RunBusy runs the toy cluster under swarm faults for one seed: a safety
// phase with puts and faults, then a liveness phase where every fault is
// healed and the replicas must converge. It is deterministic: the same
// seed and options give the same result and trace hash.
func RunBusy(seed uint64, o BusyOptions) (BusyResult, error) {
	seeds := sim.NewSeeds(seed)
	plan := drawPlan(seeds.Stream("busy/options"), o)
	opts := sim.DefaultOptions(seed)
	opts.Net.Latency = plan.latency
	opts.Trace, opts.Log = o.Trace, o.Log
	s, err := sim.New(opts)
	if err != nil {
		return BusyResult{}, err
	}
	b := &busy{s: s, plan: plan, opts: o, rng: seeds.Stream("busy/faults"), committed: map[int]string{}}
	if err := b.build(); err != nil {
		return BusyResult{}, err
	}
	verdict, problem := b.run()
	return BusyResult{
		Seed: seed, Verdict: verdict, Problem: problem,
		TraceHash: s.TraceHash(), Events: s.Events(), SimTime: s.Now().Duration(),
		Puts: b.puts, Committed: len(b.committed), Faults: b.faults, Options: plan.String(),
	}, nil
}

func (b *busy) build() error {
	names := make([]string, b.plan.nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i+1)
	}
	cfg := DefaultConfig(names...)
	disk := sim.DiskOptions{
		SyncLatency: sim.Latency{Min: 200 * time.Microsecond, Mean: 2 * time.Millisecond},
		TornWrites:  b.plan.torn,
	}
	for _, name := range names {
		n, err := b.s.AddNode(name, New(cfg), disk)
		if err != nil {
			return err
		}
		b.replicas = append(b.replicas, n)
	}
	for _, x := range b.opts.Extra {
		if _, err := b.s.AddNode(x.Name, x.Factory, sim.DiskOptions{}); err != nil {
			return err
		}
	}
	for _, n := range b.s.Nodes() {
		if err := n.Start(); err != nil {
			return err
		}
	}
	return nil
}

func (b *busy) run() (verdict, problem string) {
	end := b.s.Now() + sim.Time(b.plan.phase)
	b.schedulePuts(end)
	b.scheduleFaults(end)
	b.schedulePolls(end)
	if err := b.s.RunUntil(end); err != nil {
		return Crash, err.Error()
	}
	b.healAll()
	if err := b.s.RunFor(15 * time.Second); err != nil {
		return Crash, err.Error()
	}
	b.poll()
	for _, n := range b.replicas {
		if _, ok := n.Process().(*Replica); !ok {
			return Liveness, fmt.Sprintf("%s is %s 15s after the heal", n.Name(), n.State())
		}
	}
	if p := b.checkAgreement(); p != "" {
		return Correctness, p
	}
	if p := b.checkConverged(); p != "" {
		return Liveness, p
	}
	return Pass, ""
}

func (b *busy) schedulePuts(end sim.Time) {
	r := b.s.Seeds().Stream("busy/puts")
	primary := b.replicas[0]
	for t := b.s.Now() + sim.Time(time.Second); t < end; t += sim.Time(b.plan.putEvery) + sim.Time(r.Int64N(int64(b.plan.putEvery))) {
		b.s.At(t, func() {
			b.puts++
			v := fmt.Sprintf("v%d", b.puts)
			b.s.Call(primary, func(p env.Process) { p.(*Replica).Put(v) })
		})
	}
}

// schedulePolls samples what the primary committed, so that a lost
// committed entry is caught even if the primary later forgets it.
func (b *busy) schedulePolls(end sim.Time) {
	for t := b.s.Now(); t < end; t += sim.Time(100 * time.Millisecond) {
		b.s.At(t, b.poll)
	}
}

func (b *busy) poll() {
	r, ok := b.replicas[0].Process().(*Replica)
	if !ok || !r.ready {
		return
	}
	for seq := 1; seq <= r.committed; seq++ {
		if _, seen := b.committed[seq]; !seen {
			b.committed[seq] = r.entries[seq-1].value
		}
	}
}

// checkAgreement: every replica's log agrees with every committed entry
// and with the primary's log where both have an entry.
func (b *busy) checkAgreement() string {
	ref := b.replicas[0].Process().(*Replica).entries
	for _, n := range b.replicas {
		r := n.Process().(*Replica)
		for i, e := range r.entries {
			if i < len(ref) && ref[i].value != e.value {
				return fmt.Sprintf("%s holds %q at seq %d, the primary %q", n.Name(), e.value, i+1, ref[i].value)
			}
		}
	}
	for _, seq := range slices.Sorted(maps.Keys(b.committed)) {
		want := b.committed[seq]
		if seq > len(ref) || ref[seq-1].value != want {
			return fmt.Sprintf("committed entry %d (%q) lost by the primary", seq, want)
		}
	}
	return ""
}

func (b *busy) checkConverged() string {
	ref := b.replicas[0].Process().(*Replica)
	for _, n := range b.replicas[1:] {
		r := n.Process().(*Replica)
		if len(r.entries) != len(ref.entries) {
			return fmt.Sprintf("%s holds %d entries 15s after the heal, the primary %d", n.Name(), len(r.entries), len(ref.entries))
		}
	}
	if ref.committed != len(ref.entries) {
		return fmt.Sprintf("the primary committed %d of %d entries 15s after the heal", ref.committed, len(ref.entries))
	}
	return ""
}

func (b *busy) note(format string, args ...any) {
	b.faults = append(b.faults, fmt.Sprintf("%s %s", b.s.Now(), fmt.Sprintf(format, args...)))
}

// healAll ends the safety phase: network healed, nodes up and running,
// clocks true, disks faultless.
func (b *busy) healAll() {
	b.s.Net().Heal()
	for _, n := range b.replicas {
		n.Resume()
		n.SetClockDrift(0)
		n.SetClockOffset(0)
		o := n.Disk().Options()
		o.ReadErrorPercent, o.WriteErrorPercent, o.SyncErrorPercent, o.SlowFactor = 0, 0, 0, 0
		n.Disk().SetOptions(o)
		if n.State() == sim.Down {
			_ = n.Start()
		}
	}
	b.note("heal all")
}

// ---- faults ----

func (b *busy) scheduleFaults(end sim.Time) {
	for t := b.s.Now() + sim.Time(time.Second); t < end; t += sim.Time(b.plan.faultEvery) {
		b.s.At(t, b.fault)
	}
}

// fault injects one fault drawn from the seed. Each kind undoes itself
// after a while, so faults overlap but do not pile up forever.
func (b *busy) fault() {
	faults := []func(){b.partition, b.clog, b.crash, b.stop, b.pause, b.clockFault, b.diskFault}
	faults[b.rng.IntN(len(faults))]()
}

func (b *busy) pick() *sim.Node { return b.replicas[b.rng.IntN(len(b.replicas))] }

func (b *busy) later(max time.Duration, f func()) {
	b.s.At(b.s.Now()+sim.Time(b.rng.Int64N(int64(max))+1), f)
}

func (b *busy) partition() {
	all := b.replicas
	var links []sim.Link
	var shape string
	switch b.rng.IntN(5) {
	case 0:
		n := b.pick()
		links, shape = sim.Isolate(n, all), "isolate "+n.Name()
	case 1:
		shuffled := slices.Clone(all)
		b.rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		links, shape = sim.Halves(shuffled), "halves"
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
		x, y := b.pick(), b.pick()
		if x == y {
			return
		}
		links, shape = sim.OneWay(x, y), fmt.Sprintf("one-way %s>%s", x.Name(), y.Name())
	}
	b.s.Net().Partition(links)
	b.note("partition %s", shape)
	b.later(5*time.Second, func() { b.s.Net().Heal(); b.note("heal") })
}

func (b *busy) clog() {
	x, y := b.pick(), b.pick()
	if x == y {
		return
	}
	d := time.Duration(b.rng.Int64N(int64(3 * time.Second)))
	b.s.Net().Clog(x, y, d)
	b.note("clog %s>%s for %s", x.Name(), y.Name(), d)
}

func (b *busy) crash() {
	n := b.pick()
	n.Crash()
	b.note("crash %s", n.Name())
	b.later(3*time.Second, func() { b.restart(n) })
}

func (b *busy) stop() {
	n := b.pick()
	n.Stop()
	b.note("stop %s", n.Name())
	b.later(3*time.Second, func() { b.restart(n) })
}

func (b *busy) restart(n *sim.Node) {
	switch n.State() {
	case sim.Stopping:
		b.later(time.Second, func() { b.restart(n) }) // not down yet
	case sim.Down:
		if n.Start() == nil {
			b.note("restart %s", n.Name())
		}
	}
}

func (b *busy) pause() {
	n := b.pick()
	n.Pause()
	b.note("pause %s", n.Name())
	b.later(4*time.Second, func() { n.Resume(); b.note("resume %s", n.Name()) })
}

func (b *busy) clockFault() {
	n := b.pick()
	switch b.rng.IntN(3) {
	case 0:
		d := time.Duration(b.rng.Int64N(int64(20*time.Second))) - 10*time.Second
		n.SetClockOffset(d)
		b.note("clock %s offset %s", n.Name(), d)
	case 1:
		ppm := b.rng.Int64N(2001) - 1000
		n.SetClockDrift(ppm)
		b.note("clock %s drift %dppm", n.Name(), ppm)
	default:
		d := time.Duration(b.rng.Int64N(int64(4*time.Second))) - 2*time.Second
		n.JumpClock(d)
		b.note("clock %s jump %s", n.Name(), d)
	}
}

// diskFault makes a node's disk fail or slow for a while, or corrupts a
// backup's log (recoverable: it refetches). Corrupting the primary's synced
// log is not survivable and only happens with Unsafe.
func (b *busy) diskFault() {
	n := b.pick()
	d := n.Disk()
	o := d.Options()
	switch b.rng.IntN(4) {
	case 0:
		o.WriteErrorPercent = b.plan.diskErrPercent + 5
		b.note("disk %s write errors %.0f%%", n.Name(), o.WriteErrorPercent)
	case 1:
		o.SyncErrorPercent = b.plan.diskErrPercent + 5
		b.note("disk %s sync errors %.0f%%", n.Name(), o.SyncErrorPercent)
	case 2:
		o.SlowFactor = 10 + b.rng.Int64N(90)
		b.note("disk %s slow x%d", n.Name(), o.SlowFactor)
	default:
		b.corrupt(n)
		return
	}
	d.SetOptions(o)
	b.later(3*time.Second, func() {
		o := d.Options()
		o.WriteErrorPercent, o.SyncErrorPercent, o.SlowFactor = 0, 0, 0
		d.SetOptions(o)
		b.note("disk %s healed", n.Name())
	})
}

func (b *busy) corrupt(n *sim.Node) {
	if n == b.replicas[0] && !b.opts.Unsafe {
		return
	}
	data, err := n.Disk().ReadFile(logFile)
	if err != nil || len(data) == 0 {
		return
	}
	off := b.rng.Int64N(int64(len(data)))
	if n.Disk().Corrupt(logFile, off, 1) == nil {
		b.note("disk %s corrupt %s byte %d", n.Name(), logFile, off)
	}
}

// Summary is a one-line report of a result.
func (r BusyResult) Summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "seed %d: %s trace=%016x events=%d sim=%s puts=%d committed=%d faults=%d",
		r.Seed, r.Verdict, r.TraceHash, r.Events, r.SimTime, r.Puts, r.Committed, len(r.Faults))
	if r.Problem != "" {
		fmt.Fprintf(&sb, "\n  %s", r.Problem)
	}
	return sb.String()
}
