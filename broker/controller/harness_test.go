package controller

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/broker/peer"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// holder is the client node's process: it only keeps its Env.
type holder struct{ e env.Env }

func (h *holder) Start(e env.Env)  { h.e = e }
func (h *holder) Stop(done func()) { done() }

// cluster is three controllers in the simulator, c1…c3 (ids 1…3), and a
// client node "b" that plays the brokers with a raw peer client.
type cluster struct {
	t      testing.TB
	s      *sim.Sim
	ids    []int32
	hosts  map[int32]*sim.Node
	ctrls  map[int32]*Controller // the running incarnation's
	cfgs   map[int32]Config
	client *sim.Node
	h      *holder
	pc     *peer.Client
	fakes  map[int32]*fakeBroker
	beat   env.Timer
}

// fakeBroker is a broker as the controller sees it: registrations and
// heartbeats, nothing else.
type fakeBroker struct {
	id    int32
	inc   [16]byte
	epoch int64
	// beating: heartbeats go out every heartbeatMs; caughtUp: they
	// report the active controller's applied offset (else -1).
	beating, caughtUp, wantShutdown bool
	last                            *kmsg.BrokerHeartbeatResponse
}

const heartbeatMs = 250

type clusterOpts struct {
	seed  uint64
	tweak func(*Config)
	log   io.Writer
}

func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	opts := sim.DefaultOptions(o.seed)
	opts.Log, opts.LogLevel = o.log, slog.LevelInfo
	s, err := sim.New(opts)
	require.NoError(t, err)
	c := &cluster{t: t, s: s, hosts: map[int32]*sim.Node{}, ctrls: map[int32]*Controller{}, cfgs: map[int32]Config{}, fakes: map[int32]*fakeBroker{}}
	voters := map[int32]string{}
	for i := int32(1); i <= 3; i++ {
		c.ids = append(c.ids, i)
		voters[i] = fmt.Sprintf("c%d:9093", i)
	}
	for _, id := range c.ids {
		cfg := DefaultConfig(id, voters)
		cfg.ClusterID = "gregor-test"
		cfg.Static = configs.SetOf(map[string]string{"num.partitions": "2", "default.replication.factor": "3"})
		if o.tweak != nil {
			o.tweak(&cfg)
		}
		c.cfgs[id] = cfg
		h, err := s.AddNode(fmt.Sprintf("c%d", id), c.factory(id), sim.DiskOptions{})
		require.NoError(t, err)
		c.hosts[id] = h
		require.NoError(t, h.Start())
	}
	c.h = &holder{}
	c.client, err = s.AddNode("b", func() env.Process { return c.h }, sim.DiskOptions{})
	require.NoError(t, err)
	require.NoError(t, c.client.Start())
	c.run(10 * time.Millisecond)
	c.pc = peer.New(c.h.e, peer.Config{ClientID: "fake-brokers", RequestTimeoutMs: 2000})
	c.s.Call(c.client, func(env.Process) { c.armBeat() })
	return c
}

func (c *cluster) factory(id int32) func() env.Process {
	return func() env.Process {
		ctrl, err := New(c.cfgs[id])
		if err != nil {
			panic(err)
		}
		c.ctrls[id] = ctrl
		return ctrl
	}
}

func (c *cluster) run(d time.Duration) {
	c.t.Helper()
	require.NoError(c.t, c.s.RunFor(d))
}

// runUntil advances in 10ms steps until cond holds; it reports whether
// it did within d.
func (c *cluster) runUntil(d time.Duration, cond func() bool) bool {
	c.t.Helper()
	end := c.s.Now() + sim.Time(d)
	for c.s.Now() < end {
		require.NoError(c.t, c.s.RunFor(10*time.Millisecond))
		if cond() {
			return true
		}
	}
	return false
}

// ctrl is controller id's running incarnation, nil when it is down.
func (c *cluster) ctrl(id int32) *Controller {
	if c.hosts[id].State() == sim.Down {
		return nil
	}
	return c.ctrls[id]
}

// active is the active controller's id, -1 if none.
func (c *cluster) active() int32 {
	for _, id := range c.ids {
		if ct := c.ctrl(id); ct != nil && ct.Active() {
			return id
		}
	}
	return -1
}

func (c *cluster) waitActive() int32 {
	c.t.Helper()
	require.True(c.t, c.runUntil(20*time.Second, func() bool { return c.active() >= 0 }), "no active controller")
	return c.active()
}

// image is the active controller's image.
func (c *cluster) image() *meta.Image {
	c.t.Helper()
	id := c.active()
	require.GreaterOrEqual(c.t, id, int32(0), "no active controller")
	return c.ctrls[id].Image()
}

// send sends req to controller id; the result arrives in the returned
// call.
func (c *cluster) send(id int32, req kmsg.Request) *call {
	cl := &call{}
	c.s.Call(c.client, func(env.Process) {
		c.pc.Do(fmt.Sprintf("c%d:9093", id), req, func(r kmsg.Response, err error) { cl.resp, cl.err, cl.done = r, err, true })
	})
	return cl
}

type call struct {
	done bool
	resp kmsg.Response
	err  error
}

// do sends req to controller id and waits for the answer.
func (c *cluster) do(id int32, req kmsg.Request) kmsg.Response {
	c.t.Helper()
	cl := c.send(id, req)
	require.True(c.t, c.runUntil(10*time.Second, func() bool { return cl.done }), "no answer to %s", kmsg.NameForKey(req.Key()))
	require.NoError(c.t, cl.err)
	return cl.resp
}

