package faults

import (
	"fmt"
	"time"

	"github.com/gregor-dst/gregor/sim"
)

// Target is what a schedule plays on: the faulted nodes (a schedule's node
// indexes point into Nodes) and every node of the world, which an
// isolated node is cut off from too (its clients included).
type Target struct {
	Sim *sim.Sim
	// Nodes are the servers, then the clients that client crashes may
	// hit. A nil entry is a client the run does not have (a shrunk run
	// with fewer clients keeps the others' indexes): steps naming it are
	// skipped.
	Nodes []*sim.Node
	All   []*sim.Node
	// Note, if set, hears each step as it is applied, with its time.
	Note func(string)
}

// restartRetry is how often a restart waits for a node still stopping.
const restartRetry = 500 * time.Millisecond

// Install schedules every step of s at start plus its time.
func (s Schedule) Install(t Target, start sim.Time) {
	for _, f := range s.Faults {
		t.Sim.At(start+sim.Time(f.At), func() { t.Apply(f) })
	}
}

// Apply performs one step now. A step that cannot apply (a restart of a
// node that is up, a resume of one that is not paused, a node the target
// does not have) does nothing; a restart of a node still stopping waits
// for it.
func (t Target) Apply(f Fault) {
	for _, i := range f.Nodes {
		if i < 0 || i >= len(t.Nodes) || t.Nodes[i] == nil {
			t.note("skipped %s: no node %d", f.Describe(t.name), i)
			return
		}
	}
	switch f.Kind {
	case Partition:
		links, err := t.links(f)
		if err != nil {
			t.note("skipped %s: %v", f.Describe(t.name), err)
			return
		}
		t.Sim.Net().Partition(links)
	case Heal:
		t.Sim.Net().Heal()
	case Clog:
		t.Sim.Net().Clog(t.Nodes[f.Nodes[0]], t.Nodes[f.Nodes[1]], f.Offset)
	case Restart:
		t.restart(t.Nodes[f.Nodes[0]])
		return // restart notes itself
	default:
		t.nodeStep(f, t.Nodes[f.Nodes[0]])
	}
	t.note("%s", f.Describe(t.name))
}

func (t Target) nodeStep(f Fault, n *sim.Node) {
	switch f.Kind {
	case Crash:
		n.Crash()
	case Stop:
		n.Stop()
	case Pause:
		n.Pause()
	case Resume:
		n.Resume()
	case ClockOffset:
		n.SetClockOffset(f.Offset)
	case ClockDrift:
		n.SetClockDrift(f.DriftPpm)
	case ClockJump:
		n.JumpClock(f.Offset)
	case ClockReset:
		n.SetClockDrift(0)
		n.SetClockOffset(0)
	case SlowDisk, FastDisk:
		o := n.Disk().Options()
		o.SlowFactor = int64(max(f.Factor, 1))
		n.Disk().SetOptions(o)
	case DiskErrors, DiskFull, DiskOK:
		n.Disk().SetOptions(diskFault(f, n.Disk()))
	}
}

// restart starts n when it is down, waiting while it stops.
func (t Target) restart(n *sim.Node) {
	switch n.State() {
	case sim.Stopping:
		t.Sim.At(t.Sim.Now()+sim.Time(restartRetry), func() { t.restart(n) })
	case sim.Down:
		if err := n.Start(); err == nil {
			t.note("restart %s", n.Name())
		}
	}
}

func (t Target) links(f Fault) ([]sim.Link, error) {
	nodes := make([]*sim.Node, len(f.Nodes))
	for i, x := range f.Nodes {
		if x < 0 || x >= len(t.Nodes) {
			return nil, fmt.Errorf("node %d out of range", x)
		}
		nodes[i] = t.Nodes[x]
	}
	switch f.Shape {
	case Isolate:
		return sim.Isolate(nodes[0], t.All), nil
	case Halves:
		return sim.Halves(nodes), nil
	case Bridge:
		return sim.Bridge(nodes)
	case Ring:
		return sim.Ring(nodes)
	case OneWay:
		if len(nodes) < 2 {
			return nil, fmt.Errorf("one-way needs two nodes")
		}
		return sim.OneWay(nodes[0], nodes[1]), nil
	}
	return nil, fmt.Errorf("unknown shape %s", f.Shape)
}

// HealAll ends every fault: the network heals, paused nodes resume,
// clocks are true again, disks work at full speed, down nodes restart
// (those still stopping as soon as they are down).
func (t Target) HealAll() {
	t.Sim.Net().Heal()
	for _, n := range t.Nodes {
		if n == nil {
			continue
		}
		n.Resume()
		n.SetClockDrift(0)
		n.SetClockOffset(0)
		o := diskFault(Fault{Kind: DiskOK}, n.Disk())
		o.SlowFactor = 0
		n.Disk().SetOptions(o)
		t.restart(n)
	}
	t.note("heal all")
}

// diskFault is d's options under a disk-errors, disk-full or disk-ok step.
func diskFault(f Fault, d *sim.Disk) sim.DiskOptions {
	o := d.Options()
	o.ReadErrorPercent, o.WriteErrorPercent, o.SyncErrorPercent, o.CapacityBytes = 0, 0, 0, 0
	switch f.Kind {
	case DiskErrors:
		pct := float64(f.Factor)
		o.ReadErrorPercent, o.WriteErrorPercent, o.SyncErrorPercent = pct, pct, pct
	case DiskFull:
		o.CapacityBytes = max(d.UsedBytes(), 1)
	}
	return o
}

func (t Target) name(i int) string {
	if i >= 0 && i < len(t.Nodes) && t.Nodes[i] != nil {
		return t.Nodes[i].Name()
	}
	return fmt.Sprintf("node%d", i)
}

func (t Target) note(format string, args ...any) {
	if t.Note != nil {
		t.Note(fmt.Sprintf(format, args...))
	}
}
