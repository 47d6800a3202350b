package simcluster

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/gregor-dst/gregor/faults"
	"go.yaml.in/yaml/v3"
)

// Scenario is a run as a file: the options and, for a replay, the fault
// schedule as text (one step per line, as Result.Faults prints them but
// relative to the start of the safety phase). gregor sim --scenario reads
// one; gregor shrink writes one; gregor replay plays one back with the
// same verdict and trace hash. Fields left out take the defaults.
type Scenario struct {
	Seed             uint64   `yaml:"seed"`
	Brokers          int      `yaml:"brokers,omitempty"`
	Topics           int      `yaml:"topics,omitempty"`
	Partitions       int32    `yaml:"partitions,omitempty"`
	RF               int      `yaml:"rf,omitempty"`
	MinISR           int      `yaml:"min_isr,omitempty"`
	Acks             int16    `yaml:"acks,omitempty"`
	Producers        int      `yaml:"producers,omitempty"`
	NonIdempotent    bool     `yaml:"non_idempotent,omitempty"`
	Acks0Producers   int      `yaml:"acks0_producers,omitempty"`
	RecordsPerSecond int      `yaml:"records_per_second,omitempty"`
	BatchRecordsMax  int      `yaml:"batch_records_max,omitempty"`
	Consumers        int      `yaml:"consumers,omitempty"`
	PollEvery        string   `yaml:"poll_every,omitempty"`
	FlushEveryMsg    bool     `yaml:"flush_every_message"`
	Faults           string   `yaml:"faults,omitempty"` // a mix: partitions+crashes+stops+pauses+clocks
	FaultEvery       string   `yaml:"fault_every,omitempty"`
	FaultMax         string   `yaml:"fault_max,omitempty"`
	Safety           string   `yaml:"safety,omitempty"`
	Liveness         string   `yaml:"liveness,omitempty"`
	ReplicaLagMaxMs  int64    `yaml:"replica_lag_max_ms,omitempty"`
	SessionTimeoutMs int64    `yaml:"session_timeout_ms,omitempty"`
	LatencyMin       string   `yaml:"latency_min,omitempty"`
	LatencyMean      string   `yaml:"latency_mean,omitempty"`
	LatencyTail      string   `yaml:"latency_tail,omitempty"`
	LatencyTailPct   float64  `yaml:"latency_tail_percent,omitempty"`
	Unsafe           []string `yaml:"unsafe,omitempty"` // fsync-loss, unclean
	// Plant names a planted broker bug the run had (a test build or the
	// planted build tag applies it; other builds refuse the scenario).
	Plant string `yaml:"plant,omitempty"`
	// Schedule, when present, replaces the schedule drawn from the seed.
	Schedule []string `yaml:"schedule,omitempty"`
	// Expect records what the run gave when the file was written
	// (verdict, check, trace hash), for regression tests.
	Expect *Expectation `yaml:"expect,omitempty"`
}

// Expectation is a scenario's recorded outcome.
type Expectation struct {
	Verdict   string `yaml:"verdict"`
	Check     string `yaml:"check"`
	TraceHash string `yaml:"trace_hash"`
}

// ScenarioOf is the scenario file for options o (after defaults) and the
// schedule it played.
func ScenarioOf(o Options, sched *faults.Schedule) Scenario {
	o = o.withDefaults()
	sc := Scenario{
		Seed: o.Seed, Brokers: o.Brokers, Topics: o.Topics, Partitions: o.Partitions, RF: o.RF, MinISR: o.MinISR,
		Acks: o.Acks, NonIdempotent: o.NonIdempotent, Producers: o.Producers, Acks0Producers: o.Acks0Producers, RecordsPerSecond: o.RecordsPerSecond, BatchRecordsMax: o.BatchRecordsMax,
		Consumers: o.Consumers, PollEvery: o.PollEvery.String(), FlushEveryMsg: o.FlushEveryMessage,
		Faults: o.Faults.String(), FaultEvery: o.FaultEvery.String(), FaultMax: o.FaultMax.String(),
		Safety: o.Safety.String(), Liveness: o.Liveness.String(),
		ReplicaLagMaxMs: o.ReplicaLagMaxMs, SessionTimeoutMs: o.SessionTimeoutMs,
		LatencyMin: o.Latency.Min.String(), LatencyMean: o.Latency.Mean.String(),
		LatencyTail: o.Latency.Tail.String(), LatencyTailPct: o.Latency.TailPercent,
	}
	if o.FsyncLoss {
		sc.Unsafe = append(sc.Unsafe, "fsync-loss")
	}
	if o.Unclean {
		sc.Unsafe = append(sc.Unsafe, "unclean")
	}
	if sched != nil {
		sc.Schedule = sched.Format(o.nodeName)
		if sc.Schedule == nil {
			sc.Schedule = []string{}
		}
	}
	return sc
}

