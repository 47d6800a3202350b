package kclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregor-dst/gregor/env"
)

func metadataReq(topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// answer is one Request's callback result.
type answer struct {
	resp kmsg.Response
	err  error
	done bool
}

func (w *world) request(to Target, req kmsg.Request) *answer {
	a := &answer{}
	w.do(func(cl *Client) {
		cl.Request(to, req, func(resp kmsg.Response, err error) { *a = answer{resp, err, true} })
	})
	return a
}

// TestVersionNegotiation: a broker that speaks only ApiVersions v0–2
// answers our v4 at v0 with UNSUPPORTED_VERSION; we retry at v2 and then
// send Metadata at the highest version both speak.
func TestVersionNegotiation(t *testing.T) {
	w := newWorld(t, testConfig(), nil)
	w.fb.apis[int16(kmsg.ApiVersions)] = versionRange{0, 2}
	w.fb.apis[int16(kmsg.Metadata)] = versionRange{1, 5}
	var got *kmsg.MetadataResponse
	w.do(func(cl *Client) {
		cl.Metadata([]string{"t"}, func(resp *kmsg.MetadataResponse, err error) {
			require.NoError(t, err)
			got = resp
		})
	})
	w.runUntil(func() bool { return got != nil }, time.Second)
	var versions []int16
	for _, r := range w.fb.ofKey(kmsg.ApiVersions) {
		versions = append(versions, r.version)
	}
	assert.Equal(t, []int16{4, 2}, versions)
	md := w.fb.ofKey(kmsg.Metadata)
	require.Len(t, md, 1)
	assert.Equal(t, int16(5), md[0].version)
	require.Len(t, got.Topics, 1)
	assert.Len(t, got.Topics[0].Partitions, 4)
	assert.Equal(t, 1, w.fb.conns, "one connection for the handshake and the request")
}

// TestNoCommonVersion: a broker whose Produce range ends below ours gets
// nothing sent; the request fails with ErrNoVersion, and a produced record
// fails definitely.
func TestNoCommonVersion(t *testing.T) {
	w := newWorld(t, testConfig(), nil)
	w.fb.apis[int16(kmsg.Produce)] = versionRange{0, 2}
	a := w.request(AnyBroker, kmsg.NewPtrProduceRequest())
	res := w.produce(0, "v")
	w.runUntil(func() bool { return a.done && allDone(res)() }, 5*time.Second)
	require.ErrorIs(t, a.err, ErrNoVersion)
	assert.False(t, MaybeDelivered(a.err))
	assert.Equal(t, Failed, res[0].Outcome, "%v", res[0].Err)
	assert.ErrorIs(t, res[0].Err, ErrNoVersion)
	assert.Equal(t, 0, w.fb.count(kmsg.Produce))
}

// TestCorrelationInOrder: three requests in flight on one connection are
// answered in order, each to its own caller.
func TestCorrelationInOrder(t *testing.T) {
	w := newWorld(t, testConfig(), func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.key == int16(kmsg.Metadata) {
			return fakeReply{delay: time.Duration(30-10*r.n) * time.Millisecond}
		}
		return fakeReply{}
	})
	w.fb.topics = map[string]int32{"a": 1, "b": 2, "c": 3}
	as := []*answer{w.request(AnyBroker, metadataReq("a")), w.request(AnyBroker, metadataReq("b")), w.request(AnyBroker, metadataReq("c"))}
	w.runUntil(func() bool { return as[0].done && as[1].done && as[2].done }, time.Second)
	for i, name := range []string{"a", "b", "c"} {
		require.NoError(t, as[i].err)
		resp := as[i].resp.(*kmsg.MetadataResponse)
		require.Len(t, resp.Topics, 1)
		assert.Equal(t, name, *resp.Topics[0].Topic)
		assert.Len(t, resp.Topics[0].Partitions, i+1)
	}
	md := w.fb.ofKey(kmsg.Metadata)
	require.Len(t, md, 3)
	assert.Equal(t, md[0].conn, md[2].conn, "one connection")
	assert.Equal(t, []int32{md[0].corr + 1, md[0].corr + 2}, []int32{md[1].corr, md[2].corr})
}

// TestCorrelationMismatch: an answer whose correlation id is not the
// oldest request's breaks the connection; every request on it fails as
// sent (it may have been served).
func TestCorrelationMismatch(t *testing.T) {
	w := newWorld(t, testConfig(), func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.key == int16(kmsg.Metadata) && r.n == 0 {
			return fakeReply{unsorted: true, delay: 10 * time.Millisecond}
		}
		if r.key == int16(kmsg.Metadata) {
			return fakeReply{silent: true}
		}
		return fakeReply{}
	})
	as := []*answer{w.request(AnyBroker, metadataReq("t")), w.request(AnyBroker, metadataReq("t"))}
	w.runUntil(func() bool { return as[0].done && as[1].done }, time.Second)
	for _, a := range as {
		require.ErrorIs(t, a.err, ErrBadResponse)
		require.ErrorIs(t, a.err, ErrConnLost)
		assert.True(t, MaybeDelivered(a.err))
	}
	w.runUntil(func() bool { return w.fb.closed == 1 }, time.Second)
}

