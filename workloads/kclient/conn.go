package kclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// connState is where a connection is in its life.
type connState uint8

const (
	stateDialing     connState = iota // Dial called, not open yet
	stateNegotiating                  // open; ApiVersions sent, not answered
	stateReady                        // versions known; requests flow
	stateDead                         // closed or failed; never used again
)

// call is one request's life: queued, maybe sent, then finished exactly
// once (answered, failed or timed out).
type call struct {
	req   kmsg.Request
	done  func(kmsg.Response, error) // nil once finished
	corr  int32
	sent  bool
	timer env.Timer
}

// brokerConn is the one connection to one broker address. Requests wait in
// queued until the connection is ready and an in-flight slot is free; sent
// holds those on the wire in send order, which is the order the broker
// answers in (Kafka serves one request per connection at a time).
type brokerConn struct {
	cl    *Client
	addr  string
	c     env.Conn
	state connState
	// versions is the broker's ApiVersions answer, by key. Only looked up,
	// never iterated.
	versions  map[int16]versionRange
	handshake *call
	setup     env.Timer // bounds dial and handshake
	nextCorr  int32
	queued    []*call
	sent      []*call
	pumpArmed bool
}

// softwareName and softwareVersion identify the client in ApiVersions v3+
// (KIP-511); Kafka accepts only [a-zA-Z0-9.-] there.
const (
	softwareName    = "gregor-kclient"
	softwareVersion = "0.1"
)

func dial(cl *Client, addr string) *brokerConn {
	bc := &brokerConn{cl: cl, addr: addr, state: stateDialing}
	bc.c = cl.e.Net().Dial(addr, bc)
	bc.setup = cl.after(cl.cfg.ConnSetupTimeoutMs, func() {
		if bc.state == stateDialing || bc.state == stateNegotiating {
			bc.fail(fmt.Errorf("connection setup: %w", ErrTimeout))
		}
	})
	return bc
}

// ---- env.Handler ----

// Opened starts the ApiVersions handshake, which every connection does
// once before anything else: until it answers we cannot know which version
// of any other request the broker reads.
func (bc *brokerConn) Opened(env.Conn) {
	if bc.state != stateDialing {
		return
	}
	bc.state = stateNegotiating
	bc.sendHandshake(ourVersions[int16(kmsg.ApiVersions)].max)
}

func (bc *brokerConn) Received(_ env.Conn, frame []byte) {
	if bc.state == stateDead {
		return
	}
	if len(frame) < 4 || len(bc.sent) == 0 {
		bc.fail(fmt.Errorf("%w: %d-byte frame with %d requests in flight", ErrBadResponse, len(frame), len(bc.sent)))
		return
	}
	cl := bc.sent[0]
	if corr := int32(binary.BigEndian.Uint32(frame)); corr != cl.corr {
		bc.fail(fmt.Errorf("%w: correlation id %d, expected %d", ErrBadResponse, corr, cl.corr))
		return
	}
	bc.sent = bc.sent[1:]
	if cl == bc.handshake {
		bc.negotiated(frame[4:])
		return
	}
	_, resp, err := wire.DecodeResponse(cl.req, frame)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrBadResponse, err)
		bc.finish(cl, nil, &TransportError{Err: err, Sent: true, Addr: bc.addr})
		bc.fail(err)
		return
	}
	bc.finish(cl, resp, nil)
	bc.pump()
}

func (bc *brokerConn) Closed(_ env.Conn, err error) {
	if err == nil {
		err = errors.New("closed by peer")
	}
	bc.fail(err)
}

// ---- handshake ----

func (bc *brokerConn) sendHandshake(version int16) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(version)
	req.ClientSoftwareName, req.ClientSoftwareVersion = softwareName, softwareVersion
	cl := &call{req: req, done: func(kmsg.Response, error) {}}
	cl.timer = bc.cl.e.Clock().AfterFunc(bc.cl.requestTimeout(), func() {
		if bc.handshake == cl && bc.state == stateNegotiating {
			bc.fail(fmt.Errorf("ApiVersions: %w", ErrTimeout))
		}
	})
	bc.handshake = cl
	bc.write(cl)
}

