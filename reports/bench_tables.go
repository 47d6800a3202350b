package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gregor-dst/gregor/bench"
)

// setupRow is one line of a target's setup table: a name and how to read
// it from a result, as text or, for settings and versions, as a map.
type setupRow struct {
	name  string
	value func(r *bench.Result) string
	// entries is merged key by key across runs, so that an entry most
	// runs share is not repeated with each run's whole map.
	entries func(r *bench.Result) map[string]string
}

var setupRows = []setupRow{
	{name: "status", value: func(r *bench.Result) string { return skippedText(r) }},
	{name: "description", value: func(r *bench.Result) string { return r.Setup.Target.Description }},
	{name: "brokers", value: func(r *bench.Result) string { return positive(r.Setup.Target.Brokers) }},
	{name: "fsync", value: func(r *bench.Result) string { return fsyncOf(r) }},
	{name: "persistent", value: func(r *bench.Result) string { return yesNo(r, r.Setup.Target.Durability.Persistent) }},
	{name: "replicated", value: func(r *bench.Result) string { return yesNo(r, r.Setup.Target.Durability.Replicated) }},
	{name: "durability notes", value: func(r *bench.Result) string { return r.Setup.Target.Durability.Notes }},
	{name: "replication factor", value: func(r *bench.Result) string { return positive(r.Setup.ReplicationFactor) }},
	{name: "broker configs", entries: func(r *bench.Result) map[string]string {
		return mergeMaps(r.Setup.Target.BrokerConfigs, r.Setup.BrokerConfigs)
	}},
	{name: "topic configs", entries: func(r *bench.Result) map[string]string { return r.Setup.TopicConfigs }},
	{name: "client configs", entries: func(r *bench.Result) map[string]string { return r.Setup.ClientConfigs }},
	{name: "target versions", entries: func(r *bench.Result) map[string]string { return r.Setup.Target.Versions }},
	{name: "harness versions", entries: func(r *bench.Result) map[string]string { return r.Setup.Versions }},
	{name: "machine", value: func(r *bench.Result) string { return machine(r.Setup.Machine) }},
	{name: "physical limits", value: func(r *bench.Result) string { return limits(r.Setup.PhysicalLimits) }},
	{name: "workload", value: workloadShape},
	{name: "durations", value: durations},
	{name: "payload", value: func(r *bench.Result) string { return r.Setup.Payload }},
	{name: "histogram", value: func(r *bench.Result) string { return r.Setup.Histogram }},
	{name: "end-to-end latency", value: func(r *bench.Result) string { return r.Setup.EndToEnd }},
	{name: "timer slack", value: func(r *bench.Result) string {
		if r.Setup.TimerSlackMicros <= 0 {
			return ""
		}
		return number(r.Setup.TimerSlackMicros) + " µs (publish delays below it are the harness's own pacing)"
	}},
	{name: "seed", value: func(r *bench.Result) string {
		if !hasSetup(r) || r.Skipped != "" {
			return ""
		}
		return strconv.FormatUint(r.Setup.Seed, 10)
	}},
	{name: "time", value: func(r *bench.Result) string {
		if r.Setup.StartTime.IsZero() {
			return ""
		}
		return r.Setup.StartTime.UTC().Format(time.RFC3339) + " – " + r.Setup.EndTime.UTC().Format(time.RFC3339)
	}},
	{name: "notes", value: func(r *bench.Result) string { return strings.Join(r.Setup.Notes, "\n") }},
}

// setupSection has one table per target. A row whose value differs between
// the target's runs lists each distinct value once, with the runs that
// have it.
func (b *benchSet) setupSection(d *document) {
	d.h2("Setup")
	for _, t := range b.targets {
		d.h3("Target " + t)
		var runs []run
		for _, rn := range b.runs {
			if rn.target == t {
				runs = append(runs, rn)
			}
		}
		if !slices.ContainsFunc(runs, func(rn run) bool { return hasSetup(rn.r) }) {
			d.para("These results record no setup (OMB's own result files do not): durability, configs and machine are unknown.")
			continue
		}
		tab := table{header: []string{"setting", "value"}}
		tab.rows = append(tab.rows, []string{"target", t})
		for _, row := range setupRows {
			if v := row.render(runs); v != "" {
				tab.rows = append(tab.rows, []string{row.name, v})
			}
		}
		d.add(tab)
	}
}

