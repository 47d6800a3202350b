// Package bench runs OpenMessaging-Benchmark-compatible workloads with
// open-loop rate control and HdrHistogram recording against targets
// (gregor, kfake, Kafka and gregor in Testcontainers, any bootstrap
// address), writes result JSON, and holds the capacity planner and its
// calibration.
//
// Must not import: sim internals. It runs in real time and is not a core
// package.
//
// Today it holds the benchmark core; the gregor and Testcontainers
// targets and the planner come with their own issues.
//
//   - Workloads (workload.go, workload_yaml.go, workloads/*.yaml): OMB's
//     workload YAML as is, plus a driver section for the franz-go clients;
//     strict parsing whose errors name field and line; the standard OMB
//     workloads embedded (Workloads, WorkloadByID, OpenWorkload).
//   - Load (ratelimit.go, ratecontrol.go, clients.go): an open-loop
//     RateLimiter that hands out intended send times, so publish delay
//     (actual − intended send) exposes coordinated omission; OMB's
//     max-rate RateController for producerRate 0; kgo producers and
//     consumers (group or direct assignment).
//   - Measurement (histogram.go, windows.go): per-client HdrHistogram
//     recorders merged into windows (10 s by default) and aggregates;
//     publish latency, publish delay and end-to-end latency, the last
//     exact because send and receive share one process's monotonic clock.
//   - Targets (target*.go): the Target interface, kfake in process, any
//     bootstrap list, and a synthetic broker with known ack delays and
//     stalls that checks the latency accounting.
//   - Runs and results (run*.go, result.go, setup.go, limits.go,
//     progress.go): Run and RunTarget; results in OMB's TestResult shape
//     with a setup section (durability, configs, versions, machine, and
//     physical limits measured in the same run); WriteResult, ReadResult,
//     ReadResults; per-window Progress.
//   - Sweeps (sweep.go): a workload at several producer rates, given or
//     scaled from a max-rate probe (ParseSweep, SweepPlan); each run
//     records its SweepStep in the setup and its rate in its file name.
package bench
