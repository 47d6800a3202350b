package reports

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/gregor-dst/gregor/checker/history"
	"github.com/gregor-dst/gregor/faults"
)

// simScenario is the part of DIR/seed-N/scenario.yaml the report reads:
// the fault schedule (steps timed from the start of the safety phase),
// the phase's length, and what bounds how soon the workload's first call
// follows the phase's start. The file's other fields are ignored.
type simScenario struct {
	Safety           string   `yaml:"safety"`
	RecordsPerSecond int      `yaml:"records_per_second"`
	Consumers        int      `yaml:"consumers"`
	PollEvery        string   `yaml:"poll_every"`
	Schedule         []string `yaml:"schedule"`
}

func readSimScenario(path string) (simScenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return simScenario{}, err
	}
	var sc simScenario
	if err := yaml.Unmarshal(data, &sc); err != nil {
		return simScenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// networkLane is the timeline's row for partitions and clogs, which
// involve several nodes.
const networkLane = "network"

// faultFamilies are the fault kinds a reader tells apart on a chart, in
// legend order, with their colors (apart from the outcome colors of the
// latency scatter: blue, orange, red). Clock offsets, drifts and jumps
// are all "clock".
var faultFamilies = []struct {
	name  string
	color color.NRGBA
}{
	{"partition", color.NRGBA{148, 103, 189, 255}},
	{"clog", color.NRGBA{140, 86, 75, 255}},
	{"crash", color.NRGBA{90, 90, 90, 255}},
	{"stop", color.NRGBA{188, 189, 34, 255}},
	{"pause", color.NRGBA{23, 190, 207, 255}},
	{"clock", color.NRGBA{227, 119, 194, 255}},
	{"slow-disk", color.NRGBA{44, 160, 44, 255}},
}

// Alphas of a family's color: faint behind a scatter's points, strong on
// the timeline (where windows of one lane may still overlap).
const (
	shadeAlpha    = 0x40
	timelineAlpha = 0xd0
)

func familyOf(k faults.Kind) string {
	switch k {
	case faults.ClockOffset, faults.ClockDrift, faults.ClockJump:
		return "clock"
	case faults.SlowDisk:
		return "slow-disk"
	}
	return k.String()
}

// familyColor is the family's color with alpha a.
func familyColor(family string, a uint8) color.NRGBA {
	for _, f := range faultFamilies {
		if f.name == family {
			c := f.color
			c.A = a
			return c
		}
	}
	return color.NRGBA{A: a}
}

// faultWindow is when one fault was active, in seconds from the start of
// the safety phase.
type faultWindow struct {
	family string
	lane   string // networkLane or the node's name
	startS float64
	endS   float64
}

// faultWindows plays the schedule's steps as faults.Apply does to find
// when each fault was active: a partition lasts until a heal or the next
// partition (which replaces its cuts); a clog for its length or until a
// heal; a crash or stop until the node restarts; a pause until it
// resumes; a clock change until the clock is reset (or changed again); a
// slow disk until it is fast again. What is still active at safetyS ends
// there, where the run heals all (faults.HealAll), except a slow disk,
// which HealAll does not undo; nothing outlasts the run, endS, and steps
// after it (a violation stops a run early) never happened.
func faultWindows(s faults.Schedule, name func(int) string, safetyS, endS float64) []faultWindow {
	var b windowBuilder
	for _, f := range s.Faults {
		b.step(f, name)
	}
	for _, w := range b.open {
		if w.family != "slow-disk" {
			w.endS = math.Min(w.endS, safetyS)
		}
		b.done = append(b.done, w)
	}
	done := slices.DeleteFunc(b.done, func(w faultWindow) bool { return w.startS > endS })
	for i := range done {
		done[i].endS = math.Min(done[i].endS, endS)
	}
	slices.SortStableFunc(done, func(a, b faultWindow) int { return cmp.Compare(a.startS, b.startS) })
	return done
}

// windowBuilder holds the windows still open while the steps play, and
// those done.
type windowBuilder struct{ open, done []faultWindow }

// step opens a window, or closes those the step undoes.
func (b *windowBuilder) step(f faults.Fault, name func(int) string) {
	atS := f.At.Seconds()
	w := faultWindow{family: familyOf(f.Kind), lane: networkLane, startS: atS, endS: math.Inf(1)}
	if f.Kind != faults.Partition && f.Kind != faults.Heal && f.Kind != faults.Clog {
		w.lane = name(f.Nodes[0])
	}
	switch f.Kind {
	case faults.Heal:
		b.close(atS, networkLane, "partition", "clog")
	case faults.Restart:
		b.close(atS, w.lane, "crash", "stop")
	case faults.Resume:
		b.close(atS, w.lane, "pause")
	case faults.ClockReset:
		b.close(atS, w.lane, "clock")
	case faults.FastDisk:
		b.close(atS, w.lane, "slow-disk")
	case faults.Clog:
		w.endS = atS + f.Offset.Seconds()
		b.open = append(b.open, w)
	default: // a partition or a node's fault replaces its like
		b.close(atS, w.lane, w.family)
		b.open = append(b.open, w)
	}
}

// close ends, at atS, the open windows of those families on the lane.
func (b *windowBuilder) close(atS float64, lane string, families ...string) {
	kept := b.open[:0]
	for _, w := range b.open {
		if w.lane != lane || !slices.Contains(families, w.family) {
			kept = append(kept, w)
			continue
		}
		w.endS = math.Min(w.endS, atS)
		b.done = append(b.done, w)
	}
	b.open = kept
}

// faultPlan is a seed's fault schedule placed on the history's clock.
type faultPlan struct {
	sched   faults.Schedule
	names   []string      // the nodes, indexed as sched's steps index them
	windows []faultWindow // seconds from the safety phase's start
	lanes   []string      // networkLane first if used, then nodes by name
	// startS is the safety phase's start in simulated seconds since the
	// run began: recorded (exact), else taken as the history's first call
	// (placed: there was one; else 0), and then boundS bounds how much
	// later than the phase's start that call came (0 when exact).
	startS, boundS float64
	placed, exact  bool
	// safetyS is the phase's length (the heal-all); endS the run's end,
	// both from the phase's start.
	safetyS, endS float64
	// healed: the run reached the heal-all (a violation stops a run
	// before it).
	healed bool
}

// readFaultPlan reads the seed's schedule and places it. The steps are
// timed from the safety phase's start, which result.json records
// (safety_start_ns). Older directories do not, and then the first call of
// the history stands in for it: producers and consumers start at a random
// point of their first interval, so it is late by less than
// 1/records_per_second (or poll_every). A plan with no steps is not an
// error.
func readFaultPlan(s simSeed, calls []history.Call) (faultPlan, error) {
	sc, err := readSimScenario(filepath.Join(s.dir, "scenario.yaml"))
	if err != nil {
		return faultPlan{}, err
	}
	safety, err := time.ParseDuration(sc.Safety)
	if err != nil {
		return faultPlan{}, fmt.Errorf("scenario.yaml: safety %q is not a duration", sc.Safety)
	}
	pl := faultPlan{safetyS: safety.Seconds(), startS: firstCallS(calls), placed: len(calls) > 0, boundS: firstCallBound(sc)}
	if ns := s.result.SafetyStartNs; ns > 0 {
		pl.startS, pl.placed, pl.exact, pl.boundS = float64(ns)/1e9, true, true, 0
	}
	// Node names get indexes as they first appear: the report needs
	// them back, not the cluster's numbering.
	pl.sched, err = faults.ParseSchedule(sc.Schedule, func(n string) (int, bool) {
		if i := slices.Index(pl.names, n); i >= 0 {
			return i, true
		}
		pl.names = append(pl.names, n)
		return len(pl.names) - 1, true
	})
	if err != nil {
		return faultPlan{}, fmt.Errorf("scenario.yaml: %w", err)
	}
	pl.endS = math.Inf(1)
	if s.result.SimSeconds > 0 {
		pl.endS = math.Max(0, s.result.SimSeconds-pl.startS)
	}
	// A run that ends right at the heal-all can seem to end before it,
	// by as much as the start is placed late.
	if pl.healed = pl.endS+pl.boundS >= pl.safetyS; pl.healed {
		pl.endS = math.Max(pl.endS, pl.safetyS)
	}
	pl.windows = faultWindows(pl.sched, pl.name, pl.safetyS, pl.endS)
	pl.lanes = lanesOf(pl.windows)
	return pl, nil
}

// lanesOf is the windows' lanes: the network first, then the nodes by
// name.
func lanesOf(windows []faultWindow) []string {
	var lanes []string
	network := false
	for _, w := range windows {
		network = network || w.lane == networkLane
		if w.lane != networkLane && !slices.Contains(lanes, w.lane) {
			lanes = append(lanes, w.lane)
		}
	}
	slices.Sort(lanes)
	if network {
		lanes = slices.Insert(lanes, 0, networkLane)
	}
	return lanes
}

func (pl faultPlan) name(i int) string { return pl.names[i] }

// firstCallS is the earliest invocation in simulated seconds; 0 without
// calls.
func firstCallS(calls []history.Call) float64 {
	first := math.Inf(1)
	for _, c := range calls {
		first = math.Min(first, float64(c.Invoke.TimeNs)/1e9)
	}
	if math.IsInf(first, 1) {
		return 0
	}
	return first
}

// firstCallBound is how late the first call can come after the phase's
// start: the shortest first interval among producers and consumers.
func firstCallBound(sc simScenario) float64 {
	bound := math.Inf(1)
	if sc.RecordsPerSecond > 0 {
		bound = 1 / float64(sc.RecordsPerSecond)
	}
	if d, err := time.ParseDuration(sc.PollEvery); err == nil && sc.Consumers > 0 && d > 0 {
		bound = math.Min(bound, d.Seconds())
	}
	return bound
}

// shades are the windows as full-height bands on the history's clock.
func (pl faultPlan) shades() []band {
	out := make([]band, 0, len(pl.windows))
	for _, w := range pl.windows {
		out = append(out, band{label: w.family, x0: pl.startS + w.startS, x1: pl.startS + w.endS, full: true, color: familyColor(w.family, shadeAlpha)})
	}
	return out
}

// timelineLaneHeight and timelineFrame size the timeline: a row per lane
// plus the title and the time axis.
const (
	timelineLaneHeight = 0.45 * vg.Inch
	timelineFrame      = 1.1 * vg.Inch
)

// timelinePNG draws a row per lane (the network, each faulted node) with
// a bar per fault window, on the scatter's time axis, and the heal-all as
// a dashed line.
func (pl faultPlan) timelinePNG(seed uint64) ([]byte, error) {
	if len(pl.windows) == 0 {
		return nil, errors.New("fault timeline: no windows")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("seed %d: faults", seed)
	p.X.Label.Text = "simulated time (s)"
	grid := plotter.NewGrid()
	grid.Horizontal.Color = nil // rows, not values
	p.Add(grid)
	bars, ticks := pl.bars()
	p.Add(bars)
	legend := newLegend()
	addBandLegend(&legend, bars)
	if pl.healed {
		heal, err := pl.healLine()
		if err != nil {
			return nil, fmt.Errorf("fault timeline: %w", err)
		}
		p.Add(heal)
		legend.Add("heal all", heal)
	}
	p.Y.Min, p.Y.Max = -0.6, float64(len(pl.lanes))-0.4
	p.Y.Tick.Marker = ticks
	pad := 0.04 * math.Max(p.X.Max-p.X.Min, math.Abs(p.X.Max))
	p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
	return drawPNG(p, legend, timelineFrame+timelineLaneHeight*vg.Length(len(pl.lanes)))
}

// bars are the windows on their lanes' rows (the first lane on top),
// and ticks name the rows.
func (pl faultPlan) bars() (bands, plot.ConstantTicks) {
	rowOf := func(lane string) float64 { return float64(len(pl.lanes) - 1 - slices.Index(pl.lanes, lane)) }
	var ticks plot.ConstantTicks
	for _, lane := range pl.lanes {
		ticks = append(ticks, plot.Tick{Value: rowOf(lane), Label: lane})
	}
	var bars bands
	for _, w := range pl.windows {
		y := rowOf(w.lane)
		bars = append(bars, band{label: w.family, x0: pl.startS + w.startS, x1: pl.startS + w.endS,
			y0: y - 0.35, y1: y + 0.35, color: familyColor(w.family, timelineAlpha)})
	}
	return bars, ticks
}

// healLine marks the heal-all across every row.
func (pl faultPlan) healLine() (*plotter.Line, error) {
	healS := pl.startS + pl.safetyS
	heal, err := plotter.NewLine(plotter.XYs{{X: healS, Y: -0.5}, {X: healS, Y: float64(len(pl.lanes)) - 0.5}})
	if err != nil {
		return nil, err
	}
	heal.LineStyle = draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
	return heal, nil
}

// stepTable lists the schedule's steps on both clocks, and the heal-all
// if the run got that far.
func (pl faultPlan) stepTable() table {
	tab := table{header: []string{"simulated s", "step (time from the safety phase's start)"}}
	seconds := func(s float64) string { return strconv.FormatFloat(pl.startS+s, 'f', 3, 64) }
	for _, f := range pl.sched.Faults {
		step := f.Format(pl.name)
		if f.At.Seconds() > pl.endS {
			step += " (not reached: the run ended first)"
		}
		tab.rows = append(tab.rows, []string{seconds(f.At.Seconds()), step})
	}
	if pl.healed {
		tab.rows = append(tab.rows, []string{seconds(pl.safetyS), time.Duration(pl.safetyS*float64(time.Second)).String() + " heal all (the safety phase ends)"})
	}
	return tab
}

// placement says how the schedule's times were put on the history's
// clock, and how far off they can be.
func (pl faultPlan) placement() string {
	if pl.exact {
		return fmt.Sprintf("The schedule's steps are timed from the safety phase's start, at %.3f s of simulated time "+
			"(recorded by gregor sim): steps and windows are drawn where they happened.", pl.startS)
	}
	if !pl.placed {
		return "The schedule's steps, timed from the safety phase's start (the history has no calls to place them by)."
	}
	late := "an interval of the workload"
	if !math.IsInf(pl.boundS, 1) {
		late = time.Duration(pl.boundS * float64(time.Second)).Round(100 * time.Microsecond).String()
	}
	return fmt.Sprintf("The schedule's steps are timed from the safety phase's start, which the seed directory does not record: "+
		"the history's first call, at %.3f s, stands in for it. The workload starts within %s of the phase, so steps and "+
		"windows are drawn at most that much late.", pl.startS, late)
}
