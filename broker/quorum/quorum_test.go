package quorum

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
)

func TestElectLeader(t *testing.T) {
	for _, voters := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("voters=%d", voters), func(t *testing.T) {
			logs := &bytes.Buffer{}
			c := newCluster(t, clusterOpts{seed: 1, voters: voters, log: logs})
			l := c.waitLeader(10 * time.Second)
			c.run(2 * time.Second)
			epoch := c.nodes[l].Status().Epoch
			for _, id := range c.ids {
				s := c.nodes[id].Status()
				require.Equal(t, epoch, s.Epoch, "node %d", id)
				require.Equal(t, l, s.LeaderID, "node %d", id)
				if id != l {
					require.Equal(t, Follower, s.State, "node %d", id)
				}
				// The LeaderChange entry is committed everywhere.
				require.Greater(t, s.HighWatermark, int64(0), "node %d", id)
			}
			if t.Failed() {
				t.Log(logs.String())
			}
		})
	}
}

// slowDisk is a disk whose fsyncs take 0.2–2 ms.
var slowDisk = sim.DiskOptions{SyncLatency: sim.Latency{Min: 200 * time.Microsecond, Mean: 2 * time.Millisecond}}

func TestPropose1000(t *testing.T) {
	for _, voters := range []int{3, 5} {
		t.Run(fmt.Sprintf("voters=%d", voters), func(t *testing.T) {
			c := newCluster(t, clusterOpts{seed: 2, voters: voters, disk: slowDisk})
			c.waitLeader(10 * time.Second)
			require.Equal(t, 1000, c.proposeAll("e", 1000, 50, 60*time.Second))
			require.True(t, c.runUntil(5*time.Second, c.converged), "nodes did not converge")
			ref := c.sms[c.ids[0]].entries
			require.GreaterOrEqual(t, len(ref), 1000)
			for _, id := range c.ids {
				require.Equal(t, ref, c.sms[id].entries, "node %d", id)
			}
			c.checkFinal()
		})
	}
}

// TestLeaderIsolated: the isolated leader cannot commit; the majority
// elects a new leader in a higher epoch and commits; the old leader steps
// down (check quorum, or on contact after the heal) and catches up, and
// nothing committed before is lost.
func TestLeaderIsolated(t *testing.T) {
	for _, voters := range []int{3, 5} {
		t.Run(fmt.Sprintf("voters=%d", voters), func(t *testing.T) {
			c := newCluster(t, clusterOpts{seed: 3, voters: voters, disk: slowDisk})
			old := c.waitLeader(10 * time.Second)
			require.Equal(t, 100, c.proposeAll("before", 100, 10, 10*time.Second))
			oldEpoch := c.nodes[old].Status().Epoch

			c.s.Net().Partition(sim.Isolate(c.hosts[old], c.all()))
			stuck := c.propose(old, []byte("stuck"))
			var l int32
			require.True(t, c.runUntil(20*time.Second, func() bool {
				var ok bool
				l, ok = c.leader()
				return ok && l != old
			}), "no new leader")
			require.Greater(t, c.nodes[l].Status().Epoch, oldEpoch)
			require.Equal(t, 50, c.proposeAll("during", 50, 10, 10*time.Second))
			// Check quorum: the old leader resigned without any contact.
			c.run(5 * time.Second)
			require.NotEqual(t, Leader, c.nodes[old].Status().State)
			require.True(t, stuck.done)
			require.Error(t, stuck.err)

			c.s.Net().Heal()
			require.True(t, c.runUntil(20*time.Second, c.converged), "no convergence after the heal")
			// Without pre-vote the returning node, whose elections bumped
			// its epoch, may force one more election: it follows whoever
			// leads now.
			cur, ok := c.leader()
			require.True(t, ok)
			if cur != old {
				s := c.nodes[old].Status()
				require.Equal(t, Follower, s.State)
				require.Equal(t, cur, s.LeaderID)
			}
			c.checkFinal()
		})
	}
}

