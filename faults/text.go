package faults

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseFault reads one step in the form Format writes ("1.5s partition
// isolate b0", "3s crash b1", "4s clock-drift b2 200ppm"); node names map
// to indexes through index (as Format's name func maps indexes to names).
func ParseFault(line string, index func(string) (int, bool)) (Fault, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return Fault{}, fmt.Errorf("fault %q: want `AT KIND [ARGS]`", line)
	}
	at, err := time.ParseDuration(fields[0])
	if err != nil || at < 0 {
		return Fault{}, fmt.Errorf("fault %q: time %q is not a duration such as 1.5s", line, fields[0])
	}
	k, ok := kindNamed(fields[1])
	if !ok {
		return Fault{}, fmt.Errorf("fault %q: unknown kind %q (one of %s)", line, fields[1], strings.Join(kindNames[1:], ", "))
	}
	f := Fault{At: at, Kind: k}
	args := fields[2:]
	switch k {
	case Heal:
		err = none(args)
	case Partition:
		err = f.parsePartition(args, index)
	case Clog:
		err = f.parseClog(args, index)
	default:
		err = f.parseNodeStep(args, index)
	}
	if err != nil {
		return Fault{}, fmt.Errorf("fault %q: %w", line, err)
	}
	return f, nil
}

// ParseSchedule reads steps, one per line; blank lines and lines starting
// with # are skipped. Steps must be in time order.
func ParseSchedule(lines []string, index func(string) (int, bool)) (Schedule, error) {
	var s Schedule
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f, err := ParseFault(l, index)
		if err != nil {
			return Schedule{}, err
		}
		if n := len(s.Faults); n > 0 && f.At < s.Faults[n-1].At {
			return Schedule{}, fmt.Errorf("fault %q comes before the step above it", l)
		}
		s.Faults = append(s.Faults, f)
	}
	return s, nil
}

func kindNamed(s string) (Kind, bool) {
	i := slices.Index(kindNames[:], s)
	return Kind(i), i > 0
}

func none(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected %q", strings.Join(args, " "))
	}
	return nil
}

func (f *Fault) parsePartition(args []string, index func(string) (int, bool)) error {
	if len(args) < 2 {
		return fmt.Errorf("a partition wants a shape and nodes")
	}
	i := slices.Index(shapeNames[:], args[0])
	if i <= 0 {
		return fmt.Errorf("unknown shape %q (one of %s)", args[0], strings.Join(shapeNames[1:], ", "))
	}
	f.Shape = Shape(i)
	names := args[1:]
	if f.Shape == OneWay {
		names = strings.Split(strings.Join(args[1:], ""), ">")
	}
	for _, name := range names {
		n, ok := index(name)
		if !ok {
			return fmt.Errorf("unknown node %q", name)
		}
		f.Nodes = append(f.Nodes, n)
	}
	return nil
}

func (f *Fault) parseNodeStep(args []string, index func(string) (int, bool)) error {
	want := 1
	if f.Kind == ClockOffset || f.Kind == ClockJump || f.Kind == ClockDrift || f.Kind == SlowDisk || f.Kind == DiskErrors {
		want = 2
	}
	if len(args) != want {
		return fmt.Errorf("%s wants %d argument(s), got %d", f.Kind, want, len(args))
	}
	n, ok := index(args[0])
	if !ok {
		return fmt.Errorf("unknown node %q", args[0])
	}
	f.Nodes = []int{n}
	switch f.Kind {
	case ClockOffset, ClockJump:
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return fmt.Errorf("offset %q is not a duration", args[1])
		}
		f.Offset = d
	case SlowDisk:
		n, err := strconv.Atoi(strings.TrimPrefix(args[1], "x"))
		if err != nil || n < 1 || !strings.HasPrefix(args[1], "x") {
			return fmt.Errorf("factor %q is not xN", args[1])
		}
		f.Factor = n
	case DiskErrors:
		n, err := strconv.Atoi(strings.TrimSuffix(args[1], "%"))
		if err != nil || n < 1 || n > 100 || !strings.HasSuffix(args[1], "%") {
			return fmt.Errorf("error rate %q is not N%% (1-100)", args[1])
		}
		f.Factor = n
	case ClockDrift:
		ppm, err := strconv.ParseInt(strings.TrimSuffix(args[1], "ppm"), 10, 64)
		if err != nil {
			return fmt.Errorf("drift %q is not NNNppm", args[1])
		}
		f.DriftPpm = ppm
	}
	return nil
}

func (f *Fault) parseClog(args []string, index func(string) (int, bool)) error {
	if len(args) != 2 {
		return fmt.Errorf("a clog wants FROM>TO and a duration")
	}
	from, to, ok := strings.Cut(args[0], ">")
	a, okA := index(from)
	b, okB := index(to)
	if !ok || !okA || !okB || a == b {
		return fmt.Errorf("link %q is not FROM>TO between two nodes", args[0])
	}
	d, err := time.ParseDuration(args[1])
	if err != nil || d <= 0 {
		return fmt.Errorf("clog length %q is not a duration", args[1])
	}
	f.Nodes, f.Offset = []int{a, b}, d
	return nil
}
