// Package checker holds the history format shared by simulated and real
// runs, the Porcupine models per topic-partition, the Jepsen Kafka anomaly
// analysis, the invariant monitors over cluster state and the liveness
// checks.
//
// Must not import: broker internals (it reads cluster state only through a
// read-only snapshot interface), workloads, sim. It obeys the determinism
// rules.
package checker
