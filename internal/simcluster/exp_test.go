package simcluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker"
	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/env"
	"github.com/gregor-dst/gregor/sim"
	"github.com/gregor-dst/gregor/workloads/kclient"
	"github.com/stretchr/testify/require"
)

func TestExp(t *testing.T) {
	s, err := sim.New(sim.DefaultOptions(1))
	require.NoError(t, err)
	voters := map[int32]string{0: "b0:9093", 1: "b1:9093", 2: "b2:9093"}
	static, err := configs.ParseStatic([]string{"default.replication.factor=3", "min.insync.replicas=2"})
	require.NoError(t, err)
	var nodes []*sim.Node
	for i := int32(0); i < 3; i++ {
		id := i
		n, err := s.AddNode(fmt.Sprintf("b%d", i), func() env.Process {
			cfg := broker.DefaultConfig()
			cfg.NodeID = id
			cfg.Voters = voters
			cfg.Static = static
			b, err := broker.New(cfg)
			require.NoError(t, err)
			return b
		}, sim.DiskOptions{SyncLatency: sim.Latency{Min: time.Millisecond, Mean: 2 * time.Millisecond}})
		require.NoError(t, err)
		nodes = append(nodes, n)
		require.NoError(t, n.Start())
	}
	acked, failed := 0, 0
	cfg := kclient.DefaultConfig("b0:9092", "b1:9092", "b2:9092")
	cn, err := s.AddNode("c0", kclient.NewProcess(cfg, func(cl *kclient.Client) {
		cl.CreateTopic("t", 3, nil, func(err error) {
			t.Logf("create: %v", err)
			var tick func()
			n := 0
			tick = func() {
				for p := int32(0); p < 3; p++ {
					n++
					cl.Produce("t", p, nil, []byte(fmt.Sprint(n)), func(r kclient.ProduceResult) {
						if r.Outcome == kclient.Acked {
							acked++
						} else {
							failed++
						}
					})
				}
				// no env here; use sim.At
			}
			_ = tick
		})
	}), sim.DiskOptions{})
	require.NoError(t, err)
	require.NoError(t, cn.Start())
	start := time.Now()
	require.NoError(t, s.RunFor(5*time.Second))
	for ts := 0; ts < 3000; ts++ {
		s.Call(cn, func(p env.Process) {
			cl := p.(*kclient.Process).Client
			for part := int32(0); part < 3; part++ {
				cl.Produce("t", part, nil, []byte("x"), func(r kclient.ProduceResult) {
					if r.Outcome == kclient.Acked {
						acked++
					} else {
						failed++
					}
				})
			}
		})
		require.NoError(t, s.RunFor(10*time.Millisecond))
	}
	require.NoError(t, s.RunFor(5*time.Second))
	for _, n := range nodes {
		st := n.Process().(*broker.Broker).State()
		t.Logf("%+v", st)
	}
	t.Logf("acked %d failed %d events %d wall %s sim %s", acked, failed, s.Events(), time.Since(start), s.Now())
}