// render is the row's value over a target's runs.
func (row setupRow) render(runs []run) string {
	if row.entries != nil {
		return perKey(runs, row.entries)
	}
	return perRun(runs, row.value)
}

// perRun is the runs' common value, or else each distinct value once,
// prefixed with the runs that have it; "" if no run has one.
func perRun(runs []run, value func(r *bench.Result) string) string {
	values := make([]string, len(runs))
	for i, rn := range runs {
		values[i] = value(rn.r)
	}
	groups := groupRuns(runs, values)
	switch len(groups) {
	case 0:
		return ""
	case 1:
		return groups[0].value
	}
	var lines []string
	for _, g := range groups {
		lines = append(lines, fmt.Sprintf("[%s] %s", strings.Join(g.runs, ", "), strings.ReplaceAll(orDash(g.value), "\n", "; ")))
	}
	return strings.Join(lines, "\n")
}

// perKey lists the keys of the runs' maps one per line, sorted: key=value
// when the runs agree, else each distinct value once, followed by the runs
// that have it ("—" for runs without the key).
func perKey(runs []run, entries func(r *bench.Result) map[string]string) string {
	var keys []string
	ms := make([]map[string]string, len(runs))
	for i, rn := range runs {
		ms[i] = entries(rn.r)
		keys = append(keys, slices.Collect(maps.Keys(ms[i]))...)
	}
	slices.Sort(keys)
	var lines []string
	for _, k := range slices.Compact(keys) {
		values := make([]string, len(runs))
		for i := range runs {
			values[i] = ms[i][k]
		}
		groups := groupRuns(runs, values)
		if len(groups) == 1 {
			lines = append(lines, k+"="+groups[0].value)
			continue
		}
		var parts []string
		for _, g := range groups {
			parts = append(parts, fmt.Sprintf("%s [%s]", orDash(g.value), strings.Join(g.runs, ", ")))
		}
		lines = append(lines, k+"="+strings.Join(parts, "; "))
	}
	return strings.Join(lines, "\n")
}

// valueGroup is one distinct value and the runs that have it.
type valueGroup struct {
	value string
	runs  []string // "workload @ rate", each once
}

