package bench

import (
	"fmt"
	"time"
)

// Phase is a part of a run.
type Phase string

const (
	PhaseWarmup Phase = "warmup" // load runs, nothing is kept
	PhaseTest   Phase = "test"   // the measured phase
)

// Progress is one window's statistics, reported as the run goes (for a
// progress bar or a log line).
type Progress struct {
	Phase Phase
	// Window counts the phase's windows from 0.
	Window int
	// Elapsed is the time since the phase started; Duration is the
	// phase's planned length (a backlog phase can run past it).
	Elapsed, Duration time.Duration
	// TargetRate is the producers' total target rate in msg/s.
	TargetRate float64
	// Rates in msg/s and payload bytes/s.
	PublishRate, PublishErrorRate, ConsumeRate float64
	PublishBytesRate, ConsumeBytesRate         float64
	// Backlog is subscriptions × published − consumed, in messages.
	Backlog int64
	// Latencies of the window.
	PublishLatency, PublishDelay, EndToEnd LatencySummary
}

// LatencySummary is a window's latency distribution in brief.
type LatencySummary struct {
	Avg, P50, P99, P999, Max time.Duration
}

func latencySummary(s latencyStats) LatencySummary {
	us := func(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
	return LatencySummary{Avg: us(s.Avg), P50: us(s.P50), P99: us(s.P99), P999: us(s.P999), Max: us(s.Max)}
}

// String is an OMB-style log line.
func (p Progress) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return fmt.Sprintf("%-6s %6.1fs | Pub rate %9.1f msg/s / %7.2f MB/s | Pub err %6.1f err/s | Cons rate %9.1f msg/s / %7.2f MB/s | Backlog %8.1f K"+
		" | Pub Latency (ms) avg %6.2f p50 %6.2f p99 %6.2f p99.9 %6.2f max %7.2f"+
		" | Pub Delay (us) avg %8.1f p50 %8.0f p99 %8.0f p99.9 %8.0f max %8.0f"+
		" | E2E (ms) p50 %6.2f p99 %6.2f max %7.2f",
		p.Phase, p.Elapsed.Seconds(), p.PublishRate, p.PublishBytesRate/(1<<20), p.PublishErrorRate,
		p.ConsumeRate, p.ConsumeBytesRate/(1<<20), float64(p.Backlog)/1000,
		ms(p.PublishLatency.Avg), ms(p.PublishLatency.P50), ms(p.PublishLatency.P99), ms(p.PublishLatency.P999), ms(p.PublishLatency.Max),
		us(p.PublishDelay.Avg), us(p.PublishDelay.P50), us(p.PublishDelay.P99), us(p.PublishDelay.P999), us(p.PublishDelay.Max),
		ms(p.EndToEnd.P50), ms(p.EndToEnd.P99), ms(p.EndToEnd.Max))
}
