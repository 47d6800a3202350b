package real

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// network is the node's env.Network over TCP.
type network struct{ r *Runtime }

var _ env.Network = network{}

// Listen binds Options.Host:port (port 0: any free port; Addr reports the
// one bound) and accepts on a goroutine of its own.
func (n network) Listen(port int, accept func(c env.Conn) env.Handler) (env.Listener, error) {
	r := n.r
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("listen on port %d: invalid port", port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(r.opts.Host, strconv.Itoa(port)))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, withKind(env.ErrAddrInUse, err)
	}
	if err != nil {
		return nil, err
	}
	l := &listener{r: r, ln: ln, addr: ln.Addr().String(), accept: accept}
	if !r.spawn(l.acceptLoop) {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", l.addr, env.ErrClosed)
	}
	r.listeners[l] = struct{}{}
	return l, nil
}

// Dial returns at once; a goroutine dials, then turns into the
// connection's writer. Frames sent meanwhile wait in the queue.
func (n network) Dial(addr string, h env.Handler) env.Conn {
	r := n.r
	c := newConn(r, addr, "", false)
	c.handler = h
	c.state = connDialing
	if r.track(c) != nil || !r.spawn(func() { c.dial(addr) }) {
		c.shut()
		r.later(func() { c.finish(fmt.Errorf("dial %s: %w", addr, env.ErrClosed)) })
	}
	return c
}

// listener is an open listening socket.
type listener struct {
	r      *Runtime
	ln     net.Listener
	addr   string
	accept func(env.Conn) env.Handler
	closed bool // loop-only
}

var _ env.Listener = (*listener)(nil)

func (l *listener) Addr() string { return l.addr }

// Close stops accepting. Established connections stay open, including
// those the kernel completed but the process has not seen yet.
func (l *listener) Close() {
	if l.closed {
		return
	}
	l.close()
	delete(l.r.listeners, l)
}

func (l *listener) close() {
	l.closed = true
	l.ln.Close()
}

// acceptBackoffMax caps the pause after a failed accept (out of file
// descriptors, say), so a persistent failure does not spin.
const acceptBackoffMax = time.Second

func (l *listener) acceptLoop() {
	backoff := 5 * time.Millisecond
	for {
		nc, err := l.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			l.r.log.Warn("accept failed", "listener", l.addr, "err", err, "retry_in", backoff)
			if !l.r.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, acceptBackoffMax)
			continue
		}
		backoff = 5 * time.Millisecond
		l.admit(nc)
	}
}

// admit turns an accepted socket into a connection and hands it to the
// loop, unless ConnectionsMax is reached.
func (l *listener) admit(nc net.Conn) {
	r := l.r
	c := newConn(r, nc.RemoteAddr().String(), nc.LocalAddr().String(), true)
	c.nc = nc
	if err := r.track(c); err != nil {
		if errors.Is(err, errTooManyConns) {
			r.log.Warn("closing accepted connection: too many connections",
				"listener", l.addr, "remote", c.remote, "connections_max", r.opts.ConnectionsMax)
		}
		nc.Close()
		return
	}
	if !r.post(func() { c.accepted(l) }) {
		c.shut()
		return
	}
	// Started after the post: whatever the reader posts comes after
	// Opened.
	if !r.spawn(c.readLoop) || !r.spawn(c.writeLoop) {
		c.shut()
	}
}

// sleep waits for d, or reports false at once when the runtime stops.
func (r *Runtime) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stopped:
		return false
	}
}

var (
	errShutdown     = errors.New("runtime is shutting down")
	errTooManyConns = errors.New("too many connections")
)

// track registers c so that shutdown closes it, counting accepted
// connections against ConnectionsMax.
func (r *Runtime) track(c *conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return errShutdown
	case c.inbound && r.accepted >= r.opts.ConnectionsMax:
		return errTooManyConns
	}
	if c.inbound {
		r.accepted++
	}
	r.conns[c] = struct{}{}
	return nil
}

func (r *Runtime) untrack(c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.conns[c]; !ok {
		return
	}
	delete(r.conns, c)
	if c.inbound {
		r.accepted--
	}
	r.checkAllGone()
}
