package kclient

import (
	"encoding/binary"
	"fmt"
	"github.com/gregor-dst/gregor/broker/wire"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregor-dst/gregor/broker/records"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
)

// fakeBroker is a scripted broker process for unit tests: it decodes
// requests itself, answers ApiVersions from a configurable list, Metadata
// with itself as leader of every partition, Produce into a tiny idempotent
// log, and lets each test's script override any answer (delay it, drop
// it, close the connection, send raw bytes).
type fakeBroker struct {
	e      env.Env
	port   int
	apis   map[int16]versionRange // what ApiVersions advertises
	topics map[string]int32       // topic → partitions
	script func(fb *fakeBroker, r *fakeReq) fakeReply

	reqs []*fakeReq // every request received, in order
	// inFlight counts requests received and not yet answered (silent ones
	// stay counted); inFlightMax is its high mark.
	inFlight, inFlightMax int
	conns                 int // connections accepted
	closed                int // connections that ended
	logs                  map[partKey][][]byte
	pids                  map[fakePID]*fakeProducer
	nextID                int64
}

// fakePID keys producer state by producer id and partition, as Kafka
// keeps it.
type fakePID struct {
	id int64
	k  partKey
}

type fakeProducer struct {
	lastSeq int32
	window  []fakeBatch // the last five batches
}

type fakeBatch struct {
	firstSeq int32
	offset   int64
}

// fakeReq is one decoded request.
type fakeReq struct {
	conn    uint64
	key     int16
	version int16
	corr    int32
	req     kmsg.Request
	n       int // index among requests of its key
}

// fakeReply says how to answer. The zero value answers with the default
// behaviour at once.
type fakeReply struct {
	resp     kmsg.Response // nil: the default answer
	silent   bool          // never answer
	close    bool          // close the connection instead of answering
	delay    time.Duration
	raw      []byte // send these bytes as the frame
	unsorted bool   // answer with the correlation id of the next request
}

func defaultAPIs() map[int16]versionRange {
	return map[int16]versionRange{
		int16(kmsg.Produce): {3, 12}, int16(kmsg.Fetch): {4, 12}, int16(kmsg.ListOffsets): {1, 8},
		int16(kmsg.Metadata): {1, 12}, int16(kmsg.ApiVersions): {0, 4}, int16(kmsg.CreateTopics): {2, 7},
		int16(kmsg.InitProducerID): {0, 4},
	}
}

func newFakeBroker(script func(*fakeBroker, *fakeReq) fakeReply) *fakeBroker {
	return &fakeBroker{port: 9092, apis: defaultAPIs(), topics: map[string]int32{"t": 4}, script: script,
		logs: map[partKey][][]byte{}, pids: map[fakePID]*fakeProducer{}, nextID: 1000}
}

func (fb *fakeBroker) Start(e env.Env) {
	fb.e = e
	if _, err := e.Net().Listen(fb.port, func(env.Conn) env.Handler { return &fakeConn{fb: fb} }); err != nil {
		panic(err)
	}
}

func (fb *fakeBroker) Stop(done func()) { done() }

// count counts received requests of key.
func (fb *fakeBroker) count(key kmsg.Key) int {
	n := 0
	for _, r := range fb.reqs {
		if r.key == int16(key) {
			n++
		}
	}
	return n
}

func (fb *fakeBroker) ofKey(key kmsg.Key) []*fakeReq {
	var out []*fakeReq
	for _, r := range fb.reqs {
		if r.key == int16(key) {
			out = append(out, r)
		}
	}
	return out
}

type fakeConn struct {
	fb     *fakeBroker
	lastAt time.Duration // when the latest answer goes out
}

func (fc *fakeConn) Opened(env.Conn) { fc.fb.conns++ }
func (fc *fakeConn) Closed(env.Conn, error) {
	fc.fb.closed++
}

func (fc *fakeConn) Received(c env.Conn, frame []byte) {
	fb := fc.fb
	r, err := decodeFakeRequest(frame)
	if err != nil {
		panic(fmt.Sprintf("fake broker: %v", err))
	}
	r.conn = c.ID()
	r.n = fb.count(kmsg.Key(r.key))
	fb.reqs = append(fb.reqs, r)
	fb.inFlight++
	fb.inFlightMax = max(fb.inFlightMax, fb.inFlight)
	reply := fakeReply{}
	if fb.script != nil {
		reply = fb.script(fb, r)
	}
	fc.answer(c, r, reply)
}

