package sim

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/internal/assert"
)

// Latency is a delay distribution: Min plus an exponential tail with mean
// Mean−Min, and with probability TailPercent an extra uniform delay of up to
// Tail (a retransmission, a slow device). The zero value is no delay.
type Latency struct {
	Min, Mean   time.Duration
	Tail        time.Duration
	TailPercent float64
}

func (l Latency) sample(r *rand.Rand) Time {
	d := int64(l.Min)
	if spread := int64(l.Mean - l.Min); spread > 0 {
		d += int64(r.ExpFloat64() * float64(spread))
	}
	if l.TailPercent > 0 && l.Tail > 0 && r.Float64()*100 < l.TailPercent {
		d += r.Int64N(int64(l.Tail))
	}
	return Time(d)
}

// NetOptions shape the simulated network.
type NetOptions struct {
	// Latency is every link's one-way delay unless SetLink overrides it.
	Latency Latency
	// BandwidthBytesPerSecond limits every link (0: unlimited).
	BandwidthBytesPerSecond int64
	// DialTimeout is how long a dial into a partition waits before it fails.
	DialTimeout time.Duration
	// StallTimeout is how long a connection may have a frame stuck on a cut
	// link before both ends are reset, as TCP's retransmission timeout does.
	StallTimeout time.Duration
	// FrameBytesMax bounds one frame; ConnQueuedBytesMax bounds the bytes in
	// flight on one direction of one connection (a socket buffer).
	FrameBytesMax      int
	ConnQueuedBytesMax int
}

// DefaultNetOptions is a LAN: 50–200 µs one way, 10 Gbit/s.
func DefaultNetOptions() NetOptions {
	return NetOptions{
		Latency:                 Latency{Min: 50 * time.Microsecond, Mean: 200 * time.Microsecond},
		BandwidthBytesPerSecond: 1_250_000_000,
		DialTimeout:             5 * time.Second,
		StallTimeout:            10 * time.Second,
		FrameBytesMax:           100 << 20,
		ConnQueuedBytesMax:      256 << 20,
	}
}

// link is the state of one directed pair of hosts.
type link struct {
	latency   Latency
	bandwidth int64
	cut       bool // a partition blocks it
	clogUntil Time // stalled until then (a clog)
	freeAt    Time // when the wire is free again (bandwidth)
}

func (l *link) blocked(now Time) bool { return l.cut || l.clogUntil > now }

// Network connects the nodes of a Sim.
type Network struct {
	sim    *Sim
	opts   NetOptions
	rng    *rand.Rand
	links  [][]link // [from][to]
	connID uint64
	// stalled lists directions with a frame stuck on a blocked link, in the
	// order they stalled, so that a heal resumes them deterministically.
	stalled []*direction
}

func newNetwork(s *Sim, opts NetOptions) *Network {
	return &Network{sim: s, opts: opts, rng: s.seeds.Stream("net")}
}

func (nw *Network) addHost() {
	n := len(nw.links)
	for i := range nw.links {
		nw.links[i] = append(nw.links[i], nw.newLink())
	}
	row := make([]link, n+1)
	for i := range row {
		row[i] = nw.newLink()
	}
	nw.links = append(nw.links, row)
}

func (nw *Network) newLink() link {
	return link{latency: nw.opts.Latency, bandwidth: nw.opts.BandwidthBytesPerSecond}
}

func (nw *Network) link(from, to int32) *link { return &nw.links[from][to] }

// SetLink overrides the latency and bandwidth of the directed link from→to.
func (nw *Network) SetLink(from, to *Node, lat Latency, bandwidthBytesPerSecond int64) {
	l := nw.link(from.index, to.index)
	l.latency, l.bandwidth = lat, bandwidthBytesPerSecond
}

// Cut blocks the listed directed links (a partition), leaving others as
// they are.
func (nw *Network) Cut(links []Link) {
	for _, l := range links {
		nw.link(l.From.index, l.To.index).cut = true
	}
	nw.changed(uint64(len(links)), 0)
}

// Partition replaces all cuts with the given ones.
func (nw *Network) Partition(links []Link) {
	nw.clearCuts()
	nw.Cut(links)
}

