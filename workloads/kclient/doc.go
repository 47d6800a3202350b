// Package kclient is the in-sim Kafka client: a deterministic, callback-
// driven client that speaks real Kafka frames (franz-go's kmsg types,
// encoded with wire.AppendRequest) over an env.Network, so that
// workloads exercise the broker's whole wire path inside the simulator.
//
// Everything runs on the owning process's single thread (see env's
// contract): no call blocks, every result arrives through a callback, and a
// callback is never invoked before the call that asked for it returns.
// Close is the one exception: it reports everything unfinished before it
// returns, because a stopping process may get no later callback. A client
// whose node crashes reports nothing more: a workload treats its
// unfinished operations as Ambiguous.
//
// The files:
//
//   - config.go: Config (Kafka's client config names, a bound on every
//     queue) and its validation; versions.go: the API versions we speak.
//   - conn.go: one connection per broker address, dialed lazily and bounded
//     by ConnSetupTimeoutMs; ApiVersions once per connection, then every
//     request at min(our max, broker max); correlation ids; answers matched
//     in order; a timeout per request that also closes the connection when
//     it fires after the request was sent.
//   - client.go: Client, Request and its targets (an address, a node id,
//     any broker), the retry loop of admin and consumer calls.
//   - metadata.go: the metadata cache, refreshed on demand (one refresh at
//     a time, callers coalesced), by age, and after routing errors.
//   - producer.go, produce.go: per-partition batches with idempotence
//     (producer id, sequence numbers, at most five batches in flight),
//     retries of the same bytes, producer id resets, and the three-way
//     outcome a checker needs: Acked, Failed (definitely not written),
//     Ambiguous (maybe written: Jepsen's "info").
//   - fetch.go, admin.go: assign-mode Fetch, ListOffsets, CreateTopic.
//   - errors.go: error values; TransportError and MaybeDelivered.
//   - process.go: a Client as a simulated node's program.
//
// The tests run the client against a scripted fake broker (fake_test.go)
// and against the real broker in the simulator, with crashes, partitions,
// clogs and pauses (integration_test.go, faults_test.go).
//
// Bounds: every queue has a limit in Config (requests queued per
// connection, requests in flight per connection, buffered records per
// partition, partitions, connections, metadata waiters); past a limit a
// call fails at once with ErrQueueFull rather than growing memory.
//
// Owns: the in-sim Kafka client. Must not import: sim (only tests may: the
// client sees nothing of the simulator but env), checker (results are data
// handed to it). Obeys the determinism rules (internal/detcheck).
package kclient