func (fc *fakeConn) answer(c env.Conn, r *fakeReq, reply fakeReply) {
	fb := fc.fb
	if reply.close {
		c.Close()
		return
	}
	if reply.silent {
		return
	}
	frame := reply.raw
	if frame == nil {
		frame = fb.encode(r, reply)
	}
	// Kafka answers a connection's requests in order: a short delay after a
	// long one waits for it.
	at := max(fb.e.Clock().Mono()+reply.delay, fc.lastAt)
	fc.lastAt = at
	if delay := at - fb.e.Clock().Mono(); delay > 0 {
		fb.e.Clock().AfterFunc(delay, func() {
			fb.inFlight--
			_ = c.Send(frame)
		})
		return
	}
	fb.inFlight--
	_ = c.Send(frame)
}

// encode builds the answer frame: the default answer unless the script
// gave one.
func (fb *fakeBroker) encode(r *fakeReq, reply fakeReply) []byte {
	resp := reply.resp
	if resp == nil {
		resp = fb.defaultAnswer(r)
	}
	corr := r.corr
	if reply.unsorted {
		corr++
	}
	version := r.version
	if r.key == int16(kmsg.ApiVersions) {
		if resp.(*kmsg.ApiVersionsResponse).ErrorCode == kerr.UnsupportedVersion.Code {
			version = 0
		}
	}
	resp.SetVersion(version)
	out := binary.BigEndian.AppendUint32(nil, uint32(corr))
	if resp.IsFlexible() && r.key != int16(kmsg.ApiVersions) {
		out = append(out, 0)
	}
	return resp.AppendTo(out)
}

func (fb *fakeBroker) defaultAnswer(r *fakeReq) kmsg.Response {
	switch req := r.req.(type) {
	case *kmsg.ApiVersionsRequest:
		return fb.apiVersions(r)
	case *kmsg.MetadataRequest:
		return fb.metadata(req)
	case *kmsg.InitProducerIDRequest:
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID, resp.ProducerEpoch = fb.nextID, 0
		fb.nextID++
		return resp
	case *kmsg.ProduceRequest:
		return fb.produce(req)
	}
	panic(fmt.Sprintf("fake broker: no default answer for %s", kmsg.NameForKey(r.key)))
}

func (fb *fakeBroker) apiVersions(r *fakeReq) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	for _, k := range []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata, kmsg.ApiVersions, kmsg.CreateTopics, kmsg.InitProducerID} {
		if v, ok := fb.apis[int16(k)]; ok {
			resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: int16(k), MinVersion: v.min, MaxVersion: v.max})
		}
	}
	if r.version > fb.apis[int16(kmsg.ApiVersions)].max {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
	}
	return resp
}

