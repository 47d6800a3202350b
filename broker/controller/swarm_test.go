package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/sim"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSwarm drives three controllers through random crashes and
// restarts while fake brokers come and go and admin requests flow, and
// checks what must always hold: no decision writes a record the image
// refuses (asserted under the invariants tag), acknowledged topics that
// were never deleted exist, producer id blocks never overlap, and the
// controllers converge on one image.
func TestSwarm(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 3
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { swarm(t, 100+seed) })
	}
}

func swarm(t *testing.T, seed uint64) {
	c := newCluster(t, clusterOpts{seed: seed, tweak: func(cfg *Config) {
		cfg.SessionTimeoutMs, cfg.Quorum.RequestsPerConnMax = 2000, 100
		cfg.Static = cfg.Static.With("unclean.leader.election.enable", "true")
	}})
	rng := rand.New(rand.NewPCG(seed, 7))
	c.waitActive()
	c.brokers(11, 12, 13, 14)

	type pending struct {
		what string
		name string
		call *call
	}
	var sent []pending
	deleted := map[string]bool{}
	next := 0
	for step := 0; step < 400; step++ {
		a := c.active()
		switch w := rng.IntN(100); {
		case w < 4:
			up := c.up()
			if len(up) == 3 {
				c.hosts[up[rng.IntN(3)]].Crash()
			}
		case w < 12:
			for _, id := range c.ids {
				if c.hosts[id].State() == sim.Down {
					require.NoError(t, c.hosts[id].Start())
					break
				}
			}
		case w < 18:
			fb := c.fakes[int32(11+rng.IntN(4))]
			fb.beating = !fb.beating
		case w < 50 && a >= 0:
			next++
			name := fmt.Sprintf("t%d", next)
			sent = append(sent, pending{"create", name, c.send(a, createTopics(topic(name, 1+rng.Int32N(3), int16(1+rng.IntN(3)))))})
		case w < 60 && a >= 0 && next > 0:
			name := fmt.Sprintf("t%d", 1+rng.IntN(next))
			deleted[name] = true
			del := kmsg.NewPtrDeleteTopicsRequest()
			del.SetVersion(del.MaxVersion())
			del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr(name)}}
			sent = append(sent, pending{"delete", name, c.send(a, del)})
		case w < 70 && a >= 0:
			req := kmsg.NewPtrAllocateProducerIDsRequest()
			req.BrokerID, req.BrokerEpoch = 11, c.fakes[11].epoch
			sent = append(sent, pending{"pids", "", c.send(a, req)})
		case w < 80 && a >= 0 && next > 0:
			req := kmsg.NewPtrElectLeadersRequest()
			req.SetVersion(req.MaxVersion())
			req.ElectionType = int8(rng.IntN(2))
			sent = append(sent, pending{"elect", "", c.send(a, req)})
		}
		c.run(time.Duration(50+rng.IntN(300)) * time.Millisecond)
	}
	for _, id := range c.ids {
		if c.hosts[id].State() == sim.Down {
			require.NoError(t, c.hosts[id].Start())
		}
	}
	for _, fb := range c.fakes {
		fb.beating = true
	}
	require.True(t, c.runUntil(20*time.Second, func() bool {
		for _, s := range sent {
			if !s.call.done {
				return false
			}
		}
		return c.active() >= 0
	}), "unanswered requests")
	c.converged()

	im := c.image()
	type block struct{ first, end int64 }
	var blocks []block
	acked := 0
	for _, s := range sent {
		if s.call.err != nil {
			continue
		}
		switch r := s.call.resp.(type) {
		case *kmsg.CreateTopicsResponse:
			if r.Topics[0].ErrorCode == 0 && !deleted[s.name] {
				acked++
				require.NotNil(t, im.Topics[s.name], "acknowledged topic %s is missing", s.name)
			}
		case *kmsg.AllocateProducerIDsResponse:
			if r.ErrorCode == 0 {
				blocks = append(blocks, block{r.ProducerIDStart, r.ProducerIDStart + int64(r.ProducerIDLen)})
			} else {
				require.Contains(t, []int16{kerr.NotController.Code, kerr.StaleBrokerEpoch.Code}, r.ErrorCode)
			}
		}
	}
	for _, tp := range im.SortedTopics() {
		for _, p := range tp.Partitions {
			if p.Leader >= 0 {
				require.True(t, im.MayLead(p.Leader), "%s-%d: leader %d may not lead", tp.Name, p.Index, p.Leader)
				require.Contains(t, p.ISR, p.Leader, "%s-%d", tp.Name, p.Index)
			}
		}
	}
	slices.SortFunc(blocks, func(x, y block) int { return int(x.first - y.first) })
	for i := 1; i < len(blocks); i++ {
		require.LessOrEqual(t, blocks[i-1].end, blocks[i].first, "blocks %v overlap", blocks)
	}
	t.Logf("%d requests, %d topics acknowledged and kept, %d producer id blocks, image offset %d", len(sent), acked, len(blocks), im.Offset)
}

// up lists the controllers that are running.
func (c *cluster) up() []int32 {
	var out []int32
	for _, id := range c.ids {
		if c.hosts[id].State() != sim.Down {
			out = append(out, id)
		}
	}
	return out
}
