package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RunOptions tune a run. The zero value behaves as OMB does.
type RunOptions struct {
	// Window is the statistics window; 0 means OMB's 10 s.
	Window time.Duration
	// Progress, if set, is called after every window, warm-up included,
	// from the goroutine running Run.
	Progress func(Progress)
	// Log, if set, receives one OMB-style line per window and a line per
	// phase.
	Log io.Writer
	// ResultDir, if set, is where the result file is written: after every
	// measured window (Complete false) and at the end, so a long run that
	// dies keeps what it measured.
	ResultDir string
	// ReadyTimeout bounds topic creation and the consumer readiness probe;
	// 0 means OMB's 60 s.
	ReadyTimeout time.Duration
	// DrainTimeout bounds the wait, once load stops, for outstanding acks
	// and for consumers to catch up; 0 means 30 s.
	DrainTimeout time.Duration
	// RateControlPeriod is the max-rate controller's period (producerRate
	// 0); 0 means OMB's 3 s.
	RateControlPeriod time.Duration
	// LimitsDuration is how long each physical limit is measured; 0 means
	// 2 s, negative skips the measurement.
	LimitsDuration time.Duration
	// DataDir is where the disk limit is measured; empty means the
	// target's data directory, else the OS temporary directory.
	DataDir string
	// KeepTopics leaves the benchmark's topics and groups behind.
	KeepTopics bool
	// Seed seeds payloads and keys; 0 means a random seed.
	Seed uint64
	// Sweep, if set, places the run in a sweep (gregor bench --sweep); it
	// is recorded in the result's setup and names its file. The caller
	// runs the workload at the step's rate (SweepStep.Apply).
	Sweep *SweepStep

	// backlogUnitBytes is what consumerBacklogSizeGB counts in: 1 GiB, but
	// tests build megabytes.
	backlogUnitBytes int64
	// cleanupTimeout bounds closing the clients, and then deleting groups
	// and topics: 5 s, shorter in tests of targets that stop answering.
	cleanupTimeout time.Duration
	_              struct{} // disallow positional literals
}

func (o RunOptions) withDefaults() RunOptions {
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.RateControlPeriod <= 0 {
		o.RateControlPeriod = maxRateControlPeriod
	}
	if o.LimitsDuration == 0 {
		o.LimitsDuration = 2 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.backlogUnitBytes == 0 {
		o.backlogUnitBytes = 1 << 30
	}
	if o.cleanupTimeout == 0 {
		o.cleanupTimeout = 5 * time.Second
	}
	return o
}

// RunTarget sets the target up, runs the workload against it and tears it
// down.
func RunTarget(ctx context.Context, w Workload, t Target, opts RunOptions) (res *Result, err error) {
	start := time.Now()
	ep, err := t.Setup(ctx)
	if err != nil {
		_ = t.Teardown(context.WithoutCancel(ctx))
		err = fmt.Errorf("target %s: setup: %w", t.Name(), err)
		if skip := (*SkipError)(nil); errors.As(err, &skip) {
			if ep.Info.Name == "" {
				ep.Info.Name = t.Name()
			}
			return recordSkip(opts.ResultDir, skipped(w, ep.Info, skip.Reason, opts, start), err)
		}
		return nil, err
	}
	defer func() {
		if terr := t.Teardown(context.WithoutCancel(ctx)); terr != nil && err == nil {
			err = fmt.Errorf("target %s: teardown: %w", t.Name(), terr)
		}
	}()
	if ep.Info.Name == "" {
		ep.Info.Name = t.Name()
	}
	return Run(ctx, w, ep, opts)
}

// Run runs one workload against a target that is already set up, as OMB's
// WorkloadGenerator: create the topics, start consumers and producers,
// wait until every subscription has received a probe record, run the
// open-loop load through the warm-up (not measured) and the measured
// phase, then stop the load and let consumers drain. It returns the result
// also when it fails part way (Complete false), with the error.
func Run(ctx context.Context, w Workload, ep Endpoint, opts RunOptions) (*Result, error) {
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.ID, err)
	}
	if len(ep.Bootstrap) == 0 {
		return nil, errors.New("bench: the target's endpoint has no bootstrap addresses")
	}
	r := newRun(w, ep, opts.withDefaults())
	err := r.prepare(ctx)
	if err == nil {
		err = r.load(ctx)
	}
	r.finish(ctx, err == nil)
	r.close(ctx)
	r.result.Complete = err == nil
	if r.stopLoad != nil { // a run that never loaded has nothing to keep
		if werr := r.checkpoint(); werr != nil && err == nil {
			err = werr
		}
	}
	return r.result, err
}

