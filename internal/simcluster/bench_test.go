package simcluster

import (
	"runtime/debug"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/checker/queue"
)

// BenchmarkDefaultScenario runs issue 5's speed scenario: 3 brokers, 60
// simulated seconds of faults, about 1,000 produced records per simulated
// second (4 producers × 250), a consumer, then healing and read-back. It
// reports simulated time over wall time (the target is ≥ 300× on one
// core: run it with -cpu 1) and the ops per wall second.
//
// To show where the time goes it then times the history checks (the
// Jepsen analysis and Porcupine) again on each run's history, and reports
// them per seed and the ratio without them (x-real-time-sim-only).
//
//	go test -run '^$' -bench DefaultScenario -benchtime 3x -cpu 1 ./internal/simcluster/
func BenchmarkDefaultScenario(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as gregor sim runs
	var sim, wall, check time.Duration
	ops := 0
	for i := range b.N {
		o := DefaultOptions(uint64(i + 1))
		o.Safety = 60 * time.Second
		o.Producers, o.RecordsPerSecond, o.BatchRecordsMax = 4, 250, 20
		// Without disk faults, as measured before they joined the default
		// mix: a failing disk makes the brokers do less work (about 30%
		// fewer ops per run), which would flatter the ratio.
		o.Faults.Disks = false
		start := time.Now()
		r := Run(o)
		wall += time.Since(start)
		sim += r.SimTime
		ops += r.Ops()
		if r.Verdict != Pass {
			b.Fatalf("seed %d: %s: %s", r.Seed, r.Verdict, r.Problem)
		}
		b.StopTimer()
		check += timeChecks(b, r)
		b.StartTimer()
	}
	b.ReportMetric(sim.Seconds()/wall.Seconds(), "x-real-time")
	b.ReportMetric(float64(ops)/wall.Seconds(), "ops/s")
	b.ReportMetric(float64(b.N)/wall.Minutes(), "seeds/min")
	b.ReportMetric(float64(check.Milliseconds())/float64(b.N), "check-ms/seed")
	b.ReportMetric(sim.Seconds()/(wall-check).Seconds(), "x-real-time-sim-only")
}

// timeChecks runs the checks Run ran on r's history again and times them.
func timeChecks(b *testing.B, r Result) time.Duration {
	start := time.Now()
	if _, err := queue.Analyze(r.History, queue.Options{}); err != nil {
		b.Fatal(err)
	}
	if _, err := queue.CheckLinearizable(r.History, DefaultOptions(0).withDefaults().PorcupineTimeout); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
