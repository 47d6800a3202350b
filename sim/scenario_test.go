package sim_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/sim/toy"
)

// TestScenarios replays the stories in testdata/: each command is followed
// by the exact log it must produce. Regenerate with -rewrite and read the
// diff before committing it.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		h := &harness{t: t}
		datadriven.RunTest(t, path, h.handle)
	})
}

type harness struct {
	t   *testing.T
	s   *sim.Sim
	out bytes.Buffer
}

// handle runs one command and returns what it logged.
func (h *harness) handle(t *testing.T, d *datadriven.TestData) string {
	h.out.Reset()
	if err := h.dispatch(t, d); err != nil {
		fmt.Fprintf(&h.out, "error: %v\n", err)
	}
	return h.out.String()
}

func (h *harness) dispatch(t *testing.T, d *datadriven.TestData) error {
	if d.Cmd != "cluster" && h.s == nil {
		return fmt.Errorf("no cluster yet")
	}
	switch d.Cmd {
	case "cluster":
		// Example: cluster nodes=3 seed=1 [torn] [level=debug]
		return h.cluster(d)
	case "start", "crash", "restart", "stop", "pause", "resume":
		// Example: crash n2   (start with no names starts every node)
		return h.lifecycle(d)
	case "run":
		// Example: run for=2s
		return h.run(d)
	case "put":
		// Example: put a b c   (values, through the primary)
		return h.put(d)
	case "partition", "heal", "clog":
		// Example: partition isolate=n2 | halves | bridge | ring | oneway=n1>n2
		return h.network(d)
	case "clock":
		// Example: clock n3 offset=5s | drift=200 | jump=-2s
		return h.clock(d)
	case "disk":
		// Example: disk n2 torn=true | write-errors=100 | corrupt=toy/log off=5 n=3
		return h.disk(d)
	case "log":
		// Example: log n2   (the replica's entries and, on the primary, the commit index)
		return h.dumpLog(d)
	case "_breakpoint":
		return nil // set a debugger breakpoint here to stop at a command
	}
	return fmt.Errorf("unknown command %q", d.Cmd)
}

func (h *harness) cluster(d *datadriven.TestData) error {
	nodes, seed := 3, uint64(1)
	torn, level := false, slog.LevelInfo
	for _, a := range d.CmdArgs {
		switch a.Key {
		case "nodes":
			nodes, _ = strconv.Atoi(a.Vals[0])
		case "seed":
			seed, _ = strconv.ParseUint(a.Vals[0], 10, 64)
		case "torn":
			torn = true
		case "level":
			if err := level.UnmarshalText([]byte(a.Vals[0])); err != nil {
				return err
			}
		}
	}
	opts := sim.DefaultOptions(seed)
	opts.Log, opts.LogLevel = &h.out, level
	s, err := sim.New(opts)
	if err != nil {
		return err
	}
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i+1)
	}
	cfg := toy.DefaultConfig(names...)
	for _, name := range names {
		if _, err := s.AddNode(name, toy.New(cfg), sim.DiskOptions{
			SyncLatency: sim.Latency{Min: time.Millisecond, Mean: 2 * time.Millisecond},
			TornWrites:  torn,
		}); err != nil {
			return err
		}
	}
	h.s = s
	fmt.Fprintf(&h.out, "cluster of %d, primary %s, seed %d\n", nodes, names[0], seed)
	return nil
}

