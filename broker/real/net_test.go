package real

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/broker/wire"
	"github.com/gregor-dst/gregor/env"
)

func randomFrame(rng *rand.ChaCha8, n int) []byte {
	f := make([]byte, n)
	rng.Read(f)
	return f
}

// TestEchoRoundTrip sends frames from one node to another's echo server
// and checks they come back whole and in order, including frames sent
// before the dial completed.
func TestEchoRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		sizes []int
	}{
		{"empty", []int{0, 0, 0}},
		{"small", repeat(200, 1, 7, 100)},
		{"around the copy threshold", []int{copyBytesMax - 1, copyBytesMax, copyBytesMax + 1, 3}},
		{"big", []int{1 << 20, 4 << 20, 5, 8 << 20}},
	}
	big := func(o *Options) { o.FrameBytesMax = 8 << 20 }
	server := start(t, must(newRuntime(t, big)), &process{})
	addr := echoServer(t, server)
	client := start(t, must(newRuntime(t, big)), &process{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.NewChaCha8([32]byte{byte(len(tc.sizes))})
			frames := make([][]byte, len(tc.sizes))
			for i, n := range tc.sizes {
				frames[i] = randomFrame(rng, n)
			}
			h := newRecorder()
			var sendErr error
			client.do(t, func() {
				c := client.Env().Net().Dial(addr, h)
				for _, f := range frames {
					sendErr = errors.Join(sendErr, c.Send(bytes.Clone(f)))
				}
			})
			require.NoError(t, sendErr)
			e := h.expect(t, "opened")
			assert.Equal(t, addr, e.conn.RemoteAddr())
			assert.True(t, strings.HasPrefix(e.conn.LocalAddr(), "127.0.0.1:"), e.conn.LocalAddr())
			for i, f := range frames {
				got := h.expect(t, "received").frame
				require.True(t, bytes.Equal(f, got), "frame %d: %d bytes sent, %d back", i, len(f), len(got))
			}
			client.do(t, func() { e.conn.Close() })
			assert.NoError(t, h.expect(t, "closed").err)
		})
	}
}

func repeat(n int, sizes ...int) []int {
	var out []int
	for i := range n {
		out = append(out, sizes[i%len(sizes)])
	}
	return out
}

func must[T any](v T, _ *logBuffer) T { return v }

// TestSendErrors covers the ways Send refuses a frame.
func TestSendErrors(t *testing.T) {
	rr := start(t, must(newRuntime(t, func(o *Options) {
		o.FrameBytesMax = 1 << 20
		o.SendQueueBytesMax = 1 << 20
	})), &process{})
	addr := echoServer(t, rr)
	h := newRecorder()
	var c env.Conn
	var tooLarge, fits error
	rr.do(t, func() {
		c = rr.Env().Net().Dial(addr, h)
		tooLarge = c.Send(make([]byte, 1<<20+1))
		fits = c.Send(make([]byte, 1<<20))
	})
	require.ErrorIs(t, tooLarge, env.ErrFrameTooLarge)
	require.NoError(t, fits)
	h.expect(t, "opened")
	h.expect(t, "received")

	var afterClose error
	rr.do(t, func() {
		c.Close()
		afterClose = c.Send([]byte("late"))
	})
	require.ErrorIs(t, afterClose, env.ErrClosed)
	require.NoError(t, h.expect(t, "closed").err)
	var afterClosed error
	rr.do(t, func() { afterClosed = c.Send([]byte("later")) })
	require.ErrorIs(t, afterClosed, env.ErrClosed)
}

// TestSendBufferFull fills the send queue towards a peer that does not
// read, then lets it read and sends again.
func TestSendBufferFull(t *testing.T) {
	rr := start(t, must(newRuntime(t, func(o *Options) {
		o.FrameBytesMax = 64 << 10
		o.SendQueueBytesMax = 256 << 10
	})), &process{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
	}()

	h := newRecorder()
	var c env.Conn
	rr.do(t, func() { c = rr.Env().Net().Dial(ln.Addr().String(), h) })
	h.expect(t, "opened")
	peer := <-accepted
	defer peer.Close()

	// The kernel's buffers take a few MiB first; 64 MiB is far past them.
	var sendErr error
	sent := 0
	rr.do(t, func() {
		for sent < 1024 && sendErr == nil {
			if sendErr = c.Send(make([]byte, 64<<10)); sendErr == nil {
				sent++
			}
		}
	})
	require.ErrorIs(t, sendErr, env.ErrBufferFull, "after %d frames", sent)

	go io.Copy(io.Discard, peer)
	require.Eventually(t, func() bool {
		var err error
		rr.do(t, func() { err = c.Send(make([]byte, 64<<10)) })
		return err == nil
	}, waitMax, time.Millisecond)
}

// TestPeerClose: an orderly close by the peer gives Closed(nil), a reset
// gives Closed(ErrReset).
func TestPeerClose(t *testing.T) {
	cases := []struct {
		name string
		hang func(nc *net.TCPConn)
		want error
	}{
		{"orderly", func(nc *net.TCPConn) { nc.Close() }, nil},
		{"reset", func(nc *net.TCPConn) { nc.SetLinger(0); nc.Close() }, env.ErrReset},
	}
	rr := start(t, must(newRuntime(t, nil)), &process{})
	h := newRecorder()
	addr := listen(t, rr, func(env.Conn) env.Handler { return h })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			h.expect(t, "opened")
			_, err = nc.Write(wire.AppendFrameLength(nil, []byte("hello")))
			require.NoError(t, err)
			assert.Equal(t, "hello", string(h.expect(t, "received").frame))
			tc.hang(nc.(*net.TCPConn))
			e := h.expect(t, "closed")
			if tc.want == nil {
				assert.NoError(t, e.err)
			} else {
				assert.ErrorIs(t, e.err, tc.want)
			}
		})
	}
}

