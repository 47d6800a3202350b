package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// SyntheticConfig configures a synthetic target: a broker whose latency
// is known, to check the benchmark's own latency accounting.
type SyntheticConfig struct {
	// AckDelay is added to every produce response, counted from the moment
	// the request's last byte arrived.
	AckDelay time.Duration
	// Stalls are periods in which no response of any kind leaves the
	// broker, counted from the first produce request's arrival.
	Stalls []Stall
	// Brokers is the broker count; 0 means 1.
	Brokers int
	_       struct{} // disallow positional literals
}

// Stall is one period with no responses: from After to After+For past the
// first produce request.
type Stall struct {
	After time.Duration
	For   time.Duration
}

// SyntheticTarget is kfake behind listeners whose connections hold each
// response until its release time: arrival of its request + AckDelay for
// produce responses, arrival for others, pushed to the end of any stall it
// falls into. kfake does the Kafka protocol; the listener only delays
// bytes, so what clients see is a broker with exactly that latency.
//
// How: kfake's ListenFn hook gives it our listener. Each accepted
// connection reads request frames eagerly, stamping when each arrives
// (kfake itself reads a connection's next request only after answering the
// previous one, which would hide pipelining), and hands them to kfake. When
// kfake writes a response frame (one Write per frame), the connection looks
// up the request by correlation ID and sleeps until its release time. A
// connection's responses stay in order, as the protocol requires; a
// held response delays later ones on the same connection only, as on a
// real broker that answers in order.
type SyntheticTarget struct {
	cfg  SyntheticConfig
	gate *responseGate

	mu      sync.Mutex
	cluster *kfake.Cluster
}

// NewSyntheticTarget returns a synthetic target.
func NewSyntheticTarget(cfg SyntheticConfig) *SyntheticTarget {
	if cfg.Brokers == 0 {
		cfg.Brokers = 1
	}
	cfg.Stalls = slices.Clone(cfg.Stalls)
	slices.SortFunc(cfg.Stalls, func(a, b Stall) int { return int(a.After - b.After) })
	return &SyntheticTarget{cfg: cfg, gate: &responseGate{ackDelay: cfg.AckDelay, stalls: cfg.Stalls}}
}

// Name is "synthetic".
func (t *SyntheticTarget) Name() string { return "synthetic" }

// Setup starts kfake behind the delaying listeners.
func (t *SyntheticTarget) Setup(context.Context) (Endpoint, error) {
	listen := func(network, address string) (net.Listener, error) {
		ln, err := net.Listen(network, address)
		if err != nil {
			return nil, err
		}
		return &gateListener{Listener: ln, gate: t.gate}, nil
	}
	cluster, err := startKfake(t.cfg.Brokers, []kfake.Opt{kfake.ListenFn(listen)})
	if err != nil {
		return Endpoint{}, err
	}
	t.mu.Lock()
	t.cluster = cluster
	t.mu.Unlock()
	return Endpoint{
		Bootstrap: cluster.ListenAddrs(),
		Info: TargetInfo{
			Name:        t.Name(),
			Description: t.describe(),
			Brokers:     t.cfg.Brokers,
			Durability:  kfakeDurability(),
			Versions:    map[string]string{"kfake": moduleVersion("kfake")},
		},
	}, nil
}

func (t *SyntheticTarget) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kfake (%d brokers, in memory) behind listeners that hold produce responses until %v after their request arrived",
		t.cfg.Brokers, t.cfg.AckDelay)
	for _, s := range t.cfg.Stalls {
		fmt.Fprintf(&b, "; no responses from %v to %v after the first produce request", s.After, s.After+s.For)
	}
	return b.String()
}

// Teardown closes the cluster, which closes its connections.
func (t *SyntheticTarget) Teardown(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cluster != nil {
		t.cluster.Close()
		t.cluster = nil
	}
	return nil
}

// responseGate decides when responses may leave. It is shared by every
// connection of the target.
type responseGate struct {
	ackDelay     time.Duration
	stalls       []Stall // by After
	firstProduce atomic.Int64
}

const produceKey = 0

func (g *responseGate) sawRequest(key int16, arrival time.Time) {
	if key == produceKey {
		g.firstProduce.CompareAndSwap(0, arrival.UnixNano())
	}
}

