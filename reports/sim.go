package reports

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gregor-dst/gregor/checker/history"
)

// simResult is DIR/seed-N/result.json, the line `gregor sim --json`
// prints. It is read as JSON, not through the simulator's types: reports
// does not import sim internals.
type simResult struct {
	Seed         uint64       `json:"seed"`
	Verdict      string       `json:"verdict"`
	TraceHash    string       `json:"trace_hash"`
	Anomalies    []simAnomaly `json:"anomalies"`
	SimSeconds   float64      `json:"sim_seconds"`
	WallSeconds  float64      `json:"wall_seconds"`
	Events       uint64       `json:"events"`
	Ops          int          `json:"ops"`
	Faults       int          `json:"faults"`
	Options      string       `json:"options"`
	Acked        int64        `json:"acked"`
	Failed       int64        `json:"failed"`
	Ambiguous    int64        `json:"ambiguous"`
	Elections    int          `json:"elections"`
	Linearizable string       `json:"linearizable"`
	Problem      string       `json:"problem"`
	Check        string       `json:"check"`
	Replay       string       `json:"replay"`
	// SafetyStartNs is when the safety phase began, on the history's
	// clock; 0 in directories written before gregor sim recorded it.
	SafetyStartNs int64 `json:"safety_start_ns"`
}

type simAnomaly struct {
	Kind      string   `json:"kind"`
	Partition string   `json:"partition"`
	Witness   []string `json:"witness"`
	Allowed   bool     `json:"allowed"`
}

// simSeed is one DIR/seed-N directory.
type simSeed struct {
	number uint64
	dir    string
	result simResult
	err    error // reading result.json
}

// Limits on one report, so a huge sweep still renders in reasonable time
// and size.
const (
	seedsChartedMax = 100    // failing seeds that get a scatter
	callsPlottedMax = 20_000 // calls in one scatter; more are sampled evenly
)

const (
	simSeedPrefix  = "seed-"
	simVerdictPass = "pass"
)

// SimReport renders a `gregor sim --out DIR` directory: a verdict table
// over the seeds kept there, then for each failing seed its problem,
// options, anomalies with their witnesses, links to the Porcupine pages,
// and a latency scatter of the history's operations coloured by outcome.
func SimReport(dir string, w io.Writer, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	seeds, err := readSimSeeds(dir)
	if err != nil {
		return err
	}
	d := &document{title: "gregor simulation report"}
	simVerdicts(d, dir, seeds)
	charted := 0
	for _, s := range seeds {
		if s.err == nil && s.result.Verdict == simVerdictPass {
			continue
		}
		if err := simSeedSection(d, o, s, charted < seedsChartedMax); err != nil {
			return err
		}
		charted++
	}
	return d.render(w, o)
}

// readSimSeeds reads every seed-N directory in dir, in seed order. A
// result.json that cannot be read is kept as an error, so the report
// shows it rather than dropping the seed.
func readSimSeeds(dir string) ([]simSeed, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sim report: %w", err)
	}
	var seeds []simSeed
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), simSeedPrefix)
		number, err := strconv.ParseUint(n, 10, 64)
		if !ok || err != nil || !e.IsDir() {
			continue
		}
		s := simSeed{number: number, dir: filepath.Join(dir, e.Name())}
		s.result, s.err = readSimResult(filepath.Join(s.dir, "result.json"))
		seeds = append(seeds, s)
	}
	slices.SortFunc(seeds, func(a, b simSeed) int { return cmp.Compare(a.number, b.number) })
	return seeds, nil
}

func readSimResult(path string) (simResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return simResult{}, err
	}
	var r simResult
	if err := json.Unmarshal(data, &r); err != nil {
		return simResult{}, fmt.Errorf("%s: %w", path, err)
	}
	if r.Verdict == "" {
		return simResult{}, fmt.Errorf("%s: no verdict", path)
	}
	return r, nil
}

