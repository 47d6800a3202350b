package controller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// oneOfEach is a request of every key the controller serves, at its
// newest version, each with one entry.
func oneOfEach() []kmsg.Request {
	ct := createTopics(topic("t", 1, 1))
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("t")}}
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 2}}
	ac := kmsg.NewPtrAlterConfigsRequest()
	ac.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
	iac := kmsg.NewPtrIncrementalAlterConfigsRequest()
	iac.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
	el := kmsg.NewPtrElectLeadersRequest()
	el.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	reqs := []kmsg.Request{
		ct, dt, cp, ac, iac, el,
		kmsg.NewPtrAlterPartitionAssignmentsRequest(), kmsg.NewPtrListPartitionReassignmentsRequest(),
		kmsg.NewPtrAlterPartitionRequest(), kmsg.NewPtrBrokerRegistrationRequest(),
		kmsg.NewPtrBrokerHeartbeatRequest(), kmsg.NewPtrAllocateProducerIDsRequest(),
	}
	for _, r := range reqs {
		r.SetVersion(r.MaxVersion())
	}
	return reqs
}

// errorCodes are every error code a response carries.
func errorCodes(resp kmsg.Response) []int16 {
	switch r := resp.(type) {
	case *kmsg.CreateTopicsResponse:
		return []int16{r.Topics[0].ErrorCode}
	case *kmsg.DeleteTopicsResponse:
		return []int16{r.Topics[0].ErrorCode}
	case *kmsg.CreatePartitionsResponse:
		return []int16{r.Topics[0].ErrorCode}
	case *kmsg.AlterConfigsResponse:
		return []int16{r.Resources[0].ErrorCode}
	case *kmsg.IncrementalAlterConfigsResponse:
		return []int16{r.Resources[0].ErrorCode}
	case *kmsg.ElectLeadersResponse:
		return []int16{r.ErrorCode, r.Topics[0].Partitions[0].ErrorCode}
	case *kmsg.AlterPartitionAssignmentsResponse:
		return []int16{r.ErrorCode}
	case *kmsg.ListPartitionReassignmentsResponse:
		return []int16{r.ErrorCode}
	case *kmsg.AlterPartitionResponse:
		return []int16{r.ErrorCode}
	case *kmsg.BrokerRegistrationResponse:
		return []int16{r.ErrorCode}
	case *kmsg.BrokerHeartbeatResponse:
		return []int16{r.ErrorCode}
	case *kmsg.AllocateProducerIDsResponse:
		return []int16{r.ErrorCode}
	}
	panic(fmt.Sprintf("no codes for %T", resp))
}

// TestNotController: every key sent to a follower is answered
// NOT_CONTROLLER, and Leader names the active controller.
func TestNotController(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 7})
	a := c.waitActive()
	c.converged()
	follower := c.ids[(slices.Index(c.ids, a)+1)%len(c.ids)]
	id, addr, ok := c.ctrls[follower].Leader()
	require.True(t, ok)
	require.Equal(t, a, id)
	require.Equal(t, fmt.Sprintf("c%d:9093", a), addr)
	require.Equal(t, addr, c.ctrls[follower].ControllerAddr(a))
	require.False(t, c.ctrls[follower].Active())
	for _, req := range oneOfEach() {
		resp := c.do(follower, req)
		for _, code := range errorCodes(resp) {
			require.Equal(t, kerr.NotController.Code, code, "%s", kmsg.NameForKey(req.Key()))
		}
	}
}

// TestFailover crashes the active controller while CreateTopics and
// AllocateProducerIds requests are in flight: every answer is either a
// success whose records the new active controller's image holds, or a
// retriable error; producer id blocks never overlap; and the restarted
// controller converges on the same image.
func TestFailover(t *testing.T) {
	for _, seed := range []uint64{8, 9, 10} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { failover(t, seed) })
	}
}

