package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	tg, err := ParseTarget("kfake")
	require.NoError(t, err)
	assert.Equal(t, "kfake", tg.Name())
	assert.Equal(t, 3, tg.(*KfakeTarget).cfg.Brokers)

	tg, err = ParseTarget("kfake:brokers=1")
	require.NoError(t, err)
	assert.Equal(t, 1, tg.(*KfakeTarget).cfg.Brokers)

	tg, err = ParseTarget("bootstrap=127.0.0.1:9092, 127.0.0.1:9093")
	require.NoError(t, err)
	assert.Equal(t, "bootstrap", tg.Name())
	ep, err := tg.Setup(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:9092", "127.0.0.1:9093"}, ep.Bootstrap)
	assert.Equal(t, "unknown", ep.Info.Durability.Fsync)

	tg, err = ParseTarget("synthetic:ackDelay=20ms,stallAfter=1s,stallFor=500ms")
	require.NoError(t, err)
	s := tg.(*SyntheticTarget)
	assert.Equal(t, 20*time.Millisecond, s.cfg.AckDelay)
	assert.Equal(t, []Stall{{After: time.Second, For: 500 * time.Millisecond}}, s.cfg.Stalls)
	assert.Equal(t, 1, s.cfg.Brokers)

	for _, bad := range []string{"kafka", "kfake:brokers=0", "kfake:nodes=3", "kfake:brokers", "bootstrap=", "bootstrap=nohostport", "synthetic:ackDelay=soon"} {
		_, err := ParseTarget(bad)
		assert.Error(t, err, bad)
	}
}

// Teardown is safe without Setup and twice.
func TestTeardownIdempotent(t *testing.T) {
	for _, tg := range []Target{NewKfakeTarget(KfakeConfig{}), NewSyntheticTarget(SyntheticConfig{})} {
		require.NoError(t, tg.Teardown(context.Background()))
		_, err := tg.Setup(context.Background())
		require.NoError(t, err)
		require.NoError(t, tg.Teardown(context.Background()))
		require.NoError(t, tg.Teardown(context.Background()))
	}
}

func TestResponseGate(t *testing.T) {
	g := &responseGate{ackDelay: 20 * time.Millisecond, stalls: []Stall{{After: time.Second, For: 500 * time.Millisecond}}}
	t0 := time.Unix(1000, 0)
	// Before any produce request, no stall applies.
	assert.Equal(t, t0, g.releaseAt(3, t0, t0), "metadata leaves at once")
	g.sawRequest(produceKey, t0)
	g.sawRequest(produceKey, t0.Add(time.Hour)) // only the first counts
	assert.Equal(t, t0.Add(20*time.Millisecond), g.releaseAt(produceKey, t0, t0))
	late := t0.Add(50 * time.Millisecond)
	assert.Equal(t, late, g.releaseAt(produceKey, t0, late), "never before it is ready")
	inStall := t0.Add(1200 * time.Millisecond)
	assert.Equal(t, t0.Add(1500*time.Millisecond), g.releaseAt(3, inStall, inStall), "held to the stall's end")
	assert.Equal(t, t0.Add(1500*time.Millisecond), g.releaseAt(produceKey, t0.Add(990*time.Millisecond), t0.Add(990*time.Millisecond)), "a delay that ends in the stall is held too")
	after := t0.Add(1600 * time.Millisecond)
	assert.Equal(t, after.Add(20*time.Millisecond), g.releaseAt(produceKey, after, after))
}

// skippingTarget cannot run here: Setup returns a SkipError with what it
// knows of itself.
type skippingTarget struct{ tornDown bool }

func (s *skippingTarget) Name() string { return "docker-thing" }

func (s *skippingTarget) Setup(context.Context) (Endpoint, error) {
	info := TargetInfo{Description: "a thing in Docker", Brokers: 1, Durability: Durability{Fsync: "none"}}
	return Endpoint{Info: info}, Skip("no Docker engine: %s", "socket missing")
}

func (s *skippingTarget) Teardown(context.Context) error { s.tornDown = true; return nil }

// A skipped target's run writes a result recording the skip, with the
// target's own description and no measurements, and returns the skip.
func TestRunTargetSkipped(t *testing.T) {
	w, _ := WorkloadByID("1-topic-1-partition-1kb")
	dir := t.TempDir()
	tg := &skippingTarget{}
	res, err := RunTarget(context.Background(), w, tg, RunOptions{ResultDir: dir})
	var skip *SkipError
	require.ErrorAs(t, err, &skip)
	assert.True(t, tg.tornDown)
	require.NotNil(t, res)

	got, err := ReadResults(dir)
	require.NoError(t, err)
	require.Len(t, got, 1)
	r := got[0]
	assert.Equal(t, "no Docker engine: socket missing", r.Skipped)
	assert.Equal(t, "docker-thing", r.Driver)
	assert.Equal(t, "docker-thing", r.Setup.Target.Name, "named after the target when its info is not")
	assert.Equal(t, "a thing in Docker", r.Setup.Target.Description)
	assert.Equal(t, "none", r.Setup.Target.Durability.Fsync)
	assert.Equal(t, w.ID, r.Setup.Workload.ID)
	assert.False(t, r.Setup.StartTime.IsZero())
	assert.False(t, r.Complete)
	assert.Empty(t, r.PublishRate)
	assert.Nil(t, r.Setup.PhysicalLimits, "nothing measured")
	assert.Equal(t, res.FileName(), r.FileName())

	// Without a directory nothing is written, and the skip is returned.
	_, err = RunTarget(context.Background(), w, &skippingTarget{}, RunOptions{})
	require.ErrorAs(t, err, &skip)
}
