package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/bench"
)

// gregorInProcess runs the CLI in this process (no binary to build) and
// returns what it printed, stdout and stderr together.
func gregorInProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

// TestBenchSweep: gregor bench --sweep on the synthetic target at two
// rates writes one result per rate, each recording its step and rate,
// and gregor report draws them as a sweep.
func TestBenchSweep(t *testing.T) {
	dir := t.TempDir()
	out, err := gregorInProcess(t, "bench", "--workload", "1-topic-1-partition-1kb", "--target", "synthetic:ackDelay=2ms",
		"--sweep", "2k,500", "--duration", "2s", "--warmup", "0s", "--window", "1s", "--limits-duration", "-1s", "--out", dir)
	require.NoError(t, err, out)
	for _, want := range []string{"sweep step 1/2: 500 msg/s", "sweep step 2/2: 2000 msg/s", "-rate-500-", "-rate-2000-"} {
		assert.Contains(t, out, want)
	}

	results, err := bench.ReadResults(dir)
	require.NoError(t, err)
	require.Len(t, results, 2, "one result file per rate")
	byRate := map[float64]*bench.Result{}
	for _, r := range results {
		require.NotNil(t, r.Setup.Sweep, r.FileName())
		assert.Equal(t, 2, r.Setup.Sweep.Steps)
		assert.Equal(t, r.Setup.Sweep.RateMsgPerSec, r.Setup.Workload.ProducerRate, "the step's rate is the run's producerRate")
		byRate[r.Setup.Sweep.RateMsgPerSec] = r
	}
	require.Contains(t, byRate, 500.0)
	require.Contains(t, byRate, 2000.0)
	assert.Greater(t, byRate[2000].MeanPublishRate(), 2*byRate[500].MeanPublishRate(), "each step ran at its own rate")

	report := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, runReport(dir, report))
	page, err := os.ReadFile(report)
	require.NoError(t, err)
	html := string(page)
	for _, want := range []string{"<h3>Throughput against latency</h3>", "synthetic @ 500 msg/s", "synthetic @ 2,000 msg/s"} {
		assert.Contains(t, html, want)
	}
	assert.Equal(t, 9, strings.Count(html, "<img "), "5 time series, 3 quantile curves and the sweep")
}

// TestBenchSweepUsage: bad --sweep values are refused before anything
// runs, with a message that names the flag and what it wants.
func TestBenchSweepUsage(t *testing.T) {
	backlog := filepath.Join(t.TempDir(), "backlog.yaml")
	require.NoError(t, os.WriteFile(backlog, []byte("name: backlog\ntopics: 1\npartitionsPerTopic: 1\nmessageSize: 100\n"+
		"subscriptionsPerTopic: 1\nproducersPerTopic: 1\nconsumerPerSubscription: 1\nproducerRate: 1000\nconsumerBacklogSizeGB: 1\ntestDurationMinutes: 1\n"), 0o644))
	for _, tc := range []struct {
		workload, sweep, want string
	}{
		{"1-topic-1-partition-1kb", "20000", "--sweep: give two rates or more"},
		{"1-topic-1-partition-1kb", "10k,fast", `--sweep: "fast" is not a positive rate in msg/s (such as 20000 or 20k)`},
		{"1-topic-1-partition-1kb", "10k,-1k", `--sweep: "-1k" is not a positive rate`},
		{"1-topic-1-partition-1kb", "5k,5000", "--sweep: rate 5000 is given twice"},
		{"1-topic-1-partition-1kb", "auto:0.5", "--sweep: give two fractions or more"},
		{"1-topic-1-partition-1kb", "auto:0.5,20", `--sweep: "20" is not a fraction of the maximum rate in (0, 10]`},
		{"1-topic-1-partition-1kb", " ", "--sweep: empty"},
		{backlog, "auto", "--sweep auto: workload backlog builds a backlog"},
	} {
		t.Run(tc.sweep, func(t *testing.T) {
			dir := t.TempDir()
			_, err := gregorInProcess(t, "bench", "--workload", tc.workload, "--target", "kfake", "--sweep", tc.sweep, "--out", dir)
			require.ErrorContains(t, err, tc.want)
			entries, _ := os.ReadDir(dir)
			assert.Empty(t, entries, "nothing ran")
		})
	}
}
