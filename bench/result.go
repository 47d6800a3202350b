package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is one run of one workload against one target, in the shape of
// OMB's TestResult (so OMB's chart scripts read it) plus gregor's setup
// and totals. Units are OMB's: rates in messages per second, publish and
// end-to-end latencies in milliseconds, publish delay in microseconds.
// Per-window arrays have one entry per window of the measured phase
// (warm-up excluded); aggregated values cover the whole measured phase.
type Result struct {
	Workload          string `json:"workload"` // the workload's name
	Driver            string `json:"driver"`   // the target's name
	MessageSize       int64  `json:"messageSize"`
	Topics            int    `json:"topics"`
	Partitions        int    `json:"partitions"` // per topic, as OMB
	ProducersPerTopic int    `json:"producersPerTopic"`
	ConsumersPerTopic int    `json:"consumersPerTopic"` // per subscription, as OMB

	PublishRate      []float64 `json:"publishRate"`
	PublishErrorRate []float64 `json:"publishErrorRate"`
	ConsumeRate      []float64 `json:"consumeRate"`
	Backlog          []int64   `json:"backlog"`

	PublishLatencyAvg     []float64 `json:"publishLatencyAvg"`
	PublishLatency50pct   []float64 `json:"publishLatency50pct"`
	PublishLatency75pct   []float64 `json:"publishLatency75pct"`
	PublishLatency95pct   []float64 `json:"publishLatency95pct"`
	PublishLatency99pct   []float64 `json:"publishLatency99pct"`
	PublishLatency999pct  []float64 `json:"publishLatency999pct"`
	PublishLatency9999pct []float64 `json:"publishLatency9999pct"`
	PublishLatencyMax     []float64 `json:"publishLatencyMax"`

	PublishDelayLatencyAvg     []float64 `json:"publishDelayLatencyAvg"`
	PublishDelayLatency50pct   []int64   `json:"publishDelayLatency50pct"`
	PublishDelayLatency75pct   []int64   `json:"publishDelayLatency75pct"`
	PublishDelayLatency95pct   []int64   `json:"publishDelayLatency95pct"`
	PublishDelayLatency99pct   []int64   `json:"publishDelayLatency99pct"`
	PublishDelayLatency999pct  []int64   `json:"publishDelayLatency999pct"`
	PublishDelayLatency9999pct []int64   `json:"publishDelayLatency9999pct"`
	PublishDelayLatencyMax     []int64   `json:"publishDelayLatencyMax"`

	AggregatedPublishLatencyAvg     float64 `json:"aggregatedPublishLatencyAvg"`
	AggregatedPublishLatency50pct   float64 `json:"aggregatedPublishLatency50pct"`
	AggregatedPublishLatency75pct   float64 `json:"aggregatedPublishLatency75pct"`
	AggregatedPublishLatency95pct   float64 `json:"aggregatedPublishLatency95pct"`
	AggregatedPublishLatency99pct   float64 `json:"aggregatedPublishLatency99pct"`
	AggregatedPublishLatency999pct  float64 `json:"aggregatedPublishLatency999pct"`
	AggregatedPublishLatency9999pct float64 `json:"aggregatedPublishLatency9999pct"`
	AggregatedPublishLatencyMax     float64 `json:"aggregatedPublishLatencyMax"`

	AggregatedPublishDelayLatencyAvg     float64 `json:"aggregatedPublishDelayLatencyAvg"`
	AggregatedPublishDelayLatency50pct   int64   `json:"aggregatedPublishDelayLatency50pct"`
	AggregatedPublishDelayLatency75pct   int64   `json:"aggregatedPublishDelayLatency75pct"`
	AggregatedPublishDelayLatency95pct   int64   `json:"aggregatedPublishDelayLatency95pct"`
	AggregatedPublishDelayLatency99pct   int64   `json:"aggregatedPublishDelayLatency99pct"`
	AggregatedPublishDelayLatency999pct  int64   `json:"aggregatedPublishDelayLatency999pct"`
	AggregatedPublishDelayLatency9999pct int64   `json:"aggregatedPublishDelayLatency9999pct"`
	AggregatedPublishDelayLatencyMax     int64   `json:"aggregatedPublishDelayLatencyMax"`

	AggregatedPublishLatencyQuantiles      Quantiles `json:"aggregatedPublishLatencyQuantiles"`
	AggregatedPublishDelayLatencyQuantiles Quantiles `json:"aggregatedPublishDelayLatencyQuantiles"`

	EndToEndLatencyAvg     []float64 `json:"endToEndLatencyAvg"`
	EndToEndLatency50pct   []float64 `json:"endToEndLatency50pct"`
	EndToEndLatency75pct   []float64 `json:"endToEndLatency75pct"`
	EndToEndLatency95pct   []float64 `json:"endToEndLatency95pct"`
	EndToEndLatency99pct   []float64 `json:"endToEndLatency99pct"`
	EndToEndLatency999pct  []float64 `json:"endToEndLatency999pct"`
	EndToEndLatency9999pct []float64 `json:"endToEndLatency9999pct"`
	EndToEndLatencyMax     []float64 `json:"endToEndLatencyMax"`

	AggregatedEndToEndLatencyQuantiles Quantiles `json:"aggregatedEndToEndLatencyQuantiles"`

	AggregatedEndToEndLatencyAvg     float64 `json:"aggregatedEndToEndLatencyAvg"`
	AggregatedEndToEndLatency50pct   float64 `json:"aggregatedEndToEndLatency50pct"`
	AggregatedEndToEndLatency75pct   float64 `json:"aggregatedEndToEndLatency75pct"`
	AggregatedEndToEndLatency95pct   float64 `json:"aggregatedEndToEndLatency95pct"`
	AggregatedEndToEndLatency99pct   float64 `json:"aggregatedEndToEndLatency99pct"`
	AggregatedEndToEndLatency999pct  float64 `json:"aggregatedEndToEndLatency999pct"`
	AggregatedEndToEndLatency9999pct float64 `json:"aggregatedEndToEndLatency9999pct"`
	AggregatedEndToEndLatencyMax     float64 `json:"aggregatedEndToEndLatencyMax"`

	// gregor's additions.

	// TargetRate is the producers' total target rate in each window
	// (constant unless producerRate is 0 and the rate controller moves it).
	TargetRate []float64 `json:"targetRate"`
	// PublishBytesRate and ConsumeBytesRate are payload bytes per second
	// (record headers and keys not counted).
	PublishBytesRate []float64 `json:"publishBytesRate"`
	ConsumeBytesRate []float64 `json:"consumeBytesRate"`
	// WindowSeconds is each window's actual length.
	WindowSeconds []float64 `json:"windowSeconds"`

	Totals Totals `json:"totals"`
	Setup  Setup  `json:"setup"`
	// Complete is false in the checkpoints written while a run is going
	// and in the result of a run that was interrupted.
	Complete bool `json:"complete"`
	// Skipped is why the target could not run on this machine (a
	// SkipError's reason); such a result has a setup but no measurements,
	// and a report lists it without charting it.
	Skipped string `json:"skipped,omitempty"`
}