func simVerdicts(d *document, dir string, seeds []simSeed) {
	d.h2("Verdicts")
	if len(seeds) == 0 {
		d.para("No seed directories in %s: `gregor sim --out` keeps only the seeds that fail, so every seed it ran passed, or it wrote elsewhere.", dir)
		return
	}
	tally := map[string]int{}
	tab := table{header: []string{"seed", "verdict", "check", "anomalies", "ops", "acked", "failed", "ambiguous",
		"faults", "elections", "simulated s", "wall s", "events", "linearizable", "trace hash"}}
	for _, s := range seeds {
		if s.err != nil {
			tally["unreadable"]++
			tab.rows = append(tab.rows, []string{strconv.FormatUint(s.number, 10), "unreadable", s.err.Error()})
			continue
		}
		r := s.result
		tally[r.Verdict]++
		tab.rows = append(tab.rows, []string{strconv.FormatUint(s.number, 10), r.Verdict, r.Check, anomalyCount(r.Anomalies),
			count(float64(r.Ops)), count(float64(r.Acked)), count(float64(r.Failed)), count(float64(r.Ambiguous)),
			strconv.Itoa(r.Faults), strconv.Itoa(r.Elections), number(r.SimSeconds), number(r.WallSeconds),
			count(float64(r.Events)), r.Linearizable, r.TraceHash})
	}
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(tally)) {
		parts = append(parts, fmt.Sprintf("%s %d", v, tally[v]))
	}
	d.para("%d seeds in %s: %s.", len(seeds), dir, strings.Join(parts, ", "))
	for i := range tab.rows {
		for len(tab.rows[i]) < len(tab.header) {
			tab.rows[i] = append(tab.rows[i], "")
		}
	}
	d.add(tab)
}

func anomalyCount(as []simAnomaly) string {
	allowed := 0
	for _, a := range as {
		if a.Allowed {
			allowed++
		}
	}
	if allowed == 0 {
		return strconv.Itoa(len(as))
	}
	return fmt.Sprintf("%d (%d allowed)", len(as), allowed)
}

// simSeedSection is one failing seed: what failed, how to replay it, the
// anomalies, the Porcupine pages, the fault timeline and the latency
// scatter with the fault windows shaded.
func simSeedSection(d *document, o Options, s simSeed, chartIt bool) error {
	r := s.result
	if s.err != nil {
		d.h2(fmt.Sprintf("Seed %d: unreadable", s.number))
		d.para("%v", s.err)
		return nil
	}
	d.h2(fmt.Sprintf("Seed %d: %s", s.number, cmp.Or(r.Check, r.Verdict)))
	if r.Problem != "" {
		d.para("%s", r.Problem)
	}
	d.para("Options:")
	d.add(code{text: r.Options})
	if r.Replay != "" {
		d.para("Replay:")
		d.add(code{text: r.Replay})
	}
	simAnomalies(d, r.Anomalies)
	simLinks(d, o, s.dir)
	calls, missing, err := readCalls(s.dir)
	if err != nil {
		return err
	}
	plan, planErr := readFaultPlan(s, calls)
	if err := simFaults(d, s, plan, planErr, chartIt); err != nil {
		return err
	}
	if !chartIt {
		d.para("Charts left out: the report charts the first %d failing seeds only.", seedsChartedMax)
		return nil
	}
	d.h3("Latency")
	if missing != "" {
		d.para("%s", missing)
		return nil
	}
	return simScatter(d, s, calls, plan)
}

func simAnomalies(d *document, as []simAnomaly) {
	if len(as) == 0 {
		return
	}
	d.h3("Anomalies")
	for _, a := range as {
		allowed := ""
		if a.Allowed {
			allowed = " (allowed: an unsafe mode was asked for)"
		}
		d.para("%s on %s%s; witness:", a.Kind, a.Partition, allowed)
		d.add(code{text: strings.Join(a.Witness, "\n")})
	}
}

// simLinks links the seed's Porcupine pages and replay scenario, by paths
// relative to the report.
func simLinks(d *document, o Options, dir string) {
	pages, _ := filepath.Glob(filepath.Join(dir, "porcupine-*.html")) // the pattern is well formed
	var items []link
	for _, p := range pages {
		items = append(items, link{text: "Porcupine: " + strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "porcupine-"), ".html"), href: o.link(p)})
	}
	for _, name := range []string{"scenario.yaml", "history.jsonl"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			items = append(items, link{text: name, href: o.link(p)})
		}
	}
	if len(items) > 0 {
		d.h3("Files")
		d.add(links{items: items})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// outcomeColors: Jepsen's latency-raw colors, ok blue, info orange, fail red.
var outcomeColors = map[history.Type]color.Color{
	history.Ok:   color.RGBA{31, 119, 180, 255},
	history.Info: color.RGBA{255, 160, 0, 255},
	history.Fail: color.RGBA{214, 39, 40, 255},
}

// readCalls reads the seed's history as calls. A history that is missing
// or unreadable gives no calls and a sentence saying why (the report
// shows it); only an I/O error other than a missing file is an error.
func readCalls(dir string) (calls []history.Call, missing string, err error) {
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Sprintf("No history.jsonl in %s.", dir), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("sim report: %w", err)
	}
	defer f.Close()
	ops, err := history.ReadAll(f)
	if err != nil {
		return nil, fmt.Sprintf("history.jsonl unreadable: %v", err), nil
	}
	calls, err = history.Pair(ops)
	if err != nil {
		return nil, fmt.Sprintf("history.jsonl does not pair up: %v", err), nil
	}
	return calls, "", nil
}

