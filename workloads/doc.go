// Package workloads holds deterministic in-sim Kafka clients (producers
// with idempotence and transactions, consumers with assign and groups,
// admin) that speak real frames built with franz-go's kmsg over an env.Env,
// the workload generators (Jepsen-style queue, consume-transform-produce,
// OMB-style throughput), and, in workloads/real, real-mode drivers on kgo
// that record the same history format.
//
// Must not import: checker (histories are data handed to it), sim internals
// beyond env. Outside workloads/real it obeys the determinism rules.
package workloads