func failover(t *testing.T, seed uint64) {
	// Small batches, so that the crash finds one in flight with more
	// queued behind it; the one connection carries all 50 requests.
	c := newCluster(t, clusterOpts{seed: seed, tweak: func(cfg *Config) {
		cfg.BatchOpsMax, cfg.Quorum.RequestsPerConnMax = 4, 100
	}})
	old := c.waitActive()
	c.brokers(11, 12, 13)

	type sent struct {
		name string
		call *call
	}
	var topics, pids []sent
	allocate := func(to int32) *call {
		req := kmsg.NewPtrAllocateProducerIDsRequest()
		req.BrokerID, req.BrokerEpoch = 11, c.fakes[11].epoch
		return c.send(to, req)
	}
	for i := range 40 {
		name := fmt.Sprintf("t%d", i)
		topics = append(topics, sent{name, c.send(old, createTopics(topic(name, 2, 3)))})
		if i%4 == 0 {
			pids = append(pids, sent{"", allocate(old)})
		}
	}
	answered := func() int {
		n := 0
		for _, s := range topics {
			if s.call.done {
				n++
			}
		}
		return n
	}
	for answered() < 15 {
		require.NoError(t, c.s.RunFor(100*time.Microsecond))
	}
	c.hosts[old].Crash()
	require.True(t, c.runUntil(20*time.Second, func() bool {
		a := c.active()
		return a >= 0 && a != old
	}), "no new active controller")
	a := c.active()
	for i := range 3 {
		pids = append(pids, sent{fmt.Sprint(i), allocate(a)})
	}
	require.True(t, c.runUntil(10*time.Second, func() bool {
		for _, s := range append(slices.Clone(topics), pids...) {
			if !s.call.done {
				return false
			}
		}
		return true
	}), "unanswered requests")

	retriable := func(err error, code int16) bool {
		return err != nil || code == kerr.NotController.Code || code == kerr.RequestTimedOut.Code
	}
	im := c.ctrls[a].Image()
	committed := 0
	for _, s := range topics {
		if s.call.err == nil && s.call.resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode == 0 {
			committed++
			require.NotNil(t, im.Topics[s.name], "%s was acknowledged but is missing", s.name)
			continue
		}
		var code int16
		if s.call.err == nil {
			code = s.call.resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
		}
		require.True(t, retriable(s.call.err, code), "%s: %v %v", s.name, s.call.err, kerr.ErrorForCode(code))
	}
	require.Greater(t, committed, 10, "too few topics made it before the crash")
	require.Less(t, committed, len(topics), "the crash cost nothing")
	t.Logf("%d of %d topics acknowledged, %d created; new active controller %d", committed, len(topics), len(im.Topics), a)

	type block struct{ first, end int64 }
	var blocks []block
	for _, s := range pids {
		if s.call.err != nil {
			continue
		}
		r := s.call.resp.(*kmsg.AllocateProducerIDsResponse)
		if retriable(nil, r.ErrorCode) {
			continue
		}
		require.Equal(t, int16(0), r.ErrorCode)
		blocks = append(blocks, block{r.ProducerIDStart, r.ProducerIDStart + int64(r.ProducerIDLen)})
	}
	require.GreaterOrEqual(t, len(blocks), 4, "after the failover blocks are given out")
	slices.SortFunc(blocks, func(x, y block) int { return int(x.first - y.first) })
	for i := 1; i < len(blocks); i++ {
		require.LessOrEqual(t, blocks[i-1].end, blocks[i].first, "blocks %v overlap", blocks)
	}
	require.LessOrEqual(t, blocks[len(blocks)-1].end, im.NextProducerID)

	require.NoError(t, c.hosts[old].Start())
	c.converged()
	for _, id := range []int32{11, 12, 13} {
		require.True(t, c.image().Active(id), "broker %d: the new active controller started its session afresh", id)
	}
}

// TestDeterminism runs a failover twice with the same seed and compares
// the simulator's trace hashes.
func TestDeterminism(t *testing.T) {
	hash := func() uint64 {
		c := newCluster(t, clusterOpts{seed: 21})
		a := c.waitActive()
		c.brokers(11, 12, 13)
		c.createTopic(topic("t", 3, 3))
		c.hosts[a].Crash()
		c.waitActive()
		c.createTopic(topic("u", 3, 3))
		c.run(time.Second)
		return c.s.TraceHash()
	}
	require.Equal(t, hash(), hash())
}
