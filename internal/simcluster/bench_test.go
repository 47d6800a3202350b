package simcluster

import (
	"runtime/debug"
	"testing"
	"time"
)

// BenchmarkDefaultScenario runs issue 5's speed scenario: 3 brokers, 60
// simulated seconds of faults, about 1,000 produced records per simulated
// second (4 producers × 250), a consumer, then healing and read-back. It
// reports simulated time over wall time (the target is ≥ 300× on one
// core: run it with -cpu 1) and the ops per wall second.
//
//	go test -run '^$' -bench DefaultScenario -benchtime 3x -cpu 1 ./internal/simcluster/
func BenchmarkDefaultScenario(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as gregor sim runs
	var sim, wall time.Duration
	ops := 0
	for i := range b.N {
		o := DefaultOptions(uint64(i + 1))
		o.Safety = 60 * time.Second
		o.Producers, o.RecordsPerSecond, o.BatchRecordsMax = 4, 250, 20
		start := time.Now()
		r := Run(o)
		wall += time.Since(start)
		sim += r.SimTime
		ops += r.Ops()
		if r.Verdict != Pass {
			b.Fatalf("seed %d: %s: %s", r.Seed, r.Verdict, r.Problem)
		}
	}
	b.ReportMetric(sim.Seconds()/wall.Seconds(), "x-real-time")
	b.ReportMetric(float64(ops)/wall.Seconds(), "ops/s")
	b.ReportMetric(float64(b.N)/wall.Minutes(), "seeds/min")
}
