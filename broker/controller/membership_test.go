package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRegistrationAndUnfencing: registrations get increasing broker
// epochs and start fenced; a heartbeat below the registration's offset
// is not caught up and stays fenced; one at or past it unfences, on
// every controller. Retries, duplicates, clean restarts, stale epochs
// and another cluster's brokers get Kafka's answers.
func TestRegistrationAndUnfencing(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1})
	a := c.waitActive()
	var epochs []int64
	for _, id := range []int32{11, 12, 13} {
		resp := c.register(id)
		require.Equal(t, int16(0), resp.ErrorCode)
		epochs = append(epochs, resp.BrokerEpoch)
		require.True(t, c.ctrls[a].Image().Brokers[id].Fenced, "a new registration starts fenced")
	}
	require.True(t, slices.IsSorted(epochs) && epochs[0] < epochs[2], "epochs %v", epochs)

	fb := c.fakes[11]
	hb := c.do(a, c.heartbeat(fb)).(*kmsg.BrokerHeartbeatResponse)
	require.Equal(t, int16(0), hb.ErrorCode)
	require.False(t, hb.IsCaughtUp)
	require.True(t, hb.IsFenced)
	require.False(t, hb.ShouldShutdown)

	fb.caughtUp = true
	hb = c.do(a, c.heartbeat(fb)).(*kmsg.BrokerHeartbeatResponse)
	require.True(t, hb.IsCaughtUp)
	require.False(t, hb.IsFenced, "unfenced once caught up, answered after the record is applied")
	c.converged()
	for _, id := range c.ids {
		require.True(t, c.ctrls[id].Image().Active(11), "controller %d", id)
		require.True(t, c.ctrls[id].Image().Brokers[12].Fenced, "controller %d", id)
	}

	// A retry of the same incarnation gets the same epoch and writes
	// nothing.
	offset := c.ctrls[a].Image().Offset
	resp := c.do(a, c.registration(fb, -1)).(*kmsg.BrokerRegistrationResponse)
	require.Equal(t, int16(0), resp.ErrorCode)
	require.Equal(t, fb.epoch, resp.BrokerEpoch)
	require.Equal(t, offset, c.ctrls[a].Image().Offset)

	// A new incarnation while the old one is unfenced with a live
	// session: DUPLICATE_BROKER_REGISTRATION, unless it names the old
	// epoch (a clean restart).
	fb.inc[0]++
	resp = c.do(a, c.registration(fb, -1)).(*kmsg.BrokerRegistrationResponse)
	require.Equal(t, kerr.DuplicateBrokerRegistration.Code, resp.ErrorCode)
	old := fb.epoch
	resp = c.do(a, c.registration(fb, old)).(*kmsg.BrokerRegistrationResponse)
	require.Equal(t, int16(0), resp.ErrorCode)
	require.Greater(t, resp.BrokerEpoch, old)
	fb.epoch = resp.BrokerEpoch
	require.True(t, c.ctrls[a].Image().Brokers[11].Fenced, "the new incarnation starts fenced")

	stale := c.heartbeat(fb)
	stale.BrokerEpoch = old
	require.Equal(t, kerr.StaleBrokerEpoch.Code, c.do(a, stale).(*kmsg.BrokerHeartbeatResponse).ErrorCode)
	unknown := c.heartbeat(fb)
	unknown.BrokerID = 99
	require.Equal(t, kerr.StaleBrokerEpoch.Code, c.do(a, unknown).(*kmsg.BrokerHeartbeatResponse).ErrorCode)

	other := c.registration(&fakeBroker{id: 14}, -1)
	other.ClusterID = "another"
	require.Equal(t, kerr.InconsistentClusterID.Code, c.do(a, other).(*kmsg.BrokerRegistrationResponse).ErrorCode)

	// Every version of both requests.
	for v := int16(0); v <= kmsg.NewPtrBrokerRegistrationRequest().MaxVersion(); v++ {
		req := c.registration(fb, -1)
		req.SetVersion(v)
		resp := c.do(a, req).(*kmsg.BrokerRegistrationResponse)
		require.Equal(t, int16(0), resp.ErrorCode, "v%d", v)
		require.Equal(t, fb.epoch, resp.BrokerEpoch, "v%d", v)
	}
	for v := int16(0); v <= kmsg.NewPtrBrokerHeartbeatRequest().MaxVersion(); v++ {
		req := c.heartbeat(fb)
		req.SetVersion(v)
		require.Equal(t, int16(0), c.do(a, req).(*kmsg.BrokerHeartbeatResponse).ErrorCode, "v%d", v)
	}
}