// Totals count the whole run, warm-up and readiness probe (one record per
// topic) included, and the drain after the load stops, so that
// Consumed == ExpectedConsumed checks that nothing was lost. Consumer
// group rebalances can deliver records twice (at-least-once), so
// Consumed may exceed ExpectedConsumed.
type Totals struct {
	Published        int64 `json:"published"` // acknowledged sends
	PublishErrors    int64 `json:"publishErrors"`
	PublishedBytes   int64 `json:"publishedBytes"`
	Consumed         int64 `json:"consumed"`
	ConsumedBytes    int64 `json:"consumedBytes"`
	ExpectedConsumed int64 `json:"expectedConsumed"` // published × subscriptionsPerTopic
	// Drained is whether, within the drain timeout after the load
	// stopped, every send was answered and consumers received every
	// acknowledged record.
	Drained bool `json:"drained"`
}

// newResult starts a result with every array empty rather than null.
func newResult(w Workload, target string) *Result {
	return &Result{
		Workload: w.Name, Driver: target, MessageSize: int64(w.MessageSize),
		Topics: w.Topics, Partitions: w.PartitionsPerTopic,
		ProducersPerTopic: w.ProducersPerTopic, ConsumersPerTopic: w.ConsumerPerSubscription,
		PublishRate: []float64{}, PublishErrorRate: []float64{}, ConsumeRate: []float64{}, Backlog: []int64{},
		PublishLatencyAvg: []float64{}, PublishLatency50pct: []float64{}, PublishLatency75pct: []float64{},
		PublishLatency95pct: []float64{}, PublishLatency99pct: []float64{}, PublishLatency999pct: []float64{},
		PublishLatency9999pct: []float64{}, PublishLatencyMax: []float64{},
		PublishDelayLatencyAvg: []float64{}, PublishDelayLatency50pct: []int64{}, PublishDelayLatency75pct: []int64{},
		PublishDelayLatency95pct: []int64{}, PublishDelayLatency99pct: []int64{}, PublishDelayLatency999pct: []int64{},
		PublishDelayLatency9999pct: []int64{}, PublishDelayLatencyMax: []int64{},
		AggregatedPublishLatencyQuantiles: Quantiles{}, AggregatedPublishDelayLatencyQuantiles: Quantiles{},
		EndToEndLatencyAvg: []float64{}, EndToEndLatency50pct: []float64{}, EndToEndLatency75pct: []float64{},
		EndToEndLatency95pct: []float64{}, EndToEndLatency99pct: []float64{}, EndToEndLatency999pct: []float64{},
		EndToEndLatency9999pct: []float64{}, EndToEndLatencyMax: []float64{},
		AggregatedEndToEndLatencyQuantiles: Quantiles{},
		TargetRate:                         []float64{}, PublishBytesRate: []float64{}, ConsumeBytesRate: []float64{}, WindowSeconds: []float64{},
	}
}

