// Package history is the one history format shared by simulated and real
// runs: a sequence of operations, each an invocation or a completion by one
// client process, stored as JSON lines.
//
// The shape follows Jepsen's Kafka queue workload. A send op's value is a
// list of micro-ops ["send", key, value]; its ok completion gives each the
// offset it got, ["send", key, [offset, value]]. A poll op's completion
// value maps each key (a topic-partition, "topic-partition" as text) to the
// [offset, value] records returned, in order; the high watermark the broker
// reported may go alongside in "hw". Assign and subscribe carry the keys or
// topics; any other f (crash, …) keeps its value as raw JSON, so the set of
// operations stays open. A final poll is a poll with "final": true.
//
// One line, for instance:
//
//	{"index":7,"time_ns":1500,"process":2,"type":"ok","f":"send","value":[["send","t-0",[3,42]]]}
//
// Completions are never guessed: a fail is a definite failure, an info an
// unknown outcome (timeouts, NOT_ENOUGH_REPLICAS_AFTER_APPEND), and a
// checker must treat it as either.
//
// Time is in nanoseconds of whatever clock the run has: simulated time, or
// one monotonic clock for a real run. Within a history, indexes increase and
// times never decrease; the Reader rejects a history that breaks either,
// naming the line.
//
// Owns: Op and its values, the JSON-lines Writer and Reader, Builder (for
// tests and workloads), Pair (invocations matched with completions).
//
// Must not import: broker, workloads, sim, or any other checker package.
// It obeys the determinism rules (internal/detcheck).
package history
