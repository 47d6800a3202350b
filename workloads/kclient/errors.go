package kclient

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Errors the client reports beside Kafka's own (kerr values). Test with
// errors.Is.
var (
	// ErrTimeout: no answer within RequestTimeoutMs.
	ErrTimeout = errors.New("kclient: request timed out")
	// ErrConnLost: the connection closed before the answer came.
	ErrConnLost = errors.New("kclient: connection lost")
	// ErrQueueFull: a bounded queue (Config's …Max) is full.
	ErrQueueFull = errors.New("kclient: queue full")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("kclient: client closed")
	// ErrNoVersion: the broker speaks no version of the API that we do.
	ErrNoVersion = errors.New("kclient: no common api version")
	// ErrBadResponse: an answer that does not parse or match its request;
	// the connection is closed.
	ErrBadResponse = errors.New("kclient: malformed response")
	// ErrUnknownNode: a node id that the metadata does not list.
	ErrUnknownNode = errors.New("kclient: unknown broker node")
	// ErrNoLeader: the metadata names no reachable leader for a partition.
	ErrNoLeader = errors.New("kclient: partition has no known leader")
	// ErrDeliveryTimeout: a record was not acknowledged within
	// DeliveryTimeoutMs.
	ErrDeliveryTimeout = errors.New("kclient: delivery timeout")
	// ErrRetryTimeout: retriable errors went on past RetryTimeoutMs.
	ErrRetryTimeout = errors.New("kclient: retries exhausted")
	// ErrCorrupt: a fetched batch failed its CRC or framing.
	ErrCorrupt = errors.New("kclient: corrupt record batch")
)

// TransportError is a request that got no answer. Sent says whether it
// may have reached the broker: a request that was never sent certainly had
// no effect, one that was sent may have.
type TransportError struct {
	Err  error // ErrTimeout, ErrConnLost, ErrQueueFull, ErrClosed
	Sent bool
	Addr string
}

func (e *TransportError) Error() string {
	sent := "not sent"
	if e.Sent {
		sent = "sent"
	}
	return fmt.Sprintf("%s (%s, %s)", e.Err, e.Addr, sent)
}

func (e *TransportError) Unwrap() error { return e.Err }

// MaybeDelivered reports whether a failed request may nevertheless have
// reached the broker and taken effect: a TransportError for a request that
// was sent.
func MaybeDelivered(err error) bool {
	te, ok := errors.AsType[*TransportError](err)
	return ok && te.Sent
}

// retriable reports whether an error may go away on a retry: Kafka's
// retriable codes and every transport failure.
func retriable(err error) bool {
	if _, ok := errors.AsType[*TransportError](err); ok {
		return !errors.Is(err, ErrClosed)
	}
	return kerr.IsRetriable(err) || errors.Is(err, ErrNoLeader) || errors.Is(err, ErrUnknownNode)
}

// wantsMetadata reports whether an error means our routing is stale: the
// answer came from a broker that no longer leads the partition, or knows
// no such topic yet.
func wantsMetadata(err error) bool {
	switch {
	case errors.Is(err, kerr.NotLeaderForPartition),
		errors.Is(err, kerr.LeaderNotAvailable),
		errors.Is(err, kerr.UnknownTopicOrPartition),
		errors.Is(err, kerr.FencedLeaderEpoch),
		errors.Is(err, kerr.UnknownLeaderEpoch),
		errors.Is(err, kerr.NotController),
		errors.Is(err, kerr.BrokerNotAvailable),
		errors.Is(err, ErrNoLeader),
		errors.Is(err, ErrUnknownNode):
		return true
	}
	_, transport := errors.AsType[*TransportError](err)
	return transport
}
