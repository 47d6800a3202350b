// Package simcluster runs a replicated gregor cluster (brokers in
// combined mode, each a quorum voter) in the simulator under faults, with
// the replication monitors (checker/replication, R1–R9) and the quorum
// monitor (broker/quorum.Monitor, K1) watching after every event that
// touches a broker, records the queue workload's history
// (workloads/queue) and, once the cluster has converged, judges it with
// the Jepsen Kafka analysis and Porcupine's log model (checker/queue), and
// gives a verdict (design §3).
//
// The parts:
//
//   - cluster.go: Cluster, the world (brokers b0…, clients) and the run
//     loop that steps the scheduler and observes after each event of a
//     broker or of the world (a fault), stopping at a panic (crash
//     verdict) or, in Run, at the first violation.
//   - observe.go: the observer feeding the monitors. Only the broker an
//     event touched is re-read (an event runs one node's code), so an
//     observation costs one broker's State plus the monitor's cheap
//     checks; the log comparisons run every Config.LogEvery observations
//     and in full (Rescan) at the end. It also notices unclean elections
//     in the image, for the monitor's allowances.
//   - isr.go: the largest ISR a leader claimed between a produce call and
//     its acknowledgement, which R5 needs and the client cannot see.
//   - workload.go: producers (kclient, acks=all idempotent unless
//     Options.NonIdempotent; acks=1 or 0 never idempotent), their
//     outcomes, acknowledged writes reported to the monitor with their
//     batch CRC; single Produce requests (ProduceOnce) for the answers a
//     retrying producer hides; consumer polls in assign mode (Poll); every
//     send of a numeric value and every poll recorded in the history
//     (History); topic creation through the admin client.
//   - check.go: convergence after the faults heal, identical replicas and
//     images, reading every partition back (every acknowledged acks=all
//     write at its offset, no idempotent value twice, no Failed value);
//     the read-back fetches go into the history as final polls.
//   - options.go, run.go: Options, DefaultOptions, OptionsFromSeed
//     (swarm), Run and its Result (verdict, violations, history, anomalies,
//     Porcupine's verdict, the schedule played; Check names the failure
//     for shrinking).
//   - scenario.go: Scenario, a run as a YAML file (options, optionally
//     the fault schedule as text, and the expected verdict and trace
//     hash): ScenarioOf, LoadScenario, WriteScenario.
//
// Faults come from package faults (schedules as data, drawn from the
// seed, or given by Options.Schedule). Safe runs keep acknowledged writes
// durable: power-loss crashes only with log.flush.interval.messages=1;
// unclean elections and fsync loss only when Options ask, and then every
// lost write must be a loss the monitors explain.
//
// Owns: cluster runs, their verdicts, the harness-side checks (lost
// writes, duplicates, convergence). Must not import: cmd. It obeys the
// determinism rules (internal/detcheck): a run is a function of its
// options.
package simcluster