// Heal removes every cut and clog and resumes stalled connections.
func (nw *Network) Heal() {
	nw.clearCuts()
	for i := range nw.links {
		for j := range nw.links[i] {
			nw.links[i][j].clogUntil = 0
		}
	}
	nw.changed(0, 1)
}

func (nw *Network) clearCuts() {
	for i := range nw.links {
		for j := range nw.links[i] {
			nw.links[i][j].cut = false
		}
	}
}

// Clog stalls the directed link from→to for d; frames wait, then flow.
func (nw *Network) Clog(from, to *Node, d time.Duration) {
	l := nw.link(from.index, to.index)
	until := nw.sim.sched.now + Time(d)
	l.clogUntil = max(l.clogUntil, until)
	nw.changed(uint64(from.index)<<32|uint64(to.index), 2)
	nw.sim.sched.Schedule(until, Record{Kind: KindNet, Node: -1, B: 3}, nw.resumeStalled)
}

// Blocked reports whether from→to is cut or clogged now.
func (nw *Network) Blocked(from, to *Node) bool {
	return nw.link(from.index, to.index).blocked(nw.sim.sched.now)
}

func (nw *Network) changed(a, b uint64) {
	nw.sim.sched.Schedule(nw.sim.sched.now, Record{Kind: KindNet, Node: -1, A: a, B: b}, nw.resumeStalled)
}

// resumeStalled restarts every stalled direction whose link is open again.
func (nw *Network) resumeStalled() {
	now := nw.sim.sched.now
	keep := nw.stalled[:0]
	for _, d := range nw.stalled {
		if d.dead {
			continue
		}
		if nw.link(d.from.index, d.to.index).blocked(now) {
			keep = append(keep, d)
			continue
		}
		d.unstall()
	}
	clear(nw.stalled[len(keep):])
	nw.stalled = keep
}

// ---- connections ----

type itemKind uint8

const (
	itemFrame itemKind = iota
	itemFin
	itemReset
)

type item struct {
	kind   itemKind
	arrive Time
	frame  []byte
}

// direction is one way of a connection: a FIFO of items on the wire. Only
// its head is ever scheduled, which keeps delivery in order and costs one
// queued event per direction.
type direction struct {
	nw        *Network
	from, to  *Node
	dst       *endpoint // receiving end
	queue     []item
	head      int
	bytes     int
	scheduled bool
	notBefore Time // nothing arrives before this (the SYN-ACK's arrival)
	stalledAt Time // -1 when flowing
	dead      bool
	arriveFn  func()
	stallFn   func()
}

func (d *direction) push(it item) {
	l := d.nw.link(d.from.index, d.to.index)
	now := d.nw.sim.sched.now
	tx := Time(0)
	if l.bandwidth > 0 && len(it.frame) > 0 {
		tx = Time(int64(len(it.frame)) * int64(time.Second) / l.bandwidth)
		start := max(now, l.freeAt)
		l.freeAt = start + tx
		tx = l.freeAt - now
	}
	it.arrive = max(now+tx+l.latency.sample(d.nw.rng), d.notBefore)
	if n := len(d.queue); n > d.head {
		it.arrive = max(it.arrive, d.queue[n-1].arrive)
	}
	d.queue = append(d.queue, it)
	d.bytes += len(it.frame)
	d.kick()
}

func (d *direction) kick() {
	if d.scheduled || d.stalledAt >= 0 || d.head == len(d.queue) || d.dead {
		return
	}
	d.scheduled = true
	it := &d.queue[d.head]
	d.nw.sim.sched.Schedule(it.arrive, itemRecord(d.to, d.dst.id, it), d.arriveFn)
}