// releaseAt is when the response to a request of key that arrived at
// arrival may leave, given that it is ready at now.
func (g *responseGate) releaseAt(key int16, arrival, now time.Time) time.Time {
	t := arrival
	if key == produceKey {
		t = t.Add(g.ackDelay)
	}
	if t.Before(now) {
		t = now
	}
	if first := g.firstProduce.Load(); first != 0 {
		origin := time.Unix(0, first)
		for _, s := range g.stalls {
			start, end := origin.Add(s.After), origin.Add(s.After+s.For)
			if !t.Before(start) && t.Before(end) {
				t = end
			}
		}
	}
	return t
}

type gateListener struct {
	net.Listener
	gate *responseGate
}

func (l *gateListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &gateConn{
		Conn:   conn,
		gate:   l.gate,
		frames: make(chan []byte, gateFramesMax),
		closed: make(chan struct{}),
	}
	go c.readFrames()
	return c, nil
}

const (
	gateFramesMax     = 256       // request frames read ahead of kfake
	gateFrameBytesMax = 256 << 20 // a larger frame is a broken client
)

// gateConn is one connection of a synthetic broker.
type gateConn struct {
	net.Conn
	gate *responseGate

	frames chan []byte // complete request frames, for kfake's Read
	cur    []byte      // the rest of the frame being read by kfake

	mu      sync.Mutex
	readErr error
	pending []pendingRequest // in arrival order

	writeLeft int // bytes of the current response frame not yet written

	closeOnce sync.Once
	closed    chan struct{}
}

type pendingRequest struct {
	correlationID int32
	key           int16
	arrival       time.Time
}

// readFrames reads request frames as soon as they arrive and stamps them.
func (c *gateConn) readFrames() {
	defer close(c.frames)
	var size [4]byte
	for {
		if _, err := io.ReadFull(c.Conn, size[:]); err != nil {
			c.setReadErr(err)
			return
		}
		n := binary.BigEndian.Uint32(size[:])
		if n > gateFrameBytesMax {
			c.setReadErr(fmt.Errorf("synthetic: request frame of %d bytes", n))
			return
		}
		frame := make([]byte, 4+int(n))
		copy(frame, size[:])
		if _, err := io.ReadFull(c.Conn, frame[4:]); err != nil {
			c.setReadErr(err)
			return
		}
		arrival := time.Now()
		if n >= 8 {
			key := int16(binary.BigEndian.Uint16(frame[4:]))
			c.gate.sawRequest(key, arrival)
			c.mu.Lock()
			c.pending = append(c.pending, pendingRequest{
				correlationID: int32(binary.BigEndian.Uint32(frame[8:])), key: key, arrival: arrival,
			})
			c.mu.Unlock()
		}
		select {
		case c.frames <- frame:
		case <-c.closed:
			return
		}
	}
}

func (c *gateConn) setReadErr(err error) {
	c.mu.Lock()
	c.readErr = err
	c.mu.Unlock()
}

// Read hands kfake the frames read so far.
func (c *gateConn) Read(p []byte) (int, error) {
	if len(c.cur) == 0 {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.readErr == nil {
					return 0, io.EOF
				}
				return 0, c.readErr
			}
			c.cur = f
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// Write holds each response frame until its release time.
func (c *gateConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if c.writeLeft == 0 && len(p) >= 8 {
			size := int(binary.BigEndian.Uint32(p))
			c.writeLeft = 4 + size
			if err := c.hold(int32(binary.BigEndian.Uint32(p[4:]))); err != nil {
				return written, err
			}
		}
		chunk := len(p)
		if c.writeLeft > 0 {
			chunk = min(chunk, c.writeLeft)
		}
		n, err := c.Conn.Write(p[:chunk])
		written += n
		c.writeLeft = max(0, c.writeLeft-n)
		if err != nil {
			return written, err
		}
		p = p[chunk:]
	}
	return written, nil
}

// hold sleeps until the response to correlationID may leave. Requests with
// no response (acks=0 produce) are skipped over: responses come in request
// order.
func (c *gateConn) hold(correlationID int32) error {
	req, ok := c.popPending(correlationID)
	if !ok {
		return nil
	}
	now := time.Now()
	wait := c.gate.releaseAt(req.key, req.arrival, now).Sub(now)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-c.closed:
		return net.ErrClosed
	}
}

func (c *gateConn) popPending(correlationID int32) (pendingRequest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) > 0 {
		req := c.pending[0]
		c.pending = c.pending[1:]
		if req.correlationID == correlationID {
			return req, true
		}
	}
	return pendingRequest{}, false
}

// Close closes the connection and wakes a held Write and a blocked Read.
func (c *gateConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	err := c.Conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
