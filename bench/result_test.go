package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleResult() *Result {
	w, _ := WorkloadByID("1-topic-16-partitions-1kb")
	r := newResult(w, "kfake")
	r.Setup.Workload = w
	r.Setup.StartTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	r.addWindow(windowStats{
		elapsed: 10 * time.Second, publishRate: 100, consumeRate: 99, backlog: 10, targetRate: 100,
		publish: latencyStats{Avg: 1500, P50: 1000, P99: 5000, Max: 9000},
		delay:   latencyStats{Avg: 12.5, P50: 10, P99: 50, Max: 90},
	})
	r.setAggregates(latencyStats{P50: 1000}, latencyStats{P50: 10}, latencyStats{P50: 2000},
		Quantiles{{0, 1}, {100, 9}}, Quantiles{{0, 10}, {100, 90}}, Quantiles{{50, 2}})
	r.Totals = Totals{Published: 1000, Consumed: 1000, ExpectedConsumed: 1000, Drained: true}
	r.Complete = true
	return r
}

func TestResultRoundTrip(t *testing.T) {
	r := sampleResult()
	assert.Equal(t, "1-topic-16-partitions-1kb-kfake-2026-03-04-05-06-07.json", r.FileName())
	assert.Equal(t, []float64{1}, r.PublishLatency50pct, "publish latency in ms")
	assert.Equal(t, []int64{10}, r.PublishDelayLatency50pct, "publish delay in µs")
	assert.Equal(t, 1.0, r.AggregatedPublishLatency50pct)
	assert.Equal(t, 2.0, r.AggregatedEndToEndLatency50pct)

	dir := t.TempDir()
	path, err := WriteResult(dir, r)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, r.FileName()), path)
	back, err := ReadResult(path)
	require.NoError(t, err)
	assert.Equal(t, r, back)

	// Rewriting (a checkpoint) replaces the file and leaves no temporary.
	r.Complete = false
	_, err = WriteResult(dir, r)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}

func TestResultFileNameIsSafe(t *testing.T) {
	r := newResult(Workload{Name: "1 topic / 1 partition"}, "bootstrap=a:1")
	r.Setup.StartTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	assert.Equal(t, "1-topic-1-partition-bootstrap-a-1-2026-01-02-03-04-05.json", r.FileName())
}

// OMB's own result files read too (their setup is empty).
func TestReadOMBResult(t *testing.T) {
	dir := t.TempDir()
	omb := `{"workload":"1 topic / 1 partition / 1Kb","driver":"Kafka","messageSize":1024,"topics":1,"partitions":1,
"producersPerTopic":1,"consumersPerTopic":1,"publishRate":[50000.1],"consumeRate":[49999.2],"backlog":[0],
"publishLatency99pct":[3.1],"aggregatedPublishLatency99pct":3.0,
"aggregatedPublishLatencyQuantiles":{"99.0":3.0,"50.0":1.1,"100.0":9.5},
"aggregatedPublishDelayLatencyQuantiles":{"50.0":12}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte(omb), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644))
	all, err := ReadResults(dir)
	require.NoError(t, err)
	require.Len(t, all, 1)
	r := all[0]
	assert.Equal(t, "Kafka", r.Driver)
	assert.Equal(t, []float64{50000.1}, r.PublishRate)
	assert.Equal(t, Quantiles{{50, 1.1}, {99, 3}, {100, 9.5}}, r.AggregatedPublishLatencyQuantiles)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{"x":1}`), 0o644))
	all, err = ReadResults(dir)
	assert.ErrorContains(t, err, "not a benchmark result")
	assert.Len(t, all, 1, "the good files are still returned")
}
