package simcluster

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestExp(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("SEED"), 10, 64)
	o := DefaultOptions(seed)
	if os.Getenv("SWARM") != "" {
		o = OptionsFromSeed(seed)
	}
	if os.Getenv("LOG") != "" {
		o.Log = os.Stderr
	}
	start := time.Now()
	r := Run(o)
	t.Logf("%s\n%s\nwall %s", r.Options, r.Summary(), time.Since(start))
	for _, f := range r.Faults {
		t.Log(f)
	}
	for _, v := range r.Violations {
		t.Log(v)
	}
}
