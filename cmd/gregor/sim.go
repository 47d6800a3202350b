package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gregor-dst/gregor/sim/toy"
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
	toy.Crash: exitCrash, toy.Liveness: exitLiveness, toy.Correctness: exitCorrectness,
	verdictNondeterminism: exitNondeterminism,
}

type simFlags struct {
	seed             uint64
	seeds            string
	jobs             int
	unsafe           bool
	checkDeterminism bool
	json             bool
	traceFile        string
	showLog          bool
	durationText     time.Duration
}

func newSimCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run seeds of the simulated cluster under faults and check the outcome",
		Long: `sim runs the default scenario for one seed (random unless --seed is given) or
a range of seeds, prints each verdict and, for a failure, the one command that
replays it.

Until the broker lands, the scenario is the simulator's toy cluster: a
primary-backup replicated log of 3–5 nodes under partitions of every shape,
clogs, crashes, graceful stops, pauses, clock offsets, drift and jumps, and disk
faults (torn writes, write/sync errors, slow syncs, corruption), followed by a
liveness phase in which every fault is healed and the replicas must converge.
Options are drawn from the seed and printed.

Exit codes: 0 pass, 127 crash (panic or broken bound), 128 liveness,
129 correctness, 130 nondeterminism (--check-determinism), 2 bad usage.`,
		Example: `  gregor sim
  gregor sim --seed 42 --trace trace.txt --log
  gregor sim --seeds 1..1000 -j 2 --check-determinism
  gregor sim --seeds 1..200 --unsafe --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.Uint64Var(&f.seed, "seed", 0, "run this one seed (default: a random seed)")
	fl.StringVar(&f.seeds, "seeds", "", "run a range of seeds, inclusive: `A..B`")
	fl.IntVarP(&f.jobs, "jobs", "j", 1, "seeds run in parallel (each seed stays deterministic)")
	fl.BoolVar(&f.unsafe, "unsafe", false, "also corrupt the primary's synced log, which the protocol cannot survive")
	fl.BoolVar(&f.checkDeterminism, "check-determinism", false, "run each seed twice and compare trace hashes")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per seed instead of text")
	fl.StringVar(&f.traceFile, "trace", "", "write every event of the run to `FILE` (one seed only)")
	fl.BoolVar(&f.showLog, "log", false, "print the nodes' log lines to stderr (one seed only)")
	fl.DurationVar(&f.durationText, "duration", 0, "length of the faulty safety phase (default 30s of simulated time)")
	return cmd
}

func runSim(cmd *cobra.Command, f simFlags) error {
	first, last, err := seedRange(cmd, f)
	if err != nil {
		return err
	}
	if f.jobs < 1 {
		return fmt.Errorf("--jobs must be at least 1, got %d", f.jobs)
	}
	single := first == last
	if !single && (f.traceFile != "" || f.showLog) {
		return errors.New("--trace and --log need a single seed")
	}
	out := cmd.OutOrStdout()
	if !f.json {
		what := fmt.Sprintf("seeds %d..%d", first, last)
		if single {
			what = fmt.Sprintf("seed %d", first)
		}
		fmt.Fprintf(out, "gregor sim: toy primary-backup cluster; %s\n", what)
	}
	opts, closeTrace, err := busyOptions(f)
	if err != nil {
		return err
	}
	defer closeTrace()
	sum := sweep(out, cmd.ErrOrStderr(), f, opts, first, last)
	if !f.json && !single {
		fmt.Fprintln(out, sum.String())
	}
	if code := sum.exitCode(); code != 0 {
		return &exitError{code: code}
	}
	return nil
}

func seedRange(cmd *cobra.Command, f simFlags) (uint64, uint64, error) {
	seedSet := cmd.Flags().Changed("seed")
	switch {
	case seedSet && f.seeds != "":
		return 0, 0, errors.New("give --seed or --seeds, not both")
	case f.seeds != "":
		return parseSeeds(f.seeds)
	case seedSet:
		return f.seed, f.seed, nil
	}
	s := rand.Uint64() >> 1 // cmd is not a core package: a real random seed is the point
	return s, s, nil
}

func parseSeeds(s string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "..")
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || last < first {
		return 0, 0, fmt.Errorf("--seeds wants A..B with A <= B, such as 1..1000; got %q", s)
	}
	return first, last, nil
}

func busyOptions(f simFlags) (toy.BusyOptions, func(), error) {
	o := toy.BusyOptions{Unsafe: f.unsafe, Duration: f.durationText}
	if f.showLog {
		o.Log = os.Stderr
	}
	if f.traceFile == "" {
		return o, func() {}, nil
	}
	file, err := os.Create(f.traceFile)
	if err != nil {
		return o, nil, err
	}
	o.Trace = file
	return o, func() { _ = file.Close() }, nil
}

// seedResult is one seed's outcome, as printed.
type seedResult struct {
	toy.BusyResult
	verdict string
	problem string
	wall    time.Duration
	err     error
}

// sweep runs the seeds on f.jobs workers and prints results in seed order.
func sweep(out, errOut io.Writer, f simFlags, opts toy.BusyOptions, first, last uint64) summary {
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
				results[i] <- runSeed(first+uint64(i), opts, f.checkDeterminism)
			}
		})
	}
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	bar := newBar(errOut, n)
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

func newBar(w io.Writer, n int) *progressbar.ProgressBar {
	file, isFile := w.(*os.File)
	visible := n > 1 && isFile && term.IsTerminal(int(file.Fd()))
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetDescription("seeds"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionClearOnFinish(),
	)
}

func runSeed(seed uint64, opts toy.BusyOptions, twice bool) seedResult {
	start := time.Now()
	r, err := toy.RunBusy(seed, opts)
	res := seedResult{BusyResult: r, verdict: r.Verdict, problem: r.Problem, err: err}
	if err == nil && twice {
		again, err2 := toy.RunBusy(seed, toy.BusyOptions{Unsafe: opts.Unsafe, Duration: opts.Duration})
		if err2 == nil && (again.TraceHash != r.TraceHash || again.Events != r.Events) {
			res.verdict = verdictNondeterminism
			res.problem = fmt.Sprintf("second run: trace=%016x events=%d", again.TraceHash, again.Events)
		}
	}
	res.wall = time.Since(start)
	return res
}

func replayCommand(f simFlags, seed uint64) string {
	cmd := fmt.Sprintf("go run ./cmd/gregor sim --seed %d", seed)
	if f.unsafe {
		cmd += " --unsafe"
	}
	if f.durationText != 0 {
		cmd += " --duration " + f.durationText.String()
	}
	return cmd
}

func printResult(out io.Writer, f simFlags, r seedResult, single bool) {
	if f.json {
		printJSON(out, f, r)
		return
	}
	if r.err != nil {
		fmt.Fprintf(out, "seed %d: error: %v\n", r.Seed, r.err)
		return
	}
	if r.verdict == toy.Pass && !single {
		return // a sweep prints failures and the summary
	}
	if single {
		fmt.Fprintf(out, "options: %s\n", r.Options)
	}
	fmt.Fprintf(out, "seed %d: %s trace=%016x events=%d sim=%s wall=%s puts=%d committed=%d faults=%d\n",
		r.Seed, r.verdict, r.TraceHash, r.Events, r.SimTime, r.wall.Round(time.Millisecond), r.Puts, r.Committed, len(r.Faults))
	if r.verdict == toy.Pass {
		return
	}
	fmt.Fprintf(out, "  problem: %s\n", r.problem)
	fmt.Fprintf(out, "  faults:\n")
	for _, fl := range r.Faults {
		fmt.Fprintf(out, "    %s\n", fl)
	}
	fmt.Fprintf(out, "  replay: %s\n", replayCommand(f, r.Seed))
}

func printJSON(out io.Writer, f simFlags, r seedResult) {
	v := map[string]any{
		"seed": r.Seed, "verdict": r.verdict, "trace_hash": fmt.Sprintf("%016x", r.TraceHash),
		"events": r.Events, "sim_seconds": r.SimTime.Seconds(), "wall_seconds": r.wall.Seconds(),
		"ops": r.Puts, "committed": r.Committed, "faults": len(r.Faults), "options": r.Options,
	}
	if r.verdict != toy.Pass {
		v["problem"] = r.problem
		v["replay"] = replayCommand(f, r.Seed)
	}
	if r.err != nil {
		v["verdict"], v["problem"] = "error", r.err.Error()
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
	errs     int
}

func (s *summary) add(r seedResult) {
	if s.verdicts == nil {
		s.verdicts = map[string]int{}
	}
	if r.err != nil {
		s.errs++
		return
	}
	s.verdicts[r.verdict]++
	s.events += r.Events
	s.simTime += r.SimTime
	s.wall += r.wall
}

func (s summary) exitCode() int {
	code := 0
	for v, n := range s.verdicts {
		if n > 0 {
			code = max(code, exitCodes[v])
		}
	}
	if s.errs > 0 && code == 0 {
		code = 2
	}
	return code
}

func (s summary) String() string {
	var parts []string
	for _, v := range []string{toy.Pass, toy.Crash, toy.Liveness, toy.Correctness, verdictNondeterminism} {
		if n := s.verdicts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, n))
		}
	}
	if s.errs > 0 {
		parts = append(parts, fmt.Sprintf("error %d", s.errs))
	}
	rate := 0.0
	if s.wall > 0 {
		rate = float64(s.events) / s.wall.Seconds()
	}
	return fmt.Sprintf("summary: %s; %d events, %s simulated, %.0f events/s per worker",
		strings.Join(parts, ", "), s.events, s.simTime.Round(time.Second), rate)
}
