package simcluster

import (
	"slices"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
)

// TestUpdateStateMatchesState steps a faulty run event by event. After
// every event, each up broker's Broker.UpdateState on a kept copy must
// give what a fresh Broker.State gives and flag every leader, epoch or
// ISR change, and the observer's views (kept the same way) must match.
func TestUpdateStateMatchesState(t *testing.T) {
	o := DefaultOptions(2).withDefaults()
	o.Safety = 30 * time.Second
	c, err := NewCluster(o.clusterConfig())
	require.NoError(t, err)
	rn := &runner{o: o, c: c, r: c.s.Seeds().Stream("simcluster/workload")}
	require.Empty(t, rn.setup())
	rn.safety()
	sch := c.s.Scheduler()
	kept := make([]*broker.State, len(c.brokers))
	compared, roleChanges := 0, 0
	for sch.StepUntil(rn.stopAt) {
		c.obs.after(sch.Last())
		for i, v := range c.obs.views {
			b := c.Broker(i)
			if b == nil || c.brokers[i].State() == sim.Down {
				require.False(t, v.Up, "broker %d is down but its view is up", i)
				kept[i] = nil
				continue
			}
			fresh := b.State()
			require.True(t, sameState(v.State, fresh), "after event %d: broker %d's view differs from its state", c.s.Events(), i)
			if kept[i] == nil {
				kept[i] = &fresh
				continue
			}
			before := *kept[i]
			before.Partitions = slices.Clone(before.Partitions) // UpdateState writes the replicas' scalars in place
			changed, moved := b.UpdateState(kept[i])
			require.True(t, sameState(*kept[i], fresh), "after event %d: broker %d: UpdateState differs from State", c.s.Events(), i)
			if !sameState(before, fresh) {
				require.True(t, changed, "after event %d: broker %d changed unflagged", c.s.Events(), i)
			}
			if rolesDiffer(before.Partitions, fresh.Partitions) {
				roleChanges++
				require.True(t, moved, "after event %d: broker %d's roles moved unflagged", c.s.Events(), i)
			}
			compared++
		}
	}
	t.Logf("compared %d states, %d role changes, %d events", compared, roleChanges, c.s.Events())
	require.Greater(t, compared, 10_000)
	require.Greater(t, roleChanges, 5, "the run should move leaders and ISRs")
}
