package peer

import (
	"errors"
	"fmt"
	"time"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors a request can end with. ErrTimeout and ErrConnLost leave it
// unknown whether the peer acted on the request.
var (
	ErrTimeout   = errors.New("peer: request timed out")
	ErrConnLost  = errors.New("peer: connection lost")
	ErrQueueFull = errors.New("peer: too many requests in flight")
	ErrClosed    = errors.New("peer: client closed")
	ErrBadAnswer = errors.New("peer: malformed response")
)

// Config bounds a client.
type Config struct {
	ClientID         string
	RequestTimeoutMs int64
	// InFlightMax bounds the requests outstanding on one connection.
	InFlightMax int
}

// Client holds one connection per peer address, dialed on first use and
// again after a failure.
type Client struct {
	e      env.Env
	cfg    Config
	conns  map[string]*conn
	closed bool
}

type conn struct {
	c       *Client
	addr    string
	ec      env.Conn
	open    bool
	dead    bool
	corr    int32
	pending []*call // in send order; answers come in the same order
	unsent  [][]byte
}

type call struct {
	corr  int32
	req   kmsg.Request
	done  func(kmsg.Response, error)
	timer env.Timer
	over  bool
}

// New makes a client for a process's Env.
func New(e env.Env, cfg Config) *Client {
	if cfg.RequestTimeoutMs <= 0 {
		cfg.RequestTimeoutMs = 30_000
	}
	if cfg.InFlightMax <= 0 {
		cfg.InFlightMax = 100
	}
	return &Client{e: e, cfg: cfg, conns: map[string]*conn{}}
}

// Do sends req (its version set by the caller) to addr; done gets the
// answer or an error, once, never before Do returns.
func (c *Client) Do(addr string, req kmsg.Request, done func(kmsg.Response, error)) {
	if c.closed {
		c.later(func() { done(nil, ErrClosed) })
		return
	}
	pc := c.conns[addr]
	if pc == nil || pc.dead {
		pc = c.dial(addr)
	}
	if len(pc.pending) >= c.cfg.InFlightMax {
		c.later(func() { done(nil, ErrQueueFull) })
		return
	}
	pc.corr++
	k := &call{corr: pc.corr, req: req, done: done}
	k.timer = c.e.Clock().AfterFunc(time.Duration(c.cfg.RequestTimeoutMs)*time.Millisecond, func() {
		// A request without an answer leaves the stream's position
		// unknown; only a fresh connection is safe.
		pc.fail(fmt.Errorf("%w: %s to %s", ErrTimeout, kmsg.NameForKey(req.Key()), addr))
	})
	pc.pending = append(pc.pending, k)
	id := c.cfg.ClientID
	frame := wire.AppendRequest(nil, req, k.corr, &id)
	if !pc.open {
		// The simulator refuses sends before the dial completes; frames
		// wait here (bounded by InFlightMax through pending).
		pc.unsent = append(pc.unsent, frame)
		return
	}
	pc.send(frame)
}

// Close fails everything outstanding and closes every connection.
func (c *Client) Close() {
	c.closed = true
	for _, pc := range c.sortedConns() {
		pc.fail(ErrClosed)
	}
}

func (c *Client) sortedConns() []*conn {
	var out []*conn
	for _, pc := range c.conns { //gregor:unordered-ok sorted below
		out = append(out, pc)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].addr < out[j-1].addr; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (c *Client) dial(addr string) *conn {
	pc := &conn{c: c, addr: addr}
	c.conns[addr] = pc
	pc.ec = c.e.Net().Dial(addr, pc)
	return pc
}

// later runs f in a callback of its own, so done never runs inside Do.
func (c *Client) later(f func()) { c.e.Clock().AfterFunc(0, f) }

func (pc *conn) Opened(env.Conn) {
	pc.open = true
	unsent := pc.unsent
	pc.unsent = nil
	for _, f := range unsent {
		pc.send(f)
	}
}

func (pc *conn) send(frame []byte) {
	if pc.dead {
		return
	}
	if err := pc.ec.Send(frame); err != nil {
		pc.c.later(func() { pc.fail(fmt.Errorf("%w: %v", ErrConnLost, err)) })
	}
}

func (pc *conn) Closed(_ env.Conn, err error) {
	if err == nil {
		err = errors.New("closed by peer")
	}
	pc.fail(fmt.Errorf("%w: %s: %v", ErrConnLost, pc.addr, err))
}

func (pc *conn) Received(_ env.Conn, frame []byte) {
	if pc.dead || len(pc.pending) == 0 || len(frame) < 4 {
		pc.fail(fmt.Errorf("%w: unexpected frame from %s", ErrBadAnswer, pc.addr))
		return
	}
	k := pc.pending[0]
	corr, resp, err := wire.DecodeResponse(k.req, frame)
	if corr != k.corr {
		pc.fail(fmt.Errorf("%w: correlation id %d, want %d, from %s", ErrBadAnswer, corr, k.corr, pc.addr))
		return
	}
	pc.pending = pc.pending[1:]
	k.timer.Stop()
	k.over = true
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrBadAnswer, err)
	}
	k.done(resp, err)
}

// fail ends the connection and every request on it.
func (pc *conn) fail(err error) {
	if pc.dead {
		return
	}
	pc.dead = true
	if pc.c.conns[pc.addr] == pc {
		delete(pc.c.conns, pc.addr)
	}
	pc.ec.Close()
	pending := pc.pending
	pc.pending = nil
	for _, k := range pending {
		k.timer.Stop()
		if !k.over {
			k.over = true
			k.done(nil, err)
		}
	}
}