// negotiated reads the ApiVersions answer. A broker that does not speak
// our version answers at v0 with UNSUPPORTED_VERSION and its own range
// (KIP-511); the error code leads the body in every version, so it is read
// first to know which layout follows. We then retry once per lower
// version, which bounds the exchange by our maximum.
func (bc *brokerConn) negotiated(body []byte) {
	cl := bc.handshake
	bc.handshake = nil
	cl.timer.Stop()
	version := cl.req.GetVersion()
	if len(body) >= 2 && int16(binary.BigEndian.Uint16(body)) == kerr.UnsupportedVersion.Code {
		version = 0
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(version)
	if err := resp.ReadFrom(body); err != nil {
		bc.fail(fmt.Errorf("%w: ApiVersions v%d: %v", ErrBadResponse, version, err))
		return
	}
	bc.versions = make(map[int16]versionRange, len(resp.ApiKeys))
	for _, k := range resp.ApiKeys {
		bc.versions[k.ApiKey] = versionRange{min: k.MinVersion, max: k.MaxVersion}
	}
	if resp.ErrorCode == kerr.UnsupportedVersion.Code {
		bc.retryHandshake(cl.req.GetVersion())
		return
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		bc.fail(fmt.Errorf("ApiVersions: %w", err))
		return
	}
	bc.state = stateReady
	bc.setup.Stop()
	bc.pump()
}

func (bc *brokerConn) retryHandshake(tried int16) {
	v, ok := pick(ourVersions[int16(kmsg.ApiVersions)], bc.versionsOf(int16(kmsg.ApiVersions)))
	if !ok || v >= tried {
		bc.fail(fmt.Errorf("ApiVersions v%d refused: %w", tried, ErrNoVersion))
		return
	}
	bc.sendHandshake(v)
}

// versionsOf is the broker's range for key; an empty range if it does not
// serve it.
func (bc *brokerConn) versionsOf(key int16) versionRange {
	if r, ok := bc.versions[key]; ok {
		return r
	}
	return versionRange{min: 0, max: -1}
}

// ---- requests ----

// enqueue queues a request, failing it at once (after the caller returns)
// when the queue is full. Its timer starts now, so a request stuck behind a
// dial that never completes still ends.
func (bc *brokerConn) enqueue(req kmsg.Request, done func(kmsg.Response, error)) {
	if len(bc.queued) >= bc.cl.cfg.QueuedPerConnMax {
		bc.cl.later(func() { done(nil, &TransportError{Err: ErrQueueFull, Addr: bc.addr}) })
		return
	}
	cl := &call{req: req, done: done}
	cl.timer = bc.cl.e.Clock().AfterFunc(bc.cl.timeoutFor(req), func() { bc.expire(cl) })
	bc.queued = append(bc.queued, cl)
	bc.armPump()
}

// armPump sends queued requests in a callback of their own rather than
// inside enqueue, so that a request's done never runs on its caller's
// stack (a retry loop would otherwise recurse).
func (bc *brokerConn) armPump() {
	if bc.state != stateReady || bc.pumpArmed {
		return
	}
	bc.pumpArmed = true
	bc.cl.e.Clock().AfterFunc(0, func() {
		bc.pumpArmed = false
		bc.pump()
	})
}

// pump sends queued requests while in-flight slots are free.
func (bc *brokerConn) pump() {
	for bc.state == stateReady && len(bc.queued) > 0 && len(bc.sent) < bc.cl.cfg.InFlightPerConnMax {
		cl := bc.queued[0]
		bc.queued = bc.queued[1:]
		v, ok := pick(ours(cl.req), bc.versionsOf(cl.req.Key()))
		if !ok {
			bc.finish(cl, nil, fmt.Errorf("%w: %s: we speak v%d–v%d, %s v%d–v%d", ErrNoVersion,
				kmsg.NameForKey(cl.req.Key()), ours(cl.req).min, ours(cl.req).max,
				bc.addr, bc.versionsOf(cl.req.Key()).min, bc.versionsOf(cl.req.Key()).max))
			continue
		}
		cl.req.SetVersion(v)
		bc.write(cl)
	}
}

// write puts one request on the wire. A produce with acks=0 gets no
// answer, so it is finished as soon as it is sent.
func (bc *brokerConn) write(cl *call) {
	cl.corr = bc.nextCorr
	bc.nextCorr = nextCorrelation(bc.nextCorr)
	frame := wire.AppendRequest(nil, cl.req, cl.corr, &bc.cl.cfg.ClientID)
	if err := bc.c.Send(frame); err != nil {
		if errors.Is(err, env.ErrFrameTooLarge) {
			// Only this request is at fault, and it always will be: not
			// a transport failure a retry could cure.
			bc.finish(cl, nil, fmt.Errorf("kclient: %s request of %d bytes: %w", kmsg.NameForKey(cl.req.Key()), len(frame), err))
			return
		}
		bc.finish(cl, nil, &TransportError{Err: fmt.Errorf("%w: %w", ErrConnLost, err), Addr: bc.addr})
		bc.fail(err)
		return
	}
	cl.sent = true
	if p, ok := cl.req.(*kmsg.ProduceRequest); ok && p.Acks == 0 {
		bc.finish(cl, nil, nil)
		return
	}
	bc.sent = append(bc.sent, cl)
	assert.That(len(bc.sent) <= max(bc.cl.cfg.InFlightPerConnMax, 1), "kclient: in-flight bound broken")
}

// nextCorrelation wraps at MaxInt32 to 0: ids only need to differ among
// the few requests in flight.
func nextCorrelation(c int32) int32 {
	if c == math.MaxInt32 {
		return 0
	}
	return c + 1
}

// expire ends a request whose timeout fired. One that was sent has an
// answer still coming, which we could no longer tell from the next one's,
// so the connection goes too (as Kafka's NetworkClient does).
func (bc *brokerConn) expire(cl *call) {
	if cl.done == nil {
		return
	}
	if !cl.sent {
		bc.queued = removeCall(bc.queued, cl)
		bc.finish(cl, nil, &TransportError{Err: ErrTimeout, Addr: bc.addr})
		return
	}
	bc.sent = removeCall(bc.sent, cl)
	bc.finish(cl, nil, &TransportError{Err: ErrTimeout, Sent: true, Addr: bc.addr})
	bc.fail(fmt.Errorf("a request timed out: %w", ErrTimeout))
}

func removeCall(cs []*call, cl *call) []*call {
	for i, c := range cs {
		if c == cl {
			return append(cs[:i], cs[i+1:]...)
		}
	}
	return cs
}

// finish completes a call once.
func (bc *brokerConn) finish(cl *call, resp kmsg.Response, err error) {
	if cl.done == nil {
		return
	}
	cl.timer.Stop()
	done := cl.done
	cl.done = nil
	done(resp, err)
}

// fail closes the connection and fails every request on it: those sent
// may have taken effect, those queued did not.
func (bc *brokerConn) fail(reason error) {
	if bc.state == stateDead {
		return
	}
	bc.state = stateDead
	bc.cl.forget(bc)
	bc.c.Close()
	bc.setup.Stop()
	if bc.handshake != nil {
		bc.handshake.timer.Stop()
	}
	sent, queued := bc.sent, bc.queued
	bc.sent, bc.queued = nil, nil
	lost := fmt.Errorf("%w: %w", ErrConnLost, reason)
	for _, cl := range sent {
		bc.finish(cl, nil, &TransportError{Err: lost, Sent: true, Addr: bc.addr})
	}
	for _, cl := range queued {
		bc.finish(cl, nil, &TransportError{Err: lost, Addr: bc.addr})
	}
}

// close shuts the connection down for Client.Close.
func (bc *brokerConn) close() { bc.fail(ErrClosed) }

// requestTimeout is RequestTimeoutMs as a duration.
func (cl *Client) requestTimeout() time.Duration {
	return time.Duration(cl.cfg.RequestTimeoutMs) * time.Millisecond
}

// timeoutFor adds a fetch's own wait to the request timeout: the broker
// may legitimately hold a fetch that long before answering.
func (cl *Client) timeoutFor(req kmsg.Request) time.Duration {
	d := cl.requestTimeout()
	if f, ok := req.(*kmsg.FetchRequest); ok {
		d += time.Duration(f.MaxWaitMillis) * time.Millisecond
	}
	return d
}