// TestCloseFlushesQueuedFrames: frames queued before Close all reach the
// peer, then the peer reads EOF; the local handler hears Closed(nil)
// after Close returns, and nothing after.
func TestCloseFlushesQueuedFrames(t *testing.T) {
	const framesN, frameBytes = 64, 100 << 10
	rr := start(t, must(newRuntime(t, nil)), &process{})
	h := newRecorder()
	inClose := false
	closedInsideClose := false
	h.onOpened = func(c env.Conn) {
		for i := range framesN {
			f := bytes.Repeat([]byte{byte(i)}, frameBytes)
			if err := c.Send(f); err != nil {
				panic(err)
			}
		}
		inClose = true
		c.Close()
		inClose = false
	}
	h.onClosed = func(env.Conn, error) { closedInsideClose = inClose }
	addr := listen(t, rr, func(env.Conn) env.Handler { return h })

	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	for i := range framesN {
		f := readFrame(t, nc)
		require.Len(t, f, frameBytes)
		require.Equal(t, byte(i), f[0], "frame %d out of order", i)
	}
	_, err = nc.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	h.expect(t, "opened")
	require.NoError(t, h.expect(t, "closed").err)
	rr.do(t, func() {})
	assert.False(t, closedInsideClose, "Closed ran inside Close")
}

// readFrame reads one length-prefixed frame from a raw socket.
func readFrame(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(waitMax))
	var prefix [4]byte
	_, err := io.ReadFull(nc, prefix[:])
	require.NoError(t, err)
	n, err := wire.ReadFrameLength(prefix, 1<<30)
	require.NoError(t, err)
	f := make([]byte, n)
	_, err = io.ReadFull(nc, f)
	require.NoError(t, err)
	return f
}

// TestNoReceivedAfterClose: frames already read when the handler closes
// are dropped.
func TestNoReceivedAfterClose(t *testing.T) {
	rr := start(t, must(newRuntime(t, nil)), &process{})
	h := newRecorder()
	h.onReceived = func(c env.Conn, _ []byte) { c.Close() }
	addr := listen(t, rr, func(env.Conn) env.Handler { return h })
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	var burst []byte
	for range 100 {
		burst = wire.AppendFrameLength(burst, []byte("x"))
	}
	_, err = nc.Write(burst)
	require.NoError(t, err)
	h.expect(t, "opened")
	h.expect(t, "received")
	require.NoError(t, h.expect(t, "closed").err)
	h.quiet(t, 50*time.Millisecond)
}

// TestDialFailures: Closed carries the env error, and Opened never comes.
func TestDialFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := ln.Addr().String()
	ln.Close()
	cases := []struct {
		name string
		addr string
		want error
	}{
		{"refused", refused, env.ErrRefused},
		{"no port", "127.0.0.1", env.ErrUnknownHost},
	}
	rr := start(t, must(newRuntime(t, nil)), &process{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecorder()
			var sendErr error
			rr.do(t, func() {
				c := rr.Env().Net().Dial(tc.addr, h)
				sendErr = c.Send([]byte("queued while dialing"))
			})
			assert.NoError(t, sendErr)
			e := h.expect(t, "closed")
			assert.ErrorIs(t, e.err, tc.want)
			h.quiet(t, 20*time.Millisecond)
		})
	}
}

// TestCloseWhileDialing: the handler hears Closed(nil) only; frames queued
// before Close still reach the peer, then EOF.
func TestCloseWhileDialing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	rr := start(t, must(newRuntime(t, nil)), &process{})
	h := newRecorder()
	rr.do(t, func() {
		c := rr.Env().Net().Dial(ln.Addr().String(), h)
		c.Send([]byte("one"))
		c.Close()
	})
	require.NoError(t, h.expect(t, "closed").err)
	nc, err := ln.Accept()
	require.NoError(t, err)
	defer nc.Close()
	assert.Equal(t, "one", string(readFrame(t, nc)))
	_, err = nc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
	h.quiet(t, 20*time.Millisecond)
}