// run is one run's state.
type run struct {
	w    Workload
	ep   Endpoint
	opts RunOptions
	log  io.Writer

	epoch   time.Time // the run's monotonic clock starts here
	runID   string
	subs    int64
	mode    ConsumerMode
	limiter atomic.Pointer[RateLimiter]

	admin     *kgo.Client
	topics    []string
	groups    []string
	producers []*producer
	consumers []*consumer

	stopLoad     context.CancelFunc // ends the schedule
	stopProduce  context.CancelFunc // fails sends blocked on a full buffer
	loadDone     sync.WaitGroup
	stopConsume  context.CancelFunc
	consumeDone  sync.WaitGroup
	backlogPhase atomic.Bool // building or draining a backlog (consumerBacklogSizeGB)

	// Window collection, only from Run's goroutine.
	lastCounts   counts
	lastWindowAt time.Time
	window       [3]*hdrhistogram.Histogram // publish, delay, end-to-end
	aggregate    [3]*hdrhistogram.Histogram

	result *Result
}

func newRun(w Workload, ep Endpoint, opts RunOptions) *run {
	r := &run{w: w, ep: ep, opts: opts, log: opts.Log, epoch: time.Now(), subs: int64(w.SubscriptionsPerTopic)}
	if r.log == nil {
		r.log = io.Discard
	}
	r.runID = fmt.Sprintf("%08x", uint32(opts.Seed^rand.Uint64()))
	r.mode = w.Driver.ConsumerMode
	if ep.Info.NoConsumerGroups {
		r.mode = ConsumerAssign
	}
	r.window = [3]*hdrhistogram.Histogram{newHistogram(publishLatencyMaxMicros), newHistogram(publishLatencyMaxMicros), newHistogram(endToEndLatencyMaxMicros)}
	r.aggregate = [3]*hdrhistogram.Histogram{newHistogram(publishLatencyMaxMicros), newHistogram(publishLatencyMaxMicros), newHistogram(endToEndLatencyMaxMicros)}
	r.result = newResult(w, ep.Info.Name)
	r.result.Setup = newSetup(w, ep.Info, opts, r.mode, r.epoch)
	r.result.Setup.Histogram = HistogramDescription
	r.result.Setup.EndToEnd = endToEndDescription
	if r.mode != w.Driver.ConsumerMode {
		r.note("the target serves no consumer groups: consumers use direct assignment")
	}
	return r
}

// newSetup is the setup a run knows before it measures anything: the
// target, the workload and its settings, versions and the machine.
func newSetup(w Workload, info TargetInfo, opts RunOptions, mode ConsumerMode, start time.Time) Setup {
	s := Setup{
		Target:                info,
		Workload:              w.withoutOverrides(),
		TestDurationSeconds:   w.TestDuration().Seconds(),
		WarmupDurationSeconds: w.WarmupDuration().Seconds(),
		WindowSeconds:         opts.Window.Seconds(),
		ClientConfigs:         clientConfigs(w.Driver, mode),
		BrokerConfigs:         maps.Clone(info.BrokerConfigs),
		TopicConfigs:          maps.Clone(w.Driver.TopicConfigs),
		Versions:              Versions(),
		Machine:               ReadMachine(),
		Seed:                  opts.Seed,
		StartTime:             start.UTC(),
		Sweep:                 opts.Sweep,
	}
	// Empty maps, not null, as in every other result.
	if s.BrokerConfigs == nil {
		s.BrokerConfigs = map[string]string{}
	}
	if s.TopicConfigs == nil {
		s.TopicConfigs = map[string]string{}
	}
	maps.Copy(s.Versions, info.Versions)
	return s
}

