package peer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/peer"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// proc is a process that only holds its Env, so the test can act on it.
type proc struct{ e env.Env }

func (p *proc) Start(e env.Env)  { p.e = e }
func (p *proc) Stop(done func()) { done() }

type result struct {
	resp kmsg.Response
	err  error
}

func setup(t *testing.T) (*sim.Sim, *sim.Node, *sim.Node, *proc) {
	s, err := sim.New(sim.DefaultOptions(7))
	require.NoError(t, err)
	bn, err := s.AddNode("b", func() env.Process {
		b, err := broker.New(broker.DefaultConfig())
		require.NoError(t, err)
		return b
	}, sim.DiskOptions{})
	require.NoError(t, err)
	p := &proc{}
	cn, err := s.AddNode("c", func() env.Process { return p }, sim.DiskOptions{})
	require.NoError(t, err)
	require.NoError(t, bn.Start())
	require.NoError(t, cn.Start())
	require.NoError(t, s.RunFor(100*time.Millisecond))
	return s, bn, cn, p
}

func do(t *testing.T, s *sim.Sim, cn *sim.Node, c *peer.Client, req kmsg.Request) result {
	t.Helper()
	var res *result
	s.Call(cn, func(env.Process) {
		c.Do("b:9092", req, func(r kmsg.Response, err error) { res = &result{r, err} })
	})
	require.NoError(t, s.RunWhile(func() bool { return res == nil }))
	return *res
}

func TestRequestsAndFailures(t *testing.T) {
	s, bn, cn, p := setup(t)
	c := peer.New(p.e, peer.Config{ClientID: "peer", RequestTimeoutMs: 1000})

	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	res := do(t, s, cn, c, req)
	require.NoError(t, res.err)
	require.Len(t, res.resp.(*kmsg.MetadataResponse).Brokers, 1)

	bn.Pause()
	res = do(t, s, cn, c, req)
	require.True(t, errors.Is(res.err, peer.ErrTimeout), "a paused peer times out: %v", res.err)
	bn.Resume()
	res = do(t, s, cn, c, req)
	require.NoError(t, res.err, "a new connection after a timeout")

	bn.Crash()
	res = do(t, s, cn, c, req)
	require.Error(t, res.err, "a crashed peer fails the request")
	require.NoError(t, bn.Start())
	// The restarted broker serves once the controller (its own quorum of
	// one) accepts the new incarnation: as in Kafka, only after the
	// crashed incarnation's session (broker.session.timeout.ms, 9 s) ran
	// out, since a crash is no clean shutdown.
	require.NoError(t, s.RunFor(12*time.Second))
	res = do(t, s, cn, c, req)
	require.NoError(t, res.err, "the restarted peer answers")

	s.Call(cn, func(env.Process) { c.Close() })
	res = do(t, s, cn, c, req)
	require.ErrorIs(t, res.err, peer.ErrClosed)
}
