package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/bench"
)

// twoTargets: gregor swept over two rates, kfake at one.
func twoTargets() []*bench.Result {
	return []*bench.Result{
		fakeResult("kfake", 10_000, 2, "none"),
		fakeResult("gregor", 20_000, 1.5, "every batch before ack"),
		fakeResult("gregor", 10_000, 1, "every batch before ack"),
	}
}

func TestBenchReportHTML(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, BenchReport(twoTargets(), &out, Options{Format: HTML}))
	html := out.String()

	containsAll(t, html,
		"<!DOCTYPE html>", "<h2>Setup</h2>", "<h3>Target gregor</h3>", "<h3>Target kfake</h3>",
		"<td>fsync</td><td>every batch before ack</td>", "<td>fsync</td><td>none</td>",
		"log.flush.interval.messages=1<br>min.insync.replicas=2", "acks=all<br>linger.ms=1", "linux/amd64, 8 CPUs",
		"<h2>Summary</h2>", "<th>publish MB/s</th>", "<th>p99.99</th>", "<th>e2e p99</th>", "<th>publish delay p99 µs</th>",
		"<h2>Throughput against physical limits</h2>", "<th>publish / loopback</th>",
		"The targets differ in durability", "<h3>Throughput against latency</h3>",
	)
	assert.False(t, strings.Contains(html, "<script"), "script in the report")
	assert.False(t, strings.Contains(html, "http"), "external link in the report")

	// One summary row per run: gregor at 10k msg/s publishes ~9,500 msg/s,
	// 9.73 MB/s, p99 6 ms; errors from the totals.
	row := regexp.MustCompile(`<tr><td>1-topic-16-partitions-1kb</td><td>gregor</td><td class="n">10,000</td><td class="n">9,500</td><td class="n">9.73</td>.*?</tr>`).FindString(html)
	require.NotEmpty(t, row, "gregor 10k summary row")
	assert.Contains(t, row, `<td class="n">6.00</td>`)
	assert.Contains(t, row, `<td>ok</td>`)
	// Ratios: 9.73 MB/s over 4,000 MB/s loopback and 500 MB/s disk.
	containsAll(t, html, `<td class="n">0.00243</td><td class="n">500</td><td class="n">0.0195</td>`)

	imgs := embeddedImages(t, html)
	// 5 time series + 3 quantile curves + 1 sweep, for the one workload.
	require.Len(t, imgs, 9)
	for i, target := range []string{"gregor", "kfake"} {
		c := paletteColor(i)
		assert.Greater(t, colored(imgs[0], c), 300, "publish rate chart draws %s", target)
		assert.Greater(t, colored(imgs[5], c), 300, "quantile chart draws %s", target)
	}
}

func TestBenchReportMarkdown(t *testing.T) {
	dir := t.TempDir()
	o, err := OptionsForPath(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.Equal(t, Markdown, o.Format)
	var out bytes.Buffer
	require.NoError(t, BenchReport(twoTargets(), &out, o))
	md := out.String()
	containsAll(t, md, "## Setup", "### Target gregor", "| fsync | every batch before ack |", "## Summary", "---:|", "## Throughput against physical limits")
	links := regexp.MustCompile(`!\[[^\]]*\]\(([^)]+\.png)\)`).FindAllStringSubmatch(md, -1)
	require.Len(t, links, 9)
	for _, l := range links {
		assert.True(t, strings.HasPrefix(l[1], "report-"), l[1])
		data, err := os.ReadFile(filepath.Join(dir, l[1]))
		require.NoError(t, err)
		decodePNG(t, data)
	}
	pngs, err := filepath.Glob(filepath.Join(dir, "*.png"))
	require.NoError(t, err)
	assert.Len(t, pngs, 9)
}

// An OMB result has no setup and no byte rates: the report says the setup
// is unknown and derives MB/s from the message size.
func TestBenchReportOMBResult(t *testing.T) {
	r := fakeResult("Kafka", 1000, 1, "")
	r.Setup, r.Totals, r.Complete = bench.Setup{}, bench.Totals{}, false
	r.PublishBytesRate, r.ConsumeBytesRate, r.WindowSeconds, r.TargetRate = nil, nil, nil, nil
	r.AggregatedEndToEndLatencyQuantiles = nil
	var out bytes.Buffer
	require.NoError(t, BenchReport([]*bench.Result{r}, &out, Options{Format: HTML}))
	html := out.String()
	containsAll(t, html, "record no setup")
	containsAll(t, html, "<td>not measured</td>")
	containsAll(t, html, "end-to-end latency by percentile: no data in these results.")
	assert.False(t, strings.Contains(html, "Throughput against latency"), "a sweep of one rate")
	assert.Len(t, embeddedImages(t, html), 7)
}

func TestBenchReportErrors(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, BenchReport(nil, &out, Options{Format: HTML}), "no results")
	assert.ErrorContains(t, BenchReport(twoTargets(), &out, Options{Format: Markdown}), "AssetsDir")
	assert.ErrorContains(t, BenchReport(twoTargets(), &out, Options{Format: "pdf"}), "pdf")
	_, err := OptionsForPath("report.txt")
	assert.Error(t, err)
}

