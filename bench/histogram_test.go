package bench

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Per-goroutine recorders merged give the histogram of all their values.
func TestRecorderMerge(t *testing.T) {
	const goroutines, each = 4, 10_000
	recorders := make([]*recorder, goroutines)
	single := newHistogram(publishLatencyMaxMicros)
	for g := range recorders {
		recorders[g] = newRecorder(publishLatencyMaxMicros)
		for i := range each {
			require.NoError(t, single.RecordValue(int64(g*each+i+1)))
		}
	}
	var wg sync.WaitGroup
	for g, r := range recorders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r.record(time.Duration(g*each+i+1) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	merged := newHistogram(publishLatencyMaxMicros)
	for _, r := range recorders {
		r.drainInto(merged)
	}
	assert.Equal(t, int64(goroutines*each), merged.TotalCount())
	assert.True(t, merged.Equals(single), "merged recorders equal one histogram of every value")
	s := summarize(merged)
	assert.InEpsilon(t, 20_000, s.P50, 0.001)
	assert.InEpsilon(t, 39_600, s.P99, 0.001)
	assert.InEpsilon(t, 40_000, s.Max, 0.001)
	assert.InEpsilon(t, 20_000.5, s.Avg, 0.001)
}

// A drain takes what was recorded since the previous one, nothing else.
func TestRecorderIntervals(t *testing.T) {
	r := newRecorder(publishLatencyMaxMicros)
	r.record(time.Millisecond)
	first := newHistogram(publishLatencyMaxMicros)
	r.drainInto(first)
	r.record(2 * time.Millisecond)
	r.record(3 * time.Millisecond)
	second := newHistogram(publishLatencyMaxMicros)
	r.drainInto(second)
	assert.Equal(t, int64(1), first.TotalCount())
	assert.Equal(t, int64(2), second.TotalCount())
	third := newHistogram(publishLatencyMaxMicros)
	r.drainInto(third)
	assert.Zero(t, third.TotalCount())
}

func TestRecorderClamps(t *testing.T) {
	r := newRecorder(publishLatencyMaxMicros)
	r.record(-time.Second)
	r.record(time.Hour)
	h := newHistogram(publishLatencyMaxMicros)
	r.drainInto(h)
	assert.Equal(t, int64(2), h.TotalCount(), "out-of-range values are clamped, not dropped")
	assert.Zero(t, h.Min())
	assert.True(t, h.ValuesAreEquivalent(publishLatencyMaxMicros, h.Max()))
}

func TestPercentileLadder(t *testing.T) {
	points := percentileLadder(1_000_000)
	assert.Equal(t, 0.0, points[0])
	assert.Equal(t, 0.5, points[1])
	assert.Equal(t, 100.0, points[len(points)-1])
	assert.IsIncreasing(t, points)
	assert.Contains(t, points, 50.0)
	assert.Contains(t, points, 75.0)
	assert.Contains(t, points, 99.0)
	// 100 points per halving of the remaining distance, until less than
	// one sample in a million remains: about 20 halvings.
	assert.InDelta(t, 2000, len(points), 100)
	assert.Len(t, percentileLadder(1), 2, "one sample: p0 and p100")
}

func TestQuantilesJSON(t *testing.T) {
	q := Quantiles{{0, 1.5}, {50, 2}, {99.9, 3.25}, {100, 4}}
	data, err := json.Marshal(q)
	require.NoError(t, err)
	assert.Equal(t, `{"0.0":1.5,"50.0":2,"99.9":3.25,"100.0":4}`, string(data), "OMB's keys, ascending")
	var back Quantiles
	require.NoError(t, json.Unmarshal([]byte(`{"100.0":4,"99.9":3.25,"0.0":1.5,"50.0":2}`), &back))
	assert.Equal(t, q, back, "sorted by percentile whatever the file's order")
	assert.Equal(t, 3.25, back.At(99))
	assert.Equal(t, 4.0, back.At(100))
	assert.Error(t, json.Unmarshal([]byte(`{"p50":1}`), &back))

	empty, err := json.Marshal(Quantiles{})
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(empty))
}

func TestQuantilesOf(t *testing.T) {
	h := newHistogram(publishLatencyMaxMicros)
	for v := int64(1); v <= 1000; v++ {
		require.NoError(t, h.RecordValue(v*1000)) // 1..1000 ms in µs
	}
	q := quantilesOf(h, 1000)
	assert.InEpsilon(t, 500, q.At(50), 0.002)
	assert.InEpsilon(t, 990, q.At(99), 0.002)
	assert.InEpsilon(t, 1000, q.At(100), 0.002)
	assert.Empty(t, quantilesOf(newHistogram(publishLatencyMaxMicros), 1))
}
