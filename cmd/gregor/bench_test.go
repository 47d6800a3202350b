package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/bench"
)

// TestBenchCommand runs gregor bench on the synthetic target (a known 5 ms
// ack delay) for a few seconds and reads its result back; and refuses bad
// usage with a clear message.
func TestBenchCommand(t *testing.T) {
	bin := gregorBinary(t)
	out := t.TempDir()
	cmd := exec.Command(bin, "bench", "--workload", "1-topic-1-partition-1kb", "--target", "synthetic:ackDelay=5ms",
		"--duration", "3s", "--warmup", "0s", "--window", "1s", "--limits-duration", "-1s", "--out", out)
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	results, err := bench.ReadResults(out)
	require.NoError(t, err)
	require.Len(t, results, 1)
	r := results[0]
	require.NotEmpty(t, r.PublishRate)
	require.GreaterOrEqual(t, r.AggregatedPublishLatency50pct, 5.0, "the injected 5 ms ack delay")

	for _, args := range [][]string{
		{"bench", "--target", "kfake", "--out", out},
		{"bench", "--workload", "1-topic-1-partition-1kb", "--out", out},
		{"bench", "--workload", "no-such-workload", "--target", "kfake", "--out", out},
		{"bench", "--workload", "1-topic-1-partition-1kb", "--target", "kafka:version=1", "--out", out},
		{"bench", "--workload", "1-topic-1-partition-1kb", "--target", "gregor:brokers=0", "--out", out},
		{"bench", "--workload", "1-topic-1-partition-1kb", "--target", "kfake"},
	} {
		msg, err := exec.Command(bin, args...).CombinedOutput()
		require.Error(t, err, "%v", args)
		require.Contains(t, string(msg), "gregor: ", "%v: %s", args, msg)
	}
}

// TestBenchOutNotADirectory: an --out that cannot be created fails
// before any run, naming what it was for.
func TestBenchOutNotADirectory(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	cmd := newBenchCmd()
	cmd.SetArgs([]string{"--workload", "1-topic-1-partition-1kb", "--target", "kfake",
		"--out", filepath.Join(root, "file", "results")})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	require.ErrorContains(t, cmd.Execute(), "creating the results directory")
}
