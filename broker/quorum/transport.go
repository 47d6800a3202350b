package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The transport: a listener on the controller port, whose connections
// carry requests from the other voters, and one outgoing connection per
// other voter, which carries this node's requests. Frames are Kafka
// request and response frames (env.Conn delivers them whole, without the
// 4-byte length prefix).
//
// Outgoing requests are matched to answers by correlation id, so answers
// may come in any order (the leader answers a Vote at once while a fetch
// from the same peer is parked). Each peer has at most InFlightPerPeerMax
// requests queued or in flight; each has a timeout, and a request that
// times out after it was sent closes the connection, as Kafka's network
// client does. A lost connection is dialed again with exponential
// backoff and jitter.

type transport struct {
	n        *Node
	listener env.Listener
	peers    []*peer       // other voters, by increasing id
	accepted []*serverConn // open accepted connections, at most AcceptedConnsMax
	closed   bool
}

func newTransport(n *Node) *transport {
	t := &transport{n: n}
	for _, id := range n.ids {
		if id != n.cfg.NodeID {
			t.peers = append(t.peers, &peer{t: t, id: id, addr: n.cfg.Voters[id], backoffMs: n.cfg.RetryBackoffMs})
		}
	}
	return t
}

func (t *transport) start() error {
	l, err := t.n.e.Net().Listen(t.n.cfg.Port, t.accept)
	if err != nil {
		return fmt.Errorf("quorum: listen on controller port %d: %w", t.n.cfg.Port, err)
	}
	t.listener = l
	for _, p := range t.peers {
		p.dial()
	}
	return nil
}

// close ends every connection; calls in flight are dropped unanswered
// (the node that made them has halted).
func (t *transport) close() {
	t.closed = true
	if t.listener != nil {
		t.listener.Close()
	}
	for _, p := range t.peers {
		p.shut()
	}
	for _, sc := range slices.Clone(t.accepted) {
		sc.close()
	}
}

func (t *transport) peer(id int32) *peer {
	for _, p := range t.peers {
		if p.id == id {
			return p
		}
	}
	return nil
}

// send queues req to voter id. done gets the answer or an error, always
// from a callback of its own.
func (t *transport) send(id int32, req kmsg.Request, timeout time.Duration, done func(kmsg.Response, error)) {
	p := t.peer(id)
	assert.Thatf(p != nil, "quorum %d: sending to %d, not another voter", t.n.cfg.NodeID, id)
	p.send(req, timeout, done)
}

// ---- the listener side ----

func (t *transport) accept(c env.Conn) env.Handler {
	sc := &serverConn{t: t, inc: t.n.inc, c: c}
	if t.closed || len(t.accepted) >= t.n.cfg.AcceptedConnsMax {
		sc.refused = true
		return sc
	}
	sc.open = true
	t.accepted = append(t.accepted, sc)
	return sc
}

func (t *transport) forget(sc *serverConn) {
	if i := slices.Index(t.accepted, sc); i >= 0 {
		t.accepted = slices.Delete(t.accepted, i, i+1)
	}
}

// serverConn is an accepted connection: requests in, answers out.
type serverConn struct {
	t       *transport
	inc     uint64
	c       env.Conn
	open    bool
	refused bool
	pending int // requests not answered yet
}

func (sc *serverConn) Opened(c env.Conn) {
	if sc.refused {
		c.Close()
	}
}

func (sc *serverConn) Received(c env.Conn, frame []byte) {
	n := sc.t.n
	if !sc.open || n.inc != sc.inc || !n.running {
		return
	}
	h, req, err := decodeRequest(frame, n.cfg.Serve != nil)
	if err == nil && sc.pending >= n.cfg.RequestsPerConnMax {
		err = fmt.Errorf("%d requests unanswered", sc.pending)
	}
	if err != nil {
		n.log.Warn("closing a controller connection", "remote", c.RemoteAddr(), "err", err)
		sc.close()
		return
	}
	sc.pending++
	answered := false
	respond := func(resp kmsg.Response) {
		assert.That(!answered, "quorum: a request answered twice")
		answered = true
		sc.pending--
		if sc.open {
			_ = c.Send(appendResponse(nil, h, resp)) // a failed send: Closed follows
		}
	}
	if n.HandleRequest(req, respond) || n.cfg.Serve != nil && n.cfg.Serve(req, respond) {
		return
	}
	sc.pending--
	n.log.Warn("closing a controller connection", "remote", c.RemoteAddr(), "err",
		fmt.Errorf("%w: %s v%d is not served", errBadMessage, kmsg.NameForKey(h.Key), h.Version))
	sc.close()
}

func (sc *serverConn) Closed(env.Conn, error) {
	if sc.open {
		sc.open = false
		sc.t.forget(sc)
	}
}

func (sc *serverConn) close() {
	if sc.open {
		sc.open = false
		sc.t.forget(sc)
		sc.c.Close()
	}
}

// ---- the dialing side ----

type peerState uint8

const (
	peerIdle    peerState = iota // no connection; a redial may be armed
	peerDialing                  // Dial called
	peerOpen                     // requests flow
	peerShut                     // the transport closed
)

// peer is the connection to one other voter.
type peer struct {
	t         *transport
	id        int32
	addr      string
	state     peerState
	c         env.Conn
	h         *peerHandler // the current connection's; an old one's events are ignored
	corr      int32
	calls     []*call // queued and sent, in send order
	backoffMs int64
	redial    env.Timer
	// sending: send is on the stack; calls failing now are answered from
	// a callback of their own, as send promises.
	sending bool
}

