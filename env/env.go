package env

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Env is everything a process may touch outside its own memory. A process
// receives it in Start and keeps it; it never reaches for a global clock,
// socket, file or random source.
type Env interface {
	// Name is the node's name, such as "n1"; stable across restarts.
	Name() string
	Clock() Clock
	Net() Network
	FS() FS
	// Rand is this incarnation's random stream. In simulation it is derived
	// from the run seed and the node name, so one seed gives one run.
	Rand() *rand.Rand
	Log() *slog.Logger
}

// Process is a node's program. Both runtimes construct a fresh value for
// every incarnation (a restart after a crash starts from nothing but the
// durable disk).
type Process interface {
	// Start is called once, first. It typically opens files, starts
	// listeners and arms timers, then returns.
	Start(e Env)
	// Stop asks for a graceful shutdown (SIGTERM in the real runtime). The
	// process finishes what it must (flush, close connections) and calls
	// done once. A runtime may kill the process if done is late.
	Stop(done func())
}

// Clock gives a node its two times. Wall time can be skewed, drift and jump
// (faults do that); monotonic time drifts with the node's oscillator but
// never jumps, which is why timers run on it.
type Clock interface {
	// Now is the node's wall-clock time.
	Now() time.Time
	// Mono is the node's monotonic time since an arbitrary origin.
	Mono() time.Duration
	// AfterFunc calls f once the monotonic clock has advanced by d (at least
	// one scheduling step for d <= 0). Timers die with the incarnation that
	// armed them.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is an armed AfterFunc.
type Timer interface {
	// Stop cancels the timer. It reports whether it stopped the timer before
	// it fired.
	Stop() bool
}

// Errors reported to processes. Runtimes wrap them with detail; test with
// errors.Is.
var (
	// ErrRefused: nothing listens at the dialed address (the host is up).
	ErrRefused = errors.New("connection refused")
	// ErrTimeout: the peer did not answer in time (a partition, a dead host).
	ErrTimeout = errors.New("connection timed out")
	// ErrReset: the connection broke (peer crashed, stalled too long).
	ErrReset = errors.New("connection reset")
	// ErrUnknownHost: the address names no host.
	ErrUnknownHost = errors.New("unknown host")
	// ErrClosed: the connection or file was already closed.
	ErrClosed = errors.New("use of closed connection or file")
	// ErrFrameTooLarge: a frame exceeds the network's frame limit.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrBufferFull: too many bytes are queued on the connection already.
	ErrBufferFull = errors.New("send buffer full")
	// ErrAddrInUse: another listener holds the port.
	ErrAddrInUse = errors.New("address already in use")
	// ErrIO: the disk reported an I/O error (EIO).
	ErrIO = errors.New("input/output error")
	// ErrNoSpace: the disk is full (ENOSPC).
	ErrNoSpace = errors.New("no space left on device")
	// ErrNotExist: no file or directory of that name.
	ErrNotExist = errors.New("file does not exist")
	// ErrExist: a file of that name exists already.
	ErrExist = errors.New("file already exists")
)