// TestMinorityCannotCommit: a leader left in a minority commits nothing;
// the majority side commits.
func TestMinorityCannotCommit(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 4, voters: 5, disk: slowDisk})
	l := c.waitLeader(10 * time.Second)
	minority := []int32{l}
	for _, id := range c.ids {
		if id != l && len(minority) < 2 {
			minority = append(minority, id)
		}
	}
	group := []*sim.Node{c.hosts[minority[0]], c.hosts[minority[1]]}
	c.s.Net().Partition(sim.Split(group, c.all()))
	hw := c.nodes[l].Status().HighWatermark
	var results []*result
	for i := range 20 {
		results = append(results, c.propose(l, fmt.Appendf(nil, "minority-%d", i)))
	}
	c.run(time.Second)
	require.Equal(t, hw, c.nodes[l].Status().HighWatermark, "the minority leader committed")
	c.run(10 * time.Second)
	for _, r := range results {
		require.True(t, !r.done || r.err != nil, "a minority proposal was acknowledged")
	}
	nl, ok := c.leader()
	require.True(t, ok)
	require.NotContains(t, minority, nl)
	require.Equal(t, 20, c.proposeAll("majority", 20, 5, 10*time.Second))
	c.s.Net().Heal()
	if !c.runUntil(20*time.Second, c.converged) {
		for _, id := range c.ids {
			t.Logf("%+v", c.nodes[id].Status())
		}
		t.Fatal("no convergence")
	}
	for _, e := range c.sms[l].entries {
		require.NotContains(t, string(e.Data), "minority", "a minority entry was applied")
	}
	c.checkFinal()
}

// TestCrashRestart crashes followers and the leader, with and without
// torn writes, while proposals flow; committed entries survive and every
// node converges.
func TestCrashRestart(t *testing.T) {
	for _, torn := range []bool{false, true} {
		for _, voters := range []int{3, 5} {
			t.Run(fmt.Sprintf("voters=%d/torn=%v", voters, torn), func(t *testing.T) {
				disk := slowDisk
				disk.TornWrites = torn
				c := newCluster(t, clusterOpts{seed: 5, voters: voters, disk: disk})
				l := c.waitLeader(10 * time.Second)
				var follower int32
				for _, id := range c.ids {
					if id != l {
						follower = id
					}
				}
				pending := c.proposeAsync("a", 200)
				c.run(20 * time.Millisecond)
				c.hosts[follower].Crash()
				c.run(500 * time.Millisecond)
				require.NoError(t, c.hosts[follower].Start())
				c.waitAll(pending, 30*time.Second)

				l = c.waitLeader(10 * time.Second)
				pending = c.proposeAsync("b", 200)
				c.run(20 * time.Millisecond)
				c.hosts[l].Crash()
				c.run(3 * time.Second)
				require.NoError(t, c.hosts[l].Start())
				c.waitAll(pending, 30*time.Second)
				c.waitLeader(10 * time.Second)
				require.Equal(t, 50, c.proposeAll("c", 50, 10, 20*time.Second))
				require.True(t, c.runUntil(20*time.Second, c.converged))
				c.checkFinal()

				// And all at once: the state comes back from the disks.
				for _, id := range c.ids {
					c.hosts[id].Crash()
				}
				for _, id := range c.ids {
					require.NoError(t, c.hosts[id].Start())
				}
				c.waitLeader(20 * time.Second)
				require.Equal(t, 10, c.proposeAll("d", 10, 10, 20*time.Second))
				require.True(t, c.runUntil(20*time.Second, c.converged))
				c.checkFinal()
			})
		}
	}
}

// proposeAsync proposes count entries to the current leader at once.
func (c *cluster) proposeAsync(prefix string, count int) []*result {
	l, ok := c.leader()
	require.True(c.t, ok)
	out := make([]*result, count)
	for i := range out {
		out[i] = c.propose(l, fmt.Appendf(nil, "%s-%d", prefix, i))
	}
	return out
}

// waitAll runs until every result is in.
func (c *cluster) waitAll(rs []*result, limit time.Duration) {
	c.t.Helper()
	require.True(c.t, c.runUntil(limit, func() bool {
		for _, r := range rs {
			if !r.done {
				return false
			}
		}
		return true
	}), "proposals unanswered after %s", limit)
}

