package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/spf13/cobra"

	"github.com/gregor-dst/gregor/checker/history"
	"github.com/gregor-dst/gregor/checker/queue"
	"github.com/gregor-dst/gregor/faults"
	"github.com/gregor-dst/gregor/internal/simcluster"
)

// keepRun writes a failed run to f.outDir/seed-N/: the result line (as
// --json prints it, its replay command from the run's flags), the history
// (JSON lines), the scenario that replays it, and Porcupine's
// visualization of each partition with an anomaly.
func keepRun(f simFlags, r seedResult) error {
	d := filepath.Join(f.outDir, fmt.Sprintf("seed-%d", r.Seed))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	var line bytes.Buffer
	printJSON(&line, f, r)
	if err := os.WriteFile(filepath.Join(d, "result.json"), line.Bytes(), 0o644); err != nil {
		return err
	}
	var hist bytes.Buffer
	if err := history.WriteAll(&hist, r.History); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d, "history.jsonl"), hist.Bytes(), 0o644); err != nil {
		return err
	}
	sc := simcluster.ScenarioOf(r.opts, &r.Schedule)
	sc.Plant = f.plant
	sc.Expect = &simcluster.Expectation{Verdict: r.verdict, Check: r.Check(), TraceHash: fmt.Sprintf("%016x", r.TraceHash)}
	if err := simcluster.WriteScenario(filepath.Join(d, "scenario.yaml"), sc); err != nil {
		return err
	}
	if err := keepTrace(filepath.Join(d, "trace.txt"), r); err != nil {
		return err
	}
	keys, err := failingKeys(r)
	if err != nil {
		return err
	}
	for _, k := range keys {
		path := filepath.Join(d, "porcupine-"+k.String()+".html")
		if _, err := queue.VisualizeKey(r.History, k, 10*time.Second, path); err != nil {
			return fmt.Errorf("visualizing %s: %w", k, err)
		}
	}
	return nil
}

// failingKeys are the partitions to visualize: those with an anomaly not
// allowed, then those Porcupine found illegal (which may have no anomaly
// the Jepsen analysis sees: a real-time order broken), each once.
func failingKeys(r seedResult) ([]history.Key, error) {
	var keys []history.Key
	for _, a := range r.Anomalies {
		if !a.Allowed && !slices.Contains(keys, a.Key) {
			keys = append(keys, a.Key)
		}
	}
	if !strings.HasPrefix(r.Linearizable, "illegal") {
		return keys, nil
	}
	res, err := queue.CheckLinearizable(r.History, 10*time.Second)
	if err != nil {
		return nil, err
	}
	for _, kr := range res {
		if kr.Result == porcupine.Illegal && !slices.Contains(keys, kr.Key) {
			keys = append(keys, kr.Key)
		}
	}
	return keys, nil
}

// keepTrace runs the seed again with every event written to path, one
// line each (time, node, kind, two numbers, the rolling hash), so that a
// failure can be read event by event. The rerun must end with the same
// hash: anything else is nondeterminism, reported as an error.
func keepTrace(path string, r seedResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	o := r.opts
	o.Trace = w
	again := simcluster.Run(o)
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if again.TraceHash != r.TraceHash {
		return fmt.Errorf("the traced rerun ended with hash %016x, not %016x: the run is not deterministic", again.TraceHash, r.TraceHash)
	}
	return nil
}

// shrinkRun reduces a failing run while it fails the same check: fewer
// fault steps, shorter windows, then fewer clients, a lower rate and a
// shorter run. It writes the minimal scenario (with the verdict and trace
// hash it gives) and returns its path.
func shrinkRun(progress io.Writer, f simFlags, o simcluster.Options, r simcluster.Result) (string, error) {
	target := r.Check()
	if r.Verdict == simcluster.Pass {
		return "", errors.New("the run passes: nothing to shrink")
	}
	runs := 0
	fails := func(c simcluster.Options) bool {
		runs++
		got := simcluster.Run(c)
		fmt.Fprintf(progress, "  shrink run %d: %d fault steps, %s → %s\n", runs, len(got.Schedule.Faults), got.Verdict, got.Check())
		return got.Check() == target
	}
	sched, n := faults.Shrink(r.Schedule, func(s faults.Schedule) bool {
		c := o
		c.Schedule = &s
		return fails(c)
	}, f.shrinkRunsMax)
	runs = n
	o.Schedule = &sched
	o = shrinkOptions(o, fails, f.shrinkRunsMax-runs)
	final := simcluster.Run(o)
	if final.Check() != target {
		return "", fmt.Errorf("the shrunk scenario gives %s, not %s", final.Check(), target)
	}
	sc := simcluster.ScenarioOf(o, &final.Schedule)
	sc.Plant = f.plant
	sc.Expect = &simcluster.Expectation{Verdict: string(final.Verdict), Check: final.Check(), TraceHash: fmt.Sprintf("%016x", final.TraceHash)}
	dir := f.outDir
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("shrunk-seed-%d.yaml", o.Seed))
	fmt.Fprintf(progress, "shrunk seed %d: %d → %d fault steps, %d producers, %d consumers, %d records/s, safety %s (%d runs); %s\n",
		o.Seed, len(r.Schedule.Faults), len(sched.Faults), o.Producers, o.Consumers, o.RecordsPerSecond, o.Safety, runs, path)
	return path, simcluster.WriteScenario(path, sc)
}

