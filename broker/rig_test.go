package broker

import (
	"encoding/binary"
	"github.com/gregor-dst/gregor/broker/wire"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rig runs one broker ("b") and one raw client ("c") in the simulator. The
// client sends hand-made frames and keeps every response, so tests see
// exactly what the broker put on the wire.
type rig struct {
	cfg    Config
	t      *testing.T
	s      *sim.Sim
	broker *sim.Node
	client *rawClient
}

type rawClient struct {
	e         env.Env
	conn      env.Conn
	open      bool
	closedErr error
	closed    bool
	responses map[int32][]byte
	corr      int32
	node      *sim.Node
}

func (c *rawClient) Start(e env.Env)  { c.e = e }
func (c *rawClient) Stop(done func()) { done() }
func (c *rawClient) Opened(env.Conn)  { c.open = true }
func (c *rawClient) Closed(_ env.Conn, err error) {
	c.closed, c.closedErr, c.open = true, err, false
}
func (c *rawClient) Received(_ env.Conn, frame []byte) {
	c.responses[int32(binary.BigEndian.Uint32(frame))] = frame
}

// newRig starts a broker with the given static configs and connects.
func newRig(t *testing.T, static ...string) *rig {
	t.Helper()
	return newRigWith(t, func(*Config) {}, static...)
}

// newRigWith is newRig with the broker's Config adjusted by tune.
func newRigWith(t *testing.T, tune func(*Config), static ...string) *rig {
	t.Helper()
	s, err := sim.New(sim.DefaultOptions(1))
	require.NoError(t, err)
	set, err := configs.ParseStatic(static)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.Static = set
	tune(&cfg)
	bn, err := s.AddNode("b", func() env.Process {
		b, err := New(cfg)
		require.NoError(t, err)
		return b
	}, sim.DiskOptions{})
	require.NoError(t, err)
	r := &rig{t: t, s: s, broker: bn, cfg: cfg}
	c := &rawClient{responses: map[int32][]byte{}}
	cn, err := s.AddNode("c", func() env.Process { return c }, sim.DiskOptions{})
	require.NoError(t, err)
	require.NoError(t, bn.Start())
	require.NoError(t, cn.Start())
	r.client = c
	r.dial()
	return r
}

// addBroker starts a second broker, node id 1, named "b1", with the same
// configs and peers.
func (r *rig) addBroker() *sim.Node {
	r.t.Helper()
	cfg := r.cfg
	cfg.NodeID = 1
	n, err := r.s.AddNode("b1", func() env.Process {
		b, err := New(cfg)
		require.NoError(r.t, err)
		return b
	}, sim.DiskOptions{})
	require.NoError(r.t, err)
	require.NoError(r.t, n.Start())
	require.NoError(r.t, r.s.RunFor(10*time.Millisecond))
	return n
}

func (r *rig) dial() {
	r.t.Helper()
	c := r.client
	c.closed, c.closedErr = false, nil
	r.s.Call(r.s.Node("c"), func(env.Process) { c.conn = c.e.Net().Dial("b:9092", c) })
	require.NoError(r.t, r.s.RunWhile(func() bool { return !c.open && !c.closed }))
	require.True(r.t, c.open, "connected to the broker: %v", c.closedErr)
}

// sendFrame sends a raw frame on the rig's client connection.
func (r *rig) sendFrame(frame []byte) {
	r.s.Call(r.s.Node("c"), func(env.Process) { _ = r.client.conn.Send(frame) })
}

// addClient starts another raw client node connected to the broker, for
// tests that need a second connection (a follower next to a producer).
func (r *rig) addClient(name string) *rawClient {
	r.t.Helper()
	c := &rawClient{responses: map[int32][]byte{}}
	n, err := r.s.AddNode(name, func() env.Process { return c }, sim.DiskOptions{})
	require.NoError(r.t, err)
	require.NoError(r.t, n.Start())
	r.s.Call(n, func(env.Process) { c.conn = c.e.Net().Dial("b:9092", c) })
	require.NoError(r.t, r.s.RunWhile(func() bool { return !c.open && !c.closed }))
	require.True(r.t, c.open)
	c.node = n
	return c
}

// send sends req on c and returns its correlation id without waiting.
func (r *rig) send(c *rawClient, req kmsg.Request) int32 {
	c.corr++
	id := "rig"
	frame := wire.AppendRequest(nil, req, c.corr, &id)
	node := c.node
	if node == nil {
		node = r.s.Node("c")
	}
	r.s.Call(node, func(env.Process) { _ = c.conn.Send(frame) })
	return c.corr
}

// await waits up to d for the answer to corr on c; nil if none came.
func (r *rig) await(c *rawClient, req kmsg.Request, corr int32, d time.Duration) kmsg.Response {
	r.t.Helper()
	deadline := r.s.Now() + sim.Time(d)
	require.NoError(r.t, r.s.RunWhile(func() bool {
		_, got := c.responses[corr]
		return !got && !c.closed && r.s.Now() < deadline
	}))
	frame, ok := c.responses[corr]
	if !ok {
		return nil
	}
	_, resp, err := wire.DecodeResponse(req, frame)
	require.NoError(r.t, err)
	return resp
}

// do sends req at its version and waits for the answer.
func (r *rig) do(req kmsg.Request) kmsg.Response {
	r.t.Helper()
	c := r.client
	c.corr++
	corr := c.corr
	id := "rig"
	r.sendFrame(wire.AppendRequest(nil, req, corr, &id))
	r.runFor(corr, 10*time.Second)
	frame, ok := c.responses[corr]
	require.True(r.t, ok, "no answer to %s v%d (connection closed: %v)", kmsg.NameForKey(req.Key()), req.GetVersion(), c.closed)
	got, resp, err := wire.DecodeResponse(req, frame)
	require.NoError(r.t, err)
	require.Equal(r.t, corr, got)
	return resp
}

// runFor runs until the answer to corr arrives, the connection closes or
// d of simulated time passes.
func (r *rig) runFor(corr int32, d time.Duration) {
	r.t.Helper()
	deadline := r.s.Now() + sim.Time(d)
	require.NoError(r.t, r.s.RunWhile(func() bool {
		_, got := r.client.responses[corr]
		return !got && !r.client.closed && r.s.Now() < deadline
	}))
}

// createTopic makes a topic and fails the test on any error.
func (r *rig) createTopic(name string, partitions int32, cfg map[string]string) [16]byte {
	r.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(7)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range cfg { //gregor:unordered-ok test request; the broker sorts
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp := r.do(req).(*kmsg.CreateTopicsResponse)
	require.Zero(r.t, resp.Topics[0].ErrorCode, "create %s: %v", name, resp.Topics[0].ErrorMessage)
	return resp.Topics[0].TopicID
}

// produce sends one batch to topic/partition and returns the partition's
// answer.
func (r *rig) produce(version int16, acks int16, topic string, partition int32, batch []byte) kmsg.ProduceResponseTopicPartition {
	r.t.Helper()
	req := produceRequest(version, acks, topic, partition, batch)
	return r.do(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

// produceRequest is a Produce of one batch to topic/partition, for tests
// that send it without waiting for the answer.
func produceRequest(version int16, acks int16, topic string, partition int32, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(version)
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// fetch reads from topic/partition at offset.
func (r *rig) fetch(version int16, topic string, partition int32, offset int64, minBytes, maxWaitMs int32) kmsg.FetchResponseTopicPartition {
	r.t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(version)
	req.MinBytes, req.MaxWaitMillis, req.MaxBytes = minBytes, maxWaitMs, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return r.do(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
}

// plain is a batch without a producer (not idempotent).
func plain() records.BuildOptions {
	return records.BuildOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
}

// with returns o changed by f, for one-line batch options in tables.
func with(o records.BuildOptions, f func(*records.BuildOptions)) records.BuildOptions {
	f(&o)
	return o
}

// batchOf builds a batch of n records with the given producer fields.
func batchOf(t *testing.T, n int, opts records.BuildOptions) []byte {
	t.Helper()
	recs := make([]records.Record, n)
	for i := range recs {
		recs[i] = records.Record{Value: []byte{byte('a' + i%26)}, OffsetDelta: int32(i)}
	}
	if opts.BaseTimestamp == 0 {
		opts.BaseTimestamp = sim.DefaultEpoch.UnixMilli()
	}
	b, err := records.Build(opts, recs)
	require.NoError(t, err)
	return b
}
