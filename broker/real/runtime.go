package real

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-dst/gregor/env"
)

// ErrStopTimeout is returned by Run when the process did not call Stop's
// done within Options.StopTimeout.
var ErrStopTimeout = errors.New("process did not finish stopping in time")

// Runtime runs one node's process over real sockets, files and time. Make
// one with New, then call Run once; Run's return releases everything New
// took (the data directory's descriptor).
type Runtime struct {
	opts   Options
	seed   uint64
	log    *slog.Logger
	start  time.Time // origin of Mono
	rng    *rand.Rand
	fs     *fsys
	timers *timers
	env    nodeEnv

	// events carries closures from I/O goroutines to the loop; its
	// capacity is the backpressure bound.
	events chan func()
	// local holds closures the loop schedules for itself (Closed after
	// Close, a sync on a closed file). They cannot go through events: the
	// loop would block on its own full channel.
	local []func()
	// stopped is closed when the loop has ended: posts are dropped from
	// then on and every goroutine winds down.
	stopped chan struct{}

	ran       atomic.Bool // Run was called
	doneOnce  sync.Once   // Stop's done
	doneFlag  atomic.Bool
	doneCh    chan struct{}
	listeners map[*listener]struct{} // loop-only
	connIDs   atomic.Uint64
	received  *byteBudget // bytes read and not yet delivered
	syncSlots chan struct{}
	dialCtx   context.Context
	dialStop  context.CancelFunc

	mu       sync.Mutex // guards the fields below and goroutine spawning
	closed   bool
	conns    map[*conn]struct{}
	accepted int           // accepted connections open now
	allGone  chan struct{} // closed when shutdown finds no connection left
	gone     bool
	wg       sync.WaitGroup
}

// New checks the options, creates the data directory and returns a
// Runtime ready to Run.
func New(o Options) (*Runtime, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	root, err := openDataDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	r := &Runtime{
		opts:      o,
		seed:      seed,
		log:       o.Logger.With("node", o.Name),
		start:     time.Now(),
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		events:    make(chan func(), o.EventsQueuedMax),
		stopped:   make(chan struct{}),
		doneCh:    make(chan struct{}),
		listeners: map[*listener]struct{}{},
		received:  newByteBudget(int64(o.ReceiveQueueBytesMax)),
		syncSlots: make(chan struct{}, o.SyncsMax),
		conns:     map[*conn]struct{}{},
		allGone:   make(chan struct{}),
	}
	r.dialCtx, r.dialStop = context.WithCancel(context.Background())
	r.fs = newFS(r, root)
	r.timers = newTimers(r)
	r.env = nodeEnv{r: r}
	return r, nil
}

// openDataDir creates the data directory if needed and opens it as a root
// no path can escape.
func openDataDir(dir string) (*os.Root, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("real: data directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("real: data directory: %w", err)
	}
	return root, nil
}

// Env is the node's env.Env. Use it only on the loop (from the process's
// callbacks, or inside Do).
func (r *Runtime) Env() env.Env { return r.env }

// Run runs p until ctx is cancelled: it calls p.Start on the loop, serves
// events, then calls p.Stop and keeps serving until p calls done or
// Options.StopTimeout passes (then it returns an error wrapping
// ErrStopTimeout). Before returning it closes every listener and dial,
// closes every connection as Close would (queued frames first, then an
// orderly close, waiting up to Options.CloseTimeout for the peers'), closes
// every file, and waits for the runtime's goroutines; no callback runs
// after it returns. Run may be called once. A panic in a callback closes
// everything too, then propagates.
func (r *Runtime) Run(ctx context.Context, p env.Process) error {
	if !r.ran.CompareAndSwap(false, true) {
		return errors.New("real: Run called twice")
	}
	defer r.shutdown()
	r.log.Info("starting", "data_dir", r.opts.DataDir, "seed", r.seed)
	p.Start(r.env)
	return r.serve(ctx, p)
}

// serve is the loop: one callback at a time until the process is done.
func (r *Runtime) serve(ctx context.Context, p env.Process) error {
	quit := ctx.Done()
	var deadline *time.Timer
	var expired <-chan time.Time
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for !r.doneFlag.Load() {
		// One of the loop's own closures, then at most one event, so that
		// neither kind starves the other; with local closures pending the
		// select must not block, which alwaysReady arranges.
		r.runLocal()
		var poll <-chan struct{}
		if len(r.local) > 0 {
			poll = alwaysReady
		}
		select {
		case f := <-r.events:
			if !r.doneFlag.Load() {
				f()
			}
		case <-quit:
			quit = nil
			deadline = time.NewTimer(r.opts.StopTimeout)
			expired = deadline.C
			r.log.Info("stopping")
			p.Stop(r.stopDone)
		case <-r.doneCh:
		case <-expired:
			return fmt.Errorf("real: node %s: %w after %v", r.opts.Name, ErrStopTimeout, r.opts.StopTimeout)
		case <-poll:
		}
	}
	return nil
}