// groupRuns groups runs by their values (values[i] is runs[i]'s), in the
// order of each value's first run: runs are sorted, so the order is stable.
func groupRuns(runs []run, values []string) []valueGroup {
	var groups []valueGroup
	for i, rn := range runs {
		name := rn.workload + " @ " + rateLabel(rn.rate)
		j := slices.IndexFunc(groups, func(g valueGroup) bool { return g.value == values[i] })
		if j < 0 {
			groups = append(groups, valueGroup{value: values[i]})
			j = len(groups) - 1
		}
		if !slices.Contains(groups[j].runs, name) {
			groups[j].runs = append(groups[j].runs, name)
		}
	}
	return groups
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func positive(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func yesNo(r *bench.Result, v bool) string {
	switch {
	case !hasSetup(r):
		return ""
	case v:
		return "yes"
	}
	return "no"
}

// mergeMaps overlays b on a.
func mergeMaps(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}

func machine(m bench.Machine) string {
	if m.GOOS == "" && m.NumCPU == 0 {
		return ""
	}
	parts := []string{fmt.Sprintf("%s/%s, %d CPUs (GOMAXPROCS %d)", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS)}
	if m.CPUModel != "" {
		parts = append(parts, m.CPUModel)
	}
	if m.MemoryBytes > 0 {
		parts = append(parts, fmt.Sprintf("%.1f GiB", float64(m.MemoryBytes)/(1<<30)))
	}
	if m.KernelRelease != "" {
		parts = append(parts, "kernel "+m.KernelRelease)
	}
	if m.GoVersion != "" {
		parts = append(parts, m.GoVersion)
	}
	return strings.Join(parts, ", ")
}

func limits(l *bench.PhysicalLimits) string {
	if l == nil {
		return "not measured"
	}
	loopback := megabytes(l.LoopbackTCPBytesPerSecond) + " MB/s"
	if l.LoopbackError != "" {
		loopback = "failed: " + l.LoopbackError
	}
	disk := fmt.Sprintf("%s MB/s (%s fsyncs/s, %s-byte writes in %s)", megabytes(l.DiskWriteFsyncBytesPerSecond),
		number(l.DiskFsyncsPerSecond), count(float64(l.DiskWriteBytes)), l.DiskDir)
	if l.DiskError != "" {
		disk = "failed: " + l.DiskError
	}
	return fmt.Sprintf("TCP loopback %s\ndisk write+fsync %s\n(%s s each)", loopback, disk, number(l.MeasureSeconds))
}

func workloadShape(r *bench.Result) string {
	w := r.Setup.Workload
	topics, partitions, size := cmpOr(w.Topics, r.Topics), cmpOr(w.PartitionsPerTopic, r.Partitions), cmpOr(int64(w.MessageSize), r.MessageSize)
	s := fmt.Sprintf("%s: %d topics × %d partitions, %d-byte messages, %d producers and %d consumers per topic",
		workloadName(r), topics, partitions, size, cmpOr(w.ProducersPerTopic, r.ProducersPerTopic),
		cmpOr(w.ConsumerPerSubscription, r.ConsumersPerTopic))
	if w.SubscriptionsPerTopic > 0 {
		s += fmt.Sprintf(", %d subscriptions", w.SubscriptionsPerTopic)
	}
	if w.KeyDistributor != "" {
		s += ", keys " + string(w.KeyDistributor)
	}
	return s + ", rate " + rateLabel(targetRate(r))
}

func cmpOr[T int | int64](a, b T) T {
	if a != 0 {
		return a
	}
	return b
}

func durations(r *bench.Result) string {
	s := r.Setup
	if s.TestDurationSeconds == 0 && s.WarmupDurationSeconds == 0 {
		return ""
	}
	return fmt.Sprintf("warm-up %s s, test %s s, %s s windows", number(s.WarmupDurationSeconds),
		number(s.TestDurationSeconds), number(s.WindowSeconds))
}

// summaryHeader: the columns of the summary table.
var summaryHeader = []string{
	"workload", "target", "target msg/s", "publish msg/s", "publish MB/s", "consume msg/s",
	"publish p50 ms", "p75", "p95", "p99", "p99.9", "p99.99", "max",
	"e2e p50 ms", "e2e p99", "e2e max", "publish delay p99 µs", "errors", "status",
}

func (b *benchSet) summarySection(d *document) {
	d.h2("Summary")
	tab := table{header: summaryHeader}
	for _, rn := range b.runs {
		r := rn.r
		target := "max rate"
		if rn.rate > 0 {
			target = count(rn.rate)
		}
		if rn.skipped() {
			tab.rows = append(tab.rows, skippedRow(rn, target))
			continue
		}
		tab.rows = append(tab.rows, []string{
			rn.workload, rn.target, target,
			count(mean(r.PublishRate, r.WindowSeconds)), megabytes(publishBytes(r)), count(mean(r.ConsumeRate, r.WindowSeconds)),
			number(r.AggregatedPublishLatency50pct), number(r.AggregatedPublishLatency75pct),
			number(r.AggregatedPublishLatency95pct), number(r.AggregatedPublishLatency99pct),
			number(r.AggregatedPublishLatency999pct), number(r.AggregatedPublishLatency9999pct),
			number(r.AggregatedPublishLatencyMax),
			number(r.AggregatedEndToEndLatency50pct), number(r.AggregatedEndToEndLatency99pct),
			number(r.AggregatedEndToEndLatencyMax),
			count(float64(r.AggregatedPublishDelayLatency99pct)), count(float64(publishErrors(r))), status(r),
		})
	}
	d.add(tab)
}

// skippedRow is a skipped run's summary row: no measurements, its reason
// as the status.
func skippedRow(rn run, target string) []string {
	row := []string{rn.workload, rn.target, target}
	for len(row) < len(summaryHeader)-1 {
		row = append(row, "—")
	}
	return append(row, skippedText(rn.r))
}

// skippedText is "skipped: REASON" for a skipped run, else "".
func skippedText(r *bench.Result) string {
	if r.Skipped == "" {
		return ""
	}
	return "skipped: " + r.Skipped
}

// publishBytes is the mean payload bytes per second published; OMB's own
// files have only message rates, times the message size.
func publishBytes(r *bench.Result) float64 {
	if len(r.PublishBytesRate) > 0 {
		return mean(r.PublishBytesRate, r.WindowSeconds)
	}
	return mean(r.PublishRate, r.WindowSeconds) * float64(r.MessageSize)
}

func consumeBytes(r *bench.Result) float64 {
	if len(r.ConsumeBytesRate) > 0 {
		return mean(r.ConsumeBytesRate, r.WindowSeconds)
	}
	return mean(r.ConsumeRate, r.WindowSeconds) * float64(r.MessageSize)
}

// publishErrors counts the failed sends: the totals if the result has
// them, else the per-window error rates times the windows.
func publishErrors(r *bench.Result) int64 {
	if r.Totals != (bench.Totals{}) {
		return r.Totals.PublishErrors
	}
	var n float64
	for i, rate := range r.PublishErrorRate {
		secs := windowSeconds(r)
		if i < len(r.WindowSeconds) {
			secs = r.WindowSeconds[i]
		}
		n += rate * secs
	}
	return int64(math.Round(n))
}

func status(r *bench.Result) string {
	switch {
	case !hasSetup(r):
		return "—"
	case !r.Complete:
		return "incomplete"
	case !r.Totals.Drained:
		return "not drained"
	case r.Totals.Consumed < r.Totals.ExpectedConsumed:
		return fmt.Sprintf("consumed %s of %s", count(float64(r.Totals.Consumed)), count(float64(r.Totals.ExpectedConsumed)))
	}
	return "ok"
}

// limitsSection gives each run's throughput as a fraction of the physical
// limits measured in the same run.
func (b *benchSet) limitsSection(d *document) {
	d.h2("Throughput against physical limits")
	d.para("The limits are measured in the same run, on the same machine: one TCP connection's write loop over " +
		"loopback, and sequential disk writes each followed by fsync in the target's data directory. A target that " +
		"does not fsync, or batches many records per fsync, can exceed the disk figure; with the target on this " +
		"machine, every record crosses loopback at least twice (publish and consume).")
	tab := table{header: []string{"workload", "target", "publish MB/s", "consume MB/s",
		"loopback TCP MB/s", "publish / loopback", "disk write+fsync MB/s", "publish / disk"}}
	for _, rn := range b.runs {
		if rn.skipped() {
			continue // nothing measured: no ratio, not a zero one
		}
		pub := publishBytes(rn.r)
		row := []string{rn.workload, rn.label, megabytes(pub), megabytes(consumeBytes(rn.r))}
		l := rn.r.Setup.PhysicalLimits
		if l == nil {
			row = append(row, "not measured", "—", "not measured", "—")
		} else {
			row = append(row, limitCell(l.LoopbackTCPBytesPerSecond, l.LoopbackError), ratio(pub, l.LoopbackTCPBytesPerSecond),
				limitCell(l.DiskWriteFsyncBytesPerSecond, l.DiskError), ratio(pub, l.DiskWriteFsyncBytesPerSecond))
		}
		tab.rows = append(tab.rows, row)
	}
	d.add(tab)
}

func limitCell(bytesPerSecond float64, failure string) string {
	if failure != "" {
		return "failed: " + failure
	}
	return megabytes(bytesPerSecond)
}

func ratio(x, limit float64) string {
	if limit <= 0 || !finite(x) {
		return "—"
	}
	return strconv.FormatFloat(x/limit, 'g', 3, 64)
}

// number writes a measurement with about three significant digits, and
// "—" for no value.
func number(v float64) string {
	switch a := math.Abs(v); {
	case !finite(v):
		return "—"
	case v == 0:
		return "0"
	case a >= 1000:
		return count(v)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func megabytes(bytesPerSecond float64) string { return number(bytesPerSecond / 1e6) }

// count writes v rounded to an integer with thousands separators.
func count(v float64) string {
	if !finite(v) {
		return "—"
	}
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if v <= -0.5 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
