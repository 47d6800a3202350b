package env

// Network is a connection-oriented network modelled on TCP: a connection is
// ordered and reliable while it lives; a partition stalls it and, past the
// runtime's stall timeout, resets it on both ends. The unit of transfer is
// a frame, a byte string delivered whole; for Kafka a frame is one
// length-prefixed request or response (the real runtime does the length
// framing on the socket).
type Network interface {
	// Listen accepts connections on port of this node's host. For each
	// accepted connection, accept is called to obtain its handler; the
	// handler's Opened is then called.
	Listen(port int, accept func(c Conn) Handler) (Listener, error)
	// Dial connects to addr ("host:port"). It returns at once; h.Opened is
	// called when the connection is established, or h.Closed with ErrRefused,
	// ErrTimeout or ErrUnknownHost if it cannot be.
	Dial(addr string, h Handler) Conn
}

// Listener is an open listening port.
type Listener interface {
	Addr() string
	// Close stops accepting; established connections stay open.
	Close()
}

// Handler receives a connection's events, in order, on the process's single
// thread. After Closed nothing more arrives.
type Handler interface {
	Opened(c Conn)
	// Received delivers one frame. The handler owns frame from now on.
	Received(c Conn, frame []byte)
	// Closed reports the end of the connection: nil for an orderly close by
	// the peer or by this side, otherwise why (ErrReset, ErrTimeout, …).
	Closed(c Conn, err error)
}

// Conn is one end of a connection.
type Conn interface {
	// ID is unique within the runtime, for logs and traces.
	ID() uint64
	LocalAddr() string
	RemoteAddr() string
	// Send queues a frame for ordered delivery. The network owns frame
	// after the call; the caller must not modify it. It fails with ErrClosed
	// after Close or Closed, and ErrFrameTooLarge past the frame limit.
	Send(frame []byte) error
	// Close sends what is queued, then closes in order (the peer's Closed
	// gets nil). This side's handler gets Closed(nil) too, after the call
	// returns. Closing twice is harmless.
	Close()
}
