package simcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/checker/queue"
)

// defaultSeeds is the sweep's size when GREGOR_CLUSTER_SEEDS is unset
// (also under -short): about 15 s of CPU, split over the cores.
const defaultSeeds = 20

// sweepSeeds is how many seeds the sweep runs, from 1.
func sweepSeeds(t *testing.T) int {
	v := os.Getenv("GREGOR_CLUSTER_SEEDS")
	if v == "" {
		return defaultSeeds
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "GREGOR_CLUSTER_SEEDS")
	return n
}

// TestSweep runs swarm seeds (OptionsFromSeed: cluster size, layout,
// load, a safe fault mix) and requires every one to pass: no invariant
// broken, the cluster converged after the heal, every acknowledged write
// read back. GREGOR_CLUSTER_SEEDS=N runs N seeds; a failure prints the
// command that replays its seed.
func TestSweep(t *testing.T) {
	n := sweepSeeds(t)
	results := make([]Result, n)
	start := time.Now()
	t.Run("seeds", func(t *testing.T) {
		for i := range n {
			seed := uint64(i + 1)
			t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
				t.Parallel()
				r := Run(OptionsFromSeed(seed))
				results[i] = r
				if r.Verdict != Pass {
					t.Errorf("%s\n  options: %s\n  faults:\n    %s\n  replay: GREGOR_CLUSTER_SEED=%d go test -tags invariants ./internal/simcluster -run TestSeed -v",
						r.Summary(), r.Options, strings.Join(r.Faults, "\n    "), seed)
				}
			})
		}
	})
	counts := map[Verdict]int{}
	var acked, elections, events int
	for _, r := range results {
		counts[r.Verdict]++
		acked += r.Outcomes.Acked
		elections += r.Elections
		events += int(r.Events)
	}
	t.Logf("sweep: %d seeds in %s: %d pass, %d correctness, %d liveness, %d crash; %d records acked, %d leader elections, %d events",
		n, time.Since(start).Round(time.Millisecond), counts[Pass], counts[Correctness], counts[Liveness], counts[Crash], acked, elections, events)
}

// TestDeterminism runs a sample of the sweep's seeds twice: the same
// trace hash and event count, so any failure replays exactly.
func TestDeterminism(t *testing.T) {
	for _, seed := range []uint64{3, 7, 12, 18} {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			a, b := Run(OptionsFromSeed(seed)), Run(OptionsFromSeed(seed))
			require.Equal(t, a.TraceHash, b.TraceHash, "trace hash of seed %d", seed)
			require.Equal(t, a.Events, b.Events, "events of seed %d", seed)
			require.Equal(t, a.Summary(), b.Summary())
			t.Logf("%s", a.Summary())
		})
	}
}