func (h *harness) nodes(d *datadriven.TestData) ([]*sim.Node, error) {
	var ns []*sim.Node
	for _, a := range d.CmdArgs {
		n := h.s.Node(a.Key)
		if n == nil {
			return nil, fmt.Errorf("no node %q", a.Key)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func (h *harness) lifecycle(d *datadriven.TestData) error {
	ns, err := h.nodes(d)
	if err != nil {
		return err
	}
	if len(ns) == 0 && d.Cmd == "start" {
		ns = h.s.Nodes()
	}
	for _, n := range ns {
		switch d.Cmd {
		case "start", "restart":
			err = n.Start()
		case "crash":
			n.Crash()
		case "stop":
			n.Stop()
		case "pause":
			n.Pause()
		case "resume":
			n.Resume()
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(&h.out, "%s %s\n", d.Cmd, n.Name())
	}
	return nil
}

func (h *harness) run(d *datadriven.TestData) error {
	var forText string
	d.ScanArgs(h.t, "for", &forText)
	dur, err := time.ParseDuration(forText)
	if err != nil {
		return err
	}
	if err := h.s.RunFor(dur); err != nil {
		return err
	}
	fmt.Fprintf(&h.out, "now %s\n", h.s.Now())
	return nil
}

func (h *harness) put(d *datadriven.TestData) error {
	primary := h.s.Nodes()[0]
	for _, a := range d.CmdArgs {
		v := a.Key
		h.s.Call(primary, func(p env.Process) { p.(*toy.Replica).Put(v) })
	}
	return nil
}

func (h *harness) network(d *datadriven.TestData) error {
	nw, all := h.s.Net(), h.s.Nodes()
	if d.Cmd == "heal" {
		nw.Heal()
		fmt.Fprintln(&h.out, "healed")
		return nil
	}
	if d.Cmd == "clog" {
		var from, to, forText string
		d.ScanArgs(h.t, "from", &from)
		d.ScanArgs(h.t, "to", &to)
		d.ScanArgs(h.t, "for", &forText)
		dur, err := time.ParseDuration(forText)
		if err != nil {
			return err
		}
		nw.Clog(h.s.Node(from), h.s.Node(to), dur)
		fmt.Fprintf(&h.out, "clogged %s→%s for %s\n", from, to, dur)
		return nil
	}
	links, err := shape(h.s, d.CmdArgs[0], all)
	if err != nil {
		return err
	}
	nw.Partition(links)
	fmt.Fprintf(&h.out, "cut %s\n", linkText(links))
	return nil
}

func shape(s *sim.Sim, a datadriven.CmdArg, all []*sim.Node) ([]sim.Link, error) {
	switch a.Key {
	case "isolate":
		return sim.Isolate(s.Node(a.Vals[0]), all), nil
	case "halves":
		return sim.Halves(all), nil
	case "bridge":
		return sim.Bridge(all)
	case "ring":
		return sim.Ring(all)
	case "oneway":
		from, to, _ := strings.Cut(a.Vals[0], ">")
		return sim.OneWay(s.Node(from), s.Node(to)), nil
	}
	return nil, fmt.Errorf("unknown partition shape %q", a.Key)
}

func linkText(ls []sim.Link) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.From.Name() + "→" + l.To.Name()
	}
	return strings.Join(parts, " ")
}

func (h *harness) clock(d *datadriven.TestData) error {
	n := h.s.Node(d.CmdArgs[0].Key)
	if n == nil {
		return fmt.Errorf("no node %q", d.CmdArgs[0].Key)
	}
	for _, a := range d.CmdArgs[1:] {
		switch a.Key {
		case "drift":
			ppm, err := strconv.ParseInt(a.Vals[0], 10, 64)
			if err != nil {
				return err
			}
			n.SetClockDrift(ppm)
		case "offset", "jump":
			v, err := time.ParseDuration(a.Vals[0])
			if err != nil {
				return err
			}
			if a.Key == "offset" {
				n.SetClockOffset(v)
			} else {
				n.JumpClock(v)
			}
		}
	}
	fmt.Fprintf(&h.out, "%s wall clock %s, monotonic %s\n", n.Name(), n.WallClock().Format(time.RFC3339Nano), n.MonoClock())
	return nil
}

func (h *harness) disk(d *datadriven.TestData) error {
	n := h.s.Node(d.CmdArgs[0].Key)
	if n == nil {
		return fmt.Errorf("no node %q", d.CmdArgs[0].Key)
	}
	o := n.Disk().Options()
	var corruptPath string
	var corruptOff, corruptN int64
	for _, a := range d.CmdArgs[1:] {
		if len(a.Vals) != 1 {
			return fmt.Errorf("%s needs one value", a.Key)
		}
		v := a.Vals[0]
		switch a.Key {
		case "torn":
			o.TornWrites = v == "true"
		case "write-errors":
			o.WriteErrorPercent, _ = strconv.ParseFloat(v, 64)
		case "read-errors":
			o.ReadErrorPercent, _ = strconv.ParseFloat(v, 64)
		case "sync-errors":
			o.SyncErrorPercent, _ = strconv.ParseFloat(v, 64)
		case "slow":
			o.SlowFactor, _ = strconv.ParseInt(v, 10, 64)
		case "corrupt":
			corruptPath = v
		case "off":
			corruptOff, _ = strconv.ParseInt(v, 10, 64)
		case "n":
			corruptN, _ = strconv.ParseInt(v, 10, 64)
		default:
			return fmt.Errorf("unknown disk setting %q", a.Key)
		}
	}
	if corruptPath != "" {
		if err := n.Disk().Corrupt(corruptPath, corruptOff, corruptN); err != nil {
			return err
		}
		fmt.Fprintf(&h.out, "corrupted %s bytes %d..%d on %s\n", corruptPath, corruptOff, corruptOff+corruptN, n.Name())
	}
	n.Disk().SetOptions(o)
	return nil
}

func (h *harness) dumpLog(d *datadriven.TestData) error {
	ns, err := h.nodes(d)
	if err != nil {
		return err
	}
	for _, n := range ns {
		r, ok := n.Process().(*toy.Replica)
		if !ok {
			fmt.Fprintf(&h.out, "%s: down\n", n.Name())
			continue
		}
		fmt.Fprintf(&h.out, "%s: [%s]", n.Name(), strings.Join(r.Entries(), " "))
		if n == h.s.Nodes()[0] {
			fmt.Fprintf(&h.out, " committed=%d", r.Committed())
		}
		fmt.Fprintln(&h.out)
	}
	return nil
}
