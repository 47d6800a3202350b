package real

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
)

type connState uint8

const (
	connDialing connState = iota
	connOpen
	connClosed // the handler got Closed, or never will get anything
)

// errBadFrame: the peer sent a length prefix outside 0..FrameBytesMax.
var errBadFrame = errors.New("bad frame length")

// Sizes of socket I/O. The read buffer is small because every connection
// has one and most are idle; a frame longer than it is read straight into
// its own slice. Frames up to copyBytesMax are copied, with their length
// prefix, into one buffer per batch; bigger ones are written in place next
// to their prefix (one writev either way).
const (
	readBufferBytes = 8 << 10
	copyBytesMax    = 16 << 10
)

// conn is one end of a TCP connection and implements env.Conn. The loop
// owns the handler-facing state; the reader and writer goroutines share
// the socket and the send queue with it under mu.
type conn struct {
	r       *Runtime
	id      uint64
	inbound bool   // accepted, as opposed to dialed
	remote  string // the dialed address, or the peer's
	wake    chan struct{}

	// Loop-only.
	handler env.Handler
	state   connState
	closing bool   // Close was called
	local   string // set when the connection opens

	mu          sync.Mutex // guards the fields below
	nc          net.Conn   // set once, when the dial or accept completes
	frames      [][]byte   // queued, not yet taken by the writer
	queuedBytes int        // frames queued or being written
	flush       bool       // Close was called: write the queue, then half-close
	dead        bool       // the socket is closed, or will never open
}

var _ env.Conn = (*conn)(nil)

func newConn(r *Runtime, remote, local string, inbound bool) *conn {
	return &conn{
		r:       r,
		id:      r.connIDs.Add(1),
		inbound: inbound,
		remote:  remote,
		local:   local,
		wake:    make(chan struct{}, 1),
	}
}

func (c *conn) ID() uint64         { return c.id }
func (c *conn) LocalAddr() string  { return c.local }
func (c *conn) RemoteAddr() string { return c.remote }

// Send queues frame for the writer goroutine, which adds the length
// prefix.
func (c *conn) Send(frame []byte) error {
	switch {
	case c.state == connClosed || c.closing:
		return fmt.Errorf("send on conn %d: %w", c.id, env.ErrClosed)
	case len(frame) > int(c.r.opts.FrameBytesMax):
		return fmt.Errorf("send %d bytes on conn %d: %w", len(frame), c.id, env.ErrFrameTooLarge)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.dead:
		// The peer is gone and Closed is on its way to the loop.
		return fmt.Errorf("send on conn %d: %w", c.id, env.ErrClosed)
	case c.queuedBytes+len(frame) > c.r.opts.SendQueueBytesMax:
		return fmt.Errorf("send on conn %d: %d bytes queued: %w", c.id, c.queuedBytes, env.ErrBufferFull)
	}
	c.frames = append(c.frames, frame)
	c.queuedBytes += len(frame)
	c.signal()
	return nil
}

// Close lets the writer flush the queue and half-close; the handler gets
// Closed(nil) after this callback, and no Received from now on.
func (c *conn) Close() {
	if c.state == connClosed || c.closing {
		return
	}
	c.closing = true
	c.requestFlush()
	c.r.later(func() { c.finish(nil) })
}