// alwaysReady is a closed channel: a select case on it never blocks.
var alwaysReady = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// stopDone is the done the process gets in Stop. It may be called more
// than once, and from any goroutine.
func (r *Runtime) stopDone() {
	r.doneOnce.Do(func() {
		r.doneFlag.Store(true)
		close(r.doneCh)
	})
}

// runLocal runs the oldest of the loop's own closures, if any.
func (r *Runtime) runLocal() {
	if len(r.local) == 0 || r.doneFlag.Load() {
		return
	}
	f := r.local[0]
	r.local[0] = nil
	r.local = r.local[1:]
	f()
}

// later schedules f on the loop after the current callback. Loop only.
func (r *Runtime) later(f func()) { r.local = append(r.local, f) }

// post hands f to the loop, waiting while the loop is behind. It reports
// false, dropping f, once the loop has ended. Never call it from the loop
// (it could wait on itself): use later there.
func (r *Runtime) post(f func()) bool {
	select {
	case <-r.stopped:
		return false
	default:
	}
	select {
	case r.events <- f:
		return true
	case <-r.stopped:
		return false
	}
}

// Do runs f on the loop and waits for it. It reports false if f did not
// run because the runtime has stopped. Before Run starts it waits for Run.
// It must not be called from the loop itself, where it would wait forever.
func (r *Runtime) Do(f func()) bool {
	ran := make(chan struct{})
	if !r.post(func() { f(); close(ran) }) {
		return false
	}
	select {
	case <-ran:
		return true
	case <-r.stopped:
		select {
		case <-ran:
			return true
		default:
			return false
		}
	}
}

// spawn runs f on a goroutine that shutdown waits for. It reports false,
// without running f, once shutdown has begun.
func (r *Runtime) spawn(f func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
	return true
}

// shutdown ends the loop for good: posts are dropped, listeners and dials
// stop, connections close in order (see closeConns), goroutines are waited
// for, then files close.
func (r *Runtime) shutdown() {
	r.mu.Lock()
	r.closed = true
	close(r.stopped)
	conns := make([]*conn, 0, len(r.conns))
	for c := range r.conns { //gregor:unordered-ok closing every conn; order cannot matter
		conns = append(conns, c)
	}
	r.checkAllGone()
	r.mu.Unlock()

	r.dialStop()
	r.timers.stop()
	r.received.close()
	for l := range r.listeners { //gregor:unordered-ok closing every listener; order cannot matter
		l.close()
	}
	r.closeConns(conns)
	r.local = nil
	r.wg.Wait()
	r.fs.close()
	r.log.Debug("stopped")
}

// closeConns closes every connection as Close does, so peers read what
// was queued and then an orderly close, as the simulator has it for a
// stopped node. It waits for the peers to close their ends too (a socket
// closed with unread bytes answers with a reset, which may cost the peer
// frames it has not read yet), but no longer than CloseTimeout.
func (r *Runtime) closeConns(conns []*conn) {
	for _, c := range conns {
		c.requestFlush()
	}
	t := time.NewTimer(r.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-r.allGone:
	case <-t.C:
		r.log.Warn("connections still open after the close timeout; resetting them",
			"close_timeout", r.opts.CloseTimeout)
	}
	for _, c := range conns {
		c.shut()
	}
}

// checkAllGone closes allGone once shutdown has begun and no connection
// is left. r.mu must be held.
func (r *Runtime) checkAllGone() {
	if r.closed && len(r.conns) == 0 && !r.gone {
		r.gone = true
		close(r.allGone)
	}
}

// nodeEnv is the env.Env the process sees.
type nodeEnv struct{ r *Runtime }

var _ env.Env = nodeEnv{}

func (e nodeEnv) Name() string      { return e.r.opts.Name }
func (e nodeEnv) Clock() env.Clock  { return clock{r: e.r} }
func (e nodeEnv) Net() env.Network  { return network{r: e.r} }
func (e nodeEnv) FS() env.FS        { return e.r.fs }
func (e nodeEnv) Rand() *rand.Rand  { return e.r.rng }
func (e nodeEnv) Log() *slog.Logger { return e.r.log }