// addWindow appends one window's statistics. Latency statistics are in
// microseconds.
func (r *Result) addWindow(s windowStats) {
	r.PublishRate = append(r.PublishRate, s.publishRate)
	r.PublishErrorRate = append(r.PublishErrorRate, s.publishErrorRate)
	r.ConsumeRate = append(r.ConsumeRate, s.consumeRate)
	r.Backlog = append(r.Backlog, s.backlog)
	r.TargetRate = append(r.TargetRate, s.targetRate)
	r.PublishBytesRate = append(r.PublishBytesRate, s.publishBytesRate)
	r.ConsumeBytesRate = append(r.ConsumeBytesRate, s.consumeBytesRate)
	r.WindowSeconds = append(r.WindowSeconds, s.elapsed.Seconds())

	p := s.publish.scaled(1000)
	r.PublishLatencyAvg = append(r.PublishLatencyAvg, p.Avg)
	r.PublishLatency50pct = append(r.PublishLatency50pct, p.P50)
	r.PublishLatency75pct = append(r.PublishLatency75pct, p.P75)
	r.PublishLatency95pct = append(r.PublishLatency95pct, p.P95)
	r.PublishLatency99pct = append(r.PublishLatency99pct, p.P99)
	r.PublishLatency999pct = append(r.PublishLatency999pct, p.P999)
	r.PublishLatency9999pct = append(r.PublishLatency9999pct, p.P9999)
	r.PublishLatencyMax = append(r.PublishLatencyMax, p.Max)

	d := s.delay
	r.PublishDelayLatencyAvg = append(r.PublishDelayLatencyAvg, d.Avg)
	r.PublishDelayLatency50pct = append(r.PublishDelayLatency50pct, int64(d.P50))
	r.PublishDelayLatency75pct = append(r.PublishDelayLatency75pct, int64(d.P75))
	r.PublishDelayLatency95pct = append(r.PublishDelayLatency95pct, int64(d.P95))
	r.PublishDelayLatency99pct = append(r.PublishDelayLatency99pct, int64(d.P99))
	r.PublishDelayLatency999pct = append(r.PublishDelayLatency999pct, int64(d.P999))
	r.PublishDelayLatency9999pct = append(r.PublishDelayLatency9999pct, int64(d.P9999))
	r.PublishDelayLatencyMax = append(r.PublishDelayLatencyMax, int64(d.Max))

	e := s.endToEnd.scaled(1000)
	r.EndToEndLatencyAvg = append(r.EndToEndLatencyAvg, e.Avg)
	r.EndToEndLatency50pct = append(r.EndToEndLatency50pct, e.P50)
	r.EndToEndLatency75pct = append(r.EndToEndLatency75pct, e.P75)
	r.EndToEndLatency95pct = append(r.EndToEndLatency95pct, e.P95)
	r.EndToEndLatency99pct = append(r.EndToEndLatency99pct, e.P99)
	r.EndToEndLatency999pct = append(r.EndToEndLatency999pct, e.P999)
	r.EndToEndLatency9999pct = append(r.EndToEndLatency9999pct, e.P9999)
	r.EndToEndLatencyMax = append(r.EndToEndLatencyMax, e.Max)
}

