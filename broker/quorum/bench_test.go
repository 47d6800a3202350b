package quorum

import (
	"fmt"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/env"
	"github.com/stretchr/testify/require"
)

// BenchmarkCommit measures a 3-voter quorum on a LAN (50–200 µs one way)
// with fsyncs of 0.2–2 ms: b.N proposals kept `window` in flight by a
// closed loop on the leader. It reports commits per simulated second
// (the protocol's throughput in the modelled world) and simulated latency
// per commit; ns/op is the wall time the simulator spends per commit.
func BenchmarkCommit(b *testing.B) {
	for _, window := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("voters=3/window=%d", window), func(b *testing.B) {
			c := newCluster(b, clusterOpts{seed: 1, voters: 3, disk: slowDisk})
			l := c.waitLeader(10 * time.Second)
			acked, sent := 0, 0
			var loop func(n *Node)
			loop = func(n *Node) {
				if sent >= b.N {
					return
				}
				sent++
				n.Propose([]byte("benchmark-entry"), func(_ int64, err error) {
					require.NoError(b, err)
					acked++
					loop(n)
				})
			}
			b.ResetTimer()
			start, events := c.s.Now(), c.s.Events()
			c.s.Call(c.hosts[l], func(p env.Process) {
				for range window {
					loop(p.(*Node))
				}
			})
			require.NoError(b, c.s.RunWhile(func() bool { return acked < b.N }))
			b.StopTimer()
			require.Equal(b, b.N, acked)
			took := (c.s.Now() - start).Duration()
			b.ReportMetric(float64(b.N)/took.Seconds(), "commits/sim-s")
			b.ReportMetric(float64(c.s.Events()-events)/float64(b.N), "events/commit")
			b.ReportMetric(float64(took.Microseconds())/float64(b.N)*float64(window), "sim-µs/commit-latency")
		})
	}
}
