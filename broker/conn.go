package broker

import (
	"errors"

	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one client connection. Like Kafka's socket server, it serves one
// request at a time and answers in order: requests that arrive while one
// is being served wait in a bounded queue.
type conn struct {
	b       *Broker
	c       env.Conn
	queue   []*request
	busy    bool // a request is being served (its answer may be pending)
	pumping bool
	closed  bool
}

// request is one decoded request being served. The handler answers through
// respond exactly once (or noResponse for acks=0 produce).
type request struct {
	conn *conn
	h    RequestHeader
	req  kmsg.Request
	// raw is a pre-encoded answer for requests answered before dispatch
	// (ApiVersions at a version we do not serve).
	raw  []byte
	done bool
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
	c.queue = nil
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
	if len(c.queue) >= c.b.cfg.InFlightRequestsPerConnMax {
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
	c.queue = nil
	c.c.Close()
}

// pump serves queued requests while none is outstanding. Handlers that
// answer at once re-enter through respond; the pumping flag turns that
// recursion into this loop.
func (c *conn) pump() {
	if c.pumping {
		return
	}
	c.pumping = true
	defer func() { c.pumping = false }()
	for !c.busy && !c.closed && len(c.queue) > 0 {
		r := c.queue[0]
		c.queue = c.queue[1:]
		c.busy = true
		if r.raw != nil {
			c.send(r.raw)
			c.busy = false
			continue
		}
		c.b.dispatch(r)
	}
}

// respond answers r and lets the connection serve its next request.
func (r *request) respond(resp kmsg.Response) {
	if r.done {
		panic("broker: request answered twice")
	}
	r.done = true
	c := r.conn
	if c.closed {
		return
	}
	c.send(AppendResponse(nil, r.h, resp))
	c.busy = false
	c.pump()
}

// noResponse finishes a request that gets no answer (produce with acks=0).
func (r *request) noResponse() {
	r.done = true
	c := r.conn
	c.busy = false
	if !c.closed {
		c.pump()
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