// sweepResults: an auto sweep of gregor (probe, then 0.5 and 1 × 20,000
// msg/s) as gregor bench --sweep auto:0.5,1 records it, and kfake with a
// max-rate run and one fixed rate, which is no sweep.
func sweepResults() []*bench.Result {
	probe := fakeResult("gregor", 20_000, 3, "every batch before ack")
	probe.Setup.Workload.ProducerRate = 0
	probe.Setup.Sweep = &bench.SweepStep{Index: 1, Steps: 3, Probe: true}
	half := fakeResult("gregor", 10_000, 1, "every batch before ack")
	half.Setup.Sweep = &bench.SweepStep{Index: 2, Steps: 3, RateMsgPerSec: 10_000, Fraction: 0.5, MaxRateMsgPerSec: 20_000}
	full := fakeResult("gregor", 20_000, 2, "every batch before ack")
	full.Setup.Sweep = &bench.SweepStep{Index: 3, Steps: 3, RateMsgPerSec: 20_000, Fraction: 1, MaxRateMsgPerSec: 20_000}
	kfakeMax := fakeResult("kfake", 30_000, 1, "none")
	kfakeMax.Setup.Workload.ProducerRate = 0
	return []*bench.Result{probe, half, full, kfakeMax, fakeResult("kfake", 10_000, 1, "none")}
}

func TestBenchReportSweepSteps(t *testing.T) {
	b := newBenchSet(sweepResults())
	var labels []string
	for _, rn := range b.runs {
		labels = append(labels, rn.label)
	}
	assert.Equal(t, []string{"gregor @ max rate", "gregor @ 10,000 msg/s", "gregor @ 20,000 msg/s", "kfake @ max rate", "kfake @ 10,000 msg/s"}, labels)

	c, ok := b.sweepChart(b.workloads[0], b.runs)
	require.True(t, ok, "gregor ran at two rates")
	require.Len(t, c.series, 2)
	assert.Equal(t, "gregor", c.series[0].label)
	assert.Equal(t, []float64{6, 12}, c.series[0].ys, "p99 at 10k then 20k; the probe is left out")
	assert.Len(t, c.series[1].ys, 1, "kfake's fixed rate, without its max-rate run")

	var out bytes.Buffer
	require.NoError(t, BenchReport(sweepResults(), &out, Options{Format: HTML}))
	containsAll(t, out.String(), "<h3>Throughput against latency</h3>", "Auto sweep: the rates are fractions of the maximum a max-rate probe sustained (gregor: 20,000 msg/s).")

	kfakeOnly := newBenchSet(sweepResults()[3:])
	_, ok = kfakeOnly.sweepChart(kfakeOnly.workloads[0], kfakeOnly.runs)
	assert.False(t, ok, "a max-rate run and one fixed rate are not a sweep")
}

// skippedKafka is a kafka run skipped for a missing image, as gregor bench
// records it: the setup the target knew of itself, no measurements.
func skippedKafka() *bench.Result {
	r := &bench.Result{Workload: "1-topic-16-partitions-1kb", Driver: "kafka", MessageSize: 1024, Topics: 1, Partitions: 16,
		Skipped: "image confluentinc/confluent-local:7.5.0 not available: no registry"}
	r.Setup = bench.Setup{
		Target: bench.TargetInfo{Name: "kafka", Description: "Apache Kafka in a container", Brokers: 1,
			Durability: bench.Durability{Fsync: "never on the ack path", Persistent: true}},
		Workload:  bench.Workload{Name: r.Workload, ProducerRate: 10_000, MessageSize: 1024, Topics: 1, PartitionsPerTopic: 16},
		StartTime: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC),
		EndTime:   time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC),
	}
	return r
}

