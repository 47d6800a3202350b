package simcluster

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gregor-dst/gregor/broker"
)

func dumpStates(c *Cluster) string {
	s := ""
	for i := range c.brokers {
		b := c.Broker(i)
		if b == nil {
			s += fmt.Sprintf("b%d down\n", i)
			continue
		}
		st := b.State()
		s += fmt.Sprintf("b%d epoch=%d serving=%v q=%+v\n", i, st.BrokerEpoch, b.Serving(), b.QuorumStatus().Epoch)
		for _, p := range st.Partitions {
			var bs []string
			b.Batches(p.Topic, p.Partition, max(p.LEO-3, 0), func(bi broker.BatchInfo) bool {
				bs = append(bs, fmt.Sprintf("[%d..%d]e%d", bi.BaseOffset, bi.LastOffset, bi.LeaderEpoch))
				return true
			})
			s += fmt.Sprintf("  %s-%d leader=%d le=%d isr=%v hw=%d leo=%d fl=%d epochs=%v tail=%v\n", p.Topic, p.Partition, p.Leader, p.LeaderEpoch, p.ISR, p.HW, p.LEO, p.Flushed, p.Epochs, bs)
		}
	}
	if im := c.obs.image(); im != nil {
		for _, t := range im.SortedTopics() {
			for _, p := range t.Partitions {
				s += fmt.Sprintf("image %s-%d leader=%d le=%d isr=%v pe=%d\n", t.Name, p.Index, p.Leader, p.LeaderEpoch, p.ISR, p.PartitionEpoch)
			}
		}
		for _, b := range im.SortedBrokers() {
			s += fmt.Sprintf("image broker %+v\n", *b)
		}
	}
	return s
}

func TestExpDump(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("SEED"), 10, 64)
	o := OptionsFromSeed(seed)
	if os.Getenv("AGGR") != "" {
		o.FaultEvery = o.FaultEvery / 3
		o.FaultMax = o.FaultMax * 2
		o.Safety = 30 * time.Second
		if seed%2 == 0 {
			o.Brokers = 5
		}
	}
	o = o.withDefaults()
	f, _ := os.Create("/tmp/sim.log")
	defer f.Close()
	o.Log = f
	if os.Getenv("DEBUG") != "" {
		o.LogLevel = slog.LevelDebug
	}
	c, err := NewCluster(o.clusterConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.stopOnViolation = true
	rn := &runner{o: o, c: c, r: c.s.Seeds().Stream("simcluster/workload")}
	v, p := rn.run()
	t.Logf("%s\n%s %s", o.String(), v, p)
	for _, f := range rn.faults {
		t.Log(f)
	}
	t.Log("\n" + dumpStates(c))
}
