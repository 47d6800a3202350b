package replication

import (
	"slices"
	"strings"
	"testing"
)

// lastReplicaStanding is KIP-966's scenario: the ISR shrinks to the
// leader, which acknowledges a write, loses it unflushed in a crash, and
// is elected again as the last ISR member.
func lastReplicaStanding(c *cluster) {
	c.observe()
	b := c.produce(1, 1)
	c.replicate(1)
	for _, n := range c.nodes {
		c.flush(n.id)
	}
	c.ack(1, b, 1)
	c.observe()
	c.setISR(1)
	c.observe()
	w := c.produce(1, 1)
	c.commit(1)
	c.ack(1, w, 1)
	c.observe()
	c.crash(1)
	c.observe()
	c.restart(1)
	c.elect(1, 2, 1) // re-registration moves the epoch on
	c.observe()
	c.append(1, 2, 1, 1) // another batch takes offset 1
	c.commit(1)
	c.observe()
}

// uncleanElection elects a replica outside the ISR that lacks an
// acknowledged write, then brings the old leader back as its follower.
func uncleanElection(c *cluster) {
	c.observe()
	b := c.produce(1, 1)
	c.replicate(1)
	c.ack(1, b, 1)
	c.setISR(1)
	c.observe()
	w := c.produce(1, 1)
	c.commit(1)
	c.ack(1, w, 1)
	c.observe()
	c.crash(1)
	c.elect(2, 2, 2)
	c.observe()
	c.append(2, 2, 1, 1)
	c.commit(2)
	c.observe()
	c.restart(1)
	c.observe()
	c.truncate(1, 1) // the diverging epoch-1 tail
	c.fetch(1, 2)
	c.observe()
}

// lastReplicaStandingFollowers is KIP-966's scenario with followers that
// hold the committed write: the ISR shrinks to the leader, which loses
// the write unflushed in a crash, is elected again, and the followers
// truncate to it.
func lastReplicaStandingFollowers(c *cluster) {
	c.observe()
	w := c.produce(1, 1)
	c.replicate(1)
	c.ack(1, w, 1)
	c.observe()
	c.setISR(1)
	c.observe()
	c.crash(1)
	c.observe()
	c.restart(1)
	c.elect(1, 2, 1)
	c.observe()
	c.truncate(2, 0)
	c.truncate(3, 0)
	c.observe()
}

func TestAllowedLosses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history func(*cluster)
		allow   Allowances
		// losses are the invariants whose losses must be recorded.
		losses []string
	}{
		{"last replica standing, fsync loss", lastReplicaStanding, Allowances{FsyncLoss: true}, []string{R6, R9}},
		{"last replica standing, fsync loss, ELR with minISR 1", lastReplicaStanding, Allowances{FsyncLoss: true, ELR: true}, []string{R6}},
		{"unclean election", uncleanElection, Allowances{Unclean: func(topic string, p int32) bool { return topic == topicName && p == 0 }}, []string{R6, R8, R9}},
		{"last replica standing, followers truncate, fsync loss", lastReplicaStandingFollowers, Allowances{FsyncLoss: true}, []string{R6, R8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, true)
			c.allow = tc.allow
			tc.history(c)
			for _, v := range c.got {
				t.Errorf("violation %s: %s", v.Invariant, v.Witness)
			}
			losses := c.m.Losses()
			for _, inv := range tc.losses {
				if !slices.ContainsFunc(losses, func(l Loss) bool { return l.Invariant == inv }) {
					t.Errorf("no %s loss recorded; losses: %+v", inv, losses)
				}
			}
			i := slices.IndexFunc(losses, func(l Loss) bool { return l.Invariant == R6 })
			if i < 0 {
				return
			}
			if l := losses[i]; tc.name != "last replica standing, followers truncate, fsync loss" && (l.Offset != 1 || l.LastOffset != 1 || !strings.Contains(l.Witness, "write [1..1]")) {
				t.Errorf("R6 loss %+v, want the write at offset 1", l)
			}
		})
	}
}

// TestLossesWithoutAllowance runs the must-lose scenarios with nothing
// allowed: the loss is a violation.
func TestLossesWithoutAllowance(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history func(*cluster)
		want    []string
	}{
		{"last replica standing", lastReplicaStanding, []string{R8, R6, R9}},
		{"unclean election", uncleanElection, []string{R7, R6, R8, R9}},
		{"last replica standing, followers truncate", lastReplicaStandingFollowers, []string{R8, R6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, true)
			tc.history(c)
			for _, inv := range tc.want {
				if !slices.ContainsFunc(c.got, func(v Violation) bool { return v.Invariant == inv }) {
					t.Errorf("no %s violation; got %+v", inv, c.got)
				}
			}
			if len(c.m.Losses()) > 0 {
				t.Errorf("losses recorded without allowances: %+v", c.m.Losses())
			}
		})
	}
}

// TestWeakIsrIsInformational: without a controller image, an ISR gap is
// an info, not a violation.
func TestWeakIsrIsInformational(t *testing.T) {
	c := newCluster(t, 3, false)
	c.observe()
	c.produce(1, 1)
	c.fetch(2, 1)
	c.ps(1).HW = 1 // node 3 is in the cached ISR without the offset
	c.observe()
	if len(c.got) > 0 {
		t.Fatalf("violations: %+v", c.got)
	}
	infos := c.m.Infos()
	if len(infos) != 1 || infos[0].Invariant != WeakIsr || !strings.Contains(infos[0].Witness, "node 3 is in leader node 1's cached ISR") {
		t.Fatalf("infos %+v, want one WeakIsr gap on node 3", infos)
	}
}

// powerCut acknowledges a write on ISR {1, 2} with min.insync.replicas 2,
// then cuts the power of the nodes in lose (nothing was flushed) and
// elects node 1 again.
func powerCut(c *cluster, lose ...int32) {
	c.setISR(1, 2)
	c.observe()
	w := c.produce(1, 1)
	c.replicate(1)
	c.ack(1, w, 2)
	c.observe()
	for _, id := range lose {
		c.crash(id)
	}
	c.observe()
	for _, id := range lose {
		c.restart(id)
	}
	c.elect(1, 2, 1, 2)
	c.observe()
}

// TestKIP966Tolerance: with ELR, an acknowledged write may be lost only
// once minISR replicas lost it unflushed; without ELR one suffices.
func TestKIP966Tolerance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		elr      bool
		lose     []int32
		wantLoss bool
	}{
		{"ELR, both ISR members lose it", true, []int32{1, 2}, true},
		{"ELR, only the leader loses it", true, []int32{1}, false},
		{"no ELR, only the leader loses it", false, []int32{1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, true)
			c.allow = Allowances{FsyncLoss: true, ELR: tc.elr}
			powerCut(c, tc.lose...)
			lost := slices.ContainsFunc(c.m.Losses(), func(l Loss) bool { return l.Invariant == R6 && l.Offset == 0 })
			violated := slices.ContainsFunc(c.got, func(v Violation) bool { return v.Invariant == R6 })
			if lost != tc.wantLoss || violated == tc.wantLoss {
				t.Fatalf("loss recorded %t, R6 violation %t; want loss %t: violations %+v losses %+v", lost, violated, tc.wantLoss, c.got, c.m.Losses())
			}
			for _, v := range c.got {
				if v.Invariant != R6 {
					t.Errorf("unexpected %s: %s", v.Invariant, v.Witness)
				}
			}
		})
	}
}
