package replication

import (
	"reflect"
	"slices"
	"testing"

	"github.com/gregor-dst/gregor/broker"
)

// TestLogPassIsIncremental: the log pass reads each batch about once per
// replica (scan), once per ISR follower (R3) and once on the leader (R6),
// not once per observation.
func TestLogPassIsIncremental(t *testing.T) {
	const batches = 300
	c := newCluster(t, 3, true)
	c.observe()
	for range batches {
		b := c.produce(1, 1)
		c.replicate(1)
		c.ack(1, b, 2)
		c.observe()
	}
	if len(c.got) > 0 {
		t.Fatalf("violations: %+v", c.got)
	}
	// 3 scans + 2 R3 comparisons + 1 R6 verification per batch, and a
	// batch or so per pass where a walk stops.
	if bound := 6*batches + 2*batches; c.reads > bound {
		t.Fatalf("%d batches read for %d batches in %d observations, want at most %d", c.reads, batches, batches+1, bound)
	}
	t.Logf("%d batch reads for %d batches", c.reads, batches)
}

// TestRescanFindsSilentRewrites: a follower's batch replaced between
// observations by one of the same offsets and epoch leaves its LEO and
// epoch cache as they were, so the incremental pass cannot see it; Rescan
// reads every log again.
func TestRescanFindsSilentRewrites(t *testing.T) {
	c := newCluster(t, 3, true)
	c.observe()
	c.produce(1, 1)
	c.produce(1, 1)
	c.replicate(1)
	c.observe()
	c.node(3).part.log[1].CRC++
	c.observe()
	if len(c.got) > 0 {
		t.Fatalf("the incremental pass saw it: %+v", c.got)
	}
	got := c.m.Rescan(c.snapshot())
	if !slices.ContainsFunc(got, func(v Violation) bool { return v.Invariant == R1 }) ||
		!slices.ContainsFunc(got, func(v Violation) bool { return v.Invariant == R9 }) {
		t.Fatalf("rescan: %+v, want R1 (two epoch-1 batches at offset 1) and R9 (offset 1 committed twice)", got)
	}
}

// TestLogEvery: with LogEvery 4 the log checks run on the fourth
// observation, and the cheap ones on every one.
func TestLogEvery(t *testing.T) {
	c := newCluster(t, 3, true)
	c.m, c.logs = New(Config{LogEvery: 4}), false
	c.observe() // 1
	c.produce(1, 1)
	c.fetch(2, 1)
	c.append(3, 1, 1, 5) // two epoch-1 batches at offset 0
	c.observe()          // 2
	c.ps(2).HW = 1       // above the leader's HW 0: a cheap check
	c.observe()          // 3
	if len(c.got) != 1 || c.got[0].Invariant != R4 {
		t.Fatalf("after 3 observations: %+v, want the R4 violation only", c.got)
	}
	c.observe() // 4
	if len(c.got) != 2 || c.got[1].Invariant != R1 {
		t.Fatalf("after 4 observations: %+v, want R1 from the log pass", c.got)
	}
}

// TestSingleNodeLossyRestart: a single-node broker keeps its epoch across
// a crash that drops its unflushed tail and rewrites those offsets in the
// same epoch. Under FsyncLoss that is a loss of the acknowledged writes,
// not two writers of the epoch.
func TestSingleNodeLossyRestart(t *testing.T) {
	for _, fsyncLoss := range []bool{true, false} {
		c := newCluster(t, 1, false)
		c.allow.FsyncLoss = fsyncLoss
		c.observe()
		var acked []broker.BatchInfo
		for range 3 {
			b := c.produce(1, 1)
			c.commit(1)
			c.ack(1, b, 1)
			acked = append(acked, b)
			if b.BaseOffset == 0 {
				c.flush(1)
			}
			c.observe()
		}
		c.crash(1)
		c.observe()
		c.restart(1)
		c.ps(1).HW = c.ps(1).LEO
		c.observe()
		c.append(1, 1, 1, 1)
		c.append(1, 1, 1, 1)
		c.commit(1)
		c.observe()
		if !fsyncLoss {
			if !slices.ContainsFunc(c.got, func(v Violation) bool { return v.Invariant == R8 }) {
				t.Errorf("no fsync loss allowed: got %+v, want R8", c.got)
			}
			continue
		}
		for _, v := range c.got {
			t.Errorf("violation %s: %s", v.Invariant, v.Witness)
		}
		var lost []int64
		for _, l := range c.m.Losses() {
			if l.Invariant == R6 {
				lost = append(lost, l.Offset)
			}
		}
		if !slices.Equal(lost, []int64{acked[2].BaseOffset, acked[1].BaseOffset}) {
			t.Errorf("R6 losses at %v, want offsets 2 and 1; losses %+v", lost, c.m.Losses())
		}
	}
}

// TestRecreatedTopic: a topic deleted and created again under the same
// name has a new id, and its epochs and offsets start over without
// clashing with the old one's.
func TestRecreatedTopic(t *testing.T) {
	c := newCluster(t, 1, false)
	c.observe()
	c.append(1, 1, 1, 0)
	c.commit(1)
	c.observe()
	p := c.node(1).part
	p.ps.TopicID = [16]byte{0xbb}
	p.ps.LEO, p.ps.HW, p.ps.Epochs, p.log = 0, 0, nil, nil
	c.append(1, 1, 1, 3)
	c.commit(1)
	c.observe()
	if len(c.got) > 0 {
		t.Fatalf("violations: %+v", c.got)
	}
}

// TestKeepStateSeesEveryField: a change to any one field of a replica's
// state reaches the kept copy (keepState skips equal states, so a field
// its comparison forgot would keep a stale value).
func TestKeepStateSeesEveryField(t *testing.T) {
	base := broker.PartitionState{
		Topic: "a", TopicID: [16]byte{1}, Partition: 1, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1,
		Replicas: []int32{1}, ISR: []int32{1}, LogStart: 1, HW: 1, LEO: 1, Flushed: 1,
		Epochs: []broker.EpochStart{{Epoch: 1, StartOffset: 1}},
	}
	n := reflect.TypeFor[broker.PartitionState]().NumField()
	for i := range n {
		ps := base
		ps.Replicas, ps.ISR, ps.Epochs = slices.Clone(base.Replicas), slices.Clone(base.ISR), slices.Clone(base.Epochs)
		f := reflect.ValueOf(&ps).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("b")
		case reflect.Int32, reflect.Int64:
			f.SetInt(2)
		case reflect.Array:
			f.Index(0).SetUint(2)
		case reflect.Slice:
			f.Set(reflect.Append(f, f.Index(0)))
		default:
			t.Fatalf("field %s: kind %s not covered by this test", reflect.TypeFor[broker.PartitionState]().Field(i).Name, f.Kind())
		}
		kept := base
		keepState(&kept, &ps)
		if !reflect.DeepEqual(kept, ps) {
			t.Errorf("field %s: kept %+v after a change to %+v", reflect.TypeFor[broker.PartitionState]().Field(i).Name, kept, ps)
		}
	}
}
