// Package queue is the Jepsen-style queue workload's history side: it
// turns in-sim client calls (kclient sends and polls) into the shared
// history (checker/history), one logical process per outstanding call, so
// the Jepsen Kafka analysis and the Porcupine model (checker/queue) can
// judge a run. What to send and when is the caller's (the simulated
// cluster's run loop); this package keeps the bookkeeping exact: every
// send is invoked once and completed once as ok (with its offset), fail
// (definitely not written) or info (maybe written, never guessed), and a
// crashed client's open calls stay open, which the checker reads as info.
//
// Must not import: checker/queue (analysis), broker internals, sim. It
// obeys the determinism rules.
package queue
