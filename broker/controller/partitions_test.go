package controller

import (
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// alterISR is fake broker by's AlterPartition of topic-partition to isr,
// at the partition's current epochs, by topic id with member epochs (v3)
// or by name (v1).
func (c *cluster) alterISR(by int32, topic string, partition int32, version int16, isr ...int32) kmsg.AlterPartitionResponseTopicPartition {
	c.t.Helper()
	p := c.partition(topic, partition)
	req := kmsg.NewPtrAlterPartitionRequest()
	req.SetVersion(version)
	req.BrokerID, req.BrokerEpoch = by, c.fakes[by].epoch
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.Topic, rt.TopicID = topic, c.image().Topics[topic].ID
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = partition, p.LeaderEpoch, p.PartitionEpoch
	for _, id := range isr {
		rp.NewISR = append(rp.NewISR, id)
		rp.NewEpochISR = append(rp.NewEpochISR, kmsg.AlterPartitionRequestTopicPartitionNewEpochISR{BrokerID: id, BrokerEpoch: c.fakes[id].epoch})
	}
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.doActive(req).(*kmsg.AlterPartitionResponse)
	require.Equal(c.t, int16(0), resp.ErrorCode)
	return resp.Topics[0].Partitions[0]
}

func assignment(replicas ...[]int32) kmsg.CreateTopicsRequestTopic {
	rt := topic("t", -1, -1)
	for i, rs := range replicas {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	return rt
}

// TestAlterPartition: a leader shrinks and grows its ISR (v1 by name,
// v3 by id with member epochs) and gets the new state back; stale
// epochs and unknown topics are refused.
func TestAlterPartition(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 11})
	c.waitActive()
	c.brokers(11, 12, 13)
	c.createTopic(assignment([]int32{11, 12, 13}))

	sp := c.alterISR(11, "t", 0, 3, 11, 12)
	require.Equal(t, int16(0), sp.ErrorCode)
	require.Equal(t, []int32{11, 12}, sp.ISR)
	require.Equal(t, int32(11), sp.LeaderID)
	require.Equal(t, int32(0), sp.LeaderEpoch)
	require.Equal(t, int32(1), sp.PartitionEpoch)
	sp = c.alterISR(11, "t", 0, 1, 11, 12, 13)
	require.Equal(t, []int32{11, 12, 13}, sp.ISR)
	require.Equal(t, []int32{11, 12, 13}, c.partition("t", 0).ISR)

	require.Equal(t, kerr.InvalidRequest.Code, c.alterISR(12, "t", 0, 3, 12).ErrorCode, "not the leader")
	req := kmsg.NewPtrAlterPartitionRequest()
	req.SetVersion(3)
	req.BrokerID, req.BrokerEpoch = 11, 99
	require.Equal(t, kerr.StaleBrokerEpoch.Code, c.doActive(req).(*kmsg.AlterPartitionResponse).ErrorCode)
	req.BrokerEpoch = c.fakes[11].epoch
	req.Topics = []kmsg.AlterPartitionRequestTopic{{TopicID: [16]byte{9}, Partitions: []kmsg.AlterPartitionRequestTopicPartition{{Partition: 0}}}}
	require.Equal(t, kerr.UnknownTopicID.Code, c.doActive(req).(*kmsg.AlterPartitionResponse).Topics[0].Partitions[0].ErrorCode)
}

