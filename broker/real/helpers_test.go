package real

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/env"
)

// waitMax bounds every wait in these tests: long enough for a loaded CI
// machine under -race, short enough that a hang fails rather than stalls.
const waitMax = 20 * time.Second

// logBuffer collects log lines; readers of the runtime log from their own
// goroutines, hence the lock.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newRuntime makes a runtime on loopback with a fresh data directory;
// edit adjusts the options first.
func newRuntime(t *testing.T, edit func(*Options)) (*Runtime, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	o := Options{
		Name:    "n1",
		DataDir: t.TempDir(),
		Host:    "127.0.0.1",
		Seed:    1,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&o)
	}
	r, err := New(o)
	require.NoError(t, err)
	return r, logs
}

// process is an env.Process made of funcs; a nil stop calls done at once.
type process struct {
	start func(e env.Env)
	stop  func(done func())
}

func (p *process) Start(e env.Env) {
	if p.start != nil {
		p.start(e)
	}
}

func (p *process) Stop(done func()) {
	if p.stop == nil {
		done()
		return
	}
	p.stop(done)
}

// running is a Runtime whose Run goroutine the test controls.
type running struct {
	*Runtime
	cancel context.CancelFunc
	result chan error
}

// start runs p on r until the test ends or stop is called.
func start(t *testing.T, r *Runtime, p env.Process) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{Runtime: r, cancel: cancel, result: make(chan error, 1)}
	go func() { rr.result <- r.Run(ctx, p) }()
	t.Cleanup(func() { rr.stop(t) })
	return rr
}

// stop cancels Run and returns what it returned.
func (rr *running) stop(t *testing.T) error {
	t.Helper()
	rr.cancel()
	select {
	case err := <-rr.result:
		rr.result <- err // for a second stop (the cleanup)
		return err
	case <-time.After(waitMax):
		t.Fatal("Run did not return")
		return nil
	}
}

// do runs f on the loop and fails the test if it could not.
func (rr *running) do(t *testing.T, f func()) {
	t.Helper()
	require.True(t, rr.Do(f), "the loop is not running")
}

// event is one handler callback, as a recorder saw it.
type event struct {
	kind  string // opened, received, closed
	conn  env.Conn
	frame []byte
	err   error
}

// recorder is an env.Handler that reports its callbacks on a channel and
// optionally reacts to them (on the loop).
type recorder struct {
	events     chan event
	onOpened   func(c env.Conn)
	onReceived func(c env.Conn, frame []byte)
	onClosed   func(c env.Conn, err error)
}

func newRecorder() *recorder { return &recorder{events: make(chan event, 1<<16)} }

func (h *recorder) Opened(c env.Conn) {
	h.events <- event{kind: "opened", conn: c}
	if h.onOpened != nil {
		h.onOpened(c)
	}
}

func (h *recorder) Received(c env.Conn, frame []byte) {
	h.events <- event{kind: "received", conn: c, frame: frame}
	if h.onReceived != nil {
		h.onReceived(c, frame)
	}
}

func (h *recorder) Closed(c env.Conn, err error) {
	h.events <- event{kind: "closed", conn: c, err: err}
	if h.onClosed != nil {
		h.onClosed(c, err)
	}
}

// next waits for the recorder's next event.
func (h *recorder) next(t *testing.T) event {
	t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(waitMax):
		t.Fatal("no handler event")
		return event{}
	}
}

// expect waits for the next event and checks its kind.
func (h *recorder) expect(t *testing.T, kind string) event {
	t.Helper()
	e := h.next(t)
	require.Equal(t, kind, e.kind, "event %+v", e)
	return e
}

// quiet checks that no event comes within d.
func (h *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case e := <-h.events:
		t.Fatalf("unexpected event %s (err %v)", e.kind, e.err)
	case <-time.After(d):
	}
}

// echoHandler sends back every frame it receives.
type echoHandler struct{}

func (echoHandler) Opened(env.Conn)        {}
func (echoHandler) Closed(env.Conn, error) {}
func (echoHandler) Received(c env.Conn, f []byte) {
	if err := c.Send(f); err != nil {
		c.Close()
	}
}

// listen starts a listener on a free port and returns its address.
// Assertions stay off the loop: a failed require there would end the
// loop's goroutine, not the test.
func listen(t *testing.T, rr *running, accept func(env.Conn) env.Handler) string {
	t.Helper()
	var addr string
	var err error
	rr.do(t, func() {
		var l env.Listener
		l, err = rr.Env().Net().Listen(0, accept)
		if err == nil {
			addr = l.Addr()
		}
	})
	require.NoError(t, err)
	return addr
}

// echoServer starts a listener whose connections echo every frame.
func echoServer(t *testing.T, rr *running) string {
	t.Helper()
	return listen(t, rr, func(env.Conn) env.Handler { return echoHandler{} })
}