// skipped is the result of a run whose target was skipped (reason, a
// SkipError's) after trying from start: the setup known so far, with
// what the target said of itself, and no measurements.
func skipped(w Workload, info TargetInfo, reason string, opts RunOptions, start time.Time) *Result {
	mode := w.Driver.ConsumerMode
	if info.NoConsumerGroups {
		mode = ConsumerAssign
	}
	res := newResult(w, info.Name)
	res.Setup = newSetup(w, info, opts.withDefaults(), mode, start)
	res.Setup.EndTime = time.Now().UTC()
	res.Setup.Seed = 0 // nothing was drawn
	res.Skipped = reason
	return res
}

// recordSkip writes a skipped run's result to dir (if given), so that a
// report lists the target as skipped rather than silently leaving it
// out, and returns it with skipErr; if the result cannot be written, the
// run failed.
func recordSkip(dir string, res *Result, skipErr error) (*Result, error) {
	if dir == "" {
		return res, skipErr
	}
	if _, err := WriteResult(dir, res); err != nil {
		return res, fmt.Errorf("target %s skipped (%s), and recording the skip failed: %w", res.Driver, res.Skipped, err)
	}
	return res, skipErr
}

// now is the run's monotonic clock.
func (r *run) now() time.Duration { return time.Since(r.epoch) }

func (r *run) note(format string, args ...any) {
	r.result.Setup.Notes = append(r.result.Setup.Notes, fmt.Sprintf(format, args...))
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.log, format+"\n", args...)
}

// clientOptions are the options every benchmark client starts from.
func (r *run) clientOptions(extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(r.ep.Bootstrap...), kgo.ClientID("gregor-bench")}
	opts = append(opts, extra...)
	return append(opts, r.ep.ClientOptions...)
}

// prepare measures the machine, creates topics and clients, and waits for
// the consumers to be ready.
func (r *run) prepare(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(r.opts.Seed, 0x9e3779b97f4a7c15))
	pool, source, err := payloads(r.w, rng)
	if err != nil {
		return fmt.Errorf("workload %s: %w", r.w.ID, err)
	}
	r.result.Setup.Payload = source
	r.result.Setup.TimerSlackMicros = float64(measureTimerSlack().Nanoseconds()) / 1e3
	if r.opts.LimitsDuration > 0 {
		r.measureLimits(ctx)
	}
	admin, err := kgo.NewClient(r.clientOptions()...)
	if err != nil {
		return fmt.Errorf("bench: admin client: %w", err)
	}
	r.admin = admin
	if err := r.createTopics(ctx); err != nil {
		return err
	}
	if err := r.startConsumers(ctx); err != nil {
		return err
	}
	if err := r.createProducers(pool, keyPool(rng)); err != nil {
		return err
	}
	return r.awaitReady(ctx)
}

func (r *run) measureLimits(ctx context.Context) {
	dir := r.opts.DataDir
	if dir == "" {
		dir = r.ep.Info.DataDir
	}
	if dir == "" {
		dir = os.TempDir()
	}
	r.logf("measuring physical limits (%v each): loopback TCP, write+fsync in %s", r.opts.LimitsDuration, dir)
	limits := MeasurePhysicalLimits(ctx, dir, r.opts.LimitsDuration)
	r.result.Setup.PhysicalLimits = &limits
}

// checkpoint writes the result if a result directory was given.
func (r *run) checkpoint() error {
	if r.opts.ResultDir == "" {
		return nil
	}
	_, err := WriteResult(r.opts.ResultDir, r.result)
	return err
}
