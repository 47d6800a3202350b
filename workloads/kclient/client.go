package kclient

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client is one Kafka client living in one process. All of its methods
// and callbacks run on that process's thread; none blocks.
type Client struct {
	cfg Config
	e   env.Env
	log *slog.Logger

	// conns holds the live connection of each broker address. Looked up by
	// address; iterated only in sorted order (Close).
	conns map[string]*brokerConn
	meta  *metadata
	prod  *producer
	// anyCursor rotates "any broker" requests over the known brokers, so
	// one that is down does not absorb every retry.
	anyCursor int
	closed    bool
}

// New builds a client on e. Nothing is sent until the first call.
func New(e env.Env, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("kclient: %w", err)
	}
	cl := &Client{cfg: cfg, e: e, log: e.Log().With("client", cfg.ClientID), conns: map[string]*brokerConn{}}
	cl.meta = newMetadata(cl)
	cl.prod = newProducer(cl)
	return cl, nil
}

// Close fails every pending call with ErrClosed (produce results are
// ambiguous for batches already sent) and closes every connection. The
// client is unusable afterwards: later calls fail with ErrClosed.
func (cl *Client) Close() {
	if cl.closed {
		return
	}
	cl.closed = true
	cl.prod.close()
	for _, addr := range slices.Sorted(maps.Keys(cl.conns)) {
		if bc := cl.conns[addr]; bc != nil {
			bc.close()
		}
	}
	cl.meta.close()
}

// Target names where a request goes: a broker address, a node id from
// metadata, or any broker.
type Target struct {
	addr string
	node int32
	kind targetKind
}

type targetKind uint8

const (
	targetAny targetKind = iota
	targetAddr
	targetNode
)

// AnyBroker sends to a known broker, rotating over them (the bootstrap
// list until metadata is known).
var AnyBroker = Target{kind: targetAny}

// Addr targets a "host:port" address.
func Addr(addr string) Target { return Target{addr: addr, kind: targetAddr} }

// Node targets a broker by node id, as the metadata lists it.
func Node(id int32) Target { return Target{node: id, kind: targetNode} }

func (t Target) String() string {
	switch t.kind {
	case targetAddr:
		return t.addr
	case targetNode:
		return fmt.Sprintf("node %d", t.node)
	}
	return "any broker"
}

// Request sends req to to, at the highest version both sides speak, and
// calls done with the answer or an error: a *TransportError (timeout,
// connection lost, queue full; MaybeDelivered tells whether it may have
// taken effect), ErrNoVersion, ErrUnknownNode or ErrClosed. Kafka errors
// inside the answer are the caller's to read. done never runs before
// Request returns. A produce with acks 0 is answered (nil, nil) once sent.
func (cl *Client) Request(to Target, req kmsg.Request, done func(kmsg.Response, error)) {
	if cl.closed {
		cl.later(func() { done(nil, &TransportError{Err: ErrClosed, Addr: to.String()}) })
		return
	}
	addr, err := cl.resolve(to)
	if err != nil {
		cl.later(func() { done(nil, err) })
		return
	}
	bc, err := cl.connTo(addr)
	if err != nil {
		cl.later(func() { done(nil, err) })
		return
	}
	bc.enqueue(req, done)
}

// resolve turns a target into an address.
func (cl *Client) resolve(to Target) (string, error) {
	switch to.kind {
	case targetAddr:
		return to.addr, nil
	case targetNode:
		if addr, ok := cl.meta.brokerAddr(to.node); ok {
			return addr, nil
		}
		return "", fmt.Errorf("%w: %d", ErrUnknownNode, to.node)
	}
	addrs := cl.meta.brokerAddrs()
	if len(addrs) == 0 {
		addrs = cl.cfg.Bootstrap
	}
	return addrs[cl.anyCursor%len(addrs)], nil
}

// rotateAny moves "any broker" on to the next one, after a failure.
func (cl *Client) rotateAny() { cl.anyCursor++ }

// connTo returns the live connection to addr, dialing one if needed.
func (cl *Client) connTo(addr string) (*brokerConn, error) {
	if bc := cl.conns[addr]; bc != nil {
		return bc, nil
	}
	if len(cl.conns) >= cl.cfg.ConnsMax {
		return nil, &TransportError{Err: fmt.Errorf("%w: %d connections open", ErrQueueFull, len(cl.conns)), Addr: addr}
	}
	bc := dial(cl, addr)
	cl.conns[addr] = bc
	return bc, nil
}

// forget drops a dead connection so the next request dials afresh.
func (cl *Client) forget(bc *brokerConn) {
	if cl.conns[bc.addr] == bc {
		delete(cl.conns, bc.addr)
	}
}

// later runs f in a callback of its own, so that results decided inside a
// call reach the caller only after the call returns.
func (cl *Client) later(f func()) {
	cl.e.Clock().AfterFunc(0, f)
}

// after runs f once ms milliseconds have passed.
func (cl *Client) after(ms int64, f func()) env.Timer {
	return cl.e.Clock().AfterFunc(time.Duration(ms)*time.Millisecond, f)
}

// nowMs is the monotonic clock in milliseconds, for deadlines (never the
// wall clock, which faults may jump).
func (cl *Client) nowMs() int64 { return cl.e.Clock().Mono().Milliseconds() }

// retrying runs try until it reports success, a non-retriable error, or
// RetryTimeoutMs has passed, pausing RetryBackoffMs between attempts and
// marking the metadata stale when an error says routing is wrong. The
// first attempt runs in a callback of its own, so end never runs on the
// caller's stack.
func (cl *Client) retrying(try func(step func(error)), end func(error)) {
	deadlineMs := cl.nowMs() + cl.cfg.RetryTimeoutMs
	var attempt func()
	attempt = func() {
		if cl.closed {
			end(ErrClosed)
			return
		}
		try(func(err error) {
			switch {
			case err == nil || !retriable(err) || cl.closed:
				end(err)
			case cl.nowMs()+cl.cfg.RetryBackoffMs > deadlineMs:
				end(fmt.Errorf("%w: %w", ErrRetryTimeout, err))
			default:
				if wantsMetadata(err) {
					cl.meta.markStale()
				}
				cl.after(cl.cfg.RetryBackoffMs, attempt)
			}
		})
	}
	cl.later(attempt)
}