// call is one request's life.
type call struct {
	req   kmsg.Request
	corr  int32
	sent  bool
	done  func(kmsg.Response, error) // nil once finished
	timer env.Timer
}

// peerHandler receives one connection's events.
type peerHandler struct{ p *peer }

func (h *peerHandler) Opened(c env.Conn) {
	if p := h.p; p.h == h && p.state == peerDialing {
		p.opened()
	}
}

func (h *peerHandler) Received(c env.Conn, frame []byte) {
	if p := h.p; p.h == h && p.state == peerOpen {
		p.received(frame)
	}
}

func (h *peerHandler) Closed(c env.Conn, err error) {
	if p := h.p; p.h == h && (p.state == peerOpen || p.state == peerDialing) {
		if err == nil {
			err = errors.New("closed by peer")
		}
		p.lost(err)
	}
}

func (p *peer) dial() {
	if p.state != peerIdle {
		return
	}
	p.state = peerDialing
	p.h = &peerHandler{p: p}
	p.c = p.t.n.e.Net().Dial(p.addr, p.h)
}

func (p *peer) opened() {
	p.state = peerOpen
	p.backoffMs = p.t.n.cfg.RetryBackoffMs
	for _, cl := range p.calls {
		if !cl.sent {
			p.write(cl)
			if p.state != peerOpen {
				return
			}
		}
	}
}

func (p *peer) send(req kmsg.Request, timeout time.Duration, done func(kmsg.Response, error)) {
	n := p.t.n
	if p.state == peerShut || len(p.calls) >= n.cfg.InFlightPerPeerMax {
		n.failLater(func(err error) { done(nil, err) }, errBusy)
		return
	}
	cl := &call{req: req, done: done}
	cl.timer = n.clock.AfterFunc(timeout, func() { p.expire(cl) })
	p.calls = append(p.calls, cl)
	p.sending = true
	defer func() { p.sending = false }()
	switch p.state {
	case peerOpen:
		p.write(cl)
	case peerIdle:
		if p.redial != nil {
			p.redial.Stop()
			p.redial = nil
		}
		p.dial()
	}
}

func (p *peer) write(cl *call) {
	cl.corr = p.corr
	p.corr = nextCorrelation(p.corr)
	id := fmt.Sprintf("quorum-%d", p.t.n.cfg.NodeID)
	frame := wire.AppendRequest(nil, cl.req, cl.corr, &id)
	if err := p.c.Send(frame); err != nil {
		p.lost(fmt.Errorf("send: %w", err))
		return
	}
	cl.sent = true
}

func nextCorrelation(c int32) int32 {
	if c == math.MaxInt32 {
		return 0
	}
	return c + 1
}

func (p *peer) received(frame []byte) {
	i := -1
	if len(frame) >= 4 {
		corr := int32(binary.BigEndian.Uint32(frame))
		i = slices.IndexFunc(p.calls, func(cl *call) bool { return cl.sent && cl.corr == corr })
	}
	if i < 0 {
		p.lost(fmt.Errorf("%w: an answer to no request in flight (%d bytes)", errBadMessage, len(frame)))
		return
	}
	cl := p.calls[i]
	p.calls = slices.Delete(p.calls, i, i+1)
	_, resp, err := wire.DecodeResponse(cl.req, frame)
	if err != nil {
		err = fmt.Errorf("%w: %w", errBadMessage, err)
		p.finish(cl, nil, err)
		p.lost(err)
		return
	}
	p.finish(cl, resp, nil)
}

// expire ends a call whose timeout fired. One already sent closes the
// connection: the peer is stalled or gone, and a new connection is the
// quickest way to find out.
func (p *peer) expire(cl *call) {
	if cl.done == nil {
		return
	}
	for i, c := range p.calls {
		if c == cl {
			p.calls = append(p.calls[:i], p.calls[i+1:]...)
			break
		}
	}
	p.finish(cl, nil, errTimeout)
	if cl.sent && p.state == peerOpen {
		p.lost(errTimeout)
	}
}

func (p *peer) finish(cl *call, resp kmsg.Response, err error) {
	if cl.done == nil {
		return
	}
	cl.timer.Stop()
	done := cl.done
	cl.done = nil
	if p.sending {
		p.t.n.failLater(func(err error) { done(nil, err) }, err)
		return
	}
	done(resp, err)
}

// lost ends the connection, fails its calls and arms a redial.
func (p *peer) lost(reason error) {
	n := p.t.n
	if p.state == peerOpen {
		n.log.Debug("lost controller connection", "peer", p.id, "err", reason)
	}
	p.c.Close()
	p.c, p.h, p.state = nil, nil, peerIdle
	calls := p.calls
	p.calls = nil
	for _, cl := range calls {
		p.finish(cl, nil, fmt.Errorf("%w: %w", errConnLost, reason))
	}
	if p.state != peerIdle || p.t.closed {
		return // a done callback dialed already, or the transport closed
	}
	jitter := n.e.Rand().Int64N(p.backoffMs/5 + 1)
	wait := n.ms(p.backoffMs + jitter)
	p.backoffMs = min(p.backoffMs*2, n.cfg.ReconnectBackoffMaxMs)
	p.redial = n.after(wait, func() {
		p.redial = nil
		p.dial()
	})
}

// shut closes the connection for good; calls are dropped unanswered.
func (p *peer) shut() {
	if p.c != nil {
		p.c.Close()
	}
	if p.redial != nil {
		p.redial.Stop()
	}
	for _, cl := range p.calls {
		cl.timer.Stop()
		cl.done = nil
	}
	p.calls, p.c, p.h, p.state = nil, nil, nil, peerShut
}
