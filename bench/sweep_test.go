package bench

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSweep(t *testing.T) {
	for _, tc := range []struct {
		in        string
		rates     []float64
		fractions []float64
		err       string
	}{
		{in: "10000,20000,50000", rates: []float64{10000, 20000, 50000}},
		{in: "50k, 10k,1.5M", rates: []float64{10000, 50000, 1.5e6}},
		{in: "2500.5,100", rates: []float64{100, 2500.5}},
		{in: "auto", fractions: DefaultSweepFractions},
		{in: " auto:1.2,0.5,1 ", fractions: []float64{0.5, 1, 1.2}},
		{in: "", err: "empty; give rates in msg/s"},
		{in: "20000", err: "give two rates or more"},
		{in: "auto:1", err: "give two fractions or more"},
		{in: "10k,abc", err: `"abc" is not a positive rate in msg/s`},
		{in: "10k,-5", err: `"-5" is not a positive rate`},
		{in: "10k,0", err: `"0" is not a positive rate`},
		{in: "10k,NaN", err: `"NaN" is not a positive rate`},
		{in: "10k,Inf", err: `"Inf" is not a positive rate`},
		{in: "10k,", err: `"" is not a positive rate`},
		{in: "10k,10000", err: "rate 10000 is given twice"},
		{in: "auto:0,1", err: `"0" is not a fraction of the maximum rate in (0, 10]`},
		{in: "auto:0.5,11", err: `"11" is not a fraction`},
		{in: "automatic", err: `"automatic" is not a positive rate`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := ParseSweep(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.rates, s.RatesMsgPerSec)
			assert.Equal(t, tc.fractions, s.Fractions)
			again, err := ParseSweep(s.String())
			require.NoError(t, err, "String reads back")
			assert.Equal(t, s, again)
		})
	}
	var many []string
	for i := range sweepStepsMax + 1 {
		many = append(many, strconv.Itoa(1000*(i+1)))
	}
	_, err := ParseSweep(strings.Join(many, ","))
	assert.ErrorContains(t, err, "over the limit")
}

func TestSweepPlanExplicit(t *testing.T) {
	s, err := ParseSweep("20k,10k")
	require.NoError(t, err)
	plan := s.Plan()
	var got []SweepStep
	for {
		step, ok, err := plan.Next(nil)
		require.NoError(t, err)
		if !ok {
			break
		}
		got = append(got, step)
	}
	assert.Equal(t, []SweepStep{{Index: 1, Steps: 2, RateMsgPerSec: 10_000}, {Index: 2, Steps: 2, RateMsgPerSec: 20_000}}, got)
	w, _ := WorkloadByID("1-topic-1-partition-1kb")
	assert.Equal(t, 20_000.0, got[1].Apply(w).ProducerRate)
	assert.Equal(t, "step 2/2: 20000 msg/s", got[1].String())
}

// An auto sweep probes first, then scales the probe's mean publish rate
// (windows weighted by length: (1000×1 + 3000×3)/4 = 2500 msg/s).
func TestSweepPlanAuto(t *testing.T) {
	s, err := ParseSweep("auto:0.5,1.1")
	require.NoError(t, err)
	plan := s.Plan()
	probe, ok, err := plan.Next(nil)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, SweepStep{Index: 1, Steps: 3, Probe: true}, probe)
	w, _ := WorkloadByID("1-topic-1-partition-1kb")
	assert.Zero(t, probe.Apply(w).ProducerRate, "the probe searches for the maximum rate")

	res := &Result{PublishRate: []float64{1000, 3000}, WindowSeconds: []float64{1, 3}}
	half, ok, err := plan.Next(res)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, SweepStep{Index: 2, Steps: 3, RateMsgPerSec: 1250, Fraction: 0.5, MaxRateMsgPerSec: 2500}, half)
	assert.Equal(t, "step 2/3: 1250 msg/s (0.5 × max 2500)", half.String())
	over, ok, err := plan.Next(nil)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 2750.0, over.RateMsgPerSec)
	_, ok, err = plan.Next(nil)
	assert.False(t, ok)
	assert.NoError(t, err)

	failed := s.Plan()
	_, _, _ = failed.Next(nil)
	_, ok, err = failed.Next(&Result{})
	assert.False(t, ok)
	assert.ErrorContains(t, err, "the max-rate probe published nothing")
	_, ok, _ = failed.Next(nil)
	assert.False(t, ok, "the sweep is over")
}

func TestSweepFileNames(t *testing.T) {
	r := sampleResult()
	r.Setup.Sweep = &SweepStep{Index: 2, Steps: 3, RateMsgPerSec: 20_000}
	assert.Equal(t, "1-topic-16-partitions-1kb-kfake-rate-20000-2026-03-04-05-06-07.json", r.FileName())
	r.Setup.Sweep = &SweepStep{Index: 1, Steps: 3, Probe: true}
	assert.Equal(t, "1-topic-16-partitions-1kb-kfake-maxrate-2026-03-04-05-06-07.json", r.FileName())
}

func TestSweepCheck(t *testing.T) {
	w, _ := WorkloadByID("1-topic-1-partition-1kb")
	w.ConsumerBacklogSizeGB = 1
	auto, _ := ParseSweep("auto")
	assert.ErrorContains(t, auto.Check(w), "builds a backlog")
	rates, _ := ParseSweep("1k,2k")
	assert.NoError(t, rates.Check(w))
}
