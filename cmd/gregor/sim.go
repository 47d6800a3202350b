package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/internal/simcluster"
)

// Exit codes of gregor sim, one per verdict, as TigerBeetle's VOPR has
// them; a determinism failure outranks them all.
const (
	exitCrash          = 127
	exitLiveness       = 128
	exitCorrectness    = 129
	exitNondeterminism = 130
)

const verdictNondeterminism = "nondeterminism"

var exitCodes = map[string]int{
	string(simcluster.Crash): exitCrash, string(simcluster.Liveness): exitLiveness,
	string(simcluster.Correctness): exitCorrectness, verdictNondeterminism: exitNondeterminism,
}

// plantHook, set by a build with the planted tag (sim_planted.go), plants
// a named bug in every broker; nil in a normal build.
var plantHook func(name string) (func(*broker.Config), error)

type simFlags struct {
	seed             uint64
	seeds            string
	forDuration      time.Duration
	jobs             int
	unsafe           []string
	checkDeterminism bool
	json             bool
	showLog          bool
	safety           time.Duration
	scenario         string
	outDir           string
	shrink           bool
	shrinkRunsMax    int
	plant            string
	// seedGiven: a seed flag chose the seeds (with --scenario, else the
	// file's seed is run).
	seedGiven bool
}

func newSimCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run seeds of the simulated cluster under faults and check the outcome",
		Long: `sim runs the embedded default scenario for one seed (random unless --seed is
given), a range of seeds, or random seeds for a while, prints each verdict and,
for a failure, the one command that replays it.

The scenario: a gregor cluster (3 or 5 brokers, each with its embedded
controller) in the deterministic simulator; topics with replication factor 3
and min.insync.replicas 2; idempotent acks=all producers writing unique values
(Jepsen's queue workload; some seeds use acks=1, acks=all without idempotence,
whose retries may duplicate, or an extra acks=0 producer); consumers polling in assign mode; the safe fault mix
(network partitions of every shape, crashes with fsync on every message,
graceful stops, pauses, clock offsets, drift and jumps, clogged links, slow
disks, disk errors and full disks, client crashes). After the faulty
safety phase every fault heals, the cluster must converge, and every partition
is read back. The run is judged by the replication invariant monitors (R1–R9,
Raft safety) as it goes, then by the Jepsen Kafka analysis of the history
(lost-write, duplicate, inconsistent-offsets, poll-skip, nonmonotonic-poll and
-send, unseen, …) and Porcupine's model per partition.

Options are drawn from the seed (swarm testing) unless a --scenario file sets
them; they are printed. --unsafe fsync-loss (Kafka's default flush policy with
power-loss crashes) and --unsafe unclean (unclean leader election) run modes
that may lose acknowledged writes: anomalies are then reported, not failing,
and the monitors must explain every loss.

Exit codes: 0 pass, 127 crash (panic or broken bound), 128 liveness,
129 correctness, 130 nondeterminism (--check-determinism), 2 bad usage.`,
		Example: `  gregor sim
  gregor sim --seed 42 --log
  gregor sim --seeds 1..1000 -j 2 --check-determinism
  gregor sim --for 10m -j 2 --out runs/
  gregor sim --seeds 1..200 --unsafe unclean --json
  gregor sim --scenario regress.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd, f)
		},
	}
	addRunFlags(cmd, &f)
	fl := cmd.Flags()
	fl.Uint64Var(&f.seed, "seed", 0, "run this one seed (default: a random seed)")
	fl.StringVar(&f.seeds, "seeds", "", "run a range of seeds, inclusive: `A..B`")
	fl.DurationVar(&f.forDuration, "for", 0, "run random seeds for this long (wall time), e.g. 10m")
	fl.IntVarP(&f.jobs, "jobs", "j", 1, "seeds run in parallel (each seed stays deterministic)")
	fl.BoolVar(&f.checkDeterminism, "check-determinism", false, "run each seed twice and compare trace hashes")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per seed instead of text")
	fl.BoolVar(&f.shrink, "shrink", false, "shrink each failure to a minimal scenario (written to --out, or the working directory)")
	return cmd
}

// addRunFlags are the flags that shape one run, shared by sim, replay and
// shrink.
func addRunFlags(cmd *cobra.Command, f *simFlags) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.unsafe, "unsafe", nil, "unsafe `MODE`s, named for what they break: fsync-loss, unclean")
	fl.BoolVar(&f.showLog, "log", false, "print the nodes' log lines to stderr (one seed only)")
	fl.DurationVar(&f.safety, "safety", 0, "length of the faulty safety phase in simulated time (default: drawn from the seed)")
	fl.StringVar(&f.scenario, "scenario", "", "take the options (and schedule, if any) from this scenario `FILE`")
	fl.StringVar(&f.outDir, "out", "", "keep histories, results, scenarios and Porcupine visualizations of failures in `DIR`")
	fl.IntVar(&f.shrinkRunsMax, "shrink-runs", 200, "most runs one shrink may make")
	if plantHook != nil {
		fl.StringVar(&f.plant, "plant", "", "plant a known bug in every broker (testing the checkers): "+strings.Join(broker.PlantedBugs(), ", "))
	}
}

func runSim(cmd *cobra.Command, f simFlags) error {
	first, last, err := seedRange(cmd, f)
	if err != nil {
		return err
	}
	if f.jobs < 1 {
		return fmt.Errorf("--jobs must be at least 1, got %d", f.jobs)
	}
	single := first == last && f.forDuration == 0
	if !single && f.showLog {
		return errors.New("--log needs a single seed")
	}
	f.seedGiven = cmd.Flags().Changed("seed") || f.seeds != "" || f.forDuration > 0 || f.scenario == ""
	build, err := optionsBuilder(&f)
	if err != nil {
		return err
	}
	if !f.seedGiven { // the scenario's seed runs: say which
		first = build(first, false).Seed
		last = first
	}
	out := cmd.OutOrStdout()
	if !f.json {
		fmt.Fprintf(out, "gregor sim: %s\n", describeRun(f, first, last))
	}
	sum := sweep(out, cmd.ErrOrStderr(), f, build, first, last)
	if !f.json && !single {
		fmt.Fprintln(out, sum.String())
	}
	if code := sum.exitCode(); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

func describeRun(f simFlags, first, last uint64) string {
	switch {
	case f.forDuration > 0:
		return fmt.Sprintf("random seeds for %s", f.forDuration)
	case first == last:
		return fmt.Sprintf("seed %d", first)
	}
	return fmt.Sprintf("seeds %d..%d", first, last)
}

func seedRange(cmd *cobra.Command, f simFlags) (uint64, uint64, error) {
	seedSet := cmd.Flags().Changed("seed")
	given := 0
	for _, b := range []bool{seedSet, f.seeds != "", f.forDuration > 0} {
		if b {
			given++
		}
	}
	switch {
	case given > 1:
		return 0, 0, errors.New("give one of --seed, --seeds and --for")
	case f.seeds != "":
		return parseSeeds(f.seeds)
	case seedSet:
		return f.seed, f.seed, nil
	case f.scenario != "":
		return 0, 0, nil // the scenario's seed
	}
	s := randomSeed()
	return s, s, nil
}

// randomSeed is a real random seed: cmd is not a core package, and a
// fresh seed is the point.
func randomSeed() uint64 { return rand.Uint64() >> 1 }

func parseSeeds(s string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "..")
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || last < first {
		return 0, 0, fmt.Errorf("--seeds wants A..B with A <= B, such as 1..1000; got %q", s)
	}
	return first, last, nil
}

// optionsBuilder turns the flags into a function from seed to options:
// drawn from the seed, or the scenario file's (its seed replaced only when
// a seed flag was given).
func optionsBuilder(f *simFlags) (func(seed uint64, seedGiven bool) simcluster.Options, error) {
	tuneGC()
	var sc *simcluster.Scenario
	if f.scenario != "" {
		s, err := simcluster.LoadScenario(f.scenario)
		if err != nil {
			return nil, err
		}
		sc = &s
	}
	if sc != nil && sc.Plant != "" {
		if plantHook == nil {
			return nil, fmt.Errorf("%s has the planted bug %q: replay it with go run -tags planted ./cmd/gregor", f.scenario, sc.Plant)
		}
		if f.plant != "" && f.plant != sc.Plant {
			return nil, fmt.Errorf("--plant %s, but %s was recorded with %s", f.plant, f.scenario, sc.Plant)
		}
		f.plant = sc.Plant
	}
	var plant func(*broker.Config)
	if f.plant != "" {
		p, err := plantHook(f.plant)
		if err != nil {
			return nil, err
		}
		plant = p
	}
	for _, u := range f.unsafe {
		if u != "fsync-loss" && u != "unclean" {
			return nil, fmt.Errorf("--unsafe: unknown mode %q (fsync-loss or unclean)", u)
		}
	}
	return func(seed uint64, seedGiven bool) simcluster.Options {
		o := simcluster.OptionsFromSeed(seed)
		if sc != nil {
			s := *sc
			if seedGiven {
				s.Seed = seed
			}
			o, _ = s.Options() // checked by LoadScenario
		}
		for _, u := range f.unsafe {
			o.FsyncLoss = o.FsyncLoss || u == "fsync-loss"
			o.Unclean = o.Unclean || u == "unclean"
			if u == "fsync-loss" || u == "unclean" {
				o.MinISR = 1 // what makes the loss reachable
			}
		}
		if f.safety > 0 {
			o.Safety = f.safety
		}
		if f.showLog {
			o.Log = os.Stderr
		}
		o.Broker = plant
		return o
	}, nil
}

// seedResult is one seed's outcome, as printed.
type seedResult struct {
	simcluster.Result
	opts    simcluster.Options
	verdict string
	problem string
	wall    time.Duration
	shrunk  string // the shrunk scenario's path
}

// sweep runs the seeds on f.jobs workers and prints results in seed order
// (or, with --for, as they finish).
func sweep(out, errOut io.Writer, f simFlags, build func(uint64, bool) simcluster.Options, first, last uint64) summary {
	seedGiven := f.seedGiven
	if f.forDuration > 0 {
		return sweepFor(out, errOut, f, build)
	}
	n := int(last - first + 1)
	results := make([]chan seedResult, n)
	for i := range results {
		results[i] = make(chan seedResult, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(f.jobs, n) {
		wg.Go(func() {
			for i := range next {
				results[i] <- runSeed(f, build(first+uint64(i), seedGiven))
			}
		})
	}
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	bar := newBar(errOut, n, "seeds")
	var sum summary
	for i := range n {
		r := <-results[i]
		sum.add(r)
		printResult(out, f, r, n == 1)
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	wg.Wait()
	return sum
}

// sweepFor runs random seeds until the duration passes or the user
// interrupts; seeds in flight finish.
func sweepFor(out, errOut io.Writer, f simFlags, build func(uint64, bool) simcluster.Options) summary {
	ctx, cancel := context.WithTimeout(context.Background(), f.forDuration)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	results := make(chan seedResult)
	var wg sync.WaitGroup
	var started atomic.Int64
	for range f.jobs {
		wg.Go(func() {
			for ctx.Err() == nil {
				started.Add(1)
				results <- runSeed(f, build(randomSeed(), true))
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	bar := newBar(errOut, -1, "seeds")
	var sum summary
	for r := range results {
		sum.add(r)
		printResult(out, f, r, false)
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	return sum
}

func newBar(w io.Writer, n int, what string) *progressbar.ProgressBar {
	file, isFile := w.(*os.File)
	visible := n != 1 && isFile && term.IsTerminal(int(file.Fd()))
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionClearOnFinish(),
	)
}

func runSeed(f simFlags, o simcluster.Options) seedResult {
	start := time.Now()
	r := simcluster.Run(o)
	res := seedResult{Result: r, opts: o, verdict: string(r.Verdict), problem: r.Problem}
	if f.checkDeterminism {
		again := simcluster.Run(o)
		if again.TraceHash != r.TraceHash || again.Events != r.Events {
			res.verdict = verdictNondeterminism
			res.problem = fmt.Sprintf("second run: trace=%016x events=%d (first: trace=%016x events=%d)", again.TraceHash, again.Events, r.TraceHash, r.Events)
		}
	}
	res.wall = time.Since(start)
	if res.verdict != string(simcluster.Pass) && f.outDir != "" {
		if err := keepRun(f, res); err != nil {
			res.problem += fmt.Sprintf("\n  (keeping the run in %s failed: %v)", f.outDir, err)
		}
	}
	if res.verdict != string(simcluster.Pass) && res.verdict != verdictNondeterminism && f.shrink {
		path, err := shrinkRun(io.Discard, f, o, r)
		if err != nil {
			res.problem += fmt.Sprintf("\n  (shrinking failed: %v)", err)
		}
		res.shrunk = path
	}
	return res
}

func replayCommand(f simFlags, r seedResult) string {
	if r.shrunk != "" {
		if f.plant != "" {
			return "go run -tags planted ./cmd/gregor replay " + r.shrunk + " --plant " + f.plant
		}
		return "go run ./cmd/gregor replay " + r.shrunk
	}
	cmd := fmt.Sprintf("go run ./cmd/gregor sim --seed %d", r.Seed)
	if f.scenario != "" {
		cmd += " --scenario " + f.scenario
	}
	for _, u := range f.unsafe {
		cmd += " --unsafe " + u
	}
	if f.safety != 0 {
		cmd += " --safety " + f.safety.String()
	}
	if f.plant != "" {
		cmd = strings.Replace(cmd, "go run ./cmd/gregor", "go run -tags planted ./cmd/gregor", 1) + " --plant " + f.plant
	}
	return cmd
}

func printResult(out io.Writer, f simFlags, r seedResult, single bool) {
	if f.json {
		printJSON(out, f, r)
		return
	}
	pass := r.verdict == string(simcluster.Pass)
	if pass && !single {
		return // a sweep prints failures and the summary
	}
	if single {
		fmt.Fprintf(out, "options: %s\n", r.Options)
	}
	fmt.Fprintf(out, "seed %d: %s trace=%016x events=%d sim=%s wall=%s ops=%d acked=%d faults=%d elections=%d linearizable=%s\n",
		r.Seed, r.verdict, r.TraceHash, r.Events, r.SimTime.Round(time.Millisecond), r.wall.Round(time.Millisecond),
		r.Ops(), r.Outcomes.Acked, len(r.Faults), r.Elections, r.Linearizable)
	if pass {
		return
	}
	fmt.Fprintf(out, "  problem: %s\n", r.problem)
	for _, a := range anomalies(r) {
		fmt.Fprintf(out, "  %s on %s: %s\n", a.Kind, a.Partition, strings.Join(a.Witness, " | "))
	}
	fmt.Fprintf(out, "  faults:\n")
	for _, fl := range r.Faults {
		fmt.Fprintf(out, "    %s\n", fl)
	}
	fmt.Fprintf(out, "  replay: %s\n", replayCommand(f, r))
}

// anomalyJSON is one anomaly or invariant violation as --json prints it.
type anomalyJSON struct {
	Kind      string   `json:"kind"`
	Partition string   `json:"partition"`
	Witness   []string `json:"witness"`
	Allowed   bool     `json:"allowed,omitempty"`
}

func anomalies(r seedResult) []anomalyJSON {
	var out []anomalyJSON
	for _, v := range r.Violations {
		out = append(out, anomalyJSON{Kind: v.Invariant, Partition: fmt.Sprintf("%s-%d", v.Topic, v.Partition), Witness: []string{v.Witness}})
	}
	for _, a := range r.Anomalies {
		w := []string{a.Explanation}
		for _, op := range a.Witness {
			w = append(w, op.String())
		}
		out = append(out, anomalyJSON{Kind: string(a.Kind), Partition: a.Key.String(), Witness: w, Allowed: a.Allowed})
	}
	return out
}

func printJSON(out io.Writer, f simFlags, r seedResult) {
	as := anomalies(r)
	if as == nil {
		as = []anomalyJSON{} // [], not null
	}
	v := map[string]any{
		"seed": r.Seed, "verdict": r.verdict, "trace_hash": fmt.Sprintf("%016x", r.TraceHash),
		"anomalies": as, "sim_seconds": r.SimTime.Seconds(), "wall_seconds": r.wall.Seconds(),
		"events": r.Events, "ops": r.Ops(), "faults": len(r.Faults), "options": r.Options,
		"acked": r.Outcomes.Acked, "failed": r.Outcomes.Failed, "ambiguous": r.Outcomes.Ambiguous, "abandoned": r.Outcomes.Abandoned,
		"elections": r.Elections, "linearizable": r.Linearizable,
	}
	if r.SafetyStart > 0 {
		// The fault schedule's steps are timed from here; in ns, the
		// history's clock, so a report places them exactly.
		v["safety_start_ns"] = r.SafetyStart.Nanoseconds()
	}
	if r.verdict != string(simcluster.Pass) {
		v["problem"] = r.problem
		v["check"] = r.Check()
		v["replay"] = replayCommand(f, r)
	}
	b, _ := json.Marshal(v)
	fmt.Fprintln(out, string(b))
}

// summary tallies a sweep.
type summary struct {
	verdicts map[string]int
	events   uint64
	simTime  time.Duration
	wall     time.Duration
	ops      int
}

func (s *summary) add(r seedResult) {
	if s.verdicts == nil {
		s.verdicts = map[string]int{}
	}
	s.verdicts[r.verdict]++
	s.events += r.Events
	s.simTime += r.SimTime
	s.wall += r.wall
	s.ops += r.Ops()
}

func (s summary) exitCode() int {
	code := 0
	for v, n := range s.verdicts { //gregor:unordered-ok max is order-free
		if n > 0 {
			code = max(code, exitCodes[v])
		}
	}
	return code
}

func (s summary) String() string {
	var parts []string
	for _, v := range []string{string(simcluster.Pass), string(simcluster.Crash), string(simcluster.Liveness), string(simcluster.Correctness), verdictNondeterminism} {
		if n := s.verdicts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, n))
		}
	}
	speed := 0.0
	if s.wall > 0 {
		speed = s.simTime.Seconds() / s.wall.Seconds()
	}
	return fmt.Sprintf("summary: %s; %d ops, %d events, %s simulated, %.0f× real time per worker",
		strings.Join(parts, ", "), s.ops, s.events, s.simTime.Round(time.Second), speed)
}

// tuneGC sets the collector's target to simcluster.GCPercent for the
// commands that run simulations, unless GOGC is set: a run's heap is
// small and churns fast, and at Go's default a quarter of the time went
// to collecting it.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(simcluster.GCPercent)
	}
}
