package simcluster

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/faults"
	"github.com/gregor-dst/gregor/sim"
)

// Options shape one run. DefaultOptions gives a plain run for a seed;
// OptionsFromSeed draws a swarm run.
type Options struct {
	Seed    uint64
	Brokers int
	// Topics topics of Partitions partitions each, replication factor RF,
	// min.insync.replicas MinISR.
	Topics     int
	Partitions int32
	RF         int
	MinISR     int
	// Acks is the producers' acks: -1 (all, idempotent unless
	// NonIdempotent) or 1 (never idempotent).
	Acks int16
	// NonIdempotent turns idempotence off for acks=all producers
	// (enable.idempotence=false, retries on): a retry may then duplicate
	// or reorder their writes, which the history checks allow, but an
	// acknowledged write must still survive.
	NonIdempotent bool
	// Acks0Producers more producers send with acks=0 (fire and forget, not
	// idempotent), at the same rate: their sends are recorded as info,
	// since no answer tells what became of them.
	Acks0Producers int
	// Producers clients each produce RecordsPerSecond records, round-robin
	// over every partition, in batches of up to BatchRecordsMax.
	Producers        int
	RecordsPerSecond int
	BatchRecordsMax  int
	// Consumers clients poll the partitions in assign mode, one fetch
	// about every PollEvery, round-robin, each from where it last read.
	Consumers int
	PollEvery time.Duration
	// FlushEveryMessage sets log.flush.interval.messages=1: a write is
	// fsynced before it is acknowledged, so power loss loses nothing
	// acknowledged. Crashes in a safe run need it (Run turns it on).
	FlushEveryMessage bool
	// Faults is the fault mix of the safety phase, one fault about every
	// FaultEvery, each lasting up to FaultMax.
	Faults     faults.Mix
	FaultEvery time.Duration
	FaultMax   time.Duration
	// Schedule, when set, is played instead of one drawn from the seed
	// and the mix (a replayed or shrunk scenario).
	Schedule *faults.Schedule
	// Safety is the phase with faults and producers; Liveness bounds the
	// phase after it, faults healed, in which the cluster must converge.
	Safety   time.Duration
	Liveness time.Duration
	// ReplicaLagMaxMs and SessionTimeoutMs are replica.lag.time.max.ms and
	// broker.session.timeout.ms.
	ReplicaLagMaxMs  int64
	SessionTimeoutMs int64
	// Unsafe modes, only when asked: Unclean turns on
	// unclean.leader.election.enable; FsyncLoss keeps Kafka's default
	// flush policy with power-loss crashes. Both may lose acknowledged
	// writes; the monitors must then explain every loss.
	Unclean   bool
	FsyncLoss bool
	Latency   sim.Latency
	// PorcupineTimeout bounds Porcupine's search per partition (0: the
	// default, 250 ms; negative: no Porcupine check). A search cut short
	// is "unknown", never a failure: under faults sends stay open for
	// seconds while polls come and go, and the search space explodes, so
	// the Jepsen analysis (linear) is the run's main check and Porcupine a
	// second opinion where it finishes.
	PorcupineTimeout time.Duration
	// Broker adjusts every broker's config (tests: planted bugs).
	Broker   func(*broker.Config)
	Log      io.Writer
	LogLevel slog.Level
	// Trace receives one line per simulated event (time, node, kind, two
	// numbers, the rolling hash); nil keeps only the hash.
	Trace io.Writer

	_ struct{}
}

// GCPercent is the garbage collector target (GOGC) a simulation runs best
// at: its heap is small (the simulated disks and the history) and churns
// fast, so Go's default of 100 collects several times a second. Measured
// on BenchmarkDefaultScenario with -cpu 1: 100 → 25.7×, 200 → 29.6×,
// 400 → 33.1×, 1000 → 18.2× (past 400 the fresh memory costs more than
// the collections saved). cmd/gregor sets it unless GOGC is set.
const GCPercent = 400