// A skipped target is in the setup and summary tables as "skipped:
// reason", with the durability it declared, and in no ratio or chart.
func TestBenchReportSkipped(t *testing.T) {
	results := append(twoTargets(), skippedKafka())
	var out bytes.Buffer
	require.NoError(t, BenchReport(results, &out, Options{Format: HTML}))
	html := out.String()
	const skip = "skipped: image confluentinc/confluent-local:7.5.0 not available: no registry"
	containsAll(t, html, "<h3>Target kafka</h3>", "<td>status</td><td>"+skip+"</td>", "<td>fsync</td><td>never on the ack path</td>",
		"<td>kafka</td><td class=\"n\">10,000</td><td class=\"n\">—</td>", "<td>"+skip+"</td></tr>",
		"Skipped, not measured (the machine could not run them; never replaced by another target): kafka (1-topic-16-partitions-1kb): "+skip)
	assert.NotContains(t, html, "kafka: fsync", "the durability comparison is of measured targets")
	limits := html[strings.Index(html, "<h2>Throughput against physical limits</h2>"):strings.Index(html, "<h2>Workload ")]
	assert.NotContains(t, limits, "<td>kafka</td>", "no ratio for a target that did not run")

	imgs := embeddedImages(t, html)
	require.Len(t, imgs, 9, "the same charts as without the skipped run")
	b := newBenchSet(results)
	for _, img := range imgs[:8] {
		assert.Zero(t, colored(img, paletteColor(b.index("kafka"))), "no line for the skipped target")
	}
	assert.Greater(t, colored(imgs[0], paletteColor(b.index("kfake"))), 300)

	out.Reset()
	require.NoError(t, BenchReport([]*bench.Result{skippedKafka()}, &out, Options{Format: HTML}))
	containsAll(t, out.String(), "Every run of this workload was skipped: nothing to chart.", "<td>status</td><td>"+skip+"</td>")
	assert.Empty(t, embeddedImages(t, out.String()))
}

// TestSetupDistinctValues: a setup row whose value several of a target's
// runs share lists that value once, with those runs, in the runs' order
// whatever the order of the result files.
func TestSetupDistinctValues(t *testing.T) {
	const w = "1-topic-16-partitions-1kb"
	// runs are gregor at 10k, 20k and 30k msg/s; set edits the setups.
	runs := func(set func(i int, r *bench.Result)) []*bench.Result {
		var rs []*bench.Result
		for i, rate := range []float64{10_000, 20_000, 30_000} {
			r := fakeResult("gregor", rate, 1, "every batch before ack")
			set(i, r)
			rs = append(rs, r)
		}
		return rs
	}
	versions := func(gregor ...string) func(i int, r *bench.Result) {
		return func(i int, r *bench.Result) {
			r.Setup.Versions = map[string]string{"go": "go1.26.0"}
			if gregor[i] != "" {
				r.Setup.Versions["gregor"] = gregor[i]
			}
		}
	}
	for _, tc := range []struct {
		name    string
		row     string
		results []*bench.Result
		want    string
	}{
		{
			name: "one version", row: "harness versions", results: runs(versions("v1 abc", "v1 abc", "v1 abc")),
			want: "go=go1.26.0\ngregor=v1 abc",
		},
		{
			name: "two runs share a version", row: "harness versions", results: runs(versions("v1 abc", "v1 abc", "v2 def")),
			want: "go=go1.26.0\ngregor=v1 abc [" + w + " @ 10,000 msg/s, " + w + " @ 20,000 msg/s]; v2 def [" + w + " @ 30,000 msg/s]",
		},
		{
			name: "files in another order", row: "harness versions", results: reversed(runs(versions("v1 abc", "v1 abc", "v2 def"))),
			want: "go=go1.26.0\ngregor=v1 abc [" + w + " @ 10,000 msg/s, " + w + " @ 20,000 msg/s]; v2 def [" + w + " @ 30,000 msg/s]",
		},
		{
			name: "a run without the key", row: "harness versions", results: runs(versions("v1 abc", "", "v1 abc")),
			want: "go=go1.26.0\ngregor=v1 abc [" + w + " @ 10,000 msg/s, " + w + " @ 30,000 msg/s]; — [" + w + " @ 20,000 msg/s]",
		},
		{
			name: "a text row", row: "durability notes",
			results: runs(func(i int, r *bench.Result) { r.Setup.Target.Durability.Notes = []string{"a", "b", "a"}[i] }),
			want:    "[" + w + " @ 10,000 msg/s, " + w + " @ 30,000 msg/s] a\n[" + w + " @ 20,000 msg/s] b",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBenchSet(tc.results)
			i := slices.IndexFunc(setupRows, func(r setupRow) bool { return r.name == tc.row })
			require.GreaterOrEqual(t, i, 0, "row %q", tc.row)
			assert.Equal(t, tc.want, setupRows[i].render(b.runs))
		})
	}

	// In the page: each version once.
	var out bytes.Buffer
	require.NoError(t, BenchReport(runs(versions("v1 abc", "v1 abc", "v2 def")), &out, Options{Format: HTML}))
	row := regexp.MustCompile(`<td>harness versions</td><td>.*?</td>`).FindString(out.String())
	require.NotEmpty(t, row)
	assert.Equal(t, 1, strings.Count(row, "v1 abc"), row)
	assert.Equal(t, 1, strings.Count(row, "go1.26.0"), row)
}

func reversed(rs []*bench.Result) []*bench.Result {
	slices.Reverse(rs)
	return rs
}
