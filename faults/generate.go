package faults

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Mix says which faults a schedule may hold; the zero Mix holds none.
type Mix struct {
	Partitions bool
	// Crashes are power losses: unsynced writes are lost, so they are
	// safe only where every acknowledged write was fsynced first (or
	// where a run asks for fsync loss).
	Crashes bool
	Stops   bool
	Pauses  bool
	Clocks  bool
	// Clogs stall links for a while (frames wait, then flow); SlowDisks
	// multiply a node's fsync latency.
	Clogs     bool
	SlowDisks bool
	// Disks make a node's disk fail for a while: a share of reads, writes
	// and fsyncs fail with EIO, or it is full (ENOSPC). A broker must
	// answer such failures with errors and acknowledge nothing it did not
	// store, as Kafka does.
	Disks bool
	// ClientCrashes crash a client (a producer or consumer) and restart
	// it: its calls in flight stay open, and its new incarnation is a new
	// process of the history.
	ClientCrashes bool
}

// Any reports whether the mix holds any fault.
func (m Mix) Any() bool {
	return m.Partitions || m.Crashes || m.Stops || m.Pauses || m.Clocks || m.Clogs || m.SlowDisks || m.Disks || m.ClientCrashes
}

// String names the kinds in the mix.
func (m Mix) String() string {
	var out []string
	for _, k := range []struct {
		on   bool
		name string
	}{{m.Partitions, "partitions"}, {m.Crashes, "crashes"}, {m.Stops, "stops"}, {m.Pauses, "pauses"}, {m.Clocks, "clocks"}, {m.Clogs, "clogs"}, {m.SlowDisks, "slow-disks"}, {m.Disks, "disk-faults"}, {m.ClientCrashes, "client-crashes"}} {
		if k.on {
			out = append(out, k.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	s := out[0]
	for _, x := range out[1:] {
		s += "+" + x
	}
	return s
}

// GenOptions shape a generated schedule.
type GenOptions struct {
	// Nodes is how many nodes the faults may hit.
	Nodes int
	// Clients are the indexes (into Target.Nodes, past the Nodes servers)
	// of the clients that client crashes may hit.
	Clients []int
	// Window is when faults happen: each starts in [0, Window) and is
	// undone (healed, restarted, resumed, clock reset) by Window.
	Window time.Duration
	// Every is the mean gap between fault starts.
	Every time.Duration
	// LongestMax bounds how long one fault lasts.
	LongestMax time.Duration
	// DownMax bounds the nodes crashed, stopped or paused at once: the
	// fault atlas keeps a majority running, so safe runs stay live. 0: a
	// minority ((Nodes−1)/2, at least 1).
	DownMax int
	Mix     Mix
}

// window is one fault's span, kept while drawing to respect the atlas.
type window struct {
	node       int // -1 for a partition
	start, end time.Duration
}

// generator draws one schedule.
type generator struct {
	r      *rand.Rand
	o      GenOptions
	kinds  []func(at, end time.Duration) bool
	spans  []window
	faults []Fault
}

// Generate draws a schedule from r: faults start about every o.Every
// apart (exponential gaps), of kinds drawn uniformly from o.Mix, each
// lasting up to o.LongestMax and undone by its end. Partitions do not
// overlap (each replaces the cuts), a node has one fault at a time, and at
// most o.DownMax nodes are down or paused at once. The same r gives the
// same schedule.
func Generate(r *rand.Rand, o GenOptions) Schedule {
	if o.DownMax <= 0 {
		o.DownMax = max((o.Nodes-1)/2, 1)
	}
	g := &generator{r: r, o: o}
	g.kindsOf(o.Mix)
	if len(g.kinds) == 0 || o.Nodes <= 0 || o.Every <= 0 || o.LongestMax <= 0 {
		return Schedule{}
	}
	for at := g.gap(); at < o.Window; at += g.gap() {
		end := min(at+time.Duration(1+r.Int64N(int64(o.LongestMax))), o.Window)
		g.kinds[r.IntN(len(g.kinds))](at, end)
	}
	slices.SortStableFunc(g.faults, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	return Schedule{Faults: g.faults}
}

func (g *generator) kindsOf(m Mix) {
	if m.Partitions {
		g.kinds = append(g.kinds, g.partition)
	}
	if m.Crashes {
		g.kinds = append(g.kinds, func(at, end time.Duration) bool { return g.nodeFault(Crash, Restart, at, end) })
	}
	if m.Stops {
		g.kinds = append(g.kinds, func(at, end time.Duration) bool { return g.nodeFault(Stop, Restart, at, end) })
	}
	if m.Pauses {
		g.kinds = append(g.kinds, func(at, end time.Duration) bool { return g.nodeFault(Pause, Resume, at, end) })
	}
	if m.Clocks {
		g.kinds = append(g.kinds, g.clock)
	}
	if m.Clogs {
		g.kinds = append(g.kinds, g.clog)
	}
	if m.SlowDisks {
		g.kinds = append(g.kinds, g.slowDisk)
	}
	if m.Disks {
		g.kinds = append(g.kinds, g.diskFault)
	}
	if m.ClientCrashes && len(g.o.Clients) > 0 {
		g.kinds = append(g.kinds, g.clientCrash)
	}
}

// diskFault fails one node's disk until end: 1–20% of its operations
// fail with EIO, or (one time in three) it is full. A node has one fault
// at a time; a failing disk counts as down (DownMax), since the broker
// on it may stop serving.
func (g *generator) diskFault(at, end time.Duration) bool {
	node := g.r.IntN(g.o.Nodes)
	if g.busy(node, at) {
		return false
	}
	g.spans = append(g.spans, window{node: node, start: at, end: end})
	f := Fault{At: at, Kind: DiskFull, Nodes: []int{node}}
	if g.r.IntN(3) != 0 {
		f.Kind, f.Factor = DiskErrors, 1+g.r.IntN(20)
	}
	g.add(f)
	g.add(Fault{At: end, Kind: DiskOK, Nodes: []int{node}})
	return true
}

// clientCrash crashes one client with no fault until end, then restarts
// it. Clients do not count as down: the servers' majority is untouched.
func (g *generator) clientCrash(at, end time.Duration) bool {
	node := g.o.Clients[g.r.IntN(len(g.o.Clients))]
	if g.busy(node, at) {
		return false
	}
	g.spans = append(g.spans, window{node: node, start: at, end: end})
	g.add(Fault{At: at, Kind: Crash, Nodes: []int{node}})
	g.add(Fault{At: end, Kind: Restart, Nodes: []int{node}})
	return true
}

// clog stalls one directed link between two nodes for up to 2 s: frames
// wait and then flow, so it is safe at any time.
func (g *generator) clog(at, end time.Duration) bool {
	if g.o.Nodes < 2 {
		return false
	}
	order := g.r.Perm(g.o.Nodes)
	g.add(Fault{At: at, Kind: Clog, Nodes: order[:2], Offset: min(end-at, 2*time.Second)})
	return true
}

// slowDisk makes one node's fsyncs 2–50 times slower until end. Slow
// disks do not count as down.
func (g *generator) slowDisk(at, end time.Duration) bool {
	node := g.r.IntN(g.o.Nodes)
	g.add(Fault{At: at, Kind: SlowDisk, Nodes: []int{node}, Factor: 2 + g.r.IntN(49)})
	g.add(Fault{At: end, Kind: FastDisk, Nodes: []int{node}})
	return true
}

// gap is the next exponential gap between fault starts (at least 1 ms).
func (g *generator) gap() time.Duration {
	return max(time.Duration(g.r.ExpFloat64()*float64(g.o.Every)), time.Millisecond)
}

func (g *generator) add(f Fault) { g.faults = append(g.faults, f) }

// busy reports whether node (-1: the network) has a fault at t.
func (g *generator) busy(node int, t time.Duration) bool {
	for _, w := range g.spans {
		if w.node == node && w.start <= t && t < w.end {
			return true
		}
	}
	return false
}

// down counts the nodes (not clients) down or paused at t.
func (g *generator) down(t time.Duration) int {
	n := 0
	for _, w := range g.spans {
		if w.node >= 0 && w.node < g.o.Nodes && w.start <= t && t < w.end {
			n++
		}
	}
	return n
}

func (g *generator) partition(at, end time.Duration) bool {
	if g.busy(-1, at) {
		return false
	}
	n := g.o.Nodes
	order := g.r.Perm(n)
	f := Fault{At: at, Kind: Partition, Nodes: order}
	switch g.r.IntN(5) {
	case 0:
		f.Shape, f.Nodes = Isolate, order[:1]
	case 1:
		f.Shape = Halves
	case 2:
		f.Shape = Bridge
	case 3:
		f.Shape = Ring
	default:
		f.Shape, f.Nodes = OneWay, order[:2]
	}
	switch {
	case n < 2:
		return false
	case f.Shape == Bridge && n < 3, f.Shape == Ring && n < 5:
		f.Shape, f.Nodes = Halves, order
	}
	g.spans = append(g.spans, window{node: -1, start: at, end: end})
	g.add(f)
	g.add(Fault{At: end, Kind: Heal})
	return true
}

// nodeFault takes a node that has no fault down (crash, stop, pause)
// from at until end, then undoes it, keeping within DownMax.
func (g *generator) nodeFault(k, undo Kind, at, end time.Duration) bool {
	var free []int
	for node := range g.o.Nodes {
		if !g.busy(node, at) {
			free = append(free, node)
		}
	}
	if len(free) == 0 || g.down(at) >= g.o.DownMax {
		return false
	}
	node := free[g.r.IntN(len(free))]
	g.spans = append(g.spans, window{node: node, start: at, end: end})
	g.add(Fault{At: at, Kind: k, Nodes: []int{node}})
	g.add(Fault{At: end, Kind: undo, Nodes: []int{node}})
	return true
}

// clock skews one node's clock (an offset of ±10 s, a drift of ±1000
// ppm, or a jump of ±2 s) until end. Clock faults do not count as down.
func (g *generator) clock(at, end time.Duration) bool {
	node := g.r.IntN(g.o.Nodes)
	f := Fault{At: at, Nodes: []int{node}}
	switch g.r.IntN(3) {
	case 0:
		f.Kind, f.Offset = ClockOffset, time.Duration(g.r.Int64N(int64(20*time.Second)))-10*time.Second
	case 1:
		f.Kind, f.DriftPpm = ClockDrift, g.r.Int64N(2001)-1000
	default:
		f.Kind, f.Offset = ClockJump, time.Duration(g.r.Int64N(int64(4*time.Second)))-2*time.Second
	}
	g.add(f)
	g.add(Fault{At: end, Kind: ClockReset, Nodes: []int{node}})
	return true
}

// ParseMix reads a mix as String writes it: kinds joined by "+", or
// "none".
func ParseMix(s string) (Mix, error) {
	var m Mix
	if s == "none" {
		return m, nil
	}
	for _, k := range strings.Split(s, "+") {
		switch k {
		case "partitions":
			m.Partitions = true
		case "crashes":
			m.Crashes = true
		case "stops":
			m.Stops = true
		case "pauses":
			m.Pauses = true
		case "clocks":
			m.Clocks = true
		case "clogs":
			m.Clogs = true
		case "slow-disks":
			m.SlowDisks = true
		case "disk-faults":
			m.Disks = true
		case "client-crashes":
			m.ClientCrashes = true
		default:
			return Mix{}, fmt.Errorf("unknown fault kind %q (partitions, crashes, stops, pauses, clocks, clogs, slow-disks, disk-faults, client-crashes, or none)", k)
		}
	}
	return m, nil
}
