package broker

import (
	"errors"

	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one client connection. Like Kafka's socket server, it answers
// in order and serves one request at a time, with one exception: a Produce
// parked waiting for its acknowledgements (acks=all) lets the next Produce
// on the connection be appended meanwhile. Kafka mutes the connection
// until the answer is out, so a producer's pipelined requests each wait a
// full replication round in turn; appending them while the first waits
// lets one follower fetch carry them all, and the answers still go out in
// request order, so what a client observes is one of Kafka's orders.
// Requests that arrive while one is being served wait in a bounded queue.
type conn struct {
	b     *Broker
	c     env.Conn
	queue []*request // received, not yet dispatched
	// answering holds the dispatched requests whose answers are not sent
	// yet, in request order; an answer leaves only from the front.
	answering []*request
	serving   *request // dispatched and holding the connection, or nil
	pumping   bool
	closed    bool
}

// request is one decoded request being served. The handler answers through
// respond exactly once (or noResponse for acks=0 produce).
type request struct {
	conn *conn
	h    RequestHeader
	req  kmsg.Request
	// raw is a pre-encoded answer for requests answered before dispatch
	// (ApiVersions at a version we do not serve).
	raw   []byte
	frame []byte // the encoded answer, waiting for earlier ones
	done  bool
}

func (b *Broker) accept(c env.Conn) env.Handler {
	return &conn{b: b, c: c}
}

func (c *conn) Opened(ec env.Conn) {
	b := c.b
	if b.stopping || len(b.conns) >= b.cfg.ConnectionsMax {
		b.log.Warn("connection refused", "remote", ec.RemoteAddr(), "open", len(b.conns), "max", b.cfg.ConnectionsMax)
		c.closed = true
		ec.Close()
		return
	}
	b.conns[ec.ID()] = c
	b.connIDs = append(b.connIDs, ec.ID())
}

func (c *conn) Closed(ec env.Conn, err error) {
	c.closed = true
	c.queue, c.answering = nil, nil
	b := c.b
	if _, ok := b.conns[ec.ID()]; !ok {
		return
	}
	delete(b.conns, ec.ID())
	for i, id := range b.connIDs {
		if id == ec.ID() {
			b.connIDs = append(b.connIDs[:i], b.connIDs[i+1:]...)
			break
		}
	}
	b.waiters.dropConn(c)
	if err != nil {
		b.log.Debug("connection closed", "remote", ec.RemoteAddr(), "err", err)
	}
}

func (c *conn) Received(ec env.Conn, frame []byte) {
	if c.closed {
		return
	}
	if len(c.queue)+len(c.answering) >= c.b.cfg.InFlightRequestsPerConnMax {
		c.abort("too many requests in flight", nil, RequestHeader{})
		return
	}
	h, req, err := DecodeRequest(frame)
	switch {
	case errors.Is(err, ErrUnsupportedVersion) && h.Key == apiVersionsKey:
		c.queue = append(c.queue, &request{conn: c, h: h, raw: UnsupportedApiVersions(h)})
	case err != nil:
		c.abort("malformed request", err, h)
		return
	default:
		c.queue = append(c.queue, &request{conn: c, h: h, req: req})
	}
	c.pump()
}

// abort closes the connection with a logged reason, as Kafka does for a
// request it cannot parse.
func (c *conn) abort(reason string, err error, h RequestHeader) {
	c.b.log.Warn("closing connection: "+reason, "remote", c.c.RemoteAddr(), "key", h.Key, "version", h.Version, "correlation", h.CorrelationID, "err", err)
	c.closed = true
	c.queue, c.answering = nil, nil
	c.c.Close()
}

// pump serves queued requests while none holds the connection. Handlers
// that answer at once re-enter through respond; the pumping flag turns
// that recursion into this loop.
func (c *conn) pump() {
	if c.pumping {
		return
	}
	c.pumping = true
	defer func() { c.pumping = false }()
	for c.serving == nil && !c.closed && len(c.queue) > 0 {
		r := c.queue[0]
		if len(c.answering) > 0 && !pipelined(r) {
			return // it waits for the parked produces ahead of it
		}
		c.queue = c.queue[1:]
		c.answering = append(c.answering, r)
		if r.raw != nil {
			r.frame, r.done = r.raw, true
			c.flushAnswers()
			continue
		}
		c.serving = r
		c.b.dispatch(r)
	}
}

// pipelined: r may be served while produces parked ahead of it wait.
func pipelined(r *request) bool { return r.raw == nil && r.h.Key == produceKey }

// parked releases the connection while r waits (a produce waiting for its
// acknowledgements): the next produce may be served meanwhile.
func (r *request) parked() {
	c := r.conn
	if c.serving == r {
		c.serving = nil
		c.pump()
	}
}

// respond sends the answer, after those of the requests before it.
func (r *request) respond(resp kmsg.Response) {
	if r.done {
		panic("broker: request answered twice")
	}
	r.done = true
	c := r.conn
	if c.closed {
		return
	}
	r.frame = AppendResponse(nil, r.h, resp)
	c.finished(r)
}

// noResponse finishes a request that gets no answer (produce with acks=0).
func (r *request) noResponse() {
	r.done = true
	if !r.conn.closed {
		r.conn.finished(r)
	}
}

func (c *conn) finished(r *request) {
	if c.serving == r {
		c.serving = nil
	}
	c.flushAnswers()
	c.pump()
}

// flushAnswers sends the answers that are ready at the front.
func (c *conn) flushAnswers() {
	for len(c.answering) > 0 && c.answering[0].done && !c.closed {
		r := c.answering[0]
		c.answering[0] = nil
		c.answering = c.answering[1:]
		if r.frame != nil {
			c.send(r.frame)
		}
	}
}

func (c *conn) send(frame []byte) {
	if err := c.c.Send(frame); err != nil {
		// The client stopped reading (buffer full) or left; either way the
		// connection is done and Closed follows.
		c.b.log.Warn("closing connection: send failed", "remote", c.c.RemoteAddr(), "err", err)
		c.closed = true
		c.c.Close()
	}
}
