package simcluster

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestExpSweep(t *testing.T) {
	var seeds []uint64
	for _, s := range strings.Fields(os.Getenv("SEEDS")) {
		v, _ := strconv.ParseUint(s, 10, 64)
		seeds = append(seeds, v)
	}
	if len(seeds) == 0 {
		n, _ := strconv.Atoi(os.Getenv("N"))
		from, _ := strconv.Atoi(os.Getenv("FROM"))
		for i := 0; i < n; i++ {
			seeds = append(seeds, uint64(from+i))
		}
	}
	counts := map[Verdict]int{}
	for _, seed := range seeds {
		start := time.Now()
		o := OptionsFromSeed(seed)
		if os.Getenv("AGGR") != "" {
			o.FaultEvery = o.FaultEvery / 3
			o.FaultMax = o.FaultMax * 2
			o.Safety = 30 * time.Second
			if seed%2 == 0 {
				o.Brokers = 5
			}
		}
		r := Run(o)
		counts[r.Verdict]++
		if r.Verdict != Pass || os.Getenv("V") != "" {
			t.Logf("%s wall=%s", r.Summary(), time.Since(start))
		}
	}
	t.Logf("%v", counts)
}
