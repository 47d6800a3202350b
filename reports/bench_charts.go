package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gregor-dst/gregor/bench"
)

// timeSeries is one per-window metric, charted with the targets overlaid.
type timeSeries struct {
	name, unit string
	values     func(r *bench.Result) []float64
}

// The time series design §6 asks for (OMB's create_charts draws the same).
var timeSeriesCharts = []timeSeries{
	{"publish rate", "msg/s", func(r *bench.Result) []float64 { return r.PublishRate }},
	{"consume rate", "msg/s", func(r *bench.Result) []float64 { return r.ConsumeRate }},
	{"backlog", "messages", func(r *bench.Result) []float64 { return floats(r.Backlog) }},
	{"publish latency p99", "ms", func(r *bench.Result) []float64 { return r.PublishLatency99pct }},
	{"publish delay p99", "µs", func(r *bench.Result) []float64 { return floats(r.PublishDelayLatency99pct) }},
}

// quantileCurve is one aggregated latency distribution.
type quantileCurve struct {
	name, unit string
	values     func(r *bench.Result) bench.Quantiles
}

var quantileCharts = []quantileCurve{
	{"publish latency", "ms", func(r *bench.Result) bench.Quantiles { return r.AggregatedPublishLatencyQuantiles }},
	{"publish delay", "µs", func(r *bench.Result) bench.Quantiles { return r.AggregatedPublishDelayLatencyQuantiles }},
	{"end-to-end latency", "ms", func(r *bench.Result) bench.Quantiles { return r.AggregatedEndToEndLatencyQuantiles }},
}

// chartSections adds, per workload, the time series, the quantile curves
// and, if the workload was swept over rates, the sweep, from the runs
// that measured something (a skipped run would draw a line at zero).
func (b *benchSet) chartSections(d *document) error {
	for _, wl := range b.workloads {
		runs := b.measuredOf(wl)
		d.h2("Workload " + wl)
		if len(runs) == 0 {
			d.para("Every run of this workload was skipped: nothing to chart.")
			continue
		}
		d.h3("Time series")
		for _, ts := range timeSeriesCharts {
			if err := addChart(d, wl+" "+ts.name, b.timeSeriesChart(wl, runs, ts),
				fmt.Sprintf("%s per window (%s), x = window index × window length.", ts.name, ts.unit)); err != nil {
				return err
			}
		}
		d.h3("Latency quantiles")
		for _, q := range quantileCharts {
			if err := addChart(d, wl+" "+q.name+" quantiles", b.quantileChart(wl, runs, q),
				fmt.Sprintf("%s over the measured phase (%s, log scale) by percentile on a \"nines\" axis, x = log10(100/(100−p)), cut at p99.999.", q.name, q.unit)); err != nil {
				return err
			}
		}
		if c, ok := b.sweepChart(wl, runs); ok {
			d.h3("Throughput against latency")
			if err := addChart(d, wl+" sweep", c,
				"p99 publish latency against achieved throughput, one point per target rate, joined in rate order."+autoSweepNote(runs)); err != nil {
				return err
			}
		}
	}
	return nil
}

// addChart draws c into the document, or says there is no data.
func addChart(d *document, name string, c chart, caption string) error {
	if c.points() == 0 {
		d.para("%s: no data in these results.", c.title)
		return nil
	}
	png, err := c.png()
	if err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	d.add(figure{name: name, caption: caption, png: png})
	return nil
}

func (b *benchSet) timeSeriesChart(wl string, runs []run, ts timeSeries) chart {
	c := chart{title: wl + ": " + ts.name, xLabel: "time (s)", yLabel: ts.name + " (" + ts.unit + ")", yFromZero: true}
	for i, rn := range runs {
		ys := ts.values(rn.r)
		xs := make([]float64, len(ys))
		for j := range xs {
			xs[j] = float64(j) * rn.window
		}
		c.series = append(c.series, b.seriesOf(runs, i, xs, ys, linePointsStyle))
	}
	return c
}

// seriesOf styles runs[i]'s series: its target's color, and a dash
// pattern per rate when the target ran at several.
func (b *benchSet) seriesOf(runs []run, i int, xs, ys []float64, style seriesStyle) series {
	rn := runs[i]
	sameTarget := 0
	for _, other := range runs[:i] {
		if other.target == rn.target {
			sameTarget++
		}
	}
	return series{label: rn.label, xs: xs, ys: ys, color: paletteColor(b.index(rn.target)), dashes: dashPattern(sameTarget), style: style}
}

func (b *benchSet) quantileChart(wl string, runs []run, q quantileCurve) chart {
	c := chart{title: wl + ": " + q.name + " by percentile", xLabel: "percentile", yLabel: q.name + " (" + q.unit + ")", ninesX: true, logY: true}
	for i, rn := range runs {
		var xs, ys []float64
		for _, p := range q.values(rn.r) {
			if p.Percentile < 0 || p.Percentile > 99.999+1e-9 {
				continue
			}
			xs, ys = append(xs, ninesX(p.Percentile)), append(ys, p.Value)
		}
		c.series = append(c.series, b.seriesOf(runs, i, xs, ys, lineStyle))
	}
	return c
}

// sweepChart plots p99 publish latency against achieved MB/s when some
// target ran the workload at two or more target rates; the targets that
// ran it at one rate are there as single points, for comparison. Max-rate
// runs (an auto sweep's probe) have no target rate to order them by, so
// they stay out of the chart (they are in the tables and time series).
func (b *benchSet) sweepChart(wl string, runs []run) (chart, bool) {
	c := chart{title: wl + ": p99 publish latency against throughput", xLabel: "publish throughput (MB/s)", yLabel: "p99 publish latency (ms)", yFromZero: true, padded: true}
	swept := false
	for _, t := range b.targets {
		var points []run
		var rates []float64
		for _, rn := range runs {
			if rn.target == t && rn.rate > 0 {
				points = append(points, rn)
				rates = append(rates, rn.rate)
			}
		}
		if len(points) == 0 {
			continue
		}
		swept = swept || len(slices.Compact(slices.Sorted(slices.Values(rates)))) >= 2
		s := series{label: t, color: paletteColor(b.index(t)), style: linePointsStyle}
		for _, rn := range points { // sorted by rate already
			s.xs = append(s.xs, publishBytes(rn.r)/1e6)
			s.ys = append(s.ys, rn.r.AggregatedPublishLatency99pct)
		}
		c.series = append(c.series, s)
	}
	if !swept || c.points() == 0 {
		return chart{}, false
	}
	return c, true
}

// autoSweepNote says where an auto sweep's rates came from: fractions of
// the mean publish rate its max-rate probe sustained.
func autoSweepNote(runs []run) string {
	var found []string
	for _, rn := range runs {
		st := rn.r.Setup.Sweep
		if st == nil || st.MaxRateMsgPerSec <= 0 {
			continue
		}
		note := fmt.Sprintf("%s: %s msg/s", rn.target, count(st.MaxRateMsgPerSec))
		if !slices.Contains(found, note) {
			found = append(found, note)
		}
	}
	if len(found) == 0 {
		return ""
	}
	return " Auto sweep: the rates are fractions of the maximum a max-rate probe sustained (" + strings.Join(found, "; ") + ")."
}
