package kclient

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gregor-dst/gregor/sim"
)

// faultPlan draws faults between the client and the broker for a window:
// partitions, clogs either way, broker crashes with restarts, and broker
// pauses (a long GC pause: the client times out while the broker still
// holds its requests, which it serves on resuming). Everything heals by
// the window's end.
func faultPlan(window time.Duration, log *[]string) func(w *world, start sim.Time) {
	return func(w *world, start sim.Time) {
		r := w.s.Seeds().Stream("test/faults")
		c, b := w.client, w.broker
		for at := start + sim.Time(100*time.Millisecond); at < start+sim.Time(window); at += sim.Time(150*time.Millisecond + time.Duration(r.Int64N(int64(450*time.Millisecond)))) {
			d := time.Duration(50+r.IntN(1500)) * time.Millisecond
			kind := r.IntN(4)
			w.s.At(at, func() {
				*log = append(*log, fmt.Sprintf("%s %s for %s", w.s.Now(), faultNames[kind], d))
				applyFault(w, kind, d, c, b)
			})
		}
		w.s.At(start+sim.Time(window+2*time.Second), func() {
			w.s.Net().Heal()
			b.Resume()
			if b.State() == sim.Down {
				require.NoError(w.t, b.Start())
			}
		})
	}
}

var faultNames = []string{"partition", "clog", "crash", "pause"}

func applyFault(w *world, kind int, d time.Duration, c, b *sim.Node) {
	switch kind {
	case 0:
		w.s.Net().Partition(sim.Isolate(b, w.s.Nodes()))
		w.s.At(w.s.Now()+sim.Time(d), w.s.Net().Heal)
	case 1:
		w.s.Net().Clog(c, b, d)
		w.s.Net().Clog(b, c, d/2)
	case 2:
		b.Crash()
		w.s.At(w.s.Now()+sim.Time(d/3), func() {
			if b.State() == sim.Down {
				require.NoError(w.t, b.Start())
			}
		})
	case 3:
		b.Pause()
		w.s.At(w.s.Now()+sim.Time(d), b.Resume)
	}
}

// swarmCase is one flavour of the fault swarm.
type swarmCase struct {
	name              string
	topicConfigs      map[string]string
	deliveryTimeoutMs int64
	acksMustSurvive   bool
}

// TestFaultSwarm runs, for many seeds, 4k idempotent records over 4
// partitions while the network and the broker misbehave, in three
// flavours:
//   - flush.messages=1, long delivery timeout: every acknowledged record is
//     read back at its offset;
//   - default flush: acknowledged records may be lost on a crash (counted),
//     and the producer meets OUT_OF_ORDER_SEQUENCE_NUMBER and resets;
//   - a 2.5 s delivery timeout: records expire mid-fault, which exercises
//     the Failed/Ambiguous classification and the dirty reset.
//
// In every flavour: no value appears twice, values appear in produce
// order, and no record reported Failed is in the log.
func TestFaultSwarm(t *testing.T) {
	cases := []swarmCase{
		{"flush every message", map[string]string{"flush.messages": "1"}, 120_000, true},
		{"default flush", nil, 120_000, false},
		{"short delivery timeout", map[string]string{"flush.messages": "1"}, 2500, false},
	}
	seeds := uint64(30)
	if testing.Short() {
		seeds = 5
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSwarm(t, c, seeds) })
	}
}

func runSwarm(t *testing.T, c swarmCase, seeds uint64) {
	totals, lost := map[Outcome]int{}, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		var faults []string
		sc := scenario{
			seed: seed, records: 4000, partitions: 4, chunk: 20, every: 10 * time.Millisecond,
			topicConfigs: c.topicConfigs,
			cfg: func(cfg *Config) {
				cfg.RequestTimeoutMs, cfg.ConnSetupTimeoutMs = 1000, 500
				cfg.DeliveryTimeoutMs = c.deliveryTimeoutMs
				cfg.BatchRecordsMax = 1 + int(seed%8)*4
			},
			faults: faultPlan(2*time.Second, &faults),
		}
		r := runScenario(t, sc)
		lost += checkScenario(t, r, c.acksMustSurvive)
		for o, n := range r.counts { //gregor:unordered-ok summing
			totals[o] += n
		}
		if t.Failed() {
			t.Fatalf("seed %d: faults %v; outcomes %v", seed, faults, r.counts)
		}
	}
	t.Logf("%d seeds: outcomes %v; acknowledged but not read back: %d", seeds, totals, lost)
}