// TestPauseLeader: a leader paused past the fetch timeout is replaced;
// when it resumes it steps down on contact, and its in-flight proposals
// end in an error, never in a false acknowledgement.
func TestPauseLeader(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 6, voters: 3, disk: slowDisk})
	old := c.waitLeader(10 * time.Second)
	rs := c.proposeAsync("p", 20)
	c.hosts[old].Pause()
	var l int32
	require.True(t, c.runUntil(15*time.Second, func() bool {
		var ok bool
		l, ok = c.leader()
		return ok && l != old
	}))
	require.Equal(t, 20, c.proposeAll("q", 20, 5, 10*time.Second))
	c.hosts[old].Resume()
	require.True(t, c.runUntil(10*time.Second, c.converged))
	require.Equal(t, Follower, c.nodes[old].Status().State)
	for _, r := range rs {
		require.True(t, r.done)
	}
	c.checkFinal()
}

// TestClockSkew: wall clocks far apart, jumping and drifting do not
// matter: timeouts run on the monotonic clock.
func TestClockSkew(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 7, voters: 3, disk: slowDisk})
	c.hosts[1].SetClockOffset(-time.Hour)
	c.hosts[2].SetClockOffset(3 * time.Hour)
	c.hosts[3].SetClockDrift(1000)
	c.waitLeader(10 * time.Second)
	require.Equal(t, 100, c.proposeAll("s", 100, 10, 10*time.Second))
	for _, id := range c.ids {
		c.hosts[id].JumpClock(-30 * time.Minute)
	}
	require.Equal(t, 100, c.proposeAll("t", 100, 10, 10*time.Second))
	require.True(t, c.runUntil(10*time.Second, c.converged))
	c.checkFinal()
}

// TestSnapshotInstall: a follower cut off while the leader writes
// snapshots and deletes its log below them catches up by downloading a
// snapshot (in several chunks), then the log after it.
func TestSnapshotInstall(t *testing.T) {
	tweak := func(cfg *Config) {
		cfg.SnapshotEveryEntries = 100
		cfg.SegmentBytes = 4 << 10
		cfg.SnapshotChunkBytes = 1 << 10
	}
	c := newCluster(t, clusterOpts{seed: 8, voters: 3, disk: slowDisk, tweak: tweak})
	l := c.waitLeader(10 * time.Second)
	var lagger int32
	for _, id := range c.ids {
		if id != l {
			lagger = id
		}
	}
	require.Equal(t, 50, c.proposeAll("x", 50, 10, 10*time.Second))
	c.s.Net().Partition(sim.Isolate(c.hosts[lagger], c.all()))
	require.Equal(t, 1000, c.proposeAll("y", 1000, 50, 30*time.Second))
	c.run(time.Second)
	ls := c.nodes[l].Status()
	require.Greater(t, ls.SnapshotEndOffset, int64(500))
	require.Greater(t, ls.LogStartOffset, c.nodes[lagger].Status().LogEndOffset, "the leader kept the log the lagger needs")
	c.s.Net().Heal()
	require.True(t, c.runUntil(30*time.Second, c.converged))
	s := c.nodes[lagger].Status()
	require.GreaterOrEqual(t, s.Stats.SnapshotsInstalled, int64(1))
	require.Equal(t, c.sms[l].entries, c.sms[lagger].entries)
	c.checkFinal()

	// After a restart the lagger rebuilds from its snapshot and log.
	c.hosts[lagger].Crash()
	require.NoError(t, c.hosts[lagger].Start())
	require.Equal(t, 10, c.proposeAll("z", 10, 10, 10*time.Second))
	require.True(t, c.runUntil(30*time.Second, c.converged))
	require.Equal(t, 1, c.sms[lagger].restores)
	c.checkFinal()
}

// TestGracefulStopElectsFast: a leader stopped gracefully sends
// EndQuorumEpoch, and a successor is elected well within the fetch
// timeout the followers would otherwise wait out.
func TestGracefulStopElectsFast(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 9, voters: 3, disk: slowDisk})
	old := c.waitLeader(10 * time.Second)
	require.Equal(t, 10, c.proposeAll("g", 10, 10, 10*time.Second))
	start := c.s.Now()
	c.hosts[old].Stop()
	var l int32
	require.True(t, c.runUntil(10*time.Second, func() bool {
		var ok bool
		l, ok = c.leader()
		return ok && l != old
	}))
	took := (c.s.Now() - start).Duration()
	t.Logf("new leader %d after %s", l, took)
	require.Less(t, took, time.Duration(c.cfgs[old].FetchTimeoutMs)*time.Millisecond/2)
	require.NoError(t, c.hosts[old].Start())
	require.True(t, c.runUntil(10*time.Second, c.converged))
	c.checkFinal()
}
