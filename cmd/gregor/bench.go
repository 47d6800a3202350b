package main

import (
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

Render the results with gregor report --in DIR --out report.html.`,
		Example: `  gregor bench --workload 1-topic-16-partitions-1kb --target gregor --target kfake --out out/
  gregor bench --workload my.yaml --target bootstrap=localhost:9092 --duration 2m --out out/`,
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
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	failed := 0
	for _, w := range workloads {
		for i, t := range targets {
			fmt.Fprintf(out, "== %s on %s (%s + %s warm-up)\n", w.ID, f.targets[i], w.TestDuration(), w.WarmupDuration())
			res, err := bench.RunTarget(ctx, w, t, bench.RunOptions{
				Window: f.window, ResultDir: f.outDir, LimitsDuration: f.limits,
				Progress: func(p bench.Progress) { fmt.Fprintln(errOut, p.String()) },
			})
			if err != nil {
				failed++
				fmt.Fprintf(out, "%s on %s: %v\n", w.ID, f.targets[i], err)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue
			}
			fmt.Fprintf(out, "%s on %s: written %s\n", w.ID, f.targets[i], res.FileName())
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed", failed, len(workloads)*len(targets))
	}
	return nil
}

// parseBenchTarget adds the gregor target (which starts this binary's
// cluster) to bench's own.
func parseBenchTarget(spec string) (bench.Target, error) {
	if spec == "gregor" || strings.HasPrefix(spec, "gregor:") {
		return parseGregorTarget(spec)
	}
	if spec == "kafka" || spec == "gregor-container" || strings.HasPrefix(spec, "kafka:") {
		return nil, fmt.Errorf("target %q: the Testcontainers targets are not built yet (issue 6); use gregor, kfake, or bootstrap=host:port", spec)
	}
	return bench.ParseTarget(spec)
}