// doActive sends req to the active controller.
func (c *cluster) doActive(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	return c.do(c.waitActive(), req)
}

// ---- fake brokers ----

// register registers fake broker id (a new incarnation each time).
func (c *cluster) register(id int32) *kmsg.BrokerRegistrationResponse {
	c.t.Helper()
	fb := c.fakes[id]
	if fb == nil {
		fb = &fakeBroker{id: id}
		c.fakes[id] = fb
	}
	fb.inc[0]++
	fb.inc[1] = byte(id)
	resp := c.doActive(c.registration(fb, -1)).(*kmsg.BrokerRegistrationResponse)
	if resp.ErrorCode == 0 {
		fb.epoch = resp.BrokerEpoch
	}
	return resp
}

func (c *cluster) registration(fb *fakeBroker, previous int64) *kmsg.BrokerRegistrationRequest {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.SetVersion(req.MaxVersion())
	req.BrokerID, req.ClusterID, req.IncarnationID, req.PreviousBrokerEpoch = fb.id, "gregor-test", fb.inc, previous
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", fmt.Sprintf("b%d", fb.id), 9092
	req.Listeners = append(req.Listeners, l)
	return req
}

// heartbeat builds fake broker fb's heartbeat.
func (c *cluster) heartbeat(fb *fakeBroker) *kmsg.BrokerHeartbeatRequest {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.SetVersion(req.MaxVersion())
	req.BrokerID, req.BrokerEpoch, req.CurrentMetadataOffset = fb.id, fb.epoch, -1
	if a := c.active(); fb.caughtUp && a >= 0 {
		req.CurrentMetadataOffset = c.ctrls[a].Image().Offset
	}
	req.WantShutdown = fb.wantShutdown
	return req
}

// armBeat sends every beating fake broker's heartbeat to the active
// controller every heartbeatMs, on the client node.
func (c *cluster) armBeat() {
	c.beat = c.h.e.Clock().AfterFunc(heartbeatMs*time.Millisecond, func() {
		if a := c.active(); a >= 0 {
			for _, id := range sortedFakes(c.fakes) {
				fb := c.fakes[id]
				if !fb.beating {
					continue
				}
				c.pc.Do(fmt.Sprintf("c%d:9093", a), c.heartbeat(fb), func(r kmsg.Response, err error) {
					if err == nil && r.(*kmsg.BrokerHeartbeatResponse).ErrorCode == 0 {
						fb.last = r.(*kmsg.BrokerHeartbeatResponse)
					}
				})
			}
		}
		c.armBeat()
	})
}

func sortedFakes(m map[int32]*fakeBroker) []int32 {
	var ids []int32
	for id := int32(0); id < 256; id++ {
		if m[id] != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// brokers registers fake brokers ids, lets them heartbeat caught up and
// waits until every one is unfenced.
func (c *cluster) brokers(ids ...int32) {
	c.t.Helper()
	for _, id := range ids {
		require.Equal(c.t, int16(0), c.register(id).ErrorCode)
		c.fakes[id].beating, c.fakes[id].caughtUp = true, true
	}
	require.True(c.t, c.runUntil(10*time.Second, func() bool {
		for _, id := range ids {
			if a := c.active(); a < 0 || !c.ctrls[a].Image().Active(id) {
				return false
			}
		}
		return true
	}), "brokers %v not unfenced", ids)
}

// ---- requests ----

func createTopics(topics ...kmsg.CreateTopicsRequestTopic) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(req.MaxVersion())
	req.Topics = topics
	return req
}

func topic(name string, partitions int32, rf int16, cfgs ...string) kmsg.CreateTopicsRequestTopic {
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	for i := 0; i+1 < len(cfgs); i += 2 {
		cf := kmsg.NewCreateTopicsRequestTopicConfig()
		cf.Name, cf.Value = cfgs[i], kmsg.StringPtr(cfgs[i+1])
		rt.Configs = append(rt.Configs, cf)
	}
	return rt
}

// createTopic creates one topic and requires success.
func (c *cluster) createTopic(rt kmsg.CreateTopicsRequestTopic) kmsg.CreateTopicsResponseTopic {
	c.t.Helper()
	resp := c.doActive(createTopics(rt)).(*kmsg.CreateTopicsResponse)
	require.Len(c.t, resp.Topics, 1)
	st := resp.Topics[0]
	require.Equal(c.t, int16(0), st.ErrorCode, "%v: %v", kerr.ErrorForCode(st.ErrorCode), deref(st.ErrorMessage))
	return st
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// partition is a partition of the active controller's image.
func (c *cluster) partition(topic string, index int32) *meta.Partition {
	c.t.Helper()
	t := c.image().Topics[topic]
	require.NotNil(c.t, t, "topic %s", topic)
	return c.image().Partition(t.ID, index)
}

// converged waits until every running controller applied the same
// offset, and requires their images to be equal.
func (c *cluster) converged() {
	c.t.Helper()
	var want []byte
	require.True(c.t, c.runUntil(20*time.Second, func() bool {
		var end int64 = -2
		for _, id := range c.ids {
			ct := c.ctrl(id)
			if ct == nil {
				continue
			}
			if end != -2 && ct.Image().Offset != end {
				return false
			}
			end = ct.Image().Offset
		}
		return true
	}), "controllers do not converge")
	for _, id := range c.ids {
		if ct := c.ctrl(id); ct != nil {
			got, err := ct.Image().Snapshot()
			require.NoError(c.t, err)
			if want == nil {
				want = got
			}
			require.JSONEq(c.t, string(want), string(got), "controller %d", id)
		}
	}
}