// TestRequestTimeout: an unanswered request fails with ErrTimeout after
// RequestTimeoutMs and takes its connection down; a request queued behind
// it fails as not sent; the next request dials afresh.
func TestRequestTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.InFlightPerConnMax = 1
	w := newWorld(t, cfg, func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.key == int16(kmsg.Metadata) && r.n == 0 {
			return fakeReply{silent: true}
		}
		return fakeReply{}
	})
	start := w.s.Now()
	first := w.request(AnyBroker, metadataReq("t"))
	var second *answer
	w.s.At(start+sim10ms, func() { second = w.request(AnyBroker, metadataReq("t")) })
	w.runUntil(func() bool { return first.done && second != nil && second.done }, 5*time.Second)
	require.ErrorIs(t, first.err, ErrTimeout)
	assert.True(t, MaybeDelivered(first.err), "it was sent")
	require.ErrorIs(t, second.err, ErrConnLost)
	assert.False(t, MaybeDelivered(second.err), "it waited behind the first")
	elapsed := time.Duration(w.s.Now() - start)
	assert.GreaterOrEqual(t, elapsed, time.Second)
	assert.Less(t, elapsed, 1100*time.Millisecond)

	third := w.request(AnyBroker, metadataReq("t"))
	w.runUntil(func() bool { return third.done }, time.Second)
	require.NoError(t, third.err)
	assert.Equal(t, 2, w.fb.conns)
	assert.Equal(t, 2, w.fb.count(kmsg.Metadata), "the second request was never sent")
}

const sim10ms = 10 * 1_000_000

// TestRefused: nothing listens; the request fails, not sent.
func TestRefused(t *testing.T) {
	w := newWorld(t, testConfig(), nil)
	w.broker.Crash()
	a := w.request(AnyBroker, metadataReq("t"))
	w.runUntil(func() bool { return a.done }, 5*time.Second)
	require.ErrorIs(t, a.err, env.ErrRefused)
	assert.False(t, MaybeDelivered(a.err))
}

// TestConnectionLost: the broker closes the connection with requests in
// flight; they fail as maybe delivered.
func TestConnectionLost(t *testing.T) {
	w := newWorld(t, testConfig(), func(fb *fakeBroker, r *fakeReq) fakeReply {
		if r.key == int16(kmsg.Metadata) {
			return fakeReply{close: true}
		}
		return fakeReply{}
	})
	a := w.request(AnyBroker, metadataReq("t"))
	w.runUntil(func() bool { return a.done }, time.Second)
	require.ErrorIs(t, a.err, ErrConnLost)
	assert.True(t, MaybeDelivered(a.err))
}

// TestQueueBound: requests past QueuedPerConnMax fail at once, not sent.
func TestQueueBound(t *testing.T) {
	cfg := testConfig()
	cfg.QueuedPerConnMax = 2
	w := newWorld(t, cfg, nil)
	as := []*answer{w.request(AnyBroker, metadataReq("t")), w.request(AnyBroker, metadataReq("t")), w.request(AnyBroker, metadataReq("t"))}
	w.runUntil(func() bool { return as[0].done && as[1].done && as[2].done }, time.Second)
	require.NoError(t, as[0].err)
	require.NoError(t, as[1].err)
	require.ErrorIs(t, as[2].err, ErrQueueFull)
	assert.False(t, MaybeDelivered(as[2].err))
}

// TestUnknownNode: a node id the metadata does not list.
func TestUnknownNode(t *testing.T) {
	w := newWorld(t, testConfig(), nil)
	a := w.request(Node(7), metadataReq("t"))
	w.runUntil(func() bool { return a.done }, time.Second)
	require.ErrorIs(t, a.err, ErrUnknownNode)
	// After metadata, node 1 resolves.
	var ok bool
	w.do(func(cl *Client) { cl.Metadata(nil, func(*kmsg.MetadataResponse, error) { ok = true }) })
	w.runUntil(func() bool { return ok }, time.Second)
	b := w.request(Node(1), metadataReq("t"))
	w.runUntil(func() bool { return b.done }, time.Second)
	require.NoError(t, b.err)
}

// TestCallbacksNeverReenter: done never runs inside the call that asked
// for it, even for failures decided at once.
func TestCallbacksNeverReenter(t *testing.T) {
	w := newWorld(t, testConfig(), nil)
	inside, called := false, 0
	w.do(func(cl *Client) {
		inside = true
		cl.Request(Node(7), metadataReq("t"), func(kmsg.Response, error) { assert.False(t, inside); called++ })
		cl.Produce("t", 0, nil, nil, func(ProduceResult) { assert.False(t, inside); called++ })
		inside = false
		// Close reports what is unfinished synchronously (a stopping
		// process may have no later callbacks); calls after it do not.
		cl.Close()
		inside = true
		cl.Produce("t", 0, nil, nil, func(r ProduceResult) {
			assert.False(t, inside)
			assert.ErrorIs(t, r.Err, ErrClosed)
			called++
		})
		inside = false
	})
	w.runUntil(func() bool { return called == 3 }, time.Second)
}