// setAggregates fills the aggregated fields from the measured phase's
// histograms (microseconds).
func (r *Result) setAggregates(publish, delay, endToEnd latencyStats, publishQ, delayQ, endToEndQ Quantiles) {
	p := publish.scaled(1000)
	r.AggregatedPublishLatencyAvg, r.AggregatedPublishLatency50pct = p.Avg, p.P50
	r.AggregatedPublishLatency75pct, r.AggregatedPublishLatency95pct = p.P75, p.P95
	r.AggregatedPublishLatency99pct, r.AggregatedPublishLatency999pct = p.P99, p.P999
	r.AggregatedPublishLatency9999pct, r.AggregatedPublishLatencyMax = p.P9999, p.Max

	d := delay
	r.AggregatedPublishDelayLatencyAvg, r.AggregatedPublishDelayLatency50pct = d.Avg, int64(d.P50)
	r.AggregatedPublishDelayLatency75pct, r.AggregatedPublishDelayLatency95pct = int64(d.P75), int64(d.P95)
	r.AggregatedPublishDelayLatency99pct, r.AggregatedPublishDelayLatency999pct = int64(d.P99), int64(d.P999)
	r.AggregatedPublishDelayLatency9999pct, r.AggregatedPublishDelayLatencyMax = int64(d.P9999), int64(d.Max)

	e := endToEnd.scaled(1000)
	r.AggregatedEndToEndLatencyAvg, r.AggregatedEndToEndLatency50pct = e.Avg, e.P50
	r.AggregatedEndToEndLatency75pct, r.AggregatedEndToEndLatency95pct = e.P75, e.P95
	r.AggregatedEndToEndLatency99pct, r.AggregatedEndToEndLatency999pct = e.P99, e.P999
	r.AggregatedEndToEndLatency9999pct, r.AggregatedEndToEndLatencyMax = e.P9999, e.Max

	r.AggregatedPublishLatencyQuantiles = publishQ
	r.AggregatedPublishDelayLatencyQuantiles = delayQ
	r.AggregatedEndToEndLatencyQuantiles = endToEndQ
}

// resultTimeLayout is OMB's yyyy-MM-dd-HH-mm-ss.
const resultTimeLayout = "2006-01-02-15-04-05"

// FileName is OMB's result file name, <workload>-<target>-<timestamp>.json,
// with the workload's ID (its file's base name, as OMB) and the run's start
// time in UTC. A sweep's runs add their rate after the target
// (-rate-20000, or -maxrate for an auto sweep's probe): the timestamp
// has whole seconds, and short steps can start within one.
func (r *Result) FileName() string {
	id := r.Setup.Workload.ID
	if id == "" {
		id = slug(r.Workload)
	}
	target := r.Driver
	switch st := r.Setup.Sweep; {
	case st == nil:
	case st.Probe:
		target += "-maxrate"
	default:
		target += "-rate-" + strconv.FormatFloat(st.RateMsgPerSec, 'f', -1, 64)
	}
	return fmt.Sprintf("%s-%s-%s.json", fileSafe(id), fileSafe(target), r.Setup.StartTime.UTC().Format(resultTimeLayout))
}

func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "unnamed"
	}
	return string(b)
}

// WriteResult writes r as dir/r.FileName() and returns the path. It writes a
// temporary file and renames it, so a reader (or a crash) never sees half
// a file.
func WriteResult(dir string, r *Result) (string, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("result: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("result: %w", err)
	}
	path := filepath.Join(dir, r.FileName())
	tmp, err := os.CreateTemp(dir, ".tmp-"+r.FileName()+"-*")
	if err != nil {
		return "", fmt.Errorf("result: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("result: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("result: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("result: %w", err)
	}
	return path, nil
}

// ReadResult reads one result file: gregor's, or OMB's own (whose setup and
// totals are then empty).
func ReadResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("result %s: %w", path, err)
	}
	if r.Workload == "" && r.Driver == "" {
		return nil, fmt.Errorf("result %s: not a benchmark result (no workload or driver)", path)
	}
	return &r, nil
}

// ReadResults reads every *.json result in dir, sorted by file name, and
// skips nothing silently: a file that is not a result is an error.
func ReadResults(dir string) ([]*Result, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	slices.Sort(paths)
	var out []*Result
	var errs []error
	for _, p := range paths {
		if strings.HasPrefix(filepath.Base(p), ".tmp-") {
			continue
		}
		r, err := ReadResult(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// Duration is the measured phase's length.
func (r *Result) Duration() time.Duration {
	var total float64
	for _, s := range r.WindowSeconds {
		total += s
	}
	return time.Duration(total * float64(time.Second))
}
