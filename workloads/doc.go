// Package workloads holds deterministic in-sim Kafka clients (producers
// with idempotence and transactions, consumers with assign and groups,
// admin) that speak real frames built with franz-go's kmsg over an env.Env,
// the workload generators (Jepsen-style queue, consume-transform-produce,
// OMB-style throughput), and, in workloads/real, real-mode drivers on kgo
// that record the same history format.
//
// Today it holds workloads/kclient (producer with idempotence, fetch in
// assign mode, admin calls) and workloads/queue (the queue workload's
// history recorder). The queue workload's sends and polls are scheduled
// by internal/simcluster for now; groups, transactions, the generators and
// workloads/real come with their own issues.
//
// Must not import: checker's analyses (histories are data handed to them;
// the shared format, checker/history, is the one checker package allowed),
// sim internals beyond env. Outside workloads/real it obeys the
// determinism rules.
package workloads