// requestFlush asks the writer to write what is queued, then half-close.
func (c *conn) requestFlush() {
	c.mu.Lock()
	c.flush = true
	c.mu.Unlock()
	c.signal()
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// ---- on the loop ----

// accepted hands an inbound connection to the process, even if the
// listener was closed since the handshake: the connection is established,
// as under the simulator.
func (c *conn) accepted(l *listener) {
	c.state = connOpen
	c.handler = l.accept(c)
	if c.handler == nil {
		c.r.log.Error("accept returned no handler; closing", "listener", l.addr, "conn", c.id)
		c.state = connClosed
		c.shut()
		return
	}
	c.handler.Opened(c)
}

// opened completes a dial, unless the process closed it meanwhile (then
// the writer flushes what was queued and half-closes).
func (c *conn) opened(local string) {
	if c.state != connDialing {
		return
	}
	c.state = connOpen
	c.local = local
	c.handler.Opened(c)
}

func (c *conn) deliver(frame []byte) {
	c.r.received.release(int64(len(frame)))
	if c.state != connOpen || c.closing {
		return
	}
	c.handler.Received(c, frame)
}

// finish tells the handler, once, that the connection is over.
func (c *conn) finish(err error) {
	if c.state == connClosed {
		return
	}
	c.state = connClosed
	c.r.log.Debug("connection closed", "conn", c.id, "remote", c.remote, "err", err)
	c.handler.Closed(c, err)
}

// ---- on I/O goroutines ----

// shut closes the socket and wakes the writer so it exits; the queue is
// dropped. It is idempotent and safe from any goroutine.
func (c *conn) shut() {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	nc := c.nc
	c.frames, c.queuedBytes = nil, 0
	c.mu.Unlock()
	c.signal()
	if nc != nil {
		nc.Close()
	}
	c.r.untrack(c)
}

// dial connects, then serves as the connection's writer.
func (c *conn) dial(addr string) {
	d := net.Dialer{Timeout: c.r.opts.DialTimeout}
	nc, err := d.DialContext(c.r.dialCtx, "tcp", addr)
	if err != nil {
		c.shut()
		err = dialError(err)
		c.r.log.Debug("dial failed", "conn", c.id, "addr", addr, "err", err)
		c.r.post(func() { c.finish(err) })
		return
	}
	if !c.attach(nc) {
		nc.Close()
		return
	}
	local := nc.LocalAddr().String()
	// Opened goes first; the reader starts after, so its frames follow.
	if !c.r.post(func() { c.opened(local) }) || !c.r.spawn(c.readLoop) {
		c.shut()
		return
	}
	c.writeLoop()
}

// attach installs the dialed socket, unless the connection died meanwhile
// (the runtime shut down).
func (c *conn) attach(nc net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	c.nc = nc
	return true
}

// readLoop reads frames and posts them until the socket ends, then closes
// it and reports why.
func (c *conn) readLoop() {
	err := c.readFrames()
	c.shut()
	if closedErr, report := readEnd(err); report {
		c.r.post(func() { c.finish(closedErr) })
	}
}

func (c *conn) readFrames() error {
	br := bufio.NewReaderSize(c.nc, readBufferBytes)
	var prefix [4]byte
	for {
		if _, err := io.ReadFull(br, prefix[:]); err != nil {
			return err // io.EOF between frames is the peer's orderly close
		}
		n, err := wire.ReadFrameLength(prefix, c.r.opts.FrameBytesMax)
		if err != nil {
			c.r.log.Warn("closing connection: bad frame length", "conn", c.id, "remote", c.remote, "err", err)
			return fmt.Errorf("conn %d from %s: %w: %w", c.id, c.remote, errBadFrame, err)
		}
		// Take the budget before allocating, so the frames on their way
		// to the loop stay within ReceiveQueueBytesMax. It fails once the
		// runtime is shutting down: then the reader only reads on, to see
		// the peer's close.
		if !c.r.received.acquire(int64(n)) {
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return midFrame(err)
			}
			continue
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			c.r.received.release(int64(n))
			return fmt.Errorf("conn %d: reading a %d-byte frame: %w", c.id, n, midFrame(err))
		}
		c.r.post(func() { c.deliver(frame) }) // dropped once the loop has ended
	}
}

// midFrame turns an EOF inside a frame into io.ErrUnexpectedEOF: the
// prefix promised more, so it is not an orderly close.
func midFrame(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeLoop writes the queue in batches until the connection dies, or
// until Close has been flushed (then it half-closes and leaves the reader
// to wait for the peer's close).
func (c *conn) writeLoop() {
	flushing := false
	for {
		batch, batchBytes, flush, ok := c.take()
		if !ok {
			return
		}
		if flush && !flushing {
			// From Close (or shutdown) on, a peer that stops reading
			// cannot hold the connection open forever.
			flushing = true
			c.nc.SetDeadline(time.Now().Add(c.r.opts.CloseTimeout))
		}
		if len(batch) == 0 {
			c.halfClose()
			return
		}
		bufs := appendBatch(nil, batch)
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.writeFailed(err)
			return
		}
		c.sent(batchBytes)
	}
}

// take waits for frames to write, or for Close with an empty queue
// (flush with no batch), or for death (ok false).
func (c *conn) take() (batch [][]byte, batchBytes int, flush, ok bool) {
	for {
		c.mu.Lock()
		dead, flush := c.dead, c.flush
		batch, c.frames = c.frames, nil
		c.mu.Unlock()
		if dead {
			return nil, 0, false, false
		}
		if len(batch) > 0 || flush {
			for _, f := range batch {
				batchBytes += len(f)
			}
			return batch, batchBytes, flush, true
		}
		<-c.wake
	}
}

func (c *conn) sent(n int) {
	c.mu.Lock()
	if !c.dead {
		c.queuedBytes -= n
	}
	c.mu.Unlock()
}

// halfClose sends FIN after the last frame; the reader drains the peer's
// side until its close or CloseTimeout. Closing at once could make the
// kernel answer unread incoming bytes with a reset, which may destroy
// frames the peer has not read yet.
func (c *conn) halfClose() {
	if hc, ok := c.nc.(interface{ CloseWrite() error }); ok && hc.CloseWrite() == nil {
		return
	}
	c.shut()
}

func (c *conn) writeFailed(err error) {
	c.shut()
	if errors.Is(err, net.ErrClosed) {
		return // shut by someone else, who reports
	}
	err = withKind(env.ErrReset, fmt.Errorf("conn %d to %s: %w", c.id, c.remote, err))
	c.r.post(func() { c.finish(err) })
}

// appendBatch lays out frames with their length prefixes for one writev.
func appendBatch(bufs net.Buffers, batch [][]byte) net.Buffers {
	var small []byte
	for _, f := range batch {
		if len(f) <= copyBytesMax {
			small = wire.AppendFrameLength(small, f)
			continue
		}
		small = binary.BigEndian.AppendUint32(small, uint32(len(f)))
		bufs = append(bufs, small, f)
		small = nil
	}
	if len(small) > 0 {
		bufs = append(bufs, small)
	}
	return bufs
}
