// Package queue checks a Kafka queue history (package history) two ways,
// per key (topic-partition).
//
// Analyze is Jepsen's Kafka anomaly analysis (jepsen.tests.kafka) without
// transactions: lost-write, duplicate, inconsistent-offsets, aborted-read
// (Jepsen's G1a: a poll saw a send that definitely failed), poll-skip and
// nonmonotonic-poll (between a process's polls of a key), their int-
// variants (within one poll), nonmonotonic-send, int-nonmonotonic-send,
// int-send-skip, and unseen. The log's version order is derived from every
// acked send's offset and every ok poll's records. Outcomes are never
// guessed: a send that completed info may or may not be in the log, so it
// is never a lost write; a poll that completed info may have consumed
// records, so the skip that follows it proves nothing. Which kinds fail
// the run is Options.Allowed, Jepsen's defaults in DefaultAllowed; a
// skip or backward step explained by a rebalance (the process is
// subscribed, or assigned again) is reported as allowed. Each anomaly
// comes with a witness: the few ops that prove it.
//
// CheckLinearizable checks each key against a Porcupine model of a log
// (stepLog): a send's acked offset holds its value and is past every
// offset known when it was appended; a poll's records agree with the log
// and lie below the high watermark it reports, a lower bound on what is
// committed (it may go back across a leader change, as Kafka's does; see
// stepLog). The state is the part of the log known so far,
// held in a persistent trie, and a key's history is cut into windows at
// quiescent points, checked independently. VisualizeKey writes Porcupine's
// HTML for a key.
//
// Determinism: the analysis is single-threaded and its output ordered.
// Porcupine runs its search on goroutines and under a wall-clock timeout
// (inside porcupine, not here); with a timeout a verdict may be Unknown,
// and which keys finish in time depends on the machine.
//
// Owns: the anomaly kinds and their checks, the log model, witnesses.
//
// Must not import: broker, workloads, sim, or other checker packages
// except history. It obeys the determinism rules (internal/detcheck).
package queue
