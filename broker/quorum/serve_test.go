package quorum

import (
	"errors"
	"testing"
	"time"

	peerclient "github.com/gregor-dst/gregor/broker/peer"
	"github.com/gregor-dst/gregor/env"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// holder is a process that only keeps its Env, for a test's client.
type holder struct{ e env.Env }

func (h *holder) Start(e env.Env)  { h.e = e }
func (h *holder) Stop(done func()) { done() }

// TestServeHook: the controller listener hands keys the quorum does not
// serve to Config.Serve (every version kmsg knows), keeps serving its own
// keys itself, and closes a connection whose request neither serves.
func TestServeHook(t *testing.T) {
	served := 0
	serve := func(req kmsg.Request, respond func(kmsg.Response)) bool {
		hb, ok := req.(*kmsg.BrokerHeartbeatRequest)
		if !ok {
			return false
		}
		served++
		resp := hb.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
		resp.IsCaughtUp = hb.CurrentMetadataOffset == 42
		respond(resp)
		return true
	}
	for _, tc := range []struct {
		name  string
		serve func(kmsg.Request, func(kmsg.Response)) bool
	}{{"with Serve", serve}, {"without Serve", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, clusterOpts{seed: 5, voters: 1, tweak: func(cfg *Config) { cfg.Serve = tc.serve }})
			c.waitLeader(5 * time.Second)
			h := &holder{}
			cn, err := c.s.AddNode("client", func() env.Process { return h }, slowDisk)
			require.NoError(t, err)
			require.NoError(t, cn.Start())
			c.run(10 * time.Millisecond)
			cl := peerclient.New(h.e, peerclient.Config{ClientID: "t", RequestTimeoutMs: 1000})
			do := func(req kmsg.Request) (kmsg.Response, error) {
				var resp kmsg.Response
				var rerr error
				done := false
				c.s.Call(cn, func(env.Process) {
					cl.Do("c1:9093", req, func(r kmsg.Response, err error) { resp, rerr, done = r, err, true })
				})
				require.True(t, c.runUntil(5*time.Second, func() bool { return done }))
				return resp, rerr
			}
			for v := int16(0); v <= kmsg.NewPtrBrokerHeartbeatRequest().MaxVersion(); v++ {
				hb := kmsg.NewPtrBrokerHeartbeatRequest()
				hb.SetVersion(v)
				hb.CurrentMetadataOffset = 42
				resp, err := do(hb)
				if tc.serve == nil {
					require.True(t, errors.Is(err, peerclient.ErrConnLost), "v%d: %v", v, err)
					continue
				}
				require.NoError(t, err, "v%d", v)
				require.True(t, resp.(*kmsg.BrokerHeartbeatResponse).IsCaughtUp, "v%d", v)
			}
			resp, err := do(describeQuorum(2))
			require.NoError(t, err, "the quorum's own keys are still its own")
			require.Equal(t, int16(0), resp.(*kmsg.DescribeQuorumResponse).Topics[0].Partitions[0].ErrorCode)
			_, err = do(kmsg.NewPtrListGroupsRequest())
			require.True(t, errors.Is(err, peerclient.ErrConnLost), "a key nobody serves closes the connection: %v", err)
		})
	}
	require.Equal(t, 3, served)
}