func itemRecord(n *Node, connID uint64, it *item) Record {
	r := Record{Node: n.index, A: connID}
	switch it.kind {
	case itemFrame:
		r.Kind = KindFrame
		r.B = uint64(len(it.frame))<<32 | uint64(crc32.Checksum(it.frame, castagnoli))
	case itemFin:
		r.Kind = KindFin
	case itemReset:
		r.Kind = KindReset
	}
	return r
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// arrive runs when the head item reaches the receiving host.
func (d *direction) arrive() {
	d.scheduled = false
	if d.dead {
		return
	}
	now := d.nw.sim.sched.now
	if d.nw.link(d.from.index, d.to.index).blocked(now) {
		d.stall(now)
		return
	}
	it := d.queue[d.head]
	// Pair check with push: arrivals were made nondecreasing there, and
	// the head runs exactly at its arrival (or later, after a stall).
	assert.That(it.arrive <= now, "network: frame delivered before its arrival time")
	if assert.Enabled && d.head+1 < len(d.queue) {
		assert.That(d.queue[d.head+1].arrive >= it.arrive, "network: direction queue out of order")
	}
	d.queue[d.head] = item{}
	d.head++
	d.bytes -= len(it.frame)
	if d.head == len(d.queue) {
		d.queue, d.head = d.queue[:0], 0
	}
	d.dst.deliver(it)
	d.kick()
}

// stall holds the direction on a blocked link; past the stall timeout the
// connection is reset on both ends.
func (d *direction) stall(now Time) {
	d.stalledAt = now
	d.nw.stalled = append(d.nw.stalled, d)
	at := now + Time(d.nw.opts.StallTimeout)
	d.nw.sim.sched.Schedule(at, Record{Kind: KindReset, Node: -1, A: d.dst.id, B: 1}, d.stallFn)
}

func (d *direction) stallTimeout() {
	if d.dead || d.stalledAt < 0 {
		return
	}
	if d.nw.sim.sched.now-d.stalledAt < Time(d.nw.opts.StallTimeout) {
		return // unstalled and stalled again since; a later check will come
	}
	d.dst.conn.resetBoth()
}

func (d *direction) unstall() {
	d.stalledAt = -1
	now := d.nw.sim.sched.now
	lat := d.nw.link(d.from.index, d.to.index).latency
	prev := now
	for i := d.head; i < len(d.queue); i++ {
		// Retransmitted after the heal: each item is on the wire anew.
		a := max(now+lat.sample(d.nw.rng), prev)
		d.queue[i].arrive, prev = a, a
	}
	d.kick()
}

func (d *direction) kill() {
	d.dead = true
	clear(d.queue)
	d.queue, d.head, d.bytes = nil, 0, 0
}

type connState uint8

const (
	connDialing connState = iota
	connOpen
	connClosed
)

// endpoint is one end of a connection and implements env.Conn.
type endpoint struct {
	id      uint64
	node    *Node
	inc     uint64 // incarnation that owns this end
	handler env.Handler
	conn    *conn
	out     *direction // frames from this end
	state   connState
	closing bool // Close called: no more sends
	finSent bool
	local   string
	remote  string
}

type conn struct {
	nw   *Network
	a, b *endpoint // a dialed, b accepted
}

var _ env.Conn = (*endpoint)(nil)

func (e *endpoint) ID() uint64         { return e.id }
func (e *endpoint) LocalAddr() string  { return e.local }
func (e *endpoint) RemoteAddr() string { return e.remote }

func (e *endpoint) peer() *endpoint {
	if e.conn.a == e {
		return e.conn.b
	}
	return e.conn.a
}

func (e *endpoint) Send(frame []byte) error {
	opts := &e.conn.nw.opts
	switch {
	case e.state == connClosed || e.closing:
		return fmt.Errorf("send on %d: %w", e.id, env.ErrClosed)
	case e.state == connDialing:
		return fmt.Errorf("send on %d before it opened: %w", e.id, env.ErrClosed)
	case len(frame) > opts.FrameBytesMax:
		return fmt.Errorf("send %d bytes on %d: %w", len(frame), e.id, env.ErrFrameTooLarge)
	case e.out.bytes+len(frame) > opts.ConnQueuedBytesMax:
		return fmt.Errorf("send on %d: %d bytes already in flight: %w", e.id, e.out.bytes, env.ErrBufferFull)
	}
	e.out.push(item{kind: itemFrame, frame: frame})
	return nil
}

// Close sends a FIN after what is queued, and tells this end's handler.
func (e *endpoint) Close() {
	if e.state == connClosed || e.closing {
		return
	}
	e.closing = true
	if e.state == connOpen {
		e.sendFin()
	}
	n := e.node
	n.sim.sched.scheduleFor(n.sim.sched.now, Record{Kind: KindClosed, Node: n.index, A: e.id}, &n.gate, e.inc, nil, func() {
		e.finish(nil)
	})
}

func (e *endpoint) sendFin() {
	e.finSent = true
	e.out.push(item{kind: itemFin})
}

// finish closes this end and tells its handler once.
func (e *endpoint) finish(err error) {
	if e.state == connClosed {
		return
	}
	e.state = connClosed
	delete(e.node.endpoints, e.id)
	e.handler.Closed(e, err)
}

// deliver hands an arrived item to the process, now or when it resumes.
func (e *endpoint) deliver(it item) {
	if e.state == connClosed || e.node.gate.inc != e.inc {
		return // the process closed it or is gone; the bytes go nowhere
	}
	n := e.node
	run := func() {
		if e.state == connClosed {
			return
		}
		switch it.kind {
		case itemFrame:
			if !e.closing {
				e.handler.Received(e, it.frame)
			}
		case itemFin:
			e.out.kill()
			e.finish(nil)
		case itemReset:
			e.out.kill()
			e.finish(env.ErrReset)
		}
	}
	if n.gate.paused {
		// Held in the kernel until the pause ends; traced again then.
		n.sim.sched.scheduleGated(n.sim.sched.now, itemRecord(n, e.id, &it), &n.gate, nil, run)
		return
	}
	run()
}

// abort ends this side when its node dies: peers see a reset (crash) or an
// orderly close (stop).
func (e *endpoint) abort(reset bool) {
	if e.state == connClosed {
		return
	}
	e.state = connClosed
	delete(e.node.endpoints, e.id)
	if e.out == nil || e.finSent {
		return // the dial reached no one, or an orderly close is on its way
	}
	if reset {
		e.out.push(item{kind: itemReset})
	} else {
		e.out.push(item{kind: itemFin})
	}
}

// resetBoth breaks a stalled connection on both ends.
func (c *conn) resetBoth() {
	for _, e := range [2]*endpoint{c.a, c.b} {
		if e == nil || e.out == nil {
			continue
		}
		e.out.kill()
		if e.state == connClosed {
			continue
		}
		n := e.node
		if n.gate.inc != e.inc {
			continue
		}
		ep := e
		n.sim.sched.scheduleGated(n.sim.sched.now, Record{Kind: KindReset, Node: n.index, A: e.id}, &n.gate, nil, func() {
			ep.finish(env.ErrReset)
		})
	}
}

// ---- listening and dialing ----

type listener struct {
	node   *Node
	port   int
	accept func(env.Conn) env.Handler
}

func (l *listener) Addr() string { return l.node.name + ":" + strconv.Itoa(l.port) }
func (l *listener) Close() {
	if l.node.listeners[l.port] == l {
		delete(l.node.listeners, l.port)
	}
}

// simNet is the env.Network a node incarnation sees.
type simNet struct {
	n   *Node
	inc uint64
}

var _ env.Network = simNet{}

func (s simNet) Listen(port int, accept func(env.Conn) env.Handler) (env.Listener, error) {
	n := s.n
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("listen on port %d: invalid port", port)
	}
	if s.inc != n.gate.inc {
		// The incarnation is over (see Scheduler.scheduleFor): a listener
		// would outlive it and accept into a dead process.
		return nil, fmt.Errorf("listen on %s:%d: %w", n.name, port, env.ErrClosed)
	}
	if _, ok := n.listeners[port]; ok {
		return nil, fmt.Errorf("listen on %s:%d: %w", n.name, port, env.ErrAddrInUse)
	}
	l := &listener{node: n, port: port, accept: accept}
	n.listeners[port] = l
	return l, nil
}