func (fb *fakeBroker) metadata(req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: fb.e.Name(), Port: int32(fb.port)}}
	resp.ControllerID = 1
	for _, rt := range req.Topics {
		t := kmsg.NewMetadataResponseTopic()
		t.Topic = rt.Topic
		n, ok := fb.topics[*rt.Topic]
		if !ok {
			t.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		for i := range n {
			p := kmsg.NewMetadataResponseTopicPartition()
			p.Partition, p.Leader = i, 1
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// produce appends each partition's batch to the fake log, deduplicating
// idempotent retries within the last five batches as Kafka does.
func (fb *fakeBroker) produce(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.ErrorCode = fb.appendBatch(partKey{rt.Topic, rp.Partition}, rp.Records)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (fb *fakeBroker) appendBatch(k partKey, data []byte) (int64, int16) {
	h, err := records.ParseHeader(data)
	if err != nil || !records.CRCOK(data, h) {
		return -1, kerr.CorruptMessage.Code
	}
	if h.ProducerID >= 0 {
		p := fb.pids[fakePID{h.ProducerID, k}]
		if p == nil {
			p = &fakeProducer{lastSeq: -1}
			fb.pids[fakePID{h.ProducerID, k}] = p
		}
		for _, b := range p.window {
			if b.firstSeq == h.BaseSequence {
				return b.offset, 0
			}
		}
		if h.BaseSequence != p.lastSeq+1 {
			return -1, kerr.OutOfOrderSequenceNumber.Code
		}
		p.lastSeq = h.LastSequence()
		p.window = append(p.window, fakeBatch{firstSeq: h.BaseSequence, offset: fb.endOffset(k)})
		if len(p.window) > 5 {
			p.window = p.window[1:]
		}
	}
	base := fb.endOffset(k)
	fb.logs[k] = append(fb.logs[k], data)
	return base, 0
}

func (fb *fakeBroker) endOffset(k partKey) int64 {
	n := int64(0)
	for _, b := range fb.logs[k] {
		h, _ := records.ParseHeader(b)
		n += int64(h.NumRecords)
	}
	return n
}

// values lists the record values in a partition's fake log, in order.
func (fb *fakeBroker) values(t *testing.T, k partKey) []string {
	var out []string
	for _, b := range fb.logs[k] {
		h, err := records.ParseHeader(b)
		require.NoError(t, err)
		recs, err := records.Records(b, h, 1<<20)
		require.NoError(t, err)
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
	}
	return out
}

// decodeFakeRequest parses a request frame (no length prefix).
func decodeFakeRequest(frame []byte) (*fakeReq, error) {
	r := kbin.Reader{Src: frame}
	fr := &fakeReq{key: r.Int16(), version: r.Int16(), corr: r.Int32()}
	r.NullableString()
	if !r.Ok() {
		return nil, fmt.Errorf("short header")
	}
	req := kmsg.RequestForKey(fr.key)
	if req == nil {
		return nil, fmt.Errorf("unknown key %d", fr.key)
	}
	req.SetVersion(fr.version)
	if req.IsFlexible() && !wire.SkipTags(&r) {
		return nil, fmt.Errorf("bad header tags")
	}
	if err := req.ReadFrom(r.Src); err != nil {
		return nil, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(fr.key), fr.version, err)
	}
	fr.req = req
	return fr, nil
}

// ---- the test world ----

// world is a simulator with a fake broker "b1" and a client node "c1".
type world struct {
	t      *testing.T
	s      *sim.Sim
	fb     *fakeBroker
	client *sim.Node
	broker *sim.Node
}

func testConfig() Config {
	cfg := DefaultConfig("b1:9092")
	cfg.RequestTimeoutMs = 1000
	cfg.DeliveryTimeoutMs = 10_000
	cfg.RetryTimeoutMs = 10_000
	return cfg
}

func newWorld(t *testing.T, cfg Config, script func(*fakeBroker, *fakeReq) fakeReply) *world {
	t.Helper()
	s, err := sim.New(sim.DefaultOptions(1))
	require.NoError(t, err)
	w := &world{t: t, s: s, fb: newFakeBroker(script)}
	w.broker, err = s.AddNode("b1", func() env.Process { return w.fb }, sim.DiskOptions{})
	require.NoError(t, err)
	w.client, err = s.AddNode("c1", NewProcess(cfg, nil), sim.DiskOptions{})
	require.NoError(t, err)
	require.NoError(t, w.broker.Start())
	require.NoError(t, w.client.Start())
	require.NoError(t, s.RunFor(time.Millisecond))
	return w
}

// do runs f with the client on the client's thread.
func (w *world) do(f func(cl *Client)) {
	w.s.Call(w.client, func(p env.Process) { f(p.(*Process).Client) })
}

// runUntil runs until cond holds, failing past limit of virtual time.
func (w *world) runUntil(cond func() bool, limit time.Duration) {
	w.t.Helper()
	end := w.s.Now() + sim.Time(limit)
	require.NoError(w.t, w.s.RunWhile(func() bool { return !cond() && w.s.Now() <= end }))
	require.True(w.t, cond(), "condition not met within %s (now %s)", limit, w.s.Now())
}

// produce sends values to t/partition and collects their results.
func (w *world) produce(partition int32, values ...string) []ProduceResult {
	res := make([]ProduceResult, len(values))
	w.do(func(cl *Client) {
		for i, v := range values {
			cl.Produce("t", partition, nil, []byte(v), func(r ProduceResult) { res[i] = r })
		}
	})
	return res
}

func allDone(res []ProduceResult) func() bool {
	return func() bool {
		for _, r := range res {
			if r.Outcome == 0 {
				return false
			}
		}
		return true
	}
}