// TestBadLengthPrefix: a length outside 0..FrameBytesMax closes the
// connection with a logged reason.
func TestBadLengthPrefix(t *testing.T) {
	cases := []struct {
		name   string
		prefix []byte
	}{
		{"negative", []byte{0xff, 0xff, 0xff, 0xff}},
		{"too large", []byte{0, 0x10, 0, 1}}, // 1 MiB + 1
	}
	rr, logs := newRuntime(t, func(o *Options) { o.FrameBytesMax = 1 << 20 })
	run := start(t, rr, &process{})
	h := newRecorder()
	addr := listen(t, run, func(env.Conn) env.Handler { return h })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			h.expect(t, "opened")
			_, err = nc.Write(tc.prefix)
			require.NoError(t, err)
			e := h.expect(t, "closed")
			assert.ErrorIs(t, e.err, errBadFrame)
			nc.SetReadDeadline(time.Now().Add(waitMax))
			_, err = nc.Read(make([]byte, 1))
			assert.Error(t, err, "the runtime should have closed the socket")
			assert.Contains(t, logs.String(), "bad frame length")
			assert.Contains(t, logs.String(), fmt.Sprintf("conn=%d", e.conn.ID()))
		})
	}
}

// TestConnectionsMax: accepted connections past the limit are closed at
// once and logged; a slot freed is reused.
func TestConnectionsMax(t *testing.T) {
	r, logs := newRuntime(t, func(o *Options) { o.ConnectionsMax = 2 })
	rr := start(t, r, &process{})
	h := newRecorder()
	addr := listen(t, rr, func(env.Conn) env.Handler { return h })
	var ncs []net.Conn
	defer func() {
		for _, nc := range ncs {
			nc.Close()
		}
	}()
	dial := func() net.Conn {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		ncs = append(ncs, nc)
		return nc
	}
	dial()
	dial()
	h.expect(t, "opened")
	h.expect(t, "opened")

	third := dial()
	third.SetReadDeadline(time.Now().Add(waitMax))
	_, err := third.Read(make([]byte, 1))
	require.Error(t, err)
	assert.False(t, isTimeout(err), "the third connection should have been closed: %v", err)
	assert.Contains(t, logs.String(), "too many connections")
	h.quiet(t, 20*time.Millisecond)

	ncs[0].Close()
	h.expect(t, "closed")
	dial()
	h.expect(t, "opened")
}

// TestListenErrors: a port in use, an invalid port.
func TestListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	rr := start(t, must(newRuntime(t, nil)), &process{})
	var inUse, invalid error
	rr.do(t, func() {
		_, inUse = rr.Env().Net().Listen(port, func(env.Conn) env.Handler { return echoHandler{} })
		_, invalid = rr.Env().Net().Listen(70000, func(env.Conn) env.Handler { return echoHandler{} })
	})
	assert.ErrorIs(t, inUse, env.ErrAddrInUse)
	assert.Error(t, invalid)
}

// TestListenerClose: no new connections after Close; established ones
// keep working.
func TestListenerClose(t *testing.T) {
	rr := start(t, must(newRuntime(t, nil)), &process{})
	var l env.Listener
	rr.do(t, func() {
		l, _ = rr.Env().Net().Listen(0, func(env.Conn) env.Handler { return echoHandler{} })
	})
	nc, err := net.Dial("tcp", l.Addr())
	require.NoError(t, err)
	defer nc.Close()
	rr.do(t, func() { l.Close(); l.Close() })
	_, err = nc.Write(wire.AppendFrameLength(nil, []byte("still here")))
	require.NoError(t, err)
	assert.Equal(t, "still here", string(readFrame(t, nc)))
	_, err = net.Dial("tcp", l.Addr())
	assert.Error(t, err)
}

// TestDialErrorMapping: how dial errors map onto env's.
func TestDialErrorMapping(t *testing.T) {
	sys := func(errno error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"refused", sys(syscall.ECONNREFUSED), env.ErrRefused},
		{"no such host", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, env.ErrUnknownHost},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, env.ErrTimeout},
		{"bad address", &net.AddrError{Err: "missing port in address", Addr: "x"}, env.ErrUnknownHost},
		{"deadline", context.DeadlineExceeded, env.ErrTimeout},
		{"host unreachable", sys(syscall.EHOSTUNREACH), env.ErrTimeout},
		{"anything else", errors.New("odd"), env.ErrRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := dialError(tc.err)
			assert.ErrorIs(t, got, tc.want)
			assert.ErrorIs(t, got, tc.err, "the original stays reachable")
			assert.Equal(t, tc.err.Error(), got.Error())
		})
	}
}
