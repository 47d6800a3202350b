// Package peer is how gregor nodes talk to each other in Kafka requests:
// a follower fetching from its leader, a broker registering and
// heartbeating with the controller, a leader asking for an ISR change.
// It sends kmsg requests over env connections and matches the answers by
// correlation id. Peers run the same software, so there is no version
// negotiation: the caller sets each request's version.
//
// Owns: connections to peers, correlation, request timeouts, response
// decoding. Must not import: sim, workloads, checker; obeys the
// determinism rules.
package peer
