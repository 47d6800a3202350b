package simcluster

import (
	"reflect"
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

// TestSameStateComparesEveryField guards sameState, which lists the
// fields of broker.State by hand (for speed under the invariants tag): a
// field added to the state must be compared, or UpdateState could leave it
// stale and TestUpdateStateMatchesState would not notice.
func TestSameStateComparesEveryField(t *testing.T) {
	base := func() broker.State {
		return broker.State{NodeID: 1, BrokerEpoch: 2, Partitions: []broker.PartitionState{{
			Topic: "t", Partition: 3, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 5,
			Replicas: []int32{1, 2}, ISR: []int32{1}, LogStart: 6, HW: 7, LEO: 8, Flushed: 7,
			Epochs: []broker.EpochStart{{Epoch: 4, StartOffset: 0}},
		}}}
	}
	require.True(t, sameState(base(), base()))
	perturbed := 0
	for _, target := range []string{"State", "PartitionState"} {
		probe := base()
		typ := reflect.TypeOf(probe)
		if target == "PartitionState" {
			typ = reflect.TypeOf(probe.Partitions[0])
		}
		for i := range typ.NumField() {
			st := base()
			v := reflect.ValueOf(&st).Elem()
			if target == "PartitionState" {
				v = reflect.ValueOf(&st.Partitions[0]).Elem()
			}
			f := v.Field(i)
			if !f.CanSet() {
				continue
			}
			perturb(t, f)
			perturbed++
			require.False(t, sameState(base(), st), "sameState ignores %s.%s", target, typ.Field(i).Name)
		}
	}
	require.Greater(t, perturbed, 10)
}

// perturb changes a field to a different value of its type.
func perturb(t *testing.T, f reflect.Value) {
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(f.Int() + 1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.SetUint(f.Uint() + 1)
	case reflect.String:
		f.SetString(f.String() + "x")
	case reflect.Array:
		perturb(t, f.Index(0))
	case reflect.Slice:
		f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
	default:
		t.Fatalf("perturb: no rule for %s; add one", f.Type())
	}
}