// TestReassignmentAndElections: a reassignment adds the target replica,
// waits for it to join the ISR (through the leader's AlterPartition,
// which then completes it and, the leader being removed, answers
// NEW_LEADER_ELECTED), and is listed meanwhile; preferred and unclean
// elections move leaders on request.
func TestReassignmentAndElections(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 12, tweak: func(cfg *Config) { cfg.SessionTimeoutMs = 2000 }})
	c.waitActive()
	c.brokers(11, 12, 13)
	c.createTopic(assignment([]int32{11, 12}))

	reassign := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	reassign.SetVersion(reassign.MaxVersion())
	reassign.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: "t", Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: 0, Replicas: []int32{13, 12}}}}}
	resp := c.doActive(reassign).(*kmsg.AlterPartitionAssignmentsResponse)
	require.Equal(t, int16(0), resp.Topics[0].Partitions[0].ErrorCode, deref(resp.Topics[0].Partitions[0].ErrorMessage))
	p := c.partition("t", 0)
	require.Equal(t, []int32{13, 12, 11}, p.Replicas)
	require.Equal(t, []int32{13}, p.Adding)
	require.Equal(t, []int32{11}, p.Removing)

	list := kmsg.NewPtrListPartitionReassignmentsRequest()
	lr := c.doActive(list).(*kmsg.ListPartitionReassignmentsResponse)
	require.Len(t, lr.Topics, 1)
	lp := lr.Topics[0].Partitions[0]
	require.Equal(t, []int32{13, 12, 11}, lp.Replicas)
	require.Equal(t, []int32{13}, lp.AddingReplicas)
	require.Equal(t, []int32{11}, lp.RemovingReplicas)

	sp := c.alterISR(11, "t", 0, 3, 11, 12, 13)
	require.Equal(t, kerr.NewLeaderElected.Code, sp.ErrorCode)
	p = c.partition("t", 0)
	require.Equal(t, []int32{13, 12}, p.Replicas)
	require.Equal(t, []int32{12, 13}, p.ISR, "the ISR as proposed, without the removed replica")
	require.Equal(t, int32(13), p.Leader)
	require.Equal(t, int32(1), p.LeaderEpoch)
	require.False(t, p.Reassigning())
	require.Empty(t, c.doActive(list).(*kmsg.ListPartitionReassignmentsResponse).Topics)

	elect := func(typ int8, partitions ...int32) kmsg.ElectLeadersResponseTopicPartition {
		req := kmsg.NewPtrElectLeadersRequest()
		req.SetVersion(req.MaxVersion())
		req.ElectionType = typ
		req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: partitions}}
		resp := c.doActive(req).(*kmsg.ElectLeadersResponse)
		require.Equal(t, int16(0), resp.ErrorCode)
		return resp.Topics[0].Partitions[0]
	}
	require.Equal(t, kerr.ElectionNotNeeded.Code, elect(0, 0).ErrorCode)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, elect(0, 7).ErrorCode)
	// Null topics: every partition; as in Kafka, each topic is answered,
	// without the partitions that needed no election.
	all := kmsg.NewPtrElectLeadersRequest()
	all.SetVersion(all.MaxVersion())
	allResp := c.doActive(all).(*kmsg.ElectLeadersResponse)
	require.Len(t, allResp.Topics, 1)
	require.Equal(t, "t", allResp.Topics[0].Topic)
	require.Empty(t, allResp.Topics[0].Partitions)

	// 13 goes silent: fenced, leadership moves to 12; back, it rejoins
	// the ISR, and a preferred election gives it back its leadership.
	c.fakes[13].beating = false
	require.True(t, c.runUntil(5*time.Second, func() bool { return c.partition("t", 0).Leader == 12 }))
	c.fakes[13].beating = true
	require.True(t, c.runUntil(5*time.Second, func() bool { return c.image().Active(13) }))
	require.Equal(t, []int32{12, 13}, c.alterISR(12, "t", 0, 3, 12, 13).ISR)
	require.Equal(t, int16(0), elect(0, 0).ErrorCode)
	require.Equal(t, int32(13), c.partition("t", 0).Leader)

	// Everything goes silent but 11, which holds no replica: an unclean
	// election finds no live replica; 12 back, it leads from outside
	// the ISR.
	c.fakes[12].beating, c.fakes[13].beating = false, false
	require.True(t, c.runUntil(5*time.Second, func() bool { return c.partition("t", 0).Leader == meta.NoLeader }))
	require.Equal(t, kerr.EligibleLeadersNotAvailable.Code, elect(1, 0).ErrorCode)
	c.fakes[12].beating = true
	require.True(t, c.runUntil(5*time.Second, func() bool { return c.image().Active(12) }))
	require.Equal(t, []int32{13}, c.partition("t", 0).ISR, "no unclean election unless asked")
	require.Equal(t, int16(0), elect(1, 0).ErrorCode)
	p = c.partition("t", 0)
	require.Equal(t, int32(12), p.Leader)
	require.Equal(t, []int32{12}, p.ISR)
	c.converged()
}

// TestEntryBounds: an operation too large for one metadata entry is
// refused with POLICY_VIOLATION; operations that fit only apart go into
// separate entries; a full queue answers REQUEST_TIMED_OUT, in order
// with the answers that waited for their entries (broker/peer, which
// wants one connection's answers in order, would fail otherwise).
func TestEntryBounds(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 13, tweak: func(cfg *Config) {
		cfg.Quorum.EntryBytesMax, cfg.Quorum.BatchBytesMax = 8<<10, 16<<10
		cfg.OpsQueuedMax = 5
	}})
	a := c.waitActive()
	c.brokers(11, 12, 13)

	st := c.doActive(createTopics(topic("huge", 500, 3))).(*kmsg.CreateTopicsResponse).Topics[0]
	require.Equal(t, kerr.PolicyViolation.Code, st.ErrorCode)
	require.Nil(t, c.image().Topics["huge"])

	offset := c.image().Offset
	var calls []*call
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		calls = append(calls, c.send(a, createTopics(topic(name, 20, 3))))
	}
	require.True(t, c.runUntil(5*time.Second, func() bool {
		for _, cl := range calls {
			if !cl.done {
				return false
			}
		}
		return true
	}))
	var codes []int16
	for _, cl := range calls {
		require.NoError(t, cl.err)
		codes = append(codes, cl.resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode)
	}
	require.Contains(t, codes, kerr.RequestTimedOut.Code, "some found the queue full: %v", codes)
	created := 0
	for _, code := range codes {
		if code == 0 {
			created++
		}
	}
	require.Equal(t, created, len(c.image().Topics))
	require.Greater(t, c.image().Offset-offset, int64(created/2), "large topics went into several entries")
}

// TestUncleanElectionOnConfigChange: a partition whose only ISR member is
// fenced stays leaderless until its topic's
// unclean.leader.election.enable is turned on; the same entry then
// elects a live replica from outside the ISR.
func TestUncleanElectionOnConfigChange(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 14, tweak: func(cfg *Config) { cfg.SessionTimeoutMs = 2000 }})
	c.waitActive()
	c.brokers(11, 12)
	c.createTopic(assignment([]int32{11, 12}))
	require.Equal(t, []int32{11}, c.alterISR(11, "t", 0, 3, 11).ISR)
	c.fakes[11].beating = false
	require.True(t, c.runUntil(5*time.Second, func() bool { return !c.image().Active(11) }))
	p := c.partition("t", 0)
	require.Equal(t, int32(meta.NoLeader), p.Leader)
	require.Equal(t, []int32{11}, p.ISR)

	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	rr.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "unclean.leader.election.enable", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("true")}}
	req.Resources = append(req.Resources, rr)
	require.Equal(t, int16(0), c.doActive(req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode)
	p = c.partition("t", 0)
	require.Equal(t, int32(12), p.Leader)
	require.Equal(t, []int32{12}, p.ISR)
}