// TestSeed replays one seed with its details: GREGOR_CLUSTER_SEED=N
// (GREGOR_CLUSTER_LOG=1 for the brokers' logs on stderr).
func TestSeed(t *testing.T) {
	v := os.Getenv("GREGOR_CLUSTER_SEED")
	if v == "" {
		t.Skip("GREGOR_CLUSTER_SEED is not set")
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	require.NoError(t, err)
	o := OptionsFromSeed(seed)
	if os.Getenv("GREGOR_CLUSTER_LOG") != "" {
		o.Log = os.Stderr
	}
	r := Run(o)
	t.Logf("options: %s\n%s", r.Options, r.Summary())
	for _, f := range r.Faults {
		t.Logf("fault %s", f)
	}
	for _, v := range r.Violations {
		t.Logf("violation %s", v)
	}
	for _, l := range r.Losses {
		t.Logf("loss %s", l)
	}
	require.Equal(t, Pass, r.Verdict, r.Problem)
}

// TestUnsafeModesRecordLosses runs the unsafe modes on seeds where they
// do lose data (unclean elections, and power-loss crashes with Kafka's
// default flush policy, both with min.insync.replicas 1): the run passes
// only if every acknowledged write missing at the end is a loss the
// monitors recorded as allowed, and nothing else breaks.
func TestUnsafeModesRecordLosses(t *testing.T) {
	for _, c := range []struct {
		mode string
		seed uint64
	}{{"unclean", 18}, {"fsync-loss", 28}} {
		t.Run(fmt.Sprintf("%s/%d", c.mode, c.seed), func(t *testing.T) {
			t.Parallel()
			o := OptionsFromSeed(c.seed)
			o.MinISR = 1
			o.Faults.Crashes = true
			// The seeds were picked before clogs and slow disks joined the
			// swarm; those would change their schedules.
			o.Faults.Clogs, o.Faults.SlowDisks = false, false
			o.Unclean, o.FsyncLoss = c.mode == "unclean", c.mode == "fsync-loss"
			r := Run(o)
			require.Equal(t, Pass, r.Verdict, "%s\n%s", r.Summary(), strings.Join(r.Faults, "\n"))
			require.NotEmpty(t, r.Losses, "the seed is meant to lose data: %s", r.Summary())
			t.Logf("%s: %d acknowledged records lost, %d losses recorded (first: %s), unclean elections %v",
				r.Summary(), r.Lost, len(r.Losses), r.Losses[0], r.Unclean)
		})
	}
}

// TestNonIdempotentProducersMayDuplicate: acks=all producers without
// idempotence retry into duplicates, as Kafka documents. The run must
// show one (or the producers were idempotent after all), report it as
// allowed, and pass; their acknowledged writes are still checked for loss.
func TestNonIdempotentProducersMayDuplicate(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		o := OptionsFromSeed(seed)
		o.Acks, o.NonIdempotent = -1, true
		r := Run(o)
		require.Equal(t, Pass, r.Verdict, r.Summary())
		for _, a := range r.Anomalies {
			if a.Kind == queue.Duplicate {
				require.True(t, a.Allowed, "%s", a.Explanation)
				require.NotEmpty(t, a.Witness)
				t.Logf("seed %d: %s (allowed)", seed, a.Explanation)
				return
			}
		}
	}
	t.Fatal("no seed of 20 retried into a duplicate: are the producers idempotent?")
}

// TestScenarioReplaysTheSeed: a seed's run written as a scenario file
// (options and the schedule it played) and read back runs the same: same
// verdict, same trace hash.
func TestScenarioReplaysTheSeed(t *testing.T) {
	for _, seed := range []uint64{3, 11} {
		o := OptionsFromSeed(seed)
		o.Safety = 8 * time.Second
		first := Run(o)
		path := filepath.Join(t.TempDir(), "s.yaml")
		require.NoError(t, WriteScenario(path, ScenarioOf(o, &first.Schedule)))
		sc, err := LoadScenario(path)
		require.NoError(t, err)
		again, err := sc.Options()
		require.NoError(t, err)
		second := Run(again)
		require.Equal(t, first.Verdict, second.Verdict, "seed %d", seed)
		require.Equal(t, first.TraceHash, second.TraceHash, "seed %d: %s\nvs\n%s", seed, first.Options, second.Options)
	}
}

// FuzzRun lets the fuzzer choose the seed and a few options of a short
// run; every safe run must pass. go test -fuzz FuzzRun -fuzztime 10m
// ./internal/simcluster/ (each input is a whole cluster run, about a
// second).
func FuzzRun(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(2), uint8(0))
	f.Add(uint64(7), uint8(5), uint8(4), uint8(31))
	f.Fuzz(func(t *testing.T, seed uint64, brokers, partitions, mix uint8) {
		o := OptionsFromSeed(seed)
		o.Brokers = 3 + 2*int(brokers%2)
		o.Partitions = 1 + int32(partitions%4)
		o.Faults.Partitions, o.Faults.Crashes, o.Faults.Stops = mix&1 != 0, mix&2 != 0, mix&4 != 0
		o.Faults.Pauses, o.Faults.Clocks = mix&8 != 0, mix&16 != 0
		o.Safety = 6 * time.Second
		r := Run(o)
		if r.Verdict != Pass {
			t.Fatalf("%s\n%s", r.Options, r.Summary())
		}
	})
}