// shrinkOptions tries smaller loads and a shorter run, one change at a
// time, keeping each that still fails.
func shrinkOptions(o simcluster.Options, fails func(simcluster.Options) bool, runsMax int) simcluster.Options {
	last := time.Duration(0)
	if o.Schedule != nil && len(o.Schedule.Faults) > 0 {
		last = o.Schedule.Faults[len(o.Schedule.Faults)-1].At
	}
	steps := []func(simcluster.Options) (simcluster.Options, bool){
		func(c simcluster.Options) (simcluster.Options, bool) { c.Producers = 1; return c, o.Producers > 1 },
		func(c simcluster.Options) (simcluster.Options, bool) { c.Consumers = 1; return c, o.Consumers > 1 },
		func(c simcluster.Options) (simcluster.Options, bool) {
			c.Safety = max(last+2*time.Second, 2*time.Second)
			return c, c.Safety < o.Safety
		},
		func(c simcluster.Options) (simcluster.Options, bool) {
			c.RecordsPerSecond = max(c.RecordsPerSecond/2, 1)
			return c, c.RecordsPerSecond < o.RecordsPerSecond
		},
		func(c simcluster.Options) (simcluster.Options, bool) { c.Topics = 1; return c, o.Topics > 1 },
	}
	for _, step := range steps {
		if runsMax <= 0 {
			break
		}
		if c, smaller := step(o); smaller {
			runsMax--
			if fails(c) {
				o = c
			}
		}
	}
	return o
}

func newReplayCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "replay [SCENARIO.yaml]",
		Short: "Replay a scenario file or a seed and check it gives the recorded verdict and trace hash",
		Long: `replay runs a scenario file (written by gregor shrink, gregor sim --shrink or
--out) or a seed (--seed), prints the verdict and trace hash, and, when the file
records an expected outcome, fails unless the replay matches it exactly.`,
		Example: `  gregor replay shrunk-seed-17.yaml
  gregor replay --seed 17`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				f.scenario = args[0]
			}
			if f.scenario == "" && !cmd.Flags().Changed("seed") {
				return errors.New("give a scenario file or --seed N")
			}
			return runReplay(cmd, f)
		},
	}
	addRunFlags(cmd, &f)
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "replay this seed with the options drawn from it")
	return cmd
}

func runReplay(cmd *cobra.Command, f simFlags) error {
	build, err := optionsBuilder(&f)
	if err != nil {
		return err
	}
	var expect *simcluster.Expectation
	if f.scenario != "" {
		sc, err := simcluster.LoadScenario(f.scenario)
		if err != nil {
			return err
		}
		expect = sc.Expect
	}
	r := runSeed(f, build(f.seed, cmd.Flags().Changed("seed")))
	out := cmd.OutOrStdout()
	printResult(out, f, r, true)
	if expect != nil {
		got := simcluster.Expectation{Verdict: r.verdict, Check: r.Check(), TraceHash: fmt.Sprintf("%016x", r.TraceHash)}
		if got != *expect {
			fmt.Fprintf(out, "replay differs from the recording: got %+v, recorded %+v\n", got, *expect)
			return &exitError{code: exitNondeterminism}
		}
		fmt.Fprintf(out, "replay matches the recording: %s, trace %s\n", got.Check, got.TraceHash)
	}
	if code := exitCodes[r.verdict]; code != 0 {
		return &exitError{code: code}
	}
	return nil
}

func newShrinkCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "shrink --seed N",
		Short: "Shrink a failing seed to a minimal scenario that fails the same check",
		Long: `shrink runs the seed (or --scenario), and while it fails it removes fault
steps, brings steps earlier (shorter fault windows), and tries fewer clients, a
lower rate and a shorter run, keeping every change that still fails the same
check. It writes the minimal scenario file, which gregor replay reproduces with
the same verdict and trace hash, and which can be committed as a regression
scenario.`,
		Example: `  gregor shrink --seed 17
  go run -tags planted ./cmd/gregor shrink --seed 5 --plant ack-before-isr --out shrunk/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seed") && f.scenario == "" {
				return errors.New("give --seed N (or --scenario FILE)")
			}
			build, err := optionsBuilder(&f)
			if err != nil {
				return err
			}
			o := build(f.seed, cmd.Flags().Changed("seed"))
			r := simcluster.Run(o)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seed %d: %s (%s), %d fault steps\n", r.Seed, r.Verdict, r.Check(), len(r.Schedule.Faults))
			path, err := shrinkRun(out, f, o, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "replay: %s\n", replayCommand(f, seedResult{shrunk: path}))
			return nil
		},
	}
	addRunFlags(cmd, &f)
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "the failing seed")
	return cmd
}
