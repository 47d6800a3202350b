package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/checker/history"
	"github.com/gregor-dst/gregor/internal/simcluster"
)

// writeFaultsScenario writes faultsScenario (seed 5, fails liveness) to
// a file and returns its path.
func writeFaultsScenario(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "faults.yaml")
	require.NoError(t, os.WriteFile(path, []byte(faultsScenario), 0o644))
	return path
}

// readResultJSON reads a gregor sim --out seed directory's result.json.
func readResultJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(data, &v))
	return v
}

// gregor sim --scenario FILE runs and names the file's seed, not 0;
// a --seed flag replaces it.
func TestSimScenarioPrintsItsSeed(t *testing.T) {
	scenario := writeFaultsScenario(t)
	out, err := gregorInProcess(t, "sim", "--scenario", scenario)
	var ex *exitError
	require.ErrorAs(t, err, &ex, out)
	assert.Contains(t, out, "gregor sim: seed 5\n")
	assert.Contains(t, out, "\nseed 5: liveness")
	assert.NotContains(t, out, "seed 0")

	out, err = gregorInProcess(t, "sim", "--scenario", scenario, "--seed", "9")
	require.ErrorAs(t, err, &ex, out)
	assert.Contains(t, out, "gregor sim: seed 9\n")
	assert.Contains(t, out, "\nseed 9: ")
}

// The replay line that gregor sim --out keeps in result.json is the one
// it prints: built from the run's flags (--scenario, --safety), not
// from none. The result also records the safety phase's start.
func TestSimOutReplayKeepsFlags(t *testing.T) {
	scenario := writeFaultsScenario(t)
	dir := t.TempDir()
	out, err := gregorInProcess(t, "sim", "--scenario", scenario, "--safety", "8s", "--out", dir)
	var ex *exitError
	require.ErrorAs(t, err, &ex, out)
	want := "go run ./cmd/gregor sim --seed 5 --scenario " + scenario + " --safety 8s"
	assert.Contains(t, out, "  replay: "+want+"\n")
	res := readResultJSON(t, filepath.Join(dir, "seed-5", "result.json"))
	assert.Equal(t, want, res["replay"])
	start, ok := res["safety_start_ns"].(float64)
	require.True(t, ok, "safety_start_ns recorded: %v", res)
	assert.Positive(t, start, "the phase starts once the cluster is set up")
	assert.Less(t, start/1e9, res["sim_seconds"].(float64))
}

// A planted bug reaches the kept replay line (in a normal build there is
// no --plant flag to run it end to end, so keepRun is called directly).
func TestKeepRunReplayPlant(t *testing.T) {
	dir := t.TempDir()
	f := simFlags{outDir: dir, scenario: "regress.yaml", plant: "ack-before-isr"}
	o := simcluster.DefaultOptions(3)
	o.Safety = 2 * time.Second
	run := simcluster.Run(o)
	run.Verdict = simcluster.Correctness
	r := seedResult{Result: run, opts: o, verdict: string(simcluster.Correctness)}
	require.NoError(t, keepRun(f, r))
	// The trace is the run's, event by event: its last line carries the
	// run's hash, and it has a line per event.
	trace, err := os.ReadFile(filepath.Join(dir, "seed-3", "trace.txt"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(trace)), "\n")
	assert.Len(t, lines, int(run.Events))
	assert.True(t, strings.HasSuffix(lines[len(lines)-1], fmt.Sprintf(" %016x", run.TraceHash)), lines[len(lines)-1])
	res := readResultJSON(t, filepath.Join(dir, "seed-3", "result.json"))
	assert.Equal(t, "go run -tags planted ./cmd/gregor sim --seed 3 --scenario regress.yaml --plant ack-before-isr", res["replay"])
	sc, err := os.ReadFile(filepath.Join(dir, "seed-3", "scenario.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(sc), "plant: ack-before-isr")
}

// TestFailingKeysIncludePorcupineIllegal: a partition Porcupine found
// illegal is visualized even with no anomaly the analysis sees (here a
// send lands below one that finished before it began).
func TestFailingKeysIncludePorcupineIllegal(t *testing.T) {
	k := history.Key{Topic: "t", Partition: 0}
	b := history.NewBuilder()
	send := func(p int, v, off int64) {
		b.Invoke(p, history.Send, history.Sends(history.NewSend(k, v)))
		b.Ok(p, history.Sends(history.AckedSend(k, v, off)))
	}
	send(0, 10, 1)
	send(1, 11, 0)
	b.Invoke(2, history.Poll, history.Value{})
	b.Ok(2, history.Polls(history.Polled{Key: k, Records: []history.Record{{Offset: 0, Value: 11}, {Offset: 1, Value: 10}}}))
	r := seedResult{Result: simcluster.Result{History: b.Ops(), Linearizable: "illegal: t-0"}}
	keys, err := failingKeys(r)
	require.NoError(t, err)
	require.Equal(t, []history.Key{k}, keys)
	r.Linearizable = "ok"
	keys, err = failingKeys(r)
	require.NoError(t, err)
	require.Empty(t, keys)
}