func (s simNet) Dial(addr string, h env.Handler) env.Conn {
	n := s.n
	nw := n.sim.net
	nw.connID++
	e := &endpoint{id: nw.connID, node: n, inc: s.inc, handler: h, local: n.name, remote: addr}
	e.conn = &conn{nw: nw, a: e}
	n.endpoints[e.id] = e
	host, port, err := splitAddr(addr)
	dst := n.sim.byName[host]
	if err != nil || dst == nil {
		if err == nil {
			err = fmt.Errorf("dial %s: %w", addr, env.ErrUnknownHost)
		}
		e.failLater(err, 0)
		return e
	}
	e.local = fmt.Sprintf("%s:%d", n.name, 30000+e.id%30000)
	syn := Record{Kind: KindDialSyn, Node: dst.index, A: e.id}
	lat := nw.link(n.index, dst.index).latency.sample(nw.rng)
	n.sim.sched.Schedule(n.sim.sched.now+lat, syn, func() { nw.handshake(e, dst, port) })
	return e
}

// handshake runs when the SYN reaches dst's host: a cut link loses it (the
// dialer times out), no listener answers with a reset (refused), else the
// listener's process accepts and the dialer opens one trip later.
func (nw *Network) handshake(e *endpoint, dst *Node, port int) {
	src := e.node
	now := nw.sim.sched.now
	if e.state != connDialing || e.closing || src.gate.inc != e.inc {
		return
	}
	if nw.link(src.index, dst.index).blocked(now) || nw.link(dst.index, src.index).blocked(now) {
		e.failLater(fmt.Errorf("dial %s: %w", e.remote, env.ErrTimeout), nw.opts.DialTimeout)
		return
	}
	back := nw.link(dst.index, src.index).latency.sample(nw.rng)
	l := dst.listeners[port]
	if l == nil || dst.state == Down {
		e.failLater(fmt.Errorf("dial %s: %w", e.remote, env.ErrRefused), back.Duration())
		return
	}
	nw.connID++
	b := &endpoint{id: nw.connID, node: dst, inc: dst.gate.inc, conn: e.conn, local: e.remote, remote: e.local, state: connOpen}
	e.conn.b = b
	dst.endpoints[b.id] = b
	e.out = nw.newDirection(src, dst, b)
	b.out = nw.newDirection(dst, src, e)
	dst.sim.sched.scheduleGated(now, Record{Kind: KindOpen, Node: dst.index, A: b.id}, &dst.gate, nil, func() {
		b.handler = l.accept(b)
		b.handler.Opened(b)
	})
	// The SYN-ACK travels first: nothing b sends may overtake the open.
	b.out.notBefore = now + back
	src.sim.sched.scheduleGated(now+back, Record{Kind: KindOpen, Node: src.index, A: e.id}, &src.gate, nil, func() {
		if e.state == connDialing && !e.closing {
			e.state = connOpen
			e.handler.Opened(e)
			return
		}
		if !e.finSent {
			e.sendFin() // closed while dialing: let the acceptor know
		}
	})
}

