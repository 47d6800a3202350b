package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gregor-dst/gregor/bench"
)

type benchFlags struct {
	workloads []string
	targets   []string
	outDir    string
	duration  time.Duration
	warmup    time.Duration
	window    time.Duration
	limits    time.Duration
	sweep     string
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench --workload W --target T [--target T2 …] --out DIR",
		Short: "Run OpenMessaging-Benchmark workloads against gregor, kfake or any Kafka cluster",
		Long: `bench runs each OpenMessaging Benchmark workload (a YAML file in OMB's format,
or the name of one shipped in bench/workloads: ` + strings.Join(workloadIDs(), ", ") + `)
against each target, one after the other, with open-loop rate control, and writes
one result JSON per (workload, target) in OMB's shape to --out. Publish latency,
publish delay (intended against actual send time: coordinated omission shows)
and end-to-end latency are measured in this process on one clock. The physical
limits (TCP loopback bytes/s, write+fsync bytes/s on the data directory) are
measured in the same run and stored with the results.

Targets:
  gregor[:brokers=N,fsync=true]  a local gregor cluster (this binary), N=3 by default;
                                 fsync=true fsyncs before every acknowledgement
  kfake[:brokers=N]              franz-go's in-process fake cluster (no fsync)
  bootstrap=host:port,…          any running Kafka-protocol cluster
  synthetic:ackDelay=20ms        a fake with a known ack delay (tests the accounting)
  gregor-container[:brokers=N,fsync=true,image=REF]
                                 gregor in Docker containers (testcontainers-go), one
                                 per broker on a Docker network, N=3 by default, from
                                 the FROM-scratch image scripts/build-image builds
                                 (gregor:dev; built by that script when missing or
                                 labelled with another revision than this binary's)
  kafka[:image=REF]              Apache Kafka in a container (testcontainers-go's Kafka
                                 module; confluentinc/confluent-local:7.5.0 by default):
                                 one broker, no fsync, a development configuration
A target this machine cannot run (no Docker engine, an image neither here nor
pullable) is reported as "skipped: REASON", is not a failure, and is never
replaced by another; its result file records the skip (what the target is, no
measurements), and gregor report lists it as skipped.

Sweeps: --sweep runs each (workload, target) at several producer rates, one
result per rate (named …-rate-N-…), for gregor report's chart of p99 publish
latency against throughput. Steps run in ascending rate order, each against a
freshly set-up target and for the workload's (or --duration's) length; the
step's rate replaces the workload's producerRate. A failed step ends its sweep.
  --sweep 10000,20000,50000  these rates in msg/s (k and M suffixes: 10k,20k,50k)
  --sweep auto               first a probe at producerRate 0 (OMB's max-rate search,
                             written as …-maxrate-…); its mean publish rate is the
                             maximum, then steps at 0.25, 0.5, 0.75, 1 and 1.1 × it
                             (the search raises the rate every 3 s from 10k msg/s:
                             a short probe finds too low a maximum)
  --sweep auto:0.5,1,1.2     the same with these fractions (in (0, 10])

Render the results with gregor report --in DIR --out report.html.`,
		Example: `  gregor bench --workload 1-topic-16-partitions-1kb --target gregor --target kfake --out out/
  gregor bench --workload my.yaml --target bootstrap=localhost:9092 --duration 2m --out out/
  gregor bench --workload 1-topic-16-partitions-1kb --target kfake --sweep auto --duration 1m --out sweep/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.workloads, "workload", nil, "an OMB workload `FILE` or shipped name (repeatable)")
	fl.StringArrayVar(&f.targets, "target", nil, "a `TARGET` to run against (repeatable)")
	fl.StringVar(&f.outDir, "out", "", "write result JSON files to `DIR` (required)")
	fl.DurationVar(&f.duration, "duration", 0, "override the workloads' testDurationMinutes")
	fl.DurationVar(&f.warmup, "warmup", -1, "override the workloads' warmupDurationMinutes (0: none)")
	fl.DurationVar(&f.window, "window", 0, "statistics window (default OMB's 10s)")
	fl.DurationVar(&f.limits, "limits-duration", 0, "how long each physical limit is measured (default 2s; negative: skip)")
	fl.StringVar(&f.sweep, "sweep", "", "run at several producer `RATES`: msg/s, comma-separated, or auto[:FRACTIONS] (see Sweeps)")
	return cmd
}

func workloadIDs() []string {
	var ids []string
	for _, w := range bench.Workloads() {
		ids = append(ids, w.ID)
	}
	return ids
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	switch {
	case len(f.workloads) == 0:
		return errors.New("give at least one --workload")
	case len(f.targets) == 0:
		return errors.New("give at least one --target")
	case f.outDir == "":
		return errors.New("give --out DIR for the results")
	}
	var sweep bench.Sweep
	if f.sweep != "" {
		s, err := bench.ParseSweep(f.sweep)
		if err != nil {
			return fmt.Errorf("--%w", err)
		}
		sweep = s
	}
	var workloads []bench.Workload
	for _, name := range f.workloads {
		w, err := bench.OpenWorkload(name)
		if err != nil {
			return err
		}
		if f.duration > 0 || f.warmup >= 0 {
			test, warm := w.TestDuration(), w.WarmupDuration()
			if f.duration > 0 {
				test = f.duration
			}
			if f.warmup >= 0 {
				warm = f.warmup
			}
			w = w.WithDurations(test, warm)
		}
		if err := sweep.Check(w); err != nil {
			return fmt.Errorf("--%w", err)
		}
		workloads = append(workloads, w)
	}
	var targets []bench.Target
	for _, spec := range f.targets {
		t, err := parseBenchTarget(spec)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if err := os.MkdirAll(f.outDir, 0o755); err != nil {
		return fmt.Errorf("creating the results directory: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	runs, failed := 0, 0
	for _, w := range workloads {
		for i, t := range targets {
			n, nFailed := runSweep(ctx, cmd, f, sweep, w, t, f.targets[i])
			runs, failed = runs+n, failed+nFailed
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed", failed, runs)
	}
	return nil
}

// runSweep runs w against t once, or at each step of the sweep; it
// returns how many runs it made and how many failed. A failed step ends
// the sweep: the next, faster steps would fail the same way, and an auto
// sweep's steps need its probe.
func runSweep(ctx context.Context, cmd *cobra.Command, f benchFlags, sweep bench.Sweep, w bench.Workload, t bench.Target, spec string) (runs, failed int) {
	if !sweep.Enabled() {
		if _, err := benchRun(ctx, cmd, f, w, t, spec, nil); err != nil {
			return 1, failure(err)
		}
		return 1, 0
	}
	plan := sweep.Plan()
	var prev *bench.Result
	for {
		step, ok, err := plan.Next(prev)
		if err != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "%s on %s: %v\n", w.ID, spec, err)
			return runs, failed + 1
		}
		if !ok {
			return runs, failed
		}
		runs++
		if prev, err = benchRun(ctx, cmd, f, step.Apply(w), t, spec, &step); err != nil {
			if left := step.Steps - step.Index; left > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s on %s: sweep stopped, %d steps not run\n", w.ID, spec, left)
			}
			return runs, failed + failure(err)
		}
	}
}

// benchRun is one run with its progress lines; step places it in a sweep.
func benchRun(ctx context.Context, cmd *cobra.Command, f benchFlags, w bench.Workload, t bench.Target, spec string, step *bench.SweepStep) (*bench.Result, error) {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	name := w.ID + " on " + spec
	if step != nil {
		name += ", sweep " + step.String()
	}
	fmt.Fprintf(out, "== %s (%s + %s warm-up)\n", name, w.TestDuration(), w.WarmupDuration())
	res, err := bench.RunTarget(ctx, w, t, bench.RunOptions{
		Window: f.window, ResultDir: f.outDir, LimitsDuration: f.limits, Sweep: step,
		Progress: func(p bench.Progress) { fmt.Fprintln(errOut, p.String()) },
	})
	if skip := (*bench.SkipError)(nil); errors.As(err, &skip) {
		fmt.Fprintf(out, "%s: skipped: %s\n", name, skip.Reason)
		if res != nil {
			fmt.Fprintf(out, "%s: written %s (the skip, no measurements)\n", name, res.FileName())
		}
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(out, "%s: %v\n", name, err)
		return nil, err
	}
	fmt.Fprintf(out, "%s: written %s (published %.0f msg/s, p99 publish latency %.2f ms)\n",
		name, res.FileName(), res.MeanPublishRate(), res.AggregatedPublishLatency99pct)
	return res, nil
}

// parseBenchTarget adds the gregor target (which starts this binary's
// cluster) and the Testcontainers targets (gregor in containers, Kafka) to
// bench's own.
func parseBenchTarget(spec string) (bench.Target, error) {
	if spec == "gregor" || strings.HasPrefix(spec, "gregor:") {
		return parseGregorTarget(spec)
	}
	if spec == "gregor-container" || strings.HasPrefix(spec, "gregor-container:") {
		return parseContainerTarget(spec)
	}
	if spec == "kafka" || strings.HasPrefix(spec, "kafka:") {
		return parseKafkaTarget(spec)
	}
	return bench.ParseTarget(spec)
}

// failure counts a run's error as a failure, unless the target was
// skipped (bench.SkipError): a target this machine cannot run is reported,
// not failed.
func failure(err error) int {
	if skip := (*bench.SkipError)(nil); errors.As(err, &skip) {
		return 0
	}
	return 1
}