// DefaultOptions is a 3-broker cluster, one topic of 3 partitions with RF
// 3 and min.insync.replicas 2, two idempotent acks=all producers, and
// every safe fault kind for 20 s.
func DefaultOptions(seed uint64) Options {
	return Options{
		Seed: seed, Brokers: 3, Topics: 1, Partitions: 3, RF: 3, MinISR: 2, Acks: -1,
		Producers: 2, RecordsPerSecond: 50, BatchRecordsMax: 10, FlushEveryMessage: true,
		Consumers: 1, PollEvery: 50 * time.Millisecond,
		Faults:     faults.Mix{Partitions: true, Crashes: true, Stops: true, Pauses: true, Clocks: true, Clogs: true, SlowDisks: true, Disks: true, ClientCrashes: true},
		FaultEvery: 2 * time.Second, FaultMax: 5 * time.Second,
		Safety: 20 * time.Second, Liveness: 90 * time.Second,
		ReplicaLagMaxMs: 10_000, SessionTimeoutMs: 9000,
	}
}

// OptionsFromSeed draws a swarm run from the seed: cluster size, layout,
// load, the fault mix and its pace, timeouts and latency. Only safe
// modes: crashes come with fsync on every message.
func OptionsFromSeed(seed uint64) Options {
	r := sim.NewSeeds(seed).Stream("simcluster/options")
	o := DefaultOptions(seed)
	if r.IntN(4) == 0 {
		o.Brokers = 5
	}
	o.Topics = 1 + r.IntN(2)
	o.Partitions = 1 + r.Int32N(4)
	if r.IntN(8) == 0 {
		o.Acks = 1
	}
	o.Producers = 1 + r.IntN(3)
	o.RecordsPerSecond = 10 + r.IntN(90)
	o.BatchRecordsMax = 1 + r.IntN(20)
	o.Faults = drawMix(r)
	o.FlushEveryMessage = o.Faults.Crashes || r.IntN(2) == 0
	o.FaultEvery = time.Duration(1000+r.IntN(3000)) * time.Millisecond
	o.FaultMax = time.Duration(2000+r.IntN(6000)) * time.Millisecond
	o.Safety = time.Duration(15+r.IntN(11)) * time.Second
	o.ReplicaLagMaxMs = int64(2000 + r.IntN(8000))
	o.SessionTimeoutMs = []int64{3000, 6000, 9000}[r.IntN(3)]
	o.Latency = sim.Latency{Min: time.Duration(20+r.IntN(400)) * time.Microsecond}
	o.Latency.Mean = o.Latency.Min * time.Duration(1+r.IntN(5))
	o.Latency.Tail, o.Latency.TailPercent = 20*time.Millisecond, float64(r.IntN(3))
	// Drawn last, so the draws above keep their values for every seed.
	o.Consumers = 1 + r.IntN(2)
	o.PollEvery = time.Duration(10+r.IntN(90)) * time.Millisecond
	o.Faults.Clogs, o.Faults.SlowDisks = r.IntN(2) == 0, r.IntN(2) == 0
	o.Faults.ClientCrashes = r.IntN(3) == 0
	if r.IntN(4) == 0 {
		o.Acks0Producers = 1
	}
	o.Faults.Disks = r.IntN(3) == 0
	o.NonIdempotent = o.Acks == -1 && r.IntN(8) == 0
	if r.IntN(6) == 0 {
		// A storm: a fault every 0.3–0.8 s. Sweeps at this pace found
		// bugs (a duplicate, acknowledged data lost) that thousands of
		// seeds at the usual 1–4 s did not.
		o.FaultEvery = time.Duration(300+r.IntN(500)) * time.Millisecond
	}
	return o
}

// drawMix turns each safe fault kind on with even odds, at least one.
func drawMix(r *rand.Rand) faults.Mix {
	for {
		m := faults.Mix{Partitions: r.IntN(2) == 0, Crashes: r.IntN(2) == 0, Stops: r.IntN(2) == 0,
			Pauses: r.IntN(2) == 0, Clocks: r.IntN(2) == 0}
		if m.Any() {
			return m
		}
	}
}