// Options turns the scenario back into run options.
func (sc Scenario) Options() (Options, error) {
	o := DefaultOptions(sc.Seed)
	set := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&o.Brokers, sc.Brokers)
	set(&o.Topics, sc.Topics)
	set(&o.RF, sc.RF)
	set(&o.MinISR, sc.MinISR)
	set(&o.Producers, sc.Producers)
	set(&o.RecordsPerSecond, sc.RecordsPerSecond)
	set(&o.BatchRecordsMax, sc.BatchRecordsMax)
	set(&o.Consumers, sc.Consumers)
	o.Acks0Producers = sc.Acks0Producers
	o.NonIdempotent = sc.NonIdempotent
	if sc.Partitions != 0 {
		o.Partitions = sc.Partitions
	}
	if sc.Acks != 0 {
		o.Acks = sc.Acks
	}
	if sc.ReplicaLagMaxMs != 0 {
		o.ReplicaLagMaxMs = sc.ReplicaLagMaxMs
	}
	if sc.SessionTimeoutMs != 0 {
		o.SessionTimeoutMs = sc.SessionTimeoutMs
	}
	// Left out, it is false; a run with crashes turns it on regardless.
	o.FlushEveryMessage = sc.FlushEveryMsg
	o.Latency.TailPercent = sc.LatencyTailPct
	for _, d := range []struct {
		name string
		text string
		dst  *time.Duration
	}{{"poll_every", sc.PollEvery, &o.PollEvery}, {"fault_every", sc.FaultEvery, &o.FaultEvery},
		{"fault_max", sc.FaultMax, &o.FaultMax}, {"safety", sc.Safety, &o.Safety}, {"liveness", sc.Liveness, &o.Liveness},
		{"latency_min", sc.LatencyMin, &o.Latency.Min}, {"latency_mean", sc.LatencyMean, &o.Latency.Mean},
		{"latency_tail", sc.LatencyTail, &o.Latency.Tail}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v < 0 {
			return Options{}, fmt.Errorf("%s: %q is not a duration such as 500ms", d.name, d.text)
		}
		*d.dst = v
	}
	if sc.Faults != "" {
		m, err := faults.ParseMix(sc.Faults)
		if err != nil {
			return Options{}, fmt.Errorf("faults: %w", err)
		}
		o.Faults = m
	}
	for _, u := range sc.Unsafe {
		switch u {
		case "fsync-loss":
			o.FsyncLoss = true
		case "unclean":
			o.Unclean = true
		default:
			return Options{}, fmt.Errorf("unsafe: unknown mode %q (fsync-loss or unclean)", u)
		}
	}
	if sc.Schedule != nil {
		s, err := faults.ParseSchedule(sc.Schedule, o.nodeIndex)
		if err != nil {
			return Options{}, fmt.Errorf("schedule: %w", err)
		}
		o.Schedule = &s
	}
	return o, nil
}

// LoadScenario reads a scenario file; unknown fields are errors.
func LoadScenario(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := sc.Options(); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// WriteScenario writes sc to path (through a temporary file, so a crash
// never leaves half a file).
func WriteScenario(path string, sc Scenario) error {
	data, err := yaml.Marshal(sc)
	if err != nil {
		return err
	}
	cmd := "go run ./cmd/gregor replay " + path
	if sc.Plant != "" {
		cmd = "go run -tags planted ./cmd/gregor replay " + path
	}
	head := []byte("# gregor scenario: replay with `" + cmd + "`\n")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(head, data...), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
