package reports

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/bench"
)

// BenchReport renders benchmark results (bench.ReadResults) as one report:
// a setup table per target, a summary table, throughput against the
// machine's physical limits, time series per workload with the targets
// overlaid, quantile curves on a "nines" axis, and throughput-vs-latency
// sweeps where a workload ran against a target at several rates.
func BenchReport(results []*bench.Result, w io.Writer, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	if len(results) == 0 {
		return errors.New("bench report: no results")
	}
	for i, r := range results {
		if r == nil {
			return fmt.Errorf("bench report: result %d is nil", i)
		}
	}
	b := newBenchSet(results)
	d := &document{title: "gregor benchmark report"}
	b.intro(d)
	b.setupSection(d)
	b.summarySection(d)
	b.limitsSection(d)
	if err := b.chartSections(d); err != nil {
		return err
	}
	return d.render(w, o)
}

// run is one result with what the report derives from it once.
type run struct {
	r        *bench.Result
	workload string
	target   string
	// rate is the target rate in msg/s; 0 for a max-rate search or when
	// the result does not say.
	rate float64
	// label names the run in legends: the target, and its rate when the
	// target ran the workload at several rates.
	label string
	// window is the nominal window length in seconds.
	window float64
}

// benchSet is the results, sorted by workload, target and rate.
type benchSet struct {
	runs      []run
	workloads []string
	targets   []string // sorted; a target's index picks its color
}

func newBenchSet(results []*bench.Result) *benchSet {
	b := &benchSet{}
	for _, r := range results {
		b.runs = append(b.runs, run{r: r, workload: workloadName(r), target: targetName(r), rate: targetRate(r), window: windowSeconds(r)})
	}
	slices.SortStableFunc(b.runs, func(x, y run) int {
		return cmp.Or(cmp.Compare(x.workload, y.workload), cmp.Compare(x.target, y.target),
			cmp.Compare(x.rate, y.rate), x.r.Setup.StartTime.Compare(y.r.Setup.StartTime))
	})
	perPair := map[[2]string]int{}
	for _, rn := range b.runs {
		perPair[[2]string{rn.workload, rn.target}]++
		if !slices.Contains(b.workloads, rn.workload) {
			b.workloads = append(b.workloads, rn.workload)
		}
		if !slices.Contains(b.targets, rn.target) {
			b.targets = append(b.targets, rn.target)
		}
	}
	slices.Sort(b.targets)
	for i := range b.runs {
		rn := &b.runs[i]
		rn.label = rn.target
		if perPair[[2]string{rn.workload, rn.target}] > 1 {
			rn.label += " @ " + rateLabel(rn.rate)
		}
	}
	return b
}

func workloadName(r *bench.Result) string {
	return cmp.Or(r.Workload, r.Setup.Workload.Name, "(unnamed workload)")
}

func targetName(r *bench.Result) string {
	return cmp.Or(r.Driver, r.Setup.Target.Name, "(unnamed target)")
}

// targetRate is the run's producer rate: its sweep step's, else the
// workload's; OMB's own files do not record it, and then it is the mean
// of the per-window target rates if those exist.
func targetRate(r *bench.Result) float64 {
	if st := r.Setup.Sweep; st != nil {
		return st.RateMsgPerSec // 0 for an auto sweep's max-rate probe
	}
	if r.Setup.Workload.ProducerRate > 0 {
		return r.Setup.Workload.ProducerRate
	}
	if !hasSetup(r) && len(r.TargetRate) > 0 {
		return mean(r.TargetRate, nil)
	}
	return 0
}

func rateLabel(rate float64) string {
	if rate <= 0 {
		return "max rate"
	}
	return count(rate) + " msg/s"
}

// windowSeconds is the nominal window: the setup's, else the measured
// windows' mean, else OMB's 10 s.
func windowSeconds(r *bench.Result) float64 {
	if r.Setup.WindowSeconds > 0 {
		return r.Setup.WindowSeconds
	}
	if m := mean(r.WindowSeconds, nil); m > 0 {
		return m
	}
	return 10
}

// hasSetup tells gregor's results from OMB's own, which carry no setup.
func hasSetup(r *bench.Result) bool {
	return r.Setup.Target.Name != "" || !r.Setup.StartTime.IsZero()
}

// index is the target's position among all targets, for its color.
func (b *benchSet) index(target string) int {
	i, _ := slices.BinarySearch(b.targets, target)
	return i
}

// measuredOf returns the runs of one workload that measured something:
// a skipped run has nothing to chart.
func (b *benchSet) measuredOf(workload string) []run {
	var out []run
	for _, rn := range b.runs {
		if rn.workload == workload && !rn.skipped() {
			out = append(out, rn)
		}
	}
	return out
}

// skipped: the target could not run on the machine (bench.SkipError).
func (rn run) skipped() bool { return rn.r.Skipped != "" }

func (b *benchSet) intro(d *document) {
	d.para("%d results: %d workloads (%s) against %d targets (%s).",
		len(b.runs), len(b.workloads), strings.Join(b.workloads, ", "), len(b.targets), strings.Join(b.targets, ", "))
	if skips := b.skips(); len(skips) > 0 {
		d.para("Skipped, not measured (the machine could not run them; never replaced by another target): %s. "+
			"They are in the setup and summary tables, not in the ratios or charts.", strings.Join(skips, "; "))
	}
	d.para("Units: MB = 10⁶ bytes of payload (record headers and keys not counted); rates are means over the measured " +
		"windows (warm-up excluded); publish and end-to-end latencies in ms, publish delay (actual − intended send " +
		"time: the coordinated-omission measure) in µs.")
	// Only measured targets: the warning is about comparing throughputs.
	var fsyncs, each []string
	for _, t := range b.targets {
		r := b.firstOf(t)
		if r == nil {
			continue
		}
		f := fsyncOf(r)
		if !slices.Contains(fsyncs, f) {
			fsyncs = append(fsyncs, f)
		}
		each = append(each, fmt.Sprintf("%s: fsync %s", t, f))
	}
	if len(fsyncs) > 1 {
		d.para("The targets differ in durability (%s): their throughputs are not those of peers. See the setup tables.",
			strings.Join(each, "; "))
	}
}

// firstOf is the target's first measured run's result; nil if every run
// of it was skipped.
func (b *benchSet) firstOf(target string) *bench.Result {
	for _, rn := range b.runs {
		if rn.target == target && !rn.skipped() {
			return rn.r
		}
	}
	return nil
}

// skips lists the skipped runs as "target (workload): skipped: reason",
// once each.
func (b *benchSet) skips() []string {
	var out []string
	for _, rn := range b.runs {
		if !rn.skipped() {
			continue
		}
		s := fmt.Sprintf("%s (%s): skipped: %s", rn.target, rn.workload, rn.r.Skipped)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func fsyncOf(r *bench.Result) string {
	if r == nil || r.Setup.Target.Durability.Fsync == "" {
		return "unknown"
	}
	return r.Setup.Target.Durability.Fsync
}

// mean is the mean of xs weighted by ws (the windows' lengths) when ws
// matches, else the plain mean; NaN when xs is empty.
func mean(xs, ws []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum, weight float64
	weighted := len(ws) == len(xs)
	for i, x := range xs {
		wi := 1.0
		if weighted {
			wi = ws[i]
		}
		sum += x * wi
		weight += wi
	}
	if weight <= 0 {
		return math.NaN()
	}
	return sum / weight
}

func floats[T int64 | float64](xs []T) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