// TestSessionExpiryMovesLeadership: a broker that stops heartbeating is
// fenced after broker.session.timeout.ms; the leadership of its
// partitions moves to another ISR member in a new leader epoch, and it
// leaves the ISRs.
func TestSessionExpiryMovesLeadership(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 2})
	c.waitActive()
	c.brokers(11, 12, 13)
	st := c.createTopic(topic("t", 3, 3))
	require.Equal(t, int16(3), st.ReplicationFactor)
	p := c.partition("t", 0)
	gone := p.Leader
	require.Len(t, p.ISR, 3)

	c.fakes[gone].beating = false
	c.run(5 * time.Second)
	require.True(t, c.image().Active(gone), "fenced before the session timeout")
	require.True(t, c.runUntil(8*time.Second, func() bool { return !c.image().Active(gone) }), "not fenced")
	for i := range int32(3) {
		p := c.partition("t", i)
		require.NotEqual(t, gone, p.Leader, "partition %d", i)
		require.NotContains(t, p.ISR, gone, "partition %d", i)
		require.Len(t, p.ISR, 2, "partition %d", i)
	}
	p = c.partition("t", 0)
	require.Equal(t, int32(1), p.LeaderEpoch, "a new leader epoch")
	c.converged()

	// It comes back: caught up, it is unfenced, but rejoins ISRs only
	// through its leaders' AlterPartition.
	c.fakes[gone].beating = true
	require.True(t, c.runUntil(5*time.Second, func() bool { return c.image().Active(gone) }))
	require.NotContains(t, c.partition("t", 0).ISR, gone)
}

// TestControlledShutdown: a heartbeat with WantShutDown moves the
// broker's leaderships away and takes it out of ISRs; it stays unfenced
// (in controlled shutdown) until it leads nothing and every unfenced
// broker has caught up, and is then told to shut down, and fenced.
func TestControlledShutdown(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 3})
	c.waitActive()
	c.brokers(11, 12, 13)
	c.createTopic(topic("t", 3, 3))
	c.createTopic(topic("solo", 1, 1))
	var leader int32 = -1
	for i := range int32(3) {
		if p := c.partition("t", i); leader < 0 {
			leader = p.Leader
		}
	}
	fb := c.fakes[leader]
	fb.beating = false
	fb.wantShutdown = true
	c.run(time.Second) // the others report the latest offset
	hb := c.doActive(c.heartbeat(fb)).(*kmsg.BrokerHeartbeatResponse)
	require.Equal(t, int16(0), hb.ErrorCode)
	require.False(t, hb.IsFenced, "in controlled shutdown, still unfenced")
	require.False(t, hb.ShouldShutdown, "the others have not seen the change yet")
	im := c.image()
	require.True(t, im.Brokers[leader].InControlledShutdown)
	require.False(t, im.Leads(leader))
	for i := range int32(3) {
		require.NotContains(t, c.partition("t", i).ISR, leader)
	}

	fb.beating = true
	require.True(t, c.runUntil(5*time.Second, func() bool { return fb.last != nil && fb.last.ShouldShutdown }), "never told to shut down")
	require.True(t, fb.last.IsFenced)
	require.True(t, c.runUntil(time.Second, func() bool { return !c.image().Active(leader) }), "not fenced at the end")
	c.converged()
}
