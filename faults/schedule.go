package faults

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what a fault step does.
type Kind uint8

const (
	// Partition replaces every cut with the links of Shape over Nodes.
	Partition Kind = iota + 1
	// Heal removes every cut and clog.
	Heal
	// Crash kills Nodes[0] as a power loss does: its process, its page
	// cache (unsynced writes) and its connections are gone.
	Crash
	// Stop asks Nodes[0] to stop gracefully (a controlled shutdown).
	Stop
	// Restart starts Nodes[0] again once it is down.
	Restart
	// Pause freezes Nodes[0] (a long GC pause); Resume ends it.
	Pause
	Resume
	// ClockOffset sets Nodes[0]'s wall clock to true time plus Offset.
	ClockOffset
	// ClockDrift makes Nodes[0]'s clocks run DriftPpm fast (or slow).
	ClockDrift
	// ClockJump moves Nodes[0]'s wall clock by Offset.
	ClockJump
	// ClockReset sets Nodes[0]'s clocks back to true time, no drift.
	ClockReset
	// Clog stalls the link Nodes[0]→Nodes[1] for Offset: frames wait,
	// then flow (a congested or flapping link, not a cut).
	Clog
	// SlowDisk multiplies Nodes[0]'s fsync latency by Factor; FastDisk
	// ends it.
	SlowDisk
	FastDisk
	// DiskErrors makes Factor percent of Nodes[0]'s reads, writes and
	// fsyncs fail with EIO; DiskFull makes its writes fail with ENOSPC
	// (no room past what is stored); DiskOK ends either.
	DiskErrors
	DiskFull
	DiskOK
)

var kindNames = [...]string{"?", "partition", "heal", "crash", "stop", "restart", "pause", "resume",
	"clock-offset", "clock-drift", "clock-jump", "clock-reset", "clog", "slow-disk", "fast-disk",
	"disk-errors", "disk-full", "disk-ok"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Shape is a partition's shape (sim/partition.go).
type Shape uint8

const (
	// Isolate cuts Nodes[0] off from every other node, clients included.
	Isolate Shape = iota + 1
	// Halves splits Nodes (in that order) into a smaller and a larger half.
	Halves
	// Bridge splits Nodes into two halves that share the middle one.
	Bridge
	// Ring lets each of Nodes talk only to its neighbours (5+ nodes).
	Ring
	// OneWay cuts only Nodes[0]→Nodes[1].
	OneWay
)

var shapeNames = [...]string{"?", "isolate", "halves", "bridge", "ring", "one-way"}

func (s Shape) String() string {
	if int(s) < len(shapeNames) {
		return shapeNames[s]
	}
	return fmt.Sprintf("shape(%d)", uint8(s))
}

// Fault is one step of a schedule: what happens when, to which nodes
// (indexes into the faulted nodes, the servers of a cluster).
type Fault struct {
	// At is the time from the start of the schedule.
	At    time.Duration
	Kind  Kind
	Shape Shape // Partition only
	Nodes []int
	// Offset is a clock offset or jump, or a clog's length; DriftPpm a
	// clock drift; Factor a slow disk's fsync multiplier.
	Offset   time.Duration
	DriftPpm int64
	Factor   int
}

// Format writes the step, its time first, with the nodes' names.
func (f Fault) Format(name func(int) string) string {
	return f.At.String() + " " + f.Describe(name)
}

// Describe writes what the step does, with the nodes' names.
func (f Fault) Describe(name func(int) string) string {
	var sb strings.Builder
	sb.WriteString(f.Kind.String())
	switch f.Kind {
	case Clog:
		fmt.Fprintf(&sb, " %s>%s", name(f.Nodes[0]), name(f.Nodes[1]))
	case Partition:
		fmt.Fprintf(&sb, " %s", f.Shape)
		sep := " "
		if f.Shape == OneWay {
			sep = ">"
		}
		for i, n := range f.Nodes {
			if i > 0 {
				sb.WriteString(sep)
			} else {
				sb.WriteString(" ")
			}
			sb.WriteString(name(n))
		}
	case Heal:
	default:
		fmt.Fprintf(&sb, " %s", name(f.Nodes[0]))
	}
	switch f.Kind {
	case ClockOffset, ClockJump, Clog:
		fmt.Fprintf(&sb, " %s", f.Offset)
	case SlowDisk:
		fmt.Fprintf(&sb, " x%d", f.Factor)
	case DiskErrors:
		fmt.Fprintf(&sb, " %d%%", f.Factor)
	case ClockDrift:
		fmt.Fprintf(&sb, " %dppm", f.DriftPpm)
	}
	return sb.String()
}

// Schedule is a fault plan as data: steps in time order. Generate draws
// one from a seed; Install plays one in the simulator.
type Schedule struct {
	Faults []Fault
}

// Format lists the steps, one per line.
func (s Schedule) Format(name func(int) string) []string {
	out := make([]string, len(s.Faults))
	for i, f := range s.Faults {
		out[i] = f.Format(name)
	}
	return out
}

// Count is the number of steps of kind k.
func (s Schedule) Count(k Kind) int {
	n := 0
	for _, f := range s.Faults {
		if f.Kind == k {
			n++
		}
	}
	return n
}