// withDefaults fills zero fields from DefaultOptions and keeps a safe run
// safe: power-loss crashes without FsyncLoss need every write fsynced.
func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Seed)
	fill := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	fill(&o.Brokers, d.Brokers)
	fill(&o.Topics, d.Topics)
	fill(&o.RF, d.RF)
	fill(&o.MinISR, d.MinISR)
	fill(&o.Producers, d.Producers)
	fill(&o.RecordsPerSecond, d.RecordsPerSecond)
	fill(&o.BatchRecordsMax, d.BatchRecordsMax)
	fill(&o.Consumers, d.Consumers)
	if o.PollEvery <= 0 {
		o.PollEvery = d.PollEvery
	}
	if o.Partitions <= 0 {
		o.Partitions = d.Partitions
	}
	if o.Acks == 0 {
		o.Acks = d.Acks
	}
	for _, x := range []struct{ v, dv *time.Duration }{{&o.FaultEvery, &d.FaultEvery}, {&o.FaultMax, &d.FaultMax}, {&o.Safety, &d.Safety}, {&o.Liveness, &d.Liveness}} {
		if *x.v <= 0 {
			*x.v = *x.dv
		}
	}
	if o.PorcupineTimeout == 0 {
		o.PorcupineTimeout = 250 * time.Millisecond
	}
	if o.ReplicaLagMaxMs <= 0 {
		o.ReplicaLagMaxMs = d.ReplicaLagMaxMs
	}
	if o.SessionTimeoutMs <= 0 {
		o.SessionTimeoutMs = d.SessionTimeoutMs
	}
	if o.Faults.Crashes && !o.FsyncLoss {
		o.FlushEveryMessage = true
	}
	if o.FsyncLoss {
		o.FlushEveryMessage = false
	}
	o.RF = min(o.RF, o.Brokers)
	return o
}

// String is the options on one line, for reports and replays.
func (o Options) String() string {
	s := fmt.Sprintf("brokers=%d topics=%d partitions=%d rf=%d min_isr=%d acks=%d producers=%d rate=%d/s batch_max=%d consumers=%d poll_every=%s flush_every_message=%t faults=%s fault_every=%s fault_max=%s safety=%s lag_max=%dms session=%dms latency=%s..%s",
		o.Brokers, o.Topics, o.Partitions, o.RF, o.MinISR, o.Acks, o.Producers, o.RecordsPerSecond, o.BatchRecordsMax, o.Consumers, o.PollEvery,
		o.FlushEveryMessage, o.Faults, o.FaultEvery, o.FaultMax, o.Safety, o.ReplicaLagMaxMs, o.SessionTimeoutMs,
		o.Latency.Min, o.Latency.Mean)
	if o.NonIdempotent {
		s += " non_idempotent"
	}
	if o.Acks0Producers > 0 {
		s += fmt.Sprintf(" acks0_producers=%d", o.Acks0Producers)
	}
	if o.Unclean {
		s += " UNSAFE:unclean"
	}
	if o.FsyncLoss {
		s += " UNSAFE:fsync-loss"
	}
	return s
}

// static is the brokers' static config for the options.
func (o Options) static() []string {
	st := []string{
		fmt.Sprintf("default.replication.factor=%d", o.RF),
		fmt.Sprintf("min.insync.replicas=%d", o.MinISR),
		fmt.Sprintf("replica.lag.time.max.ms=%d", o.ReplicaLagMaxMs),
		fmt.Sprintf("broker.session.timeout.ms=%d", o.SessionTimeoutMs),
		fmt.Sprintf("broker.heartbeat.interval.ms=%d", max(o.SessionTimeoutMs/4, 100)),
		fmt.Sprintf("unclean.leader.election.enable=%t", o.Unclean),
	}
	if o.FlushEveryMessage {
		st = append(st, "log.flush.interval.messages=1")
	}
	return st
}