// simFaults shows the seed's fault schedule: its steps on the history's
// clock and, when charted, the timeline of which faults were active when.
func simFaults(d *document, s simSeed, pl faultPlan, err error, chartIt bool) error {
	d.h3("Faults")
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.para("No scenario.yaml in %s: the fault schedule is unknown.", s.dir)
		return nil
	case err != nil:
		d.para("The fault schedule is unreadable: %v", err)
		return nil
	case len(pl.sched.Faults) == 0:
		d.para("The schedule has no fault steps.")
		return nil
	}
	d.para("%s", pl.placement())
	d.add(pl.stepTable())
	if !chartIt {
		return nil
	}
	png, err := pl.timelinePNG(s.number)
	if err != nil {
		return fmt.Errorf("sim report: %w", err)
	}
	caption := "Which faults were active when: a row for the network (partitions, clogs) and one per faulted node, a color per kind; the dashed line is the heal-all that ends the safety phase."
	if !pl.healed {
		caption += fmt.Sprintf(" The run ended at %.3f s, before that heal-all (a violation stops the run): windows still open end there.", pl.startS+pl.endS)
	}
	d.add(figure{name: fmt.Sprintf("seed-%d-faults", s.number), caption: caption, png: png})
	return nil
}

// simScatter charts each completed call of the history: x its invocation
// time, y its latency, colored by outcome, over the fault windows.
func simScatter(d *document, s simSeed, calls []history.Call, pl faultPlan) error {
	c, caption := latencyScatter(s.number, calls)
	if c.shades = pl.shades(); len(c.shades) > 0 {
		caption += " Fault windows are shaded behind the points, a color per kind, as on the timeline above."
	}
	if c.points() == 0 {
		d.para("The history has no completed calls to chart.")
		return nil
	}
	png, err := c.png()
	if err != nil {
		return fmt.Errorf("sim report: %w", err)
	}
	d.add(figure{name: fmt.Sprintf("seed-%d-latency", s.number), caption: caption, png: png})
	return nil
}

// latencyScatter builds the chart and its caption. Pending calls have no
// latency and are counted, not drawn.
func latencyScatter(seed uint64, calls []history.Call) (chart, string) {
	step := max(1, (len(calls)+callsPlottedMax-1)/callsPlottedMax)
	byOutcome := map[history.Type]*series{}
	pending, zeros := 0, 0
	for i, call := range calls {
		if call.Pending {
			pending++
			continue
		}
		if i%step != 0 {
			continue
		}
		t := call.Outcome()
		s, ok := byOutcome[t]
		if !ok {
			s = &series{label: string(t), color: outcomeColors[t], style: pointsStyle}
			byOutcome[t] = s
		}
		s.xs = append(s.xs, float64(call.Invoke.TimeNs)/1e9)
		latencyNs := call.Completion.TimeNs - call.Invoke.TimeNs
		if latencyNs <= 0 {
			zeros++
		}
		s.ys = append(s.ys, float64(latencyNs)/1e6)
	}
	c := chart{title: fmt.Sprintf("seed %d: operation latency", seed), xLabel: "invocation time (s, simulated)", yLabel: "latency (ms, log scale)", logY: true, padded: true}
	for _, t := range []history.Type{history.Ok, history.Info, history.Fail} {
		if s, ok := byOutcome[t]; ok {
			c.series = append(c.series, *s)
		}
	}
	caption := "Each completed call of the history at its invocation time, its latency on a log scale, colored by outcome (ok; info: unknown; fail)."
	drawn := c.points()
	switch {
	case zeros == drawn:
		c.logY, c.yLabel = false, "latency (ms)"
		caption = "Each completed call of the history at its invocation time and its latency (all 0), colored by outcome (ok; info: unknown; fail)."
	case zeros > 0:
		caption += fmt.Sprintf(" Calls that took no time, drawn at the smallest latency measured: %d.", zeros)
	}
	if step > 1 {
		caption += fmt.Sprintf(" Of %d calls, every %dth is drawn.", len(calls), step)
	}
	if pending > 0 {
		caption += fmt.Sprintf(" Calls still open when the history ends, not drawn: %d.", pending)
	}
	return c, caption
}