func (nw *Network) newDirection(from, to *Node, dst *endpoint) *direction {
	d := &direction{nw: nw, from: from, to: to, dst: dst, stalledAt: -1}
	d.arriveFn = d.arrive
	d.stallFn = d.stallTimeout
	return d
}

// failLater ends a dial with err after delay, on the dialer's thread.
func (e *endpoint) failLater(err error, delay time.Duration) {
	n := e.node
	e.state = connDialing
	rec := Record{Kind: KindRefused, Node: n.index, A: e.id}
	n.sim.sched.scheduleFor(n.sim.sched.now+Time(delay), rec, &n.gate, e.inc, nil, func() {
		e.finish(err)
	})
}

func splitAddr(addr string) (string, int, error) {
	host, p, ok := strings.Cut(addr, ":")
	port, err := strconv.Atoi(p)
	if !ok || err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("dial %q: address must be host:port", addr)
	}
	return host, port, nil
}

// Link is one directed pair of hosts.
type Link struct {
	From, To *Node
}

// sortLinks orders links by (from, to) index, for stable output.
func sortLinks(ls []Link) {
	slices.SortFunc(ls, func(x, y Link) int {
		if x.From.index != y.From.index {
			return int(x.From.index - y.From.index)
		}
		return int(x.To.index - y.To.index)
	})
}
