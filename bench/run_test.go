package bench

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallWorkload is a few seconds of load for tests.
func smallWorkload(t *testing.T, yaml string, test time.Duration) Workload {
	t.Helper()
	w, err := ParseWorkload([]byte(yaml), "test-workload")
	require.NoError(t, err)
	return w.WithDurations(test, 0)
}

// quickOptions keep tests short: 500 ms windows, tiny limit measurements.
func quickOptions() RunOptions {
	return RunOptions{
		Window:         500 * time.Millisecond,
		LimitsDuration: 50 * time.Millisecond,
		DrainTimeout:   15 * time.Second,
		ReadyTimeout:   20 * time.Second,
		Seed:           1,
	}
}

// A short real run against kfake: windows are filled, nothing is lost, and
// the result file round-trips.
func TestRunKfake(t *testing.T) {
	test := 3 * time.Second
	if testing.Short() {
		test = 1500 * time.Millisecond
	}
	w := smallWorkload(t, `
name: kfake smoke
topics: 1
partitionsPerTopic: 4
messageSize: 256
keyDistributor: KEY_ROUND_ROBIN
subscriptionsPerTopic: 1
consumerPerSubscription: 1
producersPerTopic: 1
producerRate: 2000
testDurationMinutes: 1
`, test)
	opts := quickOptions()
	opts.ResultDir = t.TempDir()
	var progress []Progress
	opts.Progress = func(p Progress) { progress = append(progress, p) }
	var log bytes.Buffer
	opts.Log = &log

	res, err := RunTarget(context.Background(), w, NewKfakeTarget(KfakeConfig{Brokers: 3}), opts)
	require.NoError(t, err)

	assert.True(t, res.Complete)
	windows := int(test / opts.Window)
	assert.Len(t, res.PublishRate, windows)
	assert.Len(t, res.PublishLatency99pct, windows)
	assert.Len(t, res.EndToEndLatencyMax, windows)
	assert.Len(t, progress, windows)
	for i, rate := range res.PublishRate {
		assert.Greater(t, rate, 0.0, "window %d publish rate", i)
		assert.Greater(t, res.ConsumeRate[i], 0.0, "window %d consume rate", i)
		assert.Greater(t, res.PublishLatencyMax[i], 0.0, "window %d publish latency", i)
	}
	assert.InDelta(t, 2000, float64(res.Totals.Published)/test.Seconds(), 400, "about the target rate")
	assert.Zero(t, res.Totals.PublishErrors)
	assert.True(t, res.Totals.Drained)
	assert.Equal(t, res.Totals.Published, res.Totals.Consumed, "consumed == produced")
	assert.Equal(t, res.Totals.ExpectedConsumed, res.Totals.Consumed)
	assert.Greater(t, res.AggregatedPublishLatency99pct, 0.0)
	assert.Greater(t, res.AggregatedEndToEndLatency50pct, 0.0)
	assert.NotEmpty(t, res.AggregatedPublishLatencyQuantiles)
	assert.Equal(t, 3, res.Setup.Target.Brokers)
	assert.Equal(t, 3, res.Setup.ReplicationFactor)
	assert.Equal(t, "none", res.Setup.Target.Durability.Fsync)
	assert.NotNil(t, res.Setup.PhysicalLimits)
	assert.Contains(t, log.String(), "Pub rate")

	path := filepath.Join(opts.ResultDir, res.FileName())
	assert.True(t, strings.HasPrefix(filepath.Base(path), "test-workload-kfake-"), path)
	back, err := ReadResult(path)
	require.NoError(t, err)
	assert.Equal(t, res, back)
	all, err := ReadResults(opts.ResultDir)
	require.NoError(t, err)
	assert.Len(t, all, 1)
}

// Direct assignment, two subscriptions of two consumers each: every
// subscription receives everything.
func TestRunAssignTwoSubscriptions(t *testing.T) {
	w := smallWorkload(t, `
name: assign
topics: 2
partitionsPerTopic: 3
messageSize: 4
subscriptionsPerTopic: 2
consumerPerSubscription: 2
producersPerTopic: 1
producerRate: 500
testDurationMinutes: 1
driver:
  consumerMode: assign
  acks: "1"
  lingerMs: 0
`, time.Second)
	res, err := RunTarget(context.Background(), w, NewKfakeTarget(KfakeConfig{Brokers: 1}), quickOptions())
	require.NoError(t, err)
	assert.True(t, res.Totals.Drained)
	assert.Equal(t, 2*res.Totals.Published, res.Totals.Consumed)
	assert.Equal(t, 1, res.Setup.ReplicationFactor)
	assert.Equal(t, "false", res.Setup.ClientConfigs["enable.idempotence"])
	// 4-byte payloads carry the send time in a header: e2e is still measured.
	assert.Greater(t, res.AggregatedEndToEndLatencyMax, 0.0)
}

// producerRate 0: the rate controller moves the target rate.
func TestRunMaxRate(t *testing.T) {
	w := smallWorkload(t, `
name: max rate
topics: 1
partitionsPerTopic: 2
messageSize: 100
subscriptionsPerTopic: 1
consumerPerSubscription: 1
producersPerTopic: 1
producerRate: 0
testDurationMinutes: 1
`, 1500*time.Millisecond)
	opts := quickOptions()
	opts.RateControlPeriod = 200 * time.Millisecond
	res, err := RunTarget(context.Background(), w, NewKfakeTarget(KfakeConfig{Brokers: 1}), opts)
	require.NoError(t, err)
	require.NotEmpty(t, res.TargetRate)
	t.Logf("target rates %v, publish rates %v", res.TargetRate, res.PublishRate)
	rates := map[float64]bool{}
	for _, r := range res.TargetRate {
		rates[r] = true
	}
	assert.Greater(t, len(rates), 1, "the target rate moved: %v", res.TargetRate)
	assert.GreaterOrEqual(t, res.Totals.Consumed, res.Totals.Published)
}

// consumerBacklogSizeGB: consumers pause until the backlog is built, then
// drain it, and the measured phase lasts until the drain plus the test
// duration. Built in megabytes here rather than gigabytes.
func TestRunBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and drains a backlog")
	}
	w := smallWorkload(t, `
name: backlog
topics: 1
partitionsPerTopic: 2
messageSize: 100
subscriptionsPerTopic: 1
consumerPerSubscription: 1
producersPerTopic: 1
producerRate: 4000
consumerBacklogSizeGB: 1
backlogDrainRatio: 1.0
testDurationMinutes: 1
`, 500*time.Millisecond)
	opts := quickOptions()
	opts.backlogUnitBytes = 400_000 // 4,000 messages of 100 bytes: about 1 s of load
	res, err := RunTarget(context.Background(), w, NewKfakeTarget(KfakeConfig{Brokers: 1}), opts)
	require.NoError(t, err)
	t.Logf("backlog %v, consume rates %v", res.Backlog, res.ConsumeRate)
	assert.GreaterOrEqual(t, slices.Max(res.Backlog), int64(2000), "a backlog was built: %v", res.Backlog)
	assert.Greater(t, res.Duration(), time.Second, "the phase ran past its 500 ms")
	assert.Equal(t, res.Totals.Published, res.Totals.Consumed)
}
