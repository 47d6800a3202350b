// Package checker holds the history format shared by simulated and real
// runs, the Porcupine models per topic-partition, the Jepsen Kafka anomaly
// analysis, the invariant monitors over cluster state and the liveness
// checks.
//
// Today: checker/history (the JSON-lines history format), checker/queue
// (the Jepsen Kafka anomaly analysis and the Porcupine log model) and
// checker/replication (monitors R1–R9). The liveness checks (convergence
// after the faults heal) live in internal/simcluster for now.
//
// Must not import: broker internals (it reads cluster state only through a
// read-only snapshot interface), workloads, sim. It obeys the determinism
// rules.
package checker
