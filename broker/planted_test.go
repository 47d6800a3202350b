package broker_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/internal/simcluster"
)

// TestPlantedBugsAreCaught plants a broker bug and runs the cluster sweep
// of internal/simcluster until a seed fails it as a correctness
// violation: the monitors must be able to see each bug, or a passing
// sweep proves nothing. The bugs are off in every other build
// (export_test.go).
//
// Acknowledging acks=all before the ISR has the batch shows only when a
// leader loses its leadership with such a write on it alone; with fsync
// on every message the leader's own fsync is usually slower than its
// followers' fetch, which hides the bug, so that case runs Kafka's
// default flush policy (and therefore no power-loss crashes). It is
// caught by about one seed in ten; ignoring min.insync.replicas by the
// first seed whose faults shrink an ISR; ignoring the dedup window by the
// first seed where a producer retries a batch the leader already has.
func TestPlantedBugsAreCaught(t *testing.T) {
	cases := []struct {
		bug          string
		defaultFlush bool
		want         []string // invariants that may catch it
	}{
		{"ack-before-isr", true, []string{"R6 no loss of committed data", simcluster.LostWrite}},
		{"ignore-min-isr", false, []string{"R5 acks=all admission"}},
		{"ignore-dedup", false, []string{simcluster.Duplicate}},
	}
	for _, c := range cases {
		t.Run(c.bug, func(t *testing.T) {
			const seedsMax = 40
			for seed := uint64(1); seed <= seedsMax; seed++ {
				o := simcluster.OptionsFromSeed(seed)
				if c.defaultFlush {
					o.FlushEveryMessage, o.Faults.Crashes = false, false
				}
				o.Broker = func(cfg *broker.Config) { require.NoError(t, broker.PlantBug(cfg, c.bug)) }
				r := simcluster.Run(o)
				if r.Verdict == simcluster.Pass {
					continue
				}
				require.Equal(t, simcluster.Correctness, r.Verdict, r.Summary())
				require.Contains(t, c.want, r.Violations[0].Invariant, r.Summary())
				t.Logf("caught by seed %d: %s", seed, r.Problem)
				return
			}
			t.Fatalf("no seed of %d caught %s", seedsMax, c.bug)
		})
	}
}

// TestRegressionScenarios replays the shrunk scenarios in
// testdata/regress (written by gregor shrink): one with a planted bug
// must still fail the same check, and one that caught a real bug, since
// fixed, must pass. The trace hash is not compared here,
// since every change to the broker moves it; gregor replay compares it on
// one build.
func TestRegressionScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/regress/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			sc, err := simcluster.LoadScenario(path)
			require.NoError(t, err)
			require.NotNil(t, sc.Expect, "the scenario records its outcome")
			o, err := sc.Options()
			require.NoError(t, err)
			if sc.Plant != "" {
				o.Broker = func(cfg *broker.Config) { require.NoError(t, broker.PlantBug(cfg, sc.Plant)) }
			}
			r := simcluster.Run(o)
			require.Equal(t, sc.Expect.Verdict, string(r.Verdict), r.Summary())
			require.Equal(t, sc.Expect.Check, r.Check(), r.Summary())
		})
	}
}
