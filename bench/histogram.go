package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram settings. Values are microseconds, as in OMB.
//
// OMB's Recorders keep 5 significant digits. hdrhistogram-go allocates its
// counts up front, and 5 digits up to 12 h is 21 MB per histogram; with a
// recorder pair per producer and consumer plus window and aggregate
// histograms that is hundreds of MB. 3 digits keep every value within
// 0.1% (20 ms ± 20 µs, far below network jitter) in 139 KB (60 s range)
// and 188 KB (12 h range).
const (
	histogramDigits          = 3
	publishLatencyMaxMicros  = int64(60 * time.Second / time.Microsecond)
	endToEndLatencyMaxMicros = int64(12 * time.Hour / time.Microsecond)
)

// HistogramDescription is recorded in each result's setup.
const HistogramDescription = "hdrhistogram-go, 3 significant digits, microseconds; " +
	"publish latency and publish delay capped at 60 s, end-to-end latency at 12 h (as OMB)"

func newHistogram(maxMicros int64) *hdrhistogram.Histogram {
	return hdrhistogram.New(1, maxMicros, histogramDigits)
}

// recorder is one goroutine's histogram pair, the part of HdrHistogram's
// Recorder that hdrhistogram-go lacks: writers record into the active
// histogram, and the window collector swaps it for the spare and merges
// what was recorded. The lock is shared by at most the recording
// goroutines of one client (its sender and its ack callbacks) and the
// collector once a window, so it is not contended across producers.
type recorder struct {
	mu        sync.Mutex
	maxMicros int64
	active    *hdrhistogram.Histogram
	spare     *hdrhistogram.Histogram
}

func newRecorder(maxMicros int64) *recorder {
	return &recorder{maxMicros: maxMicros, active: newHistogram(maxMicros), spare: newHistogram(maxMicros)}
}

// record adds d, clamped to [0, max] as OMB clamps.
func (r *recorder) record(d time.Duration) {
	v := min(max(d.Microseconds(), 0), r.maxMicros)
	r.mu.Lock()
	_ = r.active.RecordValue(v) // in range by the clamp
	r.mu.Unlock()
}

// drainInto merges everything recorded since the last drain into dst.
// Only one goroutine (the collector) drains.
func (r *recorder) drainInto(dst *hdrhistogram.Histogram) {
	r.mu.Lock()
	r.active, r.spare = r.spare, r.active
	r.mu.Unlock()
	dst.Merge(r.spare)
	r.spare.Reset()
}

// latencyStats are the OMB summary statistics of one histogram, in
// microseconds.
type latencyStats struct {
	Avg, P50, P75, P95, P99, P999, P9999, Max float64
}

var summaryPercentiles = []float64{50, 75, 95, 99, 99.9, 99.99}

func summarize(h *hdrhistogram.Histogram) latencyStats {
	if h.TotalCount() == 0 {
		return latencyStats{}
	}
	v := h.ValueAtPercentilesSlice(summaryPercentiles)
	return latencyStats{
		Avg: h.Mean(), P50: float64(v[0]), P75: float64(v[1]), P95: float64(v[2]),
		P99: float64(v[3]), P999: float64(v[4]), P9999: float64(v[5]), Max: float64(h.Max()),
	}
}

// scaled divides every statistic, to turn microseconds into milliseconds.
func (s latencyStats) scaled(div float64) latencyStats {
	return latencyStats{s.Avg / div, s.P50 / div, s.P75 / div, s.P95 / div, s.P99 / div, s.P999 / div, s.P9999 / div, s.Max / div}
}

// Quantile is one point of a latency quantile curve: the value at a
// percentile (0–100).
type Quantile struct {
	Percentile float64
	Value      float64
}

// Quantiles is a quantile curve, ascending by percentile. In JSON it is
// OMB's map from percentile to value, keys written as Java writes doubles
// ("50.0", "99.9"), in ascending order.
type Quantiles []Quantile

// quantilesOf samples a histogram at OMB's points: HdrHistogram's
// percentiles(100) iteration, 100 points up to p50 and 100 more in every
// halving of the remaining distance (50–75, 75–87.5, …), until the
// remaining fraction is below one sample, then p100. Values are divided
// by div.
func quantilesOf(h *hdrhistogram.Histogram, div float64) Quantiles {
	total := h.TotalCount()
	if total == 0 {
		return Quantiles{}
	}
	points := percentileLadder(total)
	values := h.ValueAtPercentilesSlice(points)
	out := make(Quantiles, len(points))
	for i, p := range points {
		out[i] = Quantile{Percentile: p, Value: float64(values[i]) / div}
	}
	return out
}

// percentileLadder is bounded: 64 halvings reach below one in 2^64.
func percentileLadder(total int64) []float64 {
	const ticksPerHalfDistance, halvingsMax = 100, 64
	var points []float64
	p := 0.0
	for len(points) < ticksPerHalfDistance*2*halvingsMax {
		points = append(points, p)
		halvings := math.Floor(math.Log2(100 / (100 - p)))
		p += 100 / (ticksPerHalfDistance * math.Pow(2, halvings+1))
		if (100-p)/100*float64(total) < 1 {
			break
		}
	}
	return append(points, 100)
}

// MarshalJSON writes the OMB map, ascending.
func (q Quantiles) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range q {
		if i > 0 {
			b.WriteByte(',')
		}
		v, err := json.Marshal(x.Value)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%q:%s", javaDouble(x.Percentile), v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the OMB map (ours or OMB's own files).
func (q *Quantiles) UnmarshalJSON(data []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	out := make(Quantiles, 0, len(m))
	for k, v := range m { //gregor:unordered-ok sorted below
		p, err := strconv.ParseFloat(k, 64)
		if err != nil {
			return fmt.Errorf("quantile key %q: %w", k, err)
		}
		out = append(out, Quantile{Percentile: p, Value: v})
	}
	slices.SortFunc(out, func(a, b Quantile) int {
		switch {
		case a.Percentile < b.Percentile:
			return -1
		case a.Percentile > b.Percentile:
			return 1
		}
		return 0
	})
	*q = out
	return nil
}

// At is the value at the first point at or above percentile p (0–100),
// or the last value.
func (q Quantiles) At(p float64) float64 {
	for _, x := range q {
		if x.Percentile >= p {
			return x.Value
		}
	}
	if len(q) == 0 {
		return 0
	}
	return q[len(q)-1].Value
}

// javaDouble formats like Java's Double.toString for the values we use:
// shortest representation, always with a fraction ("50.0").
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !bytes.ContainsAny([]byte(s), ".eE") {
		s += ".0"
	}
	return s
}
