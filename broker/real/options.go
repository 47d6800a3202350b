package real

import (
	"errors"
	"log/slog"
	"time"
)

// Options configure a Runtime. Zero fields take the defaults listed.
type Options struct {
	// Name is the node's name (env.Env.Name). Required.
	Name string
	// DataDir is the root of the node's env.FS, created if missing.
	// Required.
	DataDir string
	// Host is the address listeners bind: Listen(port) binds Host:port.
	// Empty means every interface.
	Host string

	// FrameBytesMax bounds one frame in either direction, as Kafka's
	// socket.request.max.bytes does (default 100 MiB). A longer length
	// prefix from a peer closes its connection.
	FrameBytesMax int32
	// SendQueueBytesMax bounds the bytes queued on one connection and not
	// yet written to its socket; beyond it Send fails with
	// env.ErrBufferFull (default 256 MiB; at least FrameBytesMax, so any
	// legal frame fits an empty queue).
	SendQueueBytesMax int
	// ReceiveQueueBytesMax bounds the bytes of frames read from all
	// sockets and not yet delivered to the process; readers wait beyond it
	// (default 256 MiB; at least FrameBytesMax).
	ReceiveQueueBytesMax int
	// ConnectionsMax bounds the accepted connections open at once, over
	// all listeners; a connection beyond it is closed at once and logged
	// (default 10000).
	ConnectionsMax int
	// EventsQueuedMax bounds the closures waiting for the loop (default
	// 4096). I/O goroutines wait when it is full.
	EventsQueuedMax int
	// SyncsMax bounds the fsyncs running at once (default 8).
	SyncsMax int

	// DialTimeout bounds a dial before it fails with env.ErrTimeout
	// (default 5s, the simulator's default).
	DialTimeout time.Duration
	// CloseTimeout bounds how long a closed connection may spend writing
	// its queued frames and waiting for the peer's close (default 10s).
	CloseTimeout time.Duration
	// StopTimeout bounds how long Run waits for the process to call Stop's
	// done (default 30s, the simulator's default).
	StopTimeout time.Duration

	// Seed seeds env.Env.Rand; 0 draws a seed from the clock.
	Seed uint64
	// Logger receives the node's log lines, with a "node" attribute
	// (default slog.Default()).
	Logger *slog.Logger

	_ struct{} // disallow positional literals
}

// Defaults of the zero fields of Options.
const (
	DefaultFrameBytesMax        = 100 << 20
	DefaultSendQueueBytesMax    = 256 << 20
	DefaultReceiveQueueBytesMax = 256 << 20
	DefaultConnectionsMax       = 10_000
	DefaultEventsQueuedMax      = 4096
	DefaultSyncsMax             = 8
	DefaultDialTimeout          = 5 * time.Second
	DefaultCloseTimeout         = 10 * time.Second
	DefaultStopTimeout          = 30 * time.Second
)

func (o Options) withDefaults() Options {
	setDefault(&o.FrameBytesMax, DefaultFrameBytesMax)
	setDefault(&o.SendQueueBytesMax, DefaultSendQueueBytesMax)
	setDefault(&o.ReceiveQueueBytesMax, DefaultReceiveQueueBytesMax)
	setDefault(&o.ConnectionsMax, DefaultConnectionsMax)
	setDefault(&o.EventsQueuedMax, DefaultEventsQueuedMax)
	setDefault(&o.SyncsMax, DefaultSyncsMax)
	setDefault(&o.DialTimeout, DefaultDialTimeout)
	setDefault(&o.CloseTimeout, DefaultCloseTimeout)
	setDefault(&o.StopTimeout, DefaultStopTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func setDefault[T int | int32 | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

func (o Options) validate() error {
	switch {
	case o.Name == "":
		return errors.New("real: Options.Name is required")
	case o.DataDir == "":
		return errors.New("real: Options.DataDir is required")
	case o.FrameBytesMax < 0:
		return errors.New("real: Options.FrameBytesMax must be positive")
	case o.SendQueueBytesMax < int(o.FrameBytesMax):
		return errors.New("real: Options.SendQueueBytesMax must be at least FrameBytesMax")
	case o.ReceiveQueueBytesMax < int(o.FrameBytesMax):
		return errors.New("real: Options.ReceiveQueueBytesMax must be at least FrameBytesMax")
	case o.ConnectionsMax < 0 || o.EventsQueuedMax < 0 || o.SyncsMax < 0:
		return errors.New("real: Options.ConnectionsMax, EventsQueuedMax and SyncsMax must be positive")
	case o.DialTimeout < 0 || o.CloseTimeout < 0 || o.StopTimeout < 0:
		return errors.New("real: Options timeouts must be positive")
	}
	return nil
}
