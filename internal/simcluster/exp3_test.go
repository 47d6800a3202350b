package simcluster

import (
	"log/slog"
	"os"
	"strconv"
	"testing"
)

func TestExpOne(t *testing.T) {
	seed, _ := strconv.ParseUint(os.Getenv("SEED"), 10, 64)
	o := OptionsFromSeed(seed)
	f, _ := os.Create("/tmp/sim.log")
	defer f.Close()
	o.Log = f
	if os.Getenv("DEBUG") != "" {
		o.LogLevel = slog.LevelDebug
	}
	r := Run(o)
	t.Logf("%s\n%s", r.Options, r.Summary())
	for _, x := range r.Faults {
		t.Log(x)
	}
	for _, v := range r.Violations {
		t.Log(v)
	}
}
